"""Hostile input never escapes as a bare Python exception.

Whatever BILL (or a proxy, a gateway, an attacker on a webhook endpoint) sends, the SDK either gives back a typed
value or raises one of its own exceptions (a ``bill_sdk.errors.BillError``); never a bare KeyError, TypeError,
ValueError, AttributeError, RecursionError or httpx exception. Checked here, beyond tests/client/test_models.py and
tests/unit/test_errors.py / test_webhooks.py:

* every generated model's ``from_dict`` on arbitrary JSON (keys drawn from the real field names), on
  near-valid documents with garbage at any depth, on a wrong type in every field, on 1 MB strings and on
  100k-deep nesting: a model instance or ``ResponseDecodeError``. Primitives are not type-checked by design (a
  string field given an int keeps the int), so only "typed error or success" is asserted;
* the same through ``AsyncBill`` over respx: a 200 whose body is random bytes, non-UTF-8, truncated JSON,
  ``null`` or ``[[[[...]]]]`` 100k deep; a create that cannot be read says the work was done and was sent once;
* the login answer itself being hostile (not JSON, a session id that cannot be sent back as a header);
* ``parse_error_details`` / ``error_from_response`` on random bodies, statuses 400-599 and garbage headers;
* webhooks: only the true HMAC with one of the keys verifies, and ``construct_event`` on random (correctly
  signed) bytes returns an event or raises ``WebhookPayloadError``, with no key in any message.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import respx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bill_sdk import AsyncBill, models
from bill_sdk._spec import load_bundled, schema_properties
from bill_sdk.errors import (
    APIError,
    BillError,
    ErrorDetail,
    PaginationError,
    ResponseDecodeError,
    error_from_response,
    parse_error_details,
)
from bill_sdk.webhooks import (
    WebhookEvent,
    WebhookPayloadError,
    WebhookSignatureError,
    construct_event,
    parse_event,
    sign,
    verify_signature,
)
from tests.bodies import payment

SPEC = load_bundled()
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
MODEL_NAMES = sorted(name for name in models.__all__ if hasattr(getattr(models, name), "from_dict"))
REPRESENTATIVE = [
    "Vendor",
    "Bill",
    "Payment",
    "Invoice",
    "Customer",
    "VendorPage",
    "Subscription",
    "Budget",
    "Transaction",
    "ErrorItem",
]
MAX_MESSAGE = 1000  # a ResponseDecodeError's text: model name, call and a reason truncated to 200 characters
# The example database and derandomization come from the profile (tests/conftest.py): none and a fixed seed in
# `make test`, random seeds and a local database in `make fuzz`.
SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck)}


def examples(n: int) -> int:
    """`n` examples under the `ci` profile (`make test`), proportionally more under `explore` (`make fuzz`)."""
    return n * max(1, settings().max_examples // settings.get_profile("ci").max_examples)


# Secrets whose absence from messages is asserted start with this marker, which no SDK text contains (checked by
# test_the_secret_marker_occurs_in_no_sdk_text). A random secret could be SDK text: Hypothesis also draws strings
# from the SDK's own source constants, so a webhook key could be "WebhookPayloadError", which every
# repr(WebhookPayloadError(...)) contains, and "no key in the error" failed for a reason that is no leak.
SECRET_MARKER = "Zq7LEAKCHECKx9W"


# What BILL always sends on a vendor (the `required` fields of the Vendor schema).
VENDOR_REQUIRED = {
    "archived": False,
    "name": "Acme",
    "createdTime": "2024-01-02T03:04:05Z",
    "updatedTime": "2024-01-02T03:04:05Z",
}


# --------------------------------------------------------------------------- schema helpers


def properties(schema: dict[str, Any]) -> dict[str, Any]:
    """The properties of an object schema, allOf parts merged."""
    return schema_properties(SPEC, schema) or {}


ALL_KEYS = sorted({key for schema in SCHEMAS.values() for key in properties(schema)})
assert all(name in SCHEMAS for name in REPRESENTATIVE)


def field_names(name: str) -> list[str]:
    """The JSON keys of a model: from the spec, or (inline schemas such as ErrorParamAdditional) its attributes."""
    if name in SCHEMAS:
        return sorted(properties(SCHEMAS[name]))
    names = [f.name.rstrip("_") for f in attrs.fields(getattr(models, name)) if f.name != "additional_properties"]
    return sorted(n.split("_")[0] + "".join(p.title() for p in n.split("_")[1:]) for n in names)


# --------------------------------------------------------------------------- strategies

TRICKY_STRINGS = [
    "",
    " ",
    "null",
    "NaN",
    "Infinity",
    "-0",
    "1e999999",
    "0x1F",
    "１２３",  # full-width digits
    "2024-02-30",
    "2024-01-01T25:61:00Z",
    "9999-12-31T23:59:59.999999+14:00",
    "0001-01-01T00:00:00-23:59",
    "\x00",
    "\ud800",  # a lone surrogate: json.loads gives one for "\\ud800"
    "\u202e",
    "BUSINESS",
    "__proto__",
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included: the SDK's json parser accepts NaN/Infinity
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(TRICKY_STRINGS),
)
keys = st.one_of(st.sampled_from(ALL_KEYS), st.text(max_size=6))
any_json = st.recursive(
    leaves, lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4), max_leaves=12
)

MAX_SHAPED_DEPTH = 4
_shaped_cache: dict[tuple[str, int], st.SearchStrategy[Any]] = {}


def _merge(documents: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    known, extra = documents
    return {**extra, **known}


def shaped(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Documents that follow the schema loosely: right keys and plausible values, with garbage at any depth."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        key = (name, depth)
        if key not in _shaped_cache:
            _shaped_cache[key] = st.deferred(lambda: _shaped(SCHEMAS[name], depth))
        return _shaped_cache[key]
    return _shaped(schema, depth)


def _shaped(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if depth >= MAX_SHAPED_DEPTH:
        return any_json
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        return st.one_of([shaped(alt, depth) for alt in alternatives] + [any_json])
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), st.text(max_size=8), any_json)
    types = schema.get("type", "object" if "properties" in schema or "allOf" in schema else None)
    if types is None:
        return any_json
    options: list[st.SearchStrategy[Any]] = []
    for kind in types if isinstance(types, list) else [types]:
        if kind == "object":
            optional = {key: shaped(sub, depth + 1) for key, sub in properties(schema).items()}
            known = st.fixed_dictionaries({}, optional=optional)  # type: ignore[arg-type]
            options.append(st.tuples(known, st.dictionaries(keys, any_json, max_size=2)).map(_merge))
        elif kind == "array":
            options.append(st.lists(shaped(schema.get("items", {}), depth + 1), max_size=3))
        elif kind == "string":
            fmt = schema.get("format")
            if fmt == "date":
                options.append(st.dates().map(datetime.date.isoformat))
            elif fmt == "date-time":
                zones = st.none() | st.just(datetime.UTC) | st.just(datetime.timezone(datetime.timedelta(hours=-5)))
                options.append(st.datetimes(timezones=zones).map(datetime.datetime.isoformat))
            options.append(st.text(max_size=10))
        elif kind in ("number", "integer"):
            options.append(st.integers() | st.decimals(allow_nan=False, allow_infinity=False))
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
    options.append(any_json)
    return st.one_of(options)


def to_json(value: Any) -> bytes:
    """JSON bytes of a generated value (Decimals as numbers; NaN and Infinity written as Python's json does)."""
    return json.dumps(value, default=float, allow_nan=True).encode()


def documents_for(name: str) -> st.SearchStrategy[Any]:
    """A top-level document for model `name`: near-valid, a dict of real keys with garbage, or any JSON value."""
    real_keys = st.sampled_from(field_names(name)) if field_names(name) else st.text(max_size=6)
    loose = st.dictionaries(real_keys | st.text(max_size=6), any_json, max_size=8)
    if name not in SCHEMAS:
        return st.one_of(loose, any_json)
    return st.one_of(shaped({"$ref": f"#/components/schemas/{name}"}), loose, any_json)


# --------------------------------------------------------------------------- the property


def decode(cls: Any, document: Any) -> Any:
    """``cls.from_dict(document)``: a model, or None after a well-formed ResponseDecodeError. Anything else raises."""
    try:
        model = cls.from_dict(document)
    except ResponseDecodeError as exc:
        assert isinstance(exc, BillError)
        assert exc.model, "the error names the model that could not be built"
        assert len(str(exc)) <= MAX_MESSAGE, str(exc)[:200]
        return None
    assert isinstance(model, cls)
    model.to_dict()  # whatever from_dict accepted can be written back (webhook re-emit, caching, logging)
    return model


# --------------------------------------------------------------------------- models: random documents


@pytest.mark.parametrize("name", REPRESENTATIVE)
@settings(max_examples=examples(30), **SETTINGS)
@given(data=st.data())
def test_representative_models_decode_any_json_or_raise_a_typed_error(name: str, data: st.DataObject) -> None:
    decode(getattr(models, name), data.draw(documents_for(name), label="document"))


@pytest.mark.parametrize("name", MODEL_NAMES)
@settings(max_examples=examples(3), **SETTINGS)
@given(data=st.data())
def test_every_model_decodes_any_json_or_raises_a_typed_error(name: str, data: st.DataObject) -> None:
    decode(getattr(models, name), data.draw(documents_for(name), label="document"))


def test_every_model_is_covered() -> None:
    assert len(MODEL_NAMES) > 240
    assert set(REPRESENTATIVE) <= set(MODEL_NAMES)


# --------------------------------------------------------------------------- models: deterministic abuse

WRONG_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**80,
    1.5,
    float("nan"),
    float("inf"),
    Decimal("1E+999999"),
    Decimal("-0"),
    "",
    "x",
    "2024-13-45",
    "\ud800",
    [],
    [None],
    [1, "a", {}],
    {},
    {"a": 1},
    {"id": {"id": {"id": []}}},
    object(),  # not JSON at all: from_dict is public, so callers can pass anything
    b"bytes",
]


def test_a_wrong_type_in_every_field_of_every_model_is_a_typed_error_or_kept() -> None:
    checked = 0
    for name in MODEL_NAMES:
        cls = getattr(models, name)
        for field in field_names(name):
            for value in WRONG_VALUES:
                decode(cls, {field: value})
                checked += 1
    assert checked > 10_000


@pytest.mark.parametrize("value", [None, 0, "", "vendor", [], [{}], 1.5, True, object()])
def test_a_document_that_is_not_an_object_is_a_typed_error(value: Any) -> None:
    for name in MODEL_NAMES:
        with pytest.raises(ResponseDecodeError):
            getattr(models, name).from_dict(value)


MEGABYTE = 1024 * 1024


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_one_megabyte_strings_in_every_field_and_key(name: str) -> None:
    cls = getattr(models, name)
    huge_text = "é" * MEGABYTE
    huge_digits = "9" * MEGABYTE
    for field in field_names(name):
        for value in (huge_text, huge_digits, [huge_text], {huge_text: huge_text}):
            decode(cls, {field: value})
    model = decode(cls, {huge_text: huge_text})
    if model is not None:
        assert model.additional_properties == {huge_text: huge_text}


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


DEEP_LIST = deep_list(100_000)


def deep_dict(depth: int, key: str) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {key: value}
    return value


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_hundred_thousand_deep_nesting_in_every_field(name: str) -> None:
    cls = getattr(models, name)
    for field in field_names(name):
        decode(cls, {field: DEEP_LIST})
        # The field's own name at every level: a model that recursed into itself would go past the recursion
        # limit (the spec has no such cycle today; this keeps it safe if one appears).
        decode(cls, {field: deep_dict(3 * sys.getrecursionlimit(), field)})
    decode(cls, deep_dict(100_000, field_names(name)[0]))


# --------------------------------------------------------------------------- through the client (respx)

BASE = "https://gateway.stage.bill.com"
CREDENTIALS = {
    "dev_key": "hostile-dev-key",
    "username": "ap@example.com",
    "password": "hostile-password",
    "organization_id": "00801ORG",
    "api_token": "hostile-api-token",
}
LOGIN_ANSWER = {"sessionId": "hostile-session", "organizationId": "00801ORG", "userId": "00601USER"}
VALID_PAYMENT = json.dumps(
    {
        "id": "stp01AAAA",
        "billId": "00n01AAAA",
        "vendorId": "00901AAAA",
        "amount": 125.50,
        "processDate": "2024-05-01",
        "createdTime": "2024-05-01T10:00:00.000+00:00",
        "fundingAccount": {"type": "BANK_ACCOUNT", "id": "bac01AAAA"},
        "status": "SCHEDULED",
    }
).encode()


def payment_body() -> Any:
    return payment("00n01AAAA", "125.50", "bac01AAAA")


# name -> (method, respx path, call, model, idempotent)
CALLS: dict[str, tuple[str, str, Callable[[AsyncBill], Awaitable[Any]], Any, bool]] = {
    "createPayment": (
        "POST",
        "/connect/v3/payments",
        lambda b: b.payments.create(body=payment_body()),
        models.Payment,
        False,
    ),
    "getVendor": ("GET", "/connect/v3/vendors/00901X", lambda b: b.vendors.get("00901X"), models.Vendor, True),
    "listVendors": ("GET", "/connect/v3/vendors", lambda b: b.vendors.list(), models.VendorPage, True),
    "listBudgets": ("GET", "/connect/v3/spend/budgets", lambda b: b.spend.budgets.list(), models.BudgetPage, True),
}

DEEP_ARRAYS = b"[" * 100_000 + b"]" * 100_000
FIXED_BODIES = [
    b"",
    b"   ",
    b"null",
    b"true",
    b"0",
    b'"a string"',
    b"[]",
    b"[{}]",
    DEEP_ARRAYS,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"results":' + DEEP_ARRAYS + b"}",
    b"\xff\xfe\xfd",
    '{"id": "caf\u00e9"}'.encode("latin-1"),  # valid JSON, not UTF-8
    '{"id": "x"}'.encode("utf-16"),
    b"\xef\xbb\xbf" + VALID_PAYMENT,  # a UTF-8 byte order mark
    b'{"amount": NaN, "processDate": "2024-05-01"}',
    b'{"amount": Infinity}',
    b'{"amount": 1e999999999}',
    b'{"amount": ' + b"1" * 5000 + b"}",  # beyond Python's int-from-str digit limit
    b'{"id": "\\ud800"}',
    b'{"results": "not a list", "nextPage": 5}',
    b'{"results": [null, 1, "x", []]}',
    b"<html><body>502 Bad Gateway</body></html>",
    VALID_PAYMENT,
]

bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(FIXED_BODIES),
    st.integers(min_value=0, max_value=len(VALID_PAYMENT)).map(lambda n: VALID_PAYMENT[:n]),  # truncated JSON
    any_json.map(to_json),
    shaped({"$ref": "#/components/schemas/Payment"}).map(to_json),
    shaped({"$ref": "#/components/schemas/VendorPage"}).map(to_json),
)


def call_with_body(name: str, body: bytes, content_type: str = "application/json") -> tuple[int, Any, Exception | None]:
    method, path, call, _, _ = CALLS[name]

    async def run() -> tuple[int, Any, Exception | None]:
        with respx.mock(base_url=BASE, assert_all_called=False) as router:
            router.post("/connect/v3/login").respond(200, json=LOGIN_ANSWER)
            router.post("/connect/v3/logout").respond(200, json={})
            route = router.route(method=method, path=path).respond(
                200, content=body, headers={"content-type": content_type}
            )
            async with AsyncBill(**CREDENTIALS, env={}, max_retries=2) as bill:
                try:
                    result = await call(bill)
                except ResponseDecodeError as exc:
                    return route.call_count, None, exc
                return route.call_count, result, None

    return asyncio.run(run())


def check_call_outcome(name: str, sent: int, result: Any, error: Exception | None) -> None:
    method, _, _, model, idempotent = CALLS[name]
    assert sent == 1, "an answer that cannot be read is never a reason to send the request again"
    if error is None:
        assert isinstance(result, model)
        return
    assert isinstance(error, ResponseDecodeError) and isinstance(error, BillError)
    assert (error.status_code, error.method, error.operation_id) == (200, method, name)
    assert len(str(error)) <= MAX_MESSAGE
    if not idempotent:
        assert "BILL accepted the request, so it was done" in str(error)
        assert "instead of repeating the call" in str(error)


@pytest.mark.parametrize("name", list(CALLS))
@settings(max_examples=examples(30), **SETTINGS)
@given(body=bodies)
def test_a_200_with_any_body_gives_a_model_or_a_decode_error_and_is_sent_once(name: str, body: bytes) -> None:
    check_call_outcome(name, *call_with_body(name, body))


@pytest.mark.parametrize("body", FIXED_BODIES, ids=lambda b: repr(b[:24]))
def test_every_fixed_hostile_body_on_a_create_payment(body: bytes) -> None:
    sent, result, error = call_with_body("createPayment", body)
    check_call_outcome("createPayment", sent, result, error)


def test_the_deep_array_body_says_the_payment_was_done() -> None:
    sent, _, error = call_with_body("createPayment", DEEP_ARRAYS)
    assert sent == 1
    assert isinstance(error, ResponseDecodeError)
    assert "POST /v3/payments (createPayment) answered 200" in str(error)
    assert "BILL accepted the request, so it was done" in str(error)


async def test_a_cursor_loop_in_hostile_pages_ends_with_a_pagination_error() -> None:
    """A server that hands back a cursor it already gave (A -> B -> A) must not make iteration loop forever, nor
    end it as if the listing were complete (tests/reliability/test_pagination_safety.py has the other cases)."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login").respond(200, json=LOGIN_ANSWER)
        router.post("/connect/v3/logout").respond(200, json={})

        def page(request: httpx.Request) -> httpx.Response:
            cursor = request.url.params.get("page")
            nxt = {"": "A\r\nB", "A\r\nB": "ç" * 3000}.get(cursor or "", "A\r\nB")
            return httpx.Response(
                200, json={"results": [{**VENDOR_REQUIRED, "id": f"00901{cursor!r}"}], "nextPage": nxt}
            )

        route = router.get("/connect/v3/vendors").mock(side_effect=page)
        vendors: list[Any] = []
        async with AsyncBill(**CREDENTIALS, env={}) as bill:
            with pytest.raises(PaginationError, match=r"cursor cycle.*\(listVendors\)"):
                async for vendor in bill.vendors.iter():
                    vendors.append(vendor)
    assert len(vendors) == route.call_count == 3


# --------------------------------------------------------------------------- a hostile login answer


def login_then_call(login: dict[str, Any]) -> tuple[Exception | None, Exception | None, bool]:
    """(error of the first call, error of aclose, whether the client's connection pool got closed)."""

    async def run() -> tuple[Exception | None, Exception | None, bool]:
        with respx.mock(base_url=BASE, assert_all_called=False) as router:
            router.post("/connect/v3/login").respond(200, **login)
            router.post("/connect/v3/logout").respond(200, json={})
            router.get("/connect/v3/vendors/00901X").respond(200, json={"id": "00901X"})
            bill = AsyncBill(**CREDENTIALS, env={})
            call_error = close_error = None
            try:
                await bill.vendors.get("00901X")
            except Exception as exc:
                call_error = exc
            try:
                await bill.aclose()
            except Exception as exc:
                close_error = exc
            return call_error, close_error, bill._http.is_closed

    return asyncio.run(run())


@pytest.mark.parametrize(
    "login",
    [{"content": b"null"}, {"json": []}, {"json": {"sessionId": 5}}, {"json": {"organizationId": "00801ORG"}}],
    ids=["null", "list", "number-session", "no-session"],
)
def test_a_login_answer_without_a_session_is_a_bill_error(login: dict[str, Any]) -> None:
    call_error, close_error, closed = login_then_call(login)
    assert isinstance(call_error, BillError)
    assert close_error is None and closed


@pytest.mark.parametrize(
    "login",
    [{"content": b"<html>login page</html>"}, {"content": DEEP_ARRAYS}, {"content": b""}],
    ids=["html", "deep", "empty"],
)
def test_a_login_answer_that_is_not_json_is_a_bill_error(login: dict[str, Any]) -> None:
    call_error, close_error, closed = login_then_call(login)
    assert isinstance(call_error, BillError), repr(call_error)
    assert close_error is None and closed


def test_a_non_ascii_session_id_does_not_break_aclose() -> None:
    call_error, close_error, closed = login_then_call({"json": {"sessionId": "sessión-ñ"}})
    assert call_error is None or isinstance(call_error, BillError), repr(call_error)
    assert close_error is None, repr(close_error)
    assert closed


@pytest.mark.integration
@pytest.mark.parametrize("session_id", ["a\r\nInjected: 1", "a\x00b", " padded "], ids=["crlf", "nul", "spaces"])
def test_a_session_id_that_cannot_be_a_header_is_a_bill_error_over_real_http(session_id: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bill_sdk.testing.server import serve_app

    async def login(request: Request) -> JSONResponse:
        return JSONResponse({"sessionId": session_id, "organizationId": "00801ORG"})

    async def vendor(request: Request) -> JSONResponse:
        return JSONResponse({"id": "00901X"})

    app = Starlette(
        routes=[
            Route("/connect/v3/login", login, methods=["POST"]),
            Route("/connect/v3/logout", vendor, methods=["POST"]),
            Route("/connect/v3/vendors/{vendor_id}", vendor),
        ]
    )

    async def run(url: str) -> Exception | None:
        async with AsyncBill(**CREDENTIALS, base_url=url, env={}) as bill:
            try:
                await bill.vendors.get("00901X")
            except Exception as exc:
                return exc
        return None

    with serve_app(app) as url:
        error = asyncio.run(run(url))
    assert error is None or isinstance(error, BillError), repr(error)


# --------------------------------------------------------------------------- error bodies

header_values = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from(
        [
            b"-1",
            b"1e309",
            b"9" * 400,
            b"NaN",
            b"inf",
            b"0x10",
            "１２".encode(),
            b"Wed, 21 Oct 2015 07:28:00 GMT",
            b"Fri, 31 Dec 9999 23:59:59 GMT",
            b"Mon, 01 Jan 0000 00:00:00 GMT",
            b"Mon, 99 Foo 9999 99:99:99 GMT",
            b"Tue, 01 Jan 2030 00:00:00 +9999",
            b"",
            b" ",
        ]
    ),
)
error_bodies = st.one_of(
    st.binary(max_size=2048),
    st.sampled_from(FIXED_BODIES),
    any_json.map(to_json),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "code": st.one_of(st.sampled_from(["BDC_1109", "BDC_1144", "BDC_1361", "bdc_1101 "]), any_json),
                "message": any_json,
                "detail": any_json,
                "timestamp": any_json,
            },
        ),
        max_size=5,
    ).map(to_json),
)
HEADER_NAMES = ["retry-after", "x-request-id", "x-amzn-requestid", "content-type", "x-amzn-trace-id"]


@settings(max_examples=examples(300), **SETTINGS)
@given(
    status=st.integers(min_value=400, max_value=599),
    body=error_bodies,
    headers=st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_values), max_size=5),
    path=st.text(max_size=30).map(lambda t: "/connect/v3/x" + "".join(c for c in t if c.isalnum())),
)
def test_error_from_response_never_raises_and_stays_bounded(
    status: int, body: bytes, headers: list[tuple[str, bytes]], path: str
) -> None:
    details = parse_error_details(body)
    assert all(isinstance(d, ErrorDetail) for d in details)
    response = httpx.Response(
        status,
        content=body,
        headers=[(name.encode(), value) for name, value in headers],
        request=httpx.Request("POST", BASE + path + f"?name={SECRET_MARKER}-filter"),
    )
    error = error_from_response(response, operation_id="op", secrets=["hostile-dev-key"])
    assert isinstance(error, APIError)
    text, rep = str(error), repr(error)
    # Every field is capped at 2000 characters and a body is parsed only up to 256 KB: the message grows at most
    # linearly with the body and the request-id headers (not capped, see the test below), plus the fixed head and hint.
    budget = 2 * len(body) + sum(len(value) + 2 for _, value in headers) + 1500
    assert len(text) <= budget, len(text)
    assert len(rep) <= budget, len(rep)
    assert SECRET_MARKER not in text  # the query string (filters may carry personal data) is never shown
    assert error.retry_after is None or (error.retry_after >= 0 and error.retry_after < float("inf"))


HUGE_ERROR_ITEM = b'{"code":"BDC_1","x":1},'


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"[" + HUGE_ERROR_ITEM * (250_000 // len(HUGE_ERROR_ITEM)) + b'{"x":1}]', {}),
        (b'[{"code":"BDC_1109","message":"Session is invalid"}]', {"x-request-id": "r" * 65_536}),
    ],
    ids=["256KB-error-array", "64KB-request-id"],
)
def test_the_message_of_a_huge_error_has_an_absolute_bound(body: bytes, headers: dict[str, str]) -> None:
    assert len(body) < 256 * 1024
    response = httpx.Response(400, content=body, headers=headers, request=httpx.Request("GET", BASE + "/v3/x"))
    error = error_from_response(response)
    assert isinstance(error, APIError)
    assert len(str(error)) <= 16_384, len(str(error))
    assert len(repr(error)) <= 16_384, len(repr(error))


# --------------------------------------------------------------------------- webhooks

# Keys checked for leaks: the marker plus anything (unicode, bytes, longer than an HMAC block). Arbitrary keys
# (empty-ish, one byte, zero-padded) are drawn too, for verification; a leak check cannot tell those from SDK text.
marked_keys = st.one_of(
    st.text(max_size=40).map(lambda suffix: SECRET_MARKER + suffix),
    st.binary(max_size=64).map(lambda suffix: SECRET_MARKER.encode() + suffix),
)
webhook_keys = st.one_of(marked_keys, st.text(min_size=1, max_size=40), st.binary(min_size=1, max_size=64))


def key_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


@settings(max_examples=examples(300), **SETTINGS)
@given(body=st.binary(max_size=512), key=webhook_keys, other=webhook_keys, noise=st.binary(min_size=32, max_size=32))
def test_only_the_true_hmac_with_a_configured_key_verifies(body: bytes, key: Any, other: Any, noise: bytes) -> None:
    signature = sign(body, key)
    expected = base64.b64encode(hmac.new(key_bytes(key), body, hashlib.sha256).digest()).decode()
    assert signature == expected
    verify_signature(body, signature, key)
    verify_signature(body, signature, [other, key])  # rotation: any configured key
    verify_signature(body, f"  {signature}\t", key)
    # HMAC pads keys with zero bytes (b"\x00" and b"\x00\x00" are the same key) and hashes keys longer than a
    # block, so "another key" means one whose HMAC differs.
    if sign(body, other) != signature:
        rejected = [
            (body, sign(body, other), key),
            (body, signature, other),
            (body, signature, [other, other]),
        ]
    else:
        rejected = []
    rejected += [
        (body + b"x", signature, key),
        (body, sign(body + b"x", key), key),
        (body, base64.b64encode(noise).decode(), key),
        (body, signature.rstrip("="), key),
        (body, base64.urlsafe_b64encode(hmac.new(key_bytes(key), body, hashlib.sha256).digest()).decode() + "!", key),
        (body, hmac.new(key_bytes(key), body, hashlib.sha256).hexdigest(), key),
        (body, base64.b64encode(hmac.new(key_bytes(key), body, hashlib.sha1).digest()).decode(), key),
        (body, base64.b64encode(hmac.new(key_bytes(key), body, hashlib.sha256).digest() + b"\x00").decode(), key),
    ]
    for candidate_body, candidate_signature, keys in rejected:
        if candidate_signature == signature and candidate_body == body and keys in (key, [other, key]):
            continue  # noise that happens to equal the true HMAC: 2**-256
        with pytest.raises(WebhookSignatureError) as caught:
            verify_signature(candidate_body, candidate_signature, keys)
        assert_no_key_in(caught.value, key, other)


@settings(max_examples=examples(300), **SETTINGS)
@given(signature=st.text(max_size=80), body=st.binary(max_size=64), key=webhook_keys)
def test_random_signature_text_never_verifies_and_never_raises_bare(signature: str, body: bytes, key: Any) -> None:
    if signature.strip() == sign(body, key):
        return
    with pytest.raises(WebhookSignatureError) as caught:
        verify_signature(body, signature, key)
    assert_no_key_in(caught.value, key)


def assert_no_key_in(error: BaseException, *keys: Any) -> None:
    """No marked key, nor its marker (so no part of one, escaped or not), in the error's message or repr."""
    text = f"{error!s} {error!r}"
    assert SECRET_MARKER not in text
    for key in keys:
        as_text = key if isinstance(key, str) else key.decode("latin-1")
        if as_text.startswith(SECRET_MARKER):
            assert as_text not in text


def test_the_secret_marker_occurs_in_no_sdk_text() -> None:
    """Not in the SDK's source (its messages, and the constants Hypothesis draws strings from) nor in the spec."""
    package = resources.files("bill_sdk")
    sources = [p for p in Path(str(package)).rglob("*") if p.suffix in (".py", ".json")]
    assert len(sources) > 100
    assert not [p for p in sources if SECRET_MARKER in p.read_text(encoding="utf-8", errors="replace")]


notification_bodies = st.one_of(
    st.binary(max_size=400),
    st.sampled_from(FIXED_BODIES),
    any_json.map(to_json),
    st.fixed_dictionaries(
        {
            "metadata": st.fixed_dictionaries(
                {}, optional={"eventId": any_json, "eventType": any_json, "version": any_json}
            )
        },
        optional={"bill": any_json, "vendor": any_json, "bank-account": any_json, "transaction": any_json},
    ).map(to_json),
    st.builds(
        lambda event_type, entity: json.dumps(
            {"metadata": {"eventId": "e1", "eventType": event_type}, event_type.split(".")[0]: entity}, default=float
        ).encode(),
        st.sampled_from(["bill.created", "vendor.updated", "payment.updated", "bank-account.created", "x.y"]),
        st.one_of(
            shaped({"$ref": "#/components/schemas/Bill"}),
            shaped({"$ref": "#/components/schemas/Vendor"}),
            any_json,
        ),
    ),
    any_json.map(lambda v: json.dumps(to_json(v).decode()).encode()),  # double-encoded
)


@settings(max_examples=examples(300), **SETTINGS)
@given(body=notification_bodies, key=marked_keys)
@example(body=b"", key="WebhookPayloadError")  # the old flake: a key that is SDK text, not a leak
def test_construct_event_on_any_signed_body_gives_an_event_or_a_payload_error(body: bytes, key: Any) -> None:
    try:
        event = construct_event(body, sign(body, key), [key])
    except WebhookPayloadError as exc:
        assert isinstance(exc, BillError)
        assert_no_key_in(exc, key)
        assert len(str(exc)) < 200
        return
    assert isinstance(event, WebhookEvent)
    assert isinstance(event.event_id, str) and event.event_id
    assert isinstance(event.entity, dict)
    # The typed entity is a generated model, the raw dict, or a typed decode error; never a bare exception.
    try:
        event.typed_entity()
    except ResponseDecodeError:
        pass


@pytest.mark.parametrize("body", [DEEP_ARRAYS, json.dumps(DEEP_ARRAYS.decode()).encode(), b"\xff" * 10])
def test_parse_event_on_pathological_bodies_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_event(body)
