"""The hand-written half of the generated code's contract: checks every generated endpoint runs before sending.

Generated modules call into this module; it imports only the standard library and ``bill_sdk.errors`` (no
httpx), so importing it stays cheap. Everything here raises :class:`bill_sdk.errors.ArgumentError`
before a request is built, and never echoes a large value back in a message.

* :func:`path_segment` turns an id into exactly one URL path segment, or refuses it.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote

from bill_sdk.errors import ArgumentError

__all__ = ["path_segment"]

# --------------------------------------------------------------------------- path parameters

# BILL's ids are 20 characters (``00901ABCDEFGHIJKLMNO``), Spend's uuids 36. 1,000 leaves room for any id scheme
# BILL may add, and an ASCII id that long is at most 3,000 bytes percent-encoded: the request line stays under
# the 8 KB that common servers and proxies accept. Anything longer is not an id (a document pasted by mistake).
MAX_ID_LENGTH = 1000
_DOT_SEGMENTS = frozenset({".", ".."})


def _short(value: object) -> str:
    """A repr short enough for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def path_segment(name: str, value: object) -> str:
    """``value`` percent-encoded as one path segment, or ArgumentError naming the parameter ``name``.

    ``quote(value, safe="")`` encodes ``/``, ``?``, ``#``, ``%`` and every non-ASCII character, so the only ids
    that could still change the path are the dot segments ``.`` and ``..``, which httpx (RFC 3986) removes
    together with the segment before them. Refused as well, because no BILL id looks like them and a server or
    proxy may decode or normalize once more: anything that percent-decodes (up to twice) or NFKC-normalizes to a
    dot segment (``%2e%2e``, full-width ``．．``), empty or whitespace-only ids, control characters (also
    percent-encoded ones such as ``%00``), lone surrogates (not encodable as UTF-8), ids over
    :data:`MAX_ID_LENGTH` characters, and anything that is not a ``str`` (BILL's ids are strings; ``int`` and
    ``bool`` are refused too, rather than guessed at).
    """
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be a str (BILL ids are strings), got {type(value).__name__}")
    if len(value) > MAX_ID_LENGTH:
        raise ArgumentError(
            f"{name} is {len(value):,} characters long; BILL ids are far shorter (at most {MAX_ID_LENGTH:,} accepted)"
        )
    if not value.strip():
        raise ArgumentError(f"{name} must not be empty or blank")
    decoded = unquote(unquote(value)) if "%" in value else value
    for char in value if decoded is value else value + decoded:
        category = unicodedata.category(char)
        if category == "Cc":
            raise ArgumentError(f"{name} must not contain control characters, got {_short(value)}")
        if category == "Cs":
            raise ArgumentError(f"{name} must not contain lone surrogates (not UTF-8), got {_short(value)}")
    if any(unicodedata.normalize("NFKC", form).strip() in _DOT_SEGMENTS for form in (value, decoded)):
        raise ArgumentError(f"{name} {_short(value)} would change the request path (a '.' or '..' segment)")
    return quote(value, safe="")
