"""Request URLs: the query string the SDK writes, and the ``httpx.URL`` it sends, parsed once per endpoint.

httpx parses every URL it is handed as a string, checking each character in Python: about 700 instructions per
character (valgrind), 150,000 for a short BILL URL and 300,000 for a filtered list request's, a good part of what
the SDK adds to a call. The SDK knows its URLs are well formed: an endpoint (base URL and path, whose segments
``_runtime`` percent-encodes) is parsed by httpx once and kept, and the query, percent-encoded by
:func:`encode_query`, is attached to that parse, giving the ``httpx.URL`` httpx itself would have made of the
whole string (tests compare the two over many URLs). Attaching uses httpx's parse result (a named tuple), which
is not public API: a check at import compares the two ways on a sample, and if they ever differ (another httpx),
every URL goes through httpx's own parser as before.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx

# httpx refuses longer URLs ("URL too long"); such a URL is left to httpx, so that it still does.
MAX_URL_LENGTH = 65_536
ENDPOINTS_KEPT = 256


def encode_query(params: Mapping[str, Any]) -> str:
    """The query string for `params`, read by a server exactly as httpx's own encoding (``true``/``false``, a
    list as repeated keys, everything but unreserved characters percent-encoded) except that ``:`` and ``,`` stay
    as they are: BILL's ``filters`` and ``sort`` syntax (``updatedTime:gte:"..."``, commas between clauses), legal
    in a query (RFC 3986) and how BILL's documentation writes it. Every character is unreserved, ``%XX``, ``=``,
    ``&``, ``:`` or ``,``, which httpx's parser leaves as it is."""
    parts = []
    for key, value in params.items():
        name = quote(key, safe="")
        for item in value if isinstance(value, list | tuple) else (value,):
            text = ("true" if item else "false") if isinstance(item, bool) else "" if item is None else str(item)
            parts.append(f"{name}={quote_value(text)}")
    return "&".join(parts)


# ``%XX`` for every ASCII character that is neither unreserved (RFC 3986) nor ``:`` or ``,``
_KEPT = frozenset(string.ascii_letters + string.digits + "_.-~:,")
_ESCAPES = {code: f"%{code:02X}" for code in range(128) if chr(code) not in _KEPT}


def quote_value(text: str) -> str:
    """``urllib.parse.quote(text, safe=":,")``: ASCII text through a table in C (a filter's quotes and spaces
    would send urllib's quote through a Python loop over every byte), anything else through urllib (UTF-8)."""
    return text.translate(_ESCAPES) if text.isascii() else quote(text, safe=":,")


@lru_cache(maxsize=ENDPOINTS_KEPT)
def endpoint(target: str) -> httpx.URL:
    """`target` (an absolute URL without a query) as httpx parses it, kept for the endpoints used most recently."""
    return httpx.URL(target)


def request_url(target: str, query: str) -> httpx.URL:
    """`target` (absolute, no query) with `query` (from :func:`encode_query`; empty: none) as an ``httpx.URL``."""
    if not query:
        return endpoint(target)
    if _attach is None or len(target) + 1 + len(query) > MAX_URL_LENGTH:
        return httpx.URL(f"{target}?{query}")
    return _attach(endpoint(target), query)


def _attach_to_parse(base: httpx.URL, query: str) -> httpx.URL:
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = base._uri_reference._replace(query=query)
    return url


def _attaching_is_parsing() -> bool:
    """Whether :func:`_attach_to_parse` gives what httpx's parser gives, on a URL with a port, a path prefix and
    every kind of character :func:`encode_query` writes."""
    target = "https://Gateway.Example.test:8443/connect/v3/vendors"
    query = encode_query({"filters": 'updatedTime:gte:"2026-01-01T00:00:00.000Z",name:eq:a b/é', "max": 5})
    try:
        attached = _attach_to_parse(httpx.URL(target), query)
        parsed = httpx.URL(f"{target}?{query}")
        facets = ("scheme", "host", "port", "raw_path", "query", "netloc", "fragment")
        return attached == parsed and all(getattr(attached, f) == getattr(parsed, f) for f in facets)
    except Exception:  # any change in httpx's internals: parse every URL
        return False


_attach = _attach_to_parse if _attaching_is_parsing() else None
