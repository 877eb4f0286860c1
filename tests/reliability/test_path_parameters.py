"""Path parameters stay inside their segment (issue #12, item 1).

An id is put into the URL path percent-encoded; httpx then normalizes the path (RFC 3986 dot segments). An id of
``..`` used to turn ``DELETE /v3/spend/budgets/{budgetId}/members/{userId}`` into ``DELETE
/v3/spend/budgets/{budgetId}`` (the whole budget deleted) and ``GET /v3/vendors/.`` into the vendor list.

Checked for every generated operation that has path parameters (found by importing the generated modules, not
from a list):

* hostile ids (empty, blank, ``.``, ``..``, their percent-encoded and Unicode look-alikes, control characters,
  lone surrogates, over-long values, non-strings) raise ``ArgumentError`` naming the parameter, and the Sender is
  never called;
* the mechanism: for any string, either it is refused, or the request httpx really builds has exactly the
  template's segments, the id's segment decoding back to the id (hypothesis, and a list of odd-but-legal ids:
  spaces, ``/``, ``?``, ``#``, ``%``, Unicode);
* through ``AsyncBill`` with respx: ``spend.budgets.delete_member("b1", "..")`` and ``vendors.get(".")`` send
  nothing, not even a login.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import re
import types
import typing
from dataclasses import dataclass
from typing import Any
from unittest import mock
from urllib.parse import quote, unquote

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bill_sdk._generated.api as api_package
from bill_sdk import AsyncBill
from bill_sdk._generated.types import UNSET, File, Operation, Unset
from bill_sdk.errors import ArgumentError

BASE = "https://gateway.stage.bill.com/connect"


@dataclass(frozen=True)
class Endpoint:
    module: types.ModuleType
    operation: Operation
    path_params: tuple[str, ...]  # python names, in the template's order

    def __str__(self) -> str:
        return self.operation.operation_id


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _endpoints() -> list[Endpoint]:
    found = []
    for info in pkgutil.walk_packages(api_package.__path__, api_package.__name__ + "."):
        module = importlib.import_module(info.name)
        operation = getattr(module, "OPERATION", None)
        if not isinstance(operation, Operation):
            continue
        names = tuple(_snake(n) for n in re.findall(r"\{([^}]+)\}", operation.path))
        if names:
            found.append(Endpoint(module, operation, names))
    return sorted(found, key=str)


ENDPOINTS = _endpoints()


def test_the_generated_operations_with_path_parameters_are_all_found() -> None:
    # 108 of the spec's operations have path parameters (114 parameters); a broken import would make the rest of
    # this file pass vacuously.
    assert len(ENDPOINTS) >= 100
    assert sum(len(e.path_params) for e in ENDPOINTS) >= 110
    for endpoint in ENDPOINTS:
        positional = [
            p.name
            for p in inspect.signature(endpoint.module._get_kwargs).parameters.values()
            if p.kind is p.POSITIONAL_OR_KEYWORD
        ]
        assert tuple(positional) == endpoint.path_params, endpoint


# --------------------------------------------------------------------------- calling any operation


def _dummy(annotation: Any) -> Any:
    """A value of the annotated type good enough for _get_kwargs (bodies are mocks: only isinstance matters)."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        choices = [a for a in typing.get_args(annotation) if a not in (Unset, type(None))]
        return _dummy(choices[0])
    if origin is list:
        return [_dummy(typing.get_args(annotation)[0])]
    if origin is dict or annotation is dict:
        return {}
    if annotation is File:
        return File(payload=b"x")
    if annotation is str:
        return "x"
    if annotation is bool:
        return True
    if annotation is int:
        return 1
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    if isinstance(annotation, type) and hasattr(annotation, "to_dict"):
        return mock.MagicMock(spec=annotation)
    return "x"


def _call_args(endpoint: Endpoint, ids: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the endpoint's _get_kwargs: the given ids, dummies for other required arguments."""
    function = endpoint.module._get_kwargs
    hints = typing.get_type_hints(function)
    args: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name in ids:
            args[parameter.name] = ids[parameter.name]
        elif parameter.name in endpoint.path_params:
            args[parameter.name] = "id1"
        elif parameter.default is inspect.Parameter.empty:
            args[parameter.name] = _dummy(hints[parameter.name])
    return args


class RecordingSender:
    """A Sender that builds the request exactly as bill_sdk._transport.RequestSender does, and records it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def send(self, operation: Operation, *, url: str, params: Any = None, **_: Any) -> httpx.Response:
        request = httpx.Request(operation.method, BASE + url, params=params)
        self.requests.append(request)
        return httpx.Response(204, request=request)


def built_request(endpoint: Endpoint, ids: dict[str, Any]) -> httpx.Request:
    kwargs = endpoint.module._get_kwargs(**_call_args(endpoint, ids))
    return httpx.Request(endpoint.operation.method, BASE + kwargs["url"], params=kwargs.get("params"))


def expected_raw_path(endpoint: Endpoint, ids: dict[str, str]) -> bytes:
    """The template with every parameter replaced by its percent-encoded value: one segment each."""
    values = iter(quote(ids.get(name, "id1"), safe="") for name in endpoint.path_params)
    path = re.sub(r"\{[^}]+\}", lambda _: next(values), endpoint.operation.path)
    return ("/connect" + path).encode("ascii")


def assert_refused_or_one_segment(endpoint: Endpoint, name: str, value: str) -> None:
    """The property under test: the id is refused, or the real request keeps it inside its own segment."""
    try:
        request = built_request(endpoint, {name: value})
    except ArgumentError:
        return
    raw_path = request.url.raw_path.split(b"?", 1)[0]
    assert raw_path == expected_raw_path(endpoint, {name: value}), (str(endpoint), name, value)
    segments = raw_path.split(b"/")
    template = ("/connect" + endpoint.operation.path).split("/")
    assert len(segments) == len(template)
    index = template.index("{" + _camel_of(endpoint, name) + "}")
    assert unquote(segments[index].decode("ascii"), errors="strict") == value


def _camel_of(endpoint: Endpoint, name: str) -> str:
    for original in re.findall(r"\{([^}]+)\}", endpoint.operation.path):
        if _snake(original) == name:
            return original
    raise KeyError(name)


# --------------------------------------------------------------------------- hostile ids are refused

HOSTILE_STRINGS = [
    "",
    " ",
    "\t\n",
    "\u3000",  # ideographic space: whitespace only
    ".",
    "..",
    " .. ",
    "%2e",
    "%2E%2E",
    ".%2e",
    "%252e%252e",  # decodes twice to ..
    "\uff0e\uff0e",  # full-width full stops: NFKC gives ..
    "\u2025",  # two dot leader: NFKC gives ..
    "\u2024",  # one dot leader: NFKC gives .
    "abc\x00def",
    "abc%00def",  # a NUL once decoded
    "abc\r\nX-Injected: 1",
    "id\x7f",
    "id\x85",  # C1 control (NEL)
    "\ud800",  # a lone surrogate cannot be encoded as UTF-8
    "a" * 1001,
]
HOSTILE_OBJECTS: list[Any] = [None, 0, 123, True, False, 1.5, b"009abc", ["009abc"], UNSET]


def _short(value: Any) -> str:
    return repr(value)[:20]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_hostile_ids_are_refused_before_anything_is_sent(endpoint: Endpoint) -> None:
    sender = RecordingSender()
    for name in endpoint.path_params:
        for value in [*HOSTILE_STRINGS, *HOSTILE_OBJECTS]:
            args = _call_args(endpoint, {name: value})
            try:
                await endpoint.module.asyncio(**args, client=sender)
            except ArgumentError as exc:
                message = str(exc)
            except Exception as exc:  # anything else is the failure under test
                sent = [str(r.url) for r in sender.requests]
                pytest.fail(f"{endpoint} {name}={_short(value)}: {type(exc).__name__}, sent {sent}")
            else:
                pytest.fail(f"{endpoint} {name}={_short(value)} accepted, sent {[str(r.url) for r in sender.requests]}")
            assert message.startswith(name), (str(endpoint), name, _short(value), message)
            assert len(message) < 300, (str(endpoint), name, _short(value))
    assert sender.requests == []


def test_a_non_string_id_is_refused_saying_ids_are_strings() -> None:
    endpoint = next(e for e in ENDPOINTS if e.operation.operation_id == "getVendor")
    with pytest.raises(ArgumentError, match=r"vendor_id must be a str .*got int"):
        built_request(endpoint, {"vendor_id": 9})


def test_an_over_long_id_is_refused_without_echoing_it() -> None:
    endpoint = next(e for e in ENDPOINTS if e.operation.operation_id == "getVendor")
    with pytest.raises(ArgumentError) as caught:
        built_request(endpoint, {"vendor_id": "0" * 100_000})
    assert "vendor_id" in str(caught.value)
    assert len(str(caught.value)) < 300


# --------------------------------------------------------------------------- legal ids stay in one segment

ODD_BUT_LEGAL = [
    "00901ABCDEFGHIJKLMNO",
    "5f0c7d3e-8a2b-4c1d-9e6f-0a1b2c3d4e5f",
    "a b",
    " leading-space",
    "a/b",
    "../a",
    "a/..",
    "a?b=c",
    "a#frag",
    "100%",
    "%41",
    "%2e%2e%2f",
    "...",
    ".a",
    "a.",
    "ünïcødé",
    "日本語",
    "emoji-😀",
    "a;b",
    "a\\b",
    "~user",
    "a" * 1000,
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_odd_but_legal_ids_stay_inside_their_segment(endpoint: Endpoint) -> None:
    for name in endpoint.path_params:
        for value in ODD_BUT_LEGAL:
            request = built_request(endpoint, {name: value})  # not refused
            assert request.url.raw_path.split(b"?", 1)[0] == expected_raw_path(endpoint, {name: value})
            assert_refused_or_one_segment(endpoint, name, value)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    index=st.integers(min_value=0, max_value=len(ENDPOINTS) - 1),
    value=st.one_of(
        st.text(max_size=12),
        st.text(alphabet=st.sampled_from(list("./%2eE\\ \t\uff0e\u2024\u2025")), max_size=8),
        st.sampled_from(HOSTILE_STRINGS + ODD_BUT_LEGAL),
    ),
)
def test_any_string_is_refused_or_stays_inside_its_segment(index: int, value: str) -> None:
    endpoint = ENDPOINTS[index]
    for name in endpoint.path_params:
        assert_refused_or_one_segment(endpoint, name, value)


# --------------------------------------------------------------------------- through the public client


@pytest.mark.parametrize(
    "call",
    [
        lambda bill: bill.spend.budgets.delete_member("b1", ".."),
        lambda bill: bill.spend.budgets.delete_member("..", "u1"),
        lambda bill: bill.vendors.get("."),
        lambda bill: bill.vendors.get("%2e%2e"),
        lambda bill: bill.vendors.archive(".."),
    ],
)
async def test_through_the_client_a_dot_segment_id_sends_nothing(call: Any) -> None:
    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as router:
        router.post("/connect/v3/login").respond(200, json={"sessionId": "s", "organizationId": "008X"})
        router.route().respond(200, json={})  # anything at all is recorded in router.calls
        async with AsyncBill(
            dev_key="dk", username="u@example.com", password="pw", organization_id="008X", api_token="t", env={}
        ) as bill:
            with pytest.raises(ArgumentError):
                await call(bill)
        assert [str(c.request.url) for c in router.calls] == []  # not even a login
