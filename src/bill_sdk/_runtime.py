"""The runtime contract of the generated code, written by hand: what every generated endpoint function, model
and resource calls, and the checks each endpoint runs before sending.

The runtime (:class:`bill_sdk.AsyncBill`) implements :class:`Sender`, :class:`bill_sdk.Bill` :class:`SyncSender`
(the same, without ``await``); every generated endpoint function hands it
an :class:`Operation` (what BILL family, auth and retry rules apply) and the request parts. Models use
:data:`UNSET`, :class:`LenientStrEnum`, :class:`EnumLookup`, :func:`mask_secret`, :func:`decode_error`,
:func:`model_repr`, :func:`model_to_json` and :func:`model_from_json`; models used in request bodies also the
validators :func:`expect`, :func:`expect_model`, :func:`expect_enum`, :func:`expect_number` and the number
converters (:func:`number_arg` & co.), which run at construction only (``from_dict`` bypasses ``__init__``).
``_generated/types.py`` only re-exports these names (the generator always writes that module). A change here is
a change to the contract with the templates in ``codegen/templates``.

Checks, all raising :class:`bill_sdk.errors.ArgumentError` before a request is built, and never echoing a large
value back in a message:

* :func:`path_segment` turns an id into exactly one URL path segment, or refuses it.
* :func:`check_request_body` refuses a request body holding a number BILL cannot take exactly (a float, NaN,
  ±Infinity, too many digits). Generated models list their number fields in ``_number_fields`` (field name ->
  (:data:`MONEY` or :data:`NUMBER`, whether BILL also takes a string)): fields marked ``format: decimal`` in
  the spec are money unless marked ``x-sdk-number: number``; other numbers are :data:`NUMBER`. The limits
  below are the only place those bounds are written down.

It imports only the standard library, attrs and ``bill_sdk.errors`` (no httpx at run time), so it stays cheap.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
import weakref
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any, Generic, Literal, NamedTuple, Protocol, TypeVar
from urllib.parse import quote, unquote

from attrs import define

from bill_sdk.errors import ArgumentError, ResponseDecodeError, request_id_from_headers

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DECODE_ERRORS",
    "MONEY",
    "NUMBER",
    "UNSET",
    "EnumLookup",
    "File",
    "FileContent",
    "LenientStrEnum",
    "NumberLimits",
    "Operation",
    "RawResponse",
    "RequestOptions",
    "Sender",
    "SyncSender",
    "Unset",
    "check_request_body",
    "decode_error",
    "expect",
    "expect_enum",
    "expect_model",
    "expect_number",
    "mask_secret",
    "model_from_json",
    "model_repr",
    "model_to_json",
    "number_arg",
    "parse_response",
    "path_segment",
    "request_id",
    "request_options",
]


# --------------------------------------------------------------------------- the contract
class Unset:
    """Marker for "not given" in a request: omitted from the body, unlike None which is sent as JSON null.

    Only request fields BILL lets you clear (nullable fields of PATCH bodies) and per-call options use it; a
    response never holds it. ``str(UNSET)`` is ``'<UNSET>'``, which :func:`path_segment` refuses, so an id that
    was never set cannot silently become part of a later call.
    """

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"

    def __str__(self) -> str:
        return UNSET_TEXT


UNSET_TEXT = "<UNSET>"


UNSET: Unset = Unset()
T = TypeVar("T")

FileContent = IO[bytes] | bytes


@define
class File:
    """Raw bytes uploaded as a request body (BILL uploads are not multipart); a file object is read once."""

    payload: FileContent
    file_name: str | None = None
    mime_type: str | None = None

    def read(self) -> bytes:
        if isinstance(self.payload, bytes | bytearray | memoryview):
            return bytes(self.payload)
        return self.payload.read()


@define(frozen=True, slots=True)
class Operation:
    """What the runtime needs to know about one spec operation, fixed at generation time."""

    operation_id: str
    method: str
    path: str
    family: Literal["connect", "partner", "events", "spend"]
    authenticated: bool
    idempotent: bool


@define(frozen=True, slots=True)
class RequestOptions:
    """Per-call overrides: timeout in seconds (None = no timeout), extra headers, retry budget."""

    timeout: float | Unset | None = UNSET
    extra_headers: Mapping[str, str] | None = None
    max_retries: int | None = None


class Sender(Protocol):
    """Sends one operation and returns its successful (2xx) response; raises bill_sdk.errors.BillError."""

    async def send(
        self,
        operation: Operation,
        *,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        options: RequestOptions | None = None,
    ) -> httpx.Response: ...


class SyncSender(Protocol):
    """:class:`Sender` for synchronous code (``Bill``): the generated ``sync``/``sync_raw`` functions call it."""

    def send(
        self,
        operation: Operation,
        *,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        options: RequestOptions | None = None,
    ) -> httpx.Response: ...


class LenientStrEnum(StrEnum):
    """A string enum that keeps values BILL adds later instead of failing the whole response.

    An unknown value becomes a pseudo-member whose value is the raw string, so it survives to_dict().
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


E = TypeVar("E", bound=LenientStrEnum)


class EnumLookup(dict[Any, E]):
    """Value -> member of one enum, for parsing: a C-level dict hit for known values, the enum (which keeps
    unknown strings as pseudo-members and refuses non-strings) for the rest. Models hold one per enum."""

    __slots__ = ("enum",)

    def __init__(self, enum: type[E]) -> None:
        super().__init__(enum._value2member_map_)
        self.enum = enum

    def __missing__(self, value: Any) -> E:
        return self.enum(value)


def mask_secret(value: object) -> str:
    """repr() of a property the spec marks x-secret: whether it is set, never its value."""
    if isinstance(value, Unset) or value is None:
        return repr(value)
    return "'***'"


_date_from_text = datetime.date.fromisoformat
_datetime_from_text = datetime.datetime.fromisoformat


def parse_date(field: str, value: Any) -> datetime.date:
    """A ``format: date`` field of a document. BILL prints some dates as date-times in places (its bill.created
    webhook has ``"2026-12-15T00:00:00.000Z"`` where the bills API has ``"2026-12-15"``): a date-time gives the
    calendar date it was written with (no time-zone conversion). Anything else is an error naming the field."""
    if type(value) is str:
        try:
            return _date_from_text(value) if len(value) == 10 else _datetime_from_text(value).date()
        except ValueError:
            pass
    raise ValueError(f"{field}: expected a date (YYYY-MM-DD) or a date-time, got {_shown(value)}")


def parse_datetime(field: str, value: Any) -> datetime.datetime:
    """A ``format: date-time`` field of a document (ISO 8601, ``Z`` or an offset, or a bare date at midnight)."""
    if type(value) is str:
        try:
            return _datetime_from_text(value)
        except ValueError:
            pass
    raise ValueError(f"{field}: expected a date-time (ISO 8601), got {_shown(value)}")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    return type(value).__name__


# What a malformed document raises inside a model's from_dict; turned into bill_sdk.errors.ResponseDecodeError.
DECODE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError)


def copy_document(model: str, value: Any) -> Any:
    """A decoded JSON document's containers copied (a Mapping becomes a dict), for a model's from_dict to read in
    place without changing what the caller passed; scalars are shared. Too deep: a ResponseDecodeError."""
    try:
        return _copied(value)
    except RecursionError as exc:
        raise decode_error(model, exc) from None


def _copied(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list | tuple):  # a caller's tuple of objects too: its dicts must not be read in place
        return [_copied(item) for item in value]
    return value


def decode_error(model: str, exc: BaseException) -> ResponseDecodeError:
    """The typed error for what went wrong building `model` (a ResponseDecodeError from deeper passes through)."""
    return exc if isinstance(exc, ResponseDecodeError) else ResponseDecodeError.from_exception(model, exc)


def parse_response(operation: Operation, response: httpx.Response, parse: Callable[[httpx.Response], T]) -> T:
    """Run an endpoint's parser; a body of the wrong shape raises ResponseDecodeError naming the call.

    The result remembers BILL's request id when the response carries one (see :func:`request_id`).
    """
    try:
        result = parse(response)
    except (ResponseDecodeError, *DECODE_ERRORS) as exc:
        error = decode_error("response body", exc).for_call(
            status_code=response.status_code,
            method=operation.method,
            path=operation.path,
            operation_id=operation.operation_id,
        )
        if error is exc:
            raise
        raise error from exc
    found = request_id_from_headers(response.headers)
    if found is not None:
        _remember_request_id(result, found)
    return result


# id(result) -> (a weak reference to it, BILL's request id). Generated models are slotted attrs classes that
# cannot take an extra attribute and are not hashable (so no WeakKeyDictionary); an entry goes when its result
# is freed (CPython runs the callback before the id can be reused).
_REQUEST_IDS: dict[int, tuple[weakref.ref[Any], str]] = {}


def _remember_request_id(result: object, found: str) -> None:
    key = id(result)
    try:
        ref = weakref.ref(result, lambda _ref: _REQUEST_IDS.pop(key, None))
    except TypeError:  # None, a list, a str: nothing to attach it to (with_raw_response has it)
        return
    _REQUEST_IDS[key] = (ref, found)


def request_id(result: object) -> str | None:
    """BILL's request id for the call that returned ``result`` (a model a method returned), if BILL sent one.

    Quote it to BILL support. Results that are not models (``None``, lists) have none: use
    ``with_raw_response`` for those (``(await bill.vendors.with_raw_response.get(id)).request_id``). A model
    built by hand, or copied, has none either.
    """
    entry = _REQUEST_IDS.get(id(result))
    if entry is not None and entry[0]() is result:
        return entry[1]
    return None


class RawResponse(Generic[T]):
    """A successful call's HTTP response, from ``bill.<resource>.with_raw_response.<method>(...)``.

    ``status_code``, ``headers``, ``request_id`` (BILL's, if sent) and ``http_response`` (the ``httpx.Response``,
    body already read) describe it; ``parse()`` returns what the plain method would have (parsed once, on first
    use; a body of the wrong shape raises ``ResponseDecodeError`` then). Errors are raised as by the plain
    method: a raw response is always a 2xx one.
    """

    __slots__ = ("_operation", "_parse", "_parsed", "http_response")

    def __init__(self, operation: Operation, response: httpx.Response, parse: Callable[[httpx.Response], T]) -> None:
        self._operation = operation
        self._parse = parse
        self._parsed: tuple[T] | None = None
        self.http_response = response

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        return request_id_from_headers(self.http_response.headers)

    @property
    def content(self) -> bytes:
        return self.http_response.content

    @property
    def operation_id(self) -> str:
        return self._operation.operation_id

    def parse(self) -> T:
        if self._parsed is None:
            self._parsed = (parse_response(self._operation, self.http_response, self._parse),)
        return self._parsed[0]

    def __repr__(self) -> str:
        op = self._operation
        return (
            f"<RawResponse {self.status_code} {op.method} {op.path} ({op.operation_id}) request_id={self.request_id!r}>"
        )


def request_options(
    timeout: float | Unset | None, extra_headers: Mapping[str, str] | None, max_retries: int | None
) -> RequestOptions | None:
    if isinstance(timeout, Unset) and extra_headers is None and max_retries is None:
        return None
    return RequestOptions(timeout=timeout, extra_headers=extra_headers, max_retries=max_retries)


# --------------------------------------------------------------------------- path parameters

# BILL's ids are 20 characters (``00901ABCDEFGHIJKLMNO``), Spend's uuids 36. 1,000 leaves room for any id scheme
# BILL may add, and an ASCII id that long is at most 3,000 bytes percent-encoded: the request line stays under
# the 8 KB that common servers and proxies accept. Anything longer is not an id (a document pasted by mistake).
MAX_ID_LENGTH = 1000
_DOT_SEGMENTS = frozenset({".", ".."})
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,%d}" % MAX_ID_LENGTH)  # noqa: UP031 - the bound is a constant
# What str() makes of a value that was never there; no BILL id looks like these.
_MISSING_TEXTS = frozenset({UNSET_TEXT, "UNSET", "None"})


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
    :data:`MAX_ID_LENGTH` characters, the text of a missing value (``'None'``, ``'<UNSET>'``: an id that was never
    set, passed through ``str()``), and anything that is not a ``str`` (BILL's ids are strings; ``int`` and
    ``bool`` are refused too, rather than guessed at).
    """
    if type(value) is str and _PLAIN_ID.fullmatch(value) and value not in _MISSING_TEXTS:
        return value  # every BILL id: letters, digits, '-' and '_' need no quoting and cannot be a dot segment
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be a str (BILL ids are strings), got {type(value).__name__}")
    if value in _MISSING_TEXTS:
        raise ArgumentError(f"{name} is {value!r}, the text of a missing value (str(None) or str(UNSET)), not an id")
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


# --------------------------------------------------------------------------- numbers in request bodies


class NumberLimits(NamedTuple):
    """What a number field of a request body may hold; the magnitude bound is exclusive."""

    kind: str
    places: int
    largest: int


# BILL does not publish the precision of its number fields (developer.bill.com shows amounts as JSON numbers with
# two decimals, e.g. 228.99). International bills and payments are in the vendor's local currency, and ISO 4217
# currencies use up to three decimals (BHD, KWD, OMR, TND...): three places never refuses a real amount. 10**15
# is above any real amount in any currency (a USD 1 billion payment is about 2.5 * 10**13 VND), so anything
# larger is a bug, not a payment; it also keeps every amount within 18 significant digits.
MONEY = NumberLimits("an amount", places=3, largest=10**15)
# Quantities, percentages and unit prices (`x-sdk-number: number` in the spec) may need more places; nine places
# and the same magnitude keep them within the 24 digits FakeBill (bill_sdk.testing) accepts.
NUMBER = NumberLimits("a number", places=9, largest=10**15)
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
_MAX_DEPTH = 64


def check_number(value: object, label: str, limits: NumberLimits, *, text_ok: bool = False) -> None:
    """Refuse a value of a number field that BILL cannot take exactly; ``label`` names it (``Model.field ...``)."""
    if isinstance(value, bool):
        raise ArgumentError(f"{label} must be {limits.kind}, got {value!r}")
    if isinstance(value, float):
        raise ArgumentError(
            f"{label} must be a decimal.Decimal or int, got the float {_short(value)}: a float cannot hold "
            f"{limits.kind} exactly; use a Decimal made from a string, e.g. Decimal('12.50')"
            if math.isfinite(value)
            else f"{label} must be a finite decimal.Decimal or int, got the float {value!r}"
        )
    if isinstance(value, int):
        if -limits.largest < value < limits.largest:
            return
        raise ArgumentError(f"{label} is out of range: {limits.kind} must be below {limits.largest:.0e} in size")
    if isinstance(value, str):
        if text_ok and len(value) <= 40 and _PLAIN_DECIMAL.fullmatch(value):
            value = Decimal(value)
        else:
            expected = (
                "a plain decimal string such as '12.50', a Decimal or an int" if text_ok else "a Decimal or an int"
            )
            raise ArgumentError(f"{label} must be {expected}, got the str {_short(value)}")
    if not isinstance(value, Decimal):
        raise ArgumentError(f"{label} must be {limits.kind} (a Decimal or an int), got {type(value).__name__}")
    if not value.is_finite():
        raise ArgumentError(f"{label} must be a finite number, got {_short(value)}")
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    written = -exponent if exponent < 0 else 0
    significant = len(digits)
    while written and significant > 1 and digits[significant - 1] == 0:  # trailing zeros do not count
        significant -= 1
        written -= 1
    if written > limits.places or exponent < -limits.places - 30:
        raise ArgumentError(
            f"{label} has more than {limits.places} decimal places: {_short(value)} (round it, e.g. with "
            f"Decimal.quantize)"
        )
    if value and value.adjusted() >= len(str(limits.largest)) - 1:  # adjusted(): the exponent of the first digit
        raise ArgumentError(f"{label} is out of range: {limits.kind} must be below {limits.largest:.0e} in size")


def check_request_body(body: object) -> None:
    """Refuse a request body (a generated model, a list of them, or plain JSON values) holding a bad number.

    Runs when the request is built, so values assigned after construction are checked too; BILL's responses are
    never checked. A model's number fields get their own limits; a float anywhere else (say in
    ``additional_properties``) is refused as well, and any other Decimal must fit :data:`NUMBER`.
    """
    _check(body, "body", None, 0)


def _check(value: object, where: str, label: str | None, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ArgumentError(f"{where}: the request body is nested too deeply")
    number_fields: dict[str, Any] | None = getattr(type(value), "_number_fields", None)
    fields = getattr(type(value), "__attrs_attrs__", None)
    if fields is not None:
        owner = type(value).__name__
        for field in fields:
            item = getattr(value, field.name)
            if item is None or isinstance(item, Unset):
                continue
            rule = number_fields.get(field.name) if number_fields else None
            if field.name == "additional_properties":
                for key, extra in item.items():
                    _check(extra, f"{where}[{key!r}]", f"{owner}[{key!r}]", depth + 1)
            elif rule is not None:
                limits, text_ok = rule
                check_number(item, f"{owner}.{field.name} (at {where}.{field.name})", limits, text_ok=text_ok)
            else:
                _check(item, f"{where}.{field.name}", f"{owner}.{field.name}", depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(item, f"{where}[{key!r}]", None, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]", None, depth + 1)
    elif isinstance(value, float | Decimal) and not isinstance(value, bool):
        check_number(value, f"{label} (at {where})" if label else where, NUMBER)


# --------------------------------------------------------------------------- request models: checks at construction
# Generated models used in request bodies declare one of these as each field's attrs validator (and, for number
# fields, ``number_arg`` & co. as converter). They run when a user constructs a model, never in ``from_dict``
# (which builds objects without calling ``__init__``), so BILL's responses stay lenient and parsing stays fast.
# Values assigned to attributes later are not checked here; numbers still are, by check_request_body at send time.
# Wrong types raise TypeError, wrong values (an unknown enum value, a float or malformed amount) ArgumentError;
# both messages name the model and field (``VendorCreate.name``).

Validator = Callable[[Any, Any, Any], None]


def _label(instance: object, attribute: Any) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def _article(name: str) -> str:
    return ("an " if name[:1].upper() in "AEIOU" else "a ") + name


def _got(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _field_check(
    check: Callable[[Any, object, str], None], *, optional: bool, clearable: bool, many: bool, what: str
) -> Validator:
    def validate(instance: Any, attribute: Any, value: Any) -> None:
        if value is None and optional:
            return
        if clearable and value is UNSET:
            return
        label = _label(instance, attribute)
        if many:
            if not isinstance(value, list | tuple):
                raise TypeError(f"{label} must be a list of {what}, got {_got(value)}")
            for index, item in enumerate(value):
                check(instance, item, f"{label}[{index}]")
        else:
            check(instance, value, label)

    return validate


def expect(kind: type, *, optional: bool = False, clearable: bool = False, many: bool = False) -> Validator:
    """A validator refusing anything but an instance of ``kind`` (str, bool, int, datetime.date, ...).

    ``optional``: None is accepted (the field is left out); ``clearable``: UNSET is accepted too (None is sent as
    null); ``many``: a list of ``kind``. ``int`` refuses bool; ``datetime.date`` refuses datetime (BILL wants a day).
    """
    import datetime

    name = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ == "datetime" else kind.__qualname__
    expected = _article(name)

    def check(_instance: object, value: object, label: str) -> None:
        if (
            not isinstance(value, kind)
            or (kind is int and isinstance(value, bool))
            or (kind is datetime.date and isinstance(value, datetime.datetime))
        ):
            raise TypeError(f"{label} must be {expected}, got {_got(value)}")

    return _field_check(check, optional=optional, clearable=clearable, many=many, what=name)


def expect_model(name: str, *, optional: bool = False, clearable: bool = False, many: bool = False) -> Validator:
    """A validator refusing anything but an instance of the generated model ``name`` (looked up when it runs, so
    models referring to each other need no import order)."""
    import sys

    expected = _article(name)

    def check(instance: object, value: object, label: str) -> None:
        cls = sys.modules[type(instance).__module__].__dict__[name]
        if not isinstance(value, cls):
            raise TypeError(f"{label} must be {expected}, got {_got(value)}")

    return _field_check(check, optional=optional, clearable=clearable, many=many, what=name)


def expect_enum(
    enum: type[LenientStrEnum], *, optional: bool = False, clearable: bool = False, many: bool = False
) -> Validator:
    """A validator accepting only the known members of ``enum`` (or their string values).

    Parsing keeps values BILL adds later as pseudo-members (``AccountType("BUSINES")`` works); a request refuses
    them, so a typo fails here instead of at BILL. To send a value this SDK does not know yet, set it as an extra
    key: ``body["accountType"] = "NEW_VALUE"``.
    """
    known = enum._value2member_map_
    listed = ", ".join(sorted(str(v) for v in known))

    def check(_instance: object, value: object, label: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{label} must be {_article(enum.__name__)}, got {_got(value)}")
        if value not in known:
            raise ArgumentError(f"{label} {_short(str(value))} is not a known {enum.__name__} (one of {listed})")

    return _field_check(check, optional=optional, clearable=clearable, many=many, what=enum.__name__)


def expect_number(*, optional: bool = False, clearable: bool = False) -> Validator:
    """A validator for a number field listed in the model's ``_number_fields``: :func:`check_number` at
    construction (floats, bools, NaN, too many places or digits are refused)."""

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        if (value is None and optional) or (clearable and value is UNSET):
            return
        limits, text_ok = type(instance)._number_fields[attribute.name]
        check_number(value, _label(instance, attribute), limits, text_ok=text_ok)

    return validate


def _number(value: Any) -> Any:
    if isinstance(value, str) and len(value) <= 40 and _PLAIN_DECIMAL.fullmatch(value):
        return Decimal(value)
    return value


def number_arg(value: Decimal | int | str) -> Any:
    """Converter of a required number field: a plain decimal string ('12.50') becomes a Decimal; anything else
    is left for :func:`expect_number` to accept or refuse (a float is refused there, naming the field)."""
    return _number(value)


def optional_number_arg(value: Decimal | int | str | None) -> Any:
    """Converter of an optional number field (None: left out); see :func:`number_arg`."""
    return _number(value)


def clearable_number_arg(value: Decimal | int | str | Unset | None) -> Any:
    """Converter of a number field BILL lets you clear (UNSET: left out, None: sent as null); see :func:`number_arg`."""
    return _number(value)


# --------------------------------------------------------------------------- every model: repr and JSON


def model_repr(model: Any) -> str:
    """``Model(field=value, ...)`` with only the fields that are set (neither UNSET nor a None default); fields
    the spec marks x-secret print as '***'."""
    parts = []
    for field in type(model).__attrs_attrs__:
        value = getattr(model, field.name)
        if field.name == "additional_properties":
            if value:
                parts.append(f"additional_properties={value!r}")
            continue
        if value is UNSET or (value is None and field.default is None):
            continue
        shown = field.repr(value) if callable(field.repr) else repr(value)
        parts.append(f"{field.name}={shown}")
    return f"{type(model).__name__}({', '.join(parts)})"


def model_to_json(model: Any) -> str:
    """``model.to_dict()`` as compact JSON text; decimals keep exactly their digits."""
    from bill_sdk._json import dumps_json

    return dumps_json(model.to_dict()).decode("ascii")


def model_from_json(cls: type[T], data: str | bytes) -> T:
    """Parse JSON text (exact decimals) into ``cls``; anything malformed raises ResponseDecodeError."""
    from bill_sdk._json import JSONDecodeError, loads_json

    try:
        document = loads_json(data)
    except JSONDecodeError as exc:
        raise ResponseDecodeError(cls.__name__, str(exc)) from None
    result: T = cls._from_owned(document)  # type: ignore[attr-defined]  # decoded here: nobody else holds it
    return result
