"""Exceptions raised by bill_sdk, and the parser for BILL's error bodies.

BILL v3 answers a failed call with a JSON *array* of
``{timestamp, code, severity, category, message}`` items, ``code`` being a
``BDC_xxxx`` string. Two facts shape this module:

* The BDC code says more than the HTTP status. Integrators see the hourly and
  concurrency limits (BDC_1144, BDC_1322) come back as 400/422 without a
  ``Retry-After`` header, so :func:`error_from_response` classifies on codes
  first and falls back to the status only when no known code is present.
* The body is not always the documented array: a single object, items without
  ``code`` (``[{"message": "address: must not be null"}]``), extra
  ``detail``/``help`` keys, or an HTML page from the gateway on a 5xx.
  :func:`parse_error_details` therefore never raises.

This module does not import httpx at run time, so importing the exceptions
stays cheap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import attrs

from ._json import loads_json

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIError",
    "ArgumentError",
    "AuthenticationError",
    "BillConnectionError",
    "BillError",
    "BillTimeoutError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "ErrorDetail",
    "MFARequiredError",
    "MissingExtraError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseDecodeError",
    "ServerError",
    "SessionExpiredError",
    "TransportError",
    "ValidationError",
    "error_from_response",
    "is_credential_error",
    "parse_error_details",
    "redact",
    "request_id_from_headers",
]

# Error bodies from BILL are a few hundred bytes; anything far larger is a
# gateway page or garbage and is not worth parsing as JSON.
MAX_ERROR_BODY_BYTES = 256 * 1024  # also all of an error body the request path reads
_SNIPPET_CHARS = 300
_FIELD_CHARS = 2000
_KNOWN_FIELDS = (
    "code",
    "message",
    "severity",
    "category",
    "timestamp",
    "detail",
    "help",
)

# Checked in this order; the first header present wins.
_REQUEST_ID_HEADERS = (
    "x-request-id",
    "x-amzn-requestid",
    "x-amz-apigw-id",
    "x-amzn-trace-id",
    "x-correlation-id",
)
_REQUEST_ID_NAMES = frozenset(name.encode() for name in _REQUEST_ID_HEADERS)


# --------------------------------------------------------------------------- details


@attrs.frozen
class ErrorDetail:
    """One item of BILL's error array; every field may be missing."""

    code: str | None = None
    message: str | None = None
    severity: str | None = None
    category: str | None = None
    timestamp: str | None = None
    detail: str | None = None
    help: str | None = None
    # Keys BILL may add later, kept as received (JSON values); not part of equality.
    extra: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def params(self) -> list[Any] | dict[str, Any] | None:
        """The item's ``params`` as BILL sent them: a list of ``{name, value}`` items or one object (BILL uses
        both forms); None when absent or of any other type."""
        value = self.extra.get("params")
        return value if isinstance(value, list | dict) else None


def parse_error_details(content: bytes) -> tuple[ErrorDetail, ...]:
    """Read BILL's error array from a response body; never raises.

    Returns ``()`` for an empty body, and a single detail whose ``message`` is a
    short, whitespace-collapsed snippet of the body when it is not JSON, not
    UTF-8, or too large to be a real BILL error.
    """
    if not content or not content.strip():
        return ()
    if len(content) > MAX_ERROR_BODY_BYTES:
        return (_snippet_detail(content),)
    try:
        payload = loads_json(content.decode("utf-8-sig"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return (_snippet_detail(content),)
    return _details_from_json(payload, content)


def _details_from_json(payload: object, content: bytes) -> tuple[ErrorDetail, ...]:
    if payload is None:
        return ()
    if isinstance(payload, list):
        details = tuple(d for d in map(_detail_from_item, payload) if d is not None)
        return details if details or not payload else (_snippet_detail(content),)
    if isinstance(payload, dict):
        # Not documented, but common elsewhere: {"errors": [...]}.
        nested = payload.get("errors")
        if isinstance(nested, list) and not any(k in payload for k in _KNOWN_FIELDS):
            return _details_from_json(nested, content)
        detail = _detail_from_item(payload)
        return (detail,) if detail is not None else (_snippet_detail(content),)
    if isinstance(payload, str):
        return (ErrorDetail(message=_truncate(payload, _FIELD_CHARS)),) if payload.strip() else ()
    return (_snippet_detail(content),)


def _detail_from_item(item: object) -> ErrorDetail | None:
    if isinstance(item, str):
        return ErrorDetail(message=_truncate(item, _FIELD_CHARS)) if item.strip() else None
    if not isinstance(item, dict):
        return None
    fields = {name: _text(item.get(name)) for name in _KNOWN_FIELDS}
    extra = {str(k): v for k, v in item.items() if k not in _KNOWN_FIELDS}
    if not extra and all(value is None for value in fields.values()):
        return None
    return ErrorDetail(**fields, extra=extra)


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return _truncate(value, _FIELD_CHARS)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _snippet_detail(content: bytes) -> ErrorDetail:
    text = content[: _SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
    return ErrorDetail(message=_truncate(" ".join(text.split()), _SNIPPET_CHARS))


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- redaction


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` by ``***``.

    BILL echoes request values in some messages (``Invalid field,value: ...``),
    so a dev key or session id sent by mistake in the wrong field would
    otherwise end up in a log line. Longer secrets are replaced first so that
    one secret containing another is fully hidden.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _redact_json(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_redact_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {k: _redact_json(v, secrets) for k, v in value.items()}
    return value


def _redact_detail(detail: ErrorDetail, secrets: list[str]) -> ErrorDetail:
    if not secrets:
        return detail
    texts = {name: redact(text, secrets) for name in _KNOWN_FIELDS if (text := getattr(detail, name)) is not None}
    return attrs.evolve(detail, **texts, extra=_redact_json(dict(detail.extra), secrets))


# --------------------------------------------------------------------------- exceptions


def _rebuild(cls: type[BillError], args: tuple[Any, ...], state: dict[str, Any]) -> BillError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def _path_only(path: str) -> str:
    # Messages and attributes must never carry a query string: BILL list calls
    # put filters (names, emails) there.
    return path.split("?", 1)[0]


class BillError(Exception):
    """Base class of every exception bill_sdk raises on purpose."""

    #: True when the failure happened while signing in, before the request itself was sent (so any
    #: operation, a create-payment included, may be retried).
    during_login: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which the default
        # BaseException pickling (cls(*args)) cannot replay; task queues and
        # multiprocessing pickle exceptions.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ConfigurationError(BillError):
    """Raised when the client configuration is missing or invalid (e.g. no dev key).

    ``argument`` names the ``AsyncBill`` argument a bad value came from, ``env_var`` the environment variable (for
    a missing value: the variable that would supply it). The message says what is wrong, never the value.
    """

    env_var: str | None = None
    argument: str | None = None
    #: Every environment variable a missing-settings error names (``env_var`` is the first of them).
    env_vars: tuple[str, ...] = ()

    def __init__(self, message: str, *, env_var: str | None = None, argument: str | None = None) -> None:
        self.env_var = env_var
        self.argument = argument
        self.env_vars = () if env_var is None else (env_var,)
        super().__init__(message)

    @classmethod
    def missing(cls, setting: str, env_var: str) -> ConfigurationError:
        """Build the error for a required setting given neither as argument nor in the environment."""
        return cls(
            f"missing BILL {setting}: pass it to the client or set the {env_var} environment variable",
            env_var=env_var,
        )

    @classmethod
    def missing_settings(cls, settings: Iterable[tuple[str, str]], purpose: str) -> ConfigurationError:
        """One error naming every missing ``(setting, environment variable)`` that ``purpose`` needs."""
        missing = list(settings)
        if len(missing) == 1:
            setting, env_var = missing[0]
            return cls(
                f"missing BILL {setting} (needed for {purpose}): pass it to the client or set the {env_var} "
                "environment variable",
                env_var=env_var,
            )
        listing = ", ".join(f"{setting} ({env_var})" for setting, env_var in missing)
        error = cls(
            f"missing BILL settings for {purpose}: {listing}. Pass them to the client (AsyncBill(...)) or set those "
            "environment variables",
            env_var=missing[0][1],
        )
        error.env_vars = tuple(env_var for _, env_var in missing)
        return error


class MissingExtraError(ConfigurationError, ImportError):
    """Raised when a part of bill_sdk needs an optional dependency that is not installed; the message gives the
    ``pip install`` command. It is an ``ImportError`` too."""

    def __init__(self, module: str, extra: str, cause: ImportError) -> None:
        missing = cause.name or "a dependency"
        super().__init__(
            f"{module} needs the {extra!r} extra ({missing} is not installed): pip install 'bill-sdk[{extra}]'"
        )
        self.extra = extra
        self.name = cause.name


class ArgumentError(BillError, ValueError):
    """Raised when a call is given arguments BILL cannot accept, before anything is sent."""


class ClientStateError(BillError, RuntimeError):
    """Raised, before anything is sent, when a client is used where it cannot work.

    A client belongs to the event loop (and thread) it first ran in; it cannot be used after ``aclose()`` (or
    after its parent partner client was closed). Create one client per event loop instead of sharing one.
    """


class PaginationError(BillError):
    """Raised when BILL's pages do not move forward (a repeated cursor, a cursor cycle, a page with a cursor but
    no ``results``, too many empty pages, or pages that only repeat items already yielded).

    Iteration stops instead of looping forever or silently returning a truncated list.
    """

    def __init__(self, message: str, *, operation_id: str | None = None) -> None:
        self.operation_id = operation_id
        super().__init__(f"{message}{_operation_suffix(operation_id)}")


class APIError(BillError):
    """Raised when BILL answers with an error status that no subclass describes better."""

    # Extra advice appended to the message; set by subclasses where BILL's own
    # text is not enough to act on.
    hint: ClassVar[str] = ""

    def __init__(
        self,
        *,
        status_code: int,
        details: Iterable[ErrorDetail] = (),
        method: str = "",
        path: str = "",
        request_id: str | None = None,
        operation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.details = tuple(details)
        self.method = method
        self.path = _path_only(path)
        self.request_id = request_id
        self.operation_id = operation_id
        self.retry_after = retry_after
        super().__init__(self._summary())

    @property
    def codes(self) -> tuple[str, ...]:
        """The BDC codes of the error array, in BILL's order (items without a code skipped)."""
        return tuple(d.code for d in self.details if d.code is not None)

    def _summary(self) -> str:
        head = " ".join(part for part in (str(self.status_code), self.method, self.path) if part)
        shown = self.details[:MAX_DETAILS_SHOWN]
        body = "; ".join(_describe(d) for d in shown) or "(no error details in the response)"
        if len(self.details) > len(shown):
            body += f"; and {len(self.details) - len(shown)} more (see .details)"
        text = f"{head} {body}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g} s)"
        if self.hint:
            text += f" — {self.hint}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, method={self.method!r}, "
            f"path={self.path!r}, codes={_truncate(repr(self.codes), 200)}, request_id={self.request_id!r}, "
            f"operation_id={self.operation_id!r})"
        )


MAX_DETAILS_SHOWN = 10  # in the message; .details keeps every item


def _describe(detail: ErrorDetail) -> str:
    text = detail.message or detail.detail or "(no message)"
    if detail.detail and detail.detail != text:
        text += f" ({detail.detail})"
    return f"[{detail.code}] {text}" if detail.code else text


class AuthenticationError(APIError):
    """Raised when BILL rejects the credentials (bad user/password/dev key, locked login or org)."""


class SessionExpiredError(APIError):
    """Raised on BDC_1109: the session is invalid or expired after 35 idle minutes."""

    hint = "the session expired or is invalid; sign in again"


class MFARequiredError(APIError):
    """Raised on BDC_1361/BDC_1356: the call needs an MFA-trusted session."""

    hint = (
        "this call needs an MFA-trusted session: challenge_id = await bill.request_mfa_code() (BILL texts a code), "
        "then remember_me_id = await bill.trust_session(challenge_id, code, device=...); store remember_me_id and "
        "pass it with the same device (remember_me_id=, device= or BILL_REMEMBER_ME_ID, BILL_DEVICE) so later "
        "clients sign in trusted for 30 days"
    )


class PermissionDeniedError(APIError):
    """Raised on a 403 that is not an MFA error: the user or key may not do this."""


class NotFoundError(APIError):
    """Raised on 404, BDC_1120 (no data found) and BDC_1121 (API not supported / wrong path)."""


class ValidationError(APIError):
    """Raised when BILL rejects the request content (400/422 or a validation BDC code)."""


class ConflictError(APIError):
    """Raised on 409: the request conflicts with the current state of the object."""


class RateLimitError(APIError):
    """Raised on 429, BDC_1144 (hourly limit) and BDC_1322 (concurrency limit)."""


class ServerError(APIError):
    """Raised on any 5xx, including non-IANA statuses such as 520 from the gateway."""


class RedirectError(APIError):
    """Raised when the answer is a redirect (3xx). BILL's API never redirects, so the SDK does not follow one:
    a redirect means the base URL points somewhere else (a proxy, a login page, a moved host). ``location``
    is the host the answer pointed to."""

    location: str | None = None


class TransportError(BillError):
    """Raised when no HTTP response came back from BILL for a request safe to repeat."""

    def __init__(self, message: str, *, method: str, path: str, operation_id: str | None = None) -> None:
        self.method = method
        self.path = _path_only(path)
        self.operation_id = operation_id
        super().__init__(f"{method} {self.path}{_operation_suffix(operation_id)}: {message}")


class BillTimeoutError(TransportError):
    """Raised when BILL did not answer in time and retries (if any) were used up."""


class BillConnectionError(TransportError):
    """Raised when the connection to BILL failed and retries (if any) were used up."""


class OutcomeUnknownError(BillError):
    """Raised when a request that is not safe to repeat may have reached BILL without a clear answer."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        operation_id: str | None = None,
        reason: str = "no definite answer from BILL",
    ) -> None:
        self.method = method
        self.path = _path_only(path)
        self.operation_id = operation_id
        super().__init__(
            f"{method} {self.path}{_operation_suffix(operation_id)}: outcome unknown ({reason}). "
            "The request may have reached BILL and was not re-sent, because repeating it "
            "could do the work twice (e.g. pay a bill twice). Check BILL's state first "
            "(e.g. list the objects this call creates) before retrying by hand."
        )


class ResponseDecodeError(BillError):
    """Raised when a body from BILL (or given to a model's ``from_dict``) does not have the documented shape.

    ``model`` names the model that could not be built and ``reason`` what was wrong (a missing required
    field, a value of the wrong type). When raised for a call, ``status_code``, ``method``, ``path`` and
    ``operation_id`` say which one: a 2xx status means BILL *did* the work (a create happened) even though
    its answer could not be read, so do not repeat the call; look the object up instead.
    """

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = _truncate(reason, 200)
        self.status_code: int | None = None
        self.method: str | None = None
        self.path: str | None = None
        self.operation_id: str | None = None
        super().__init__(f"unexpected shape for {model}: {self.reason}")

    @classmethod
    def from_exception(cls, model: str, exc: BaseException) -> ResponseDecodeError:
        if isinstance(exc, KeyError):
            return cls(model, f"missing required field {exc.args[0]!r}" if exc.args else "missing required field")
        if isinstance(exc, RecursionError):
            return cls(model, "nested too deeply")
        return cls(model, f"{type(exc).__name__}: {exc}")

    def for_call(self, *, status_code: int, method: str, path: str, operation_id: str | None) -> ResponseDecodeError:
        """Add which call answered, so the message says whether BILL did the work."""
        self.status_code = status_code
        self.method = method
        self.path = _path_only(path)
        self.operation_id = operation_id
        done = (
            " BILL accepted the request, so it was done: look the object up instead of repeating the call."
            if 200 <= status_code < 300
            else ""
        )
        self.args = (
            f"{method} {self.path}{_operation_suffix(operation_id)} answered {status_code} with an unexpected shape "
            f"for {self.model}: {self.reason}.{done} The SDK's spec may be out of date with BILL.",
        )
        return self


def _operation_suffix(operation_id: str | None) -> str:
    return f" ({operation_id})" if operation_id else ""


# --------------------------------------------------------------------------- classification

_AUTH_CODES = frozenset(
    {
        "BDC_1101",
        "BDC_1102",
        "BDC_1103",
        "BDC_1104",
        "BDC_1107",
        "BDC_1110",
        "BDC_1111",
        "BDC_1113",
    }
)
_VALIDATION_CODES = frozenset(
    {
        "BDC_1108",
        "BDC_1117",
        "BDC_1119",
        "BDC_1122",
        "BDC_1124",
        "BDC_1129",
        "BDC_1130",
        "BDC_1131",
    }
)

# Order matters when one array carries several codes: the first match decides,
# and it is the one that changes what the caller must do next (wait, sign in
# again, get MFA) that should win over plain "bad input".
_CODE_CLASSES: tuple[tuple[frozenset[str], type[APIError]], ...] = (
    (frozenset({"BDC_1144", "BDC_1322"}), RateLimitError),
    (frozenset({"BDC_1109"}), SessionExpiredError),
    (frozenset({"BDC_1361", "BDC_1356"}), MFARequiredError),
    (_AUTH_CODES, AuthenticationError),
    (frozenset({"BDC_1120", "BDC_1121"}), NotFoundError),
    (_VALIDATION_CODES, ValidationError),
)

_STATUS_CLASSES: Mapping[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def _classify(status_code: int, codes: Iterable[str]) -> type[APIError]:
    normalized = {code.strip().upper() for code in codes}
    for code_set, cls in _CODE_CLASSES:
        if normalized & code_set:
            return cls
    if status_code >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status_code, APIError)


def error_from_response(
    response: httpx.Response,
    *,
    operation_id: str | None = None,
    secrets: Iterable[str | None] = (),
) -> APIError:
    """Build the exception for an error response from BILL.

    ``secrets`` are the credential values in use (dev key, session id,
    password, ...); any of them found in BILL's messages is replaced by
    ``***``. The response must have been read.
    """
    secret_list = [s for s in secrets if s]
    try:
        content = response.content
    except RuntimeError:  # httpx.ResponseNotRead: a streamed body nobody read
        content = b""
    details = tuple(_redact_detail(d, secret_list) for d in parse_error_details(content))
    try:
        method, path = response.request.method, _api_path(response.request.url.path)
    except RuntimeError:  # a Response built by hand has no request
        method, path = "", ""
    cls = _classify(response.status_code, (d.code for d in details if d.code))
    if 300 <= response.status_code < 400:
        cls = RedirectError
    error = cls(
        status_code=response.status_code,
        details=details,
        method=method,
        path=redact(path, secret_list),
        request_id=request_id_from_headers(response.headers),
        operation_id=operation_id,
        retry_after=_parse_retry_after(response.headers.get("retry-after")),
    )
    if isinstance(error, RedirectError):
        error.location = _location_host(response.headers.get("location"))
        error.args = (
            f"{error.args[0]} — a redirect to {error.location or 'an unnamed location'}, not followed: BILL's API "
            "does not redirect, so check the base URL (a proxy or a moved host answered)",
        )
    return error


def is_credential_error(error: APIError) -> bool:
    """True when BILL itself said the credentials are wrong (one of its credential codes), the only failure
    worth remembering at login; a gateway's bare 401/403 or a rate limit is not such a verdict."""
    return bool(_AUTH_CODES.intersection(code.strip().upper() for code in error.codes))


def _location_host(location: str | None) -> str | None:
    if not location:
        return None
    try:
        host = urlsplit(location).hostname
    except ValueError:
        return None
    return _truncate(host, 100) if host else None


def _api_path(url_path: str) -> str:
    # Drop the gateway prefix (/connect, /connect-events) so the path reads as
    # in BILL's reference: /v3/vendors, not /connect/v3/vendors.
    start = url_path.find("/v3/")
    return url_path[start:] if start > 0 else url_path


def request_id_from_headers(headers: Mapping[str, str]) -> str | None:
    """BILL's request id in a response's headers (the first of the headers gateways use), or None."""
    raw = getattr(headers, "raw", None)
    if raw is not None:  # httpx.Headers: one pass over the raw pairs (each get() would scan them all again)
        headers = {
            key.lower().decode(): value.decode("utf-8", "replace")
            for key, value in raw
            if key.lower() in _REQUEST_ID_NAMES
        }
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value and value.strip():
            return _truncate(value.strip(), 100)
    return None


_DELTA_SECONDS = re.compile(r"\d+(\.\d+)?")


def _parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
