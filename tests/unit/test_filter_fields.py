"""Filters and sort know each list operation's fields (spec `x-filterable` / `x-sortable`) and refuse the rest
before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from bill_sdk import AsyncBill, asc, desc, sort_by, where
from bill_sdk._filters import check_filters, check_sort
from bill_sdk.errors import ArgumentError

BUNDLE = Path(__file__).resolve().parents[2] / "src" / "bill_sdk" / "_spec" / "bill-v3.json"
VENDOR_FILTERS = {"name": ("eq", "sw"), "createdTime": ("gt", "gte", "lt", "lte"), "address.country": ("eq", "ne")}


# --------------------------------------------------------------------------- the checks themselves


def test_known_field_and_operator_pass() -> None:
    check_filters("listVendors", where("name").sw("Acme") & where("address.country").eq("US"), VENDOR_FILTERS)
    check_sort("listVendors", sort_by(desc("createdTime"), asc("name")), ("name", "createdTime"))


def test_unknown_field_is_refused_listing_the_valid_ones() -> None:
    with pytest.raises(ArgumentError) as caught:
        check_filters("listVendors", where("nmae").eq("Acme"), VENDOR_FILTERS)
    message = str(caught.value)
    assert "'nmae'" in message and "listVendors" in message
    assert "address.country, createdTime, name" in message


def test_operator_the_field_does_not_take_is_refused() -> None:
    with pytest.raises(ArgumentError, match=r"'name'.*'gt'.*eq, sw"):
        check_filters("listVendors", where("name").gt("A"), VENDOR_FILTERS)


def test_raw_strings_are_checked_too() -> None:
    check_filters("listVendors", 'createdTime:gte:"2025-09-01T00:00:00.000Z",name:sw:"A,B:C"', VENDOR_FILTERS)
    with pytest.raises(ArgumentError, match="'nmae'"):
        check_filters("listVendors", "name:sw:Acme,nmae:eq:x", VENDOR_FILTERS)
    with pytest.raises(ArgumentError, match="field:op:value"):
        check_filters("listVendors", "name", VENDOR_FILTERS)


def test_unknown_sort_field_and_direction_are_refused() -> None:
    with pytest.raises(ArgumentError) as caught:
        check_sort("listVendors", "createdTime:desc,nmae:asc", ("name", "createdTime"))
    assert "'nmae'" in str(caught.value) and "createdTime, name" in str(caught.value)
    with pytest.raises(ArgumentError, match="asc or desc"):
        check_sort("listVendors", "name:up", ("name",))


# --------------------------------------------------------------------------- the data in the spec


def _list_operations() -> dict[str, dict]:  # type: ignore[type-arg]
    doc = json.loads(BUNDLE.read_text())
    return {
        op["operationId"]: op
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def test_spec_carries_bills_documented_fields() -> None:
    ops = _list_operations()
    assert ops["listVendors"]["x-filterable"]["name"] == ["eq", "sw"]
    assert "billCurrency" in ops["listVendors"]["x-filterable"]
    assert "invoiceCurrency" in ops["listCustomers"]["x-filterable"]
    assert ops["listBills"]["x-filterable"]["vendorId"] == ["eq", "in"]
    assert "createdTime" in ops["listVendors"]["x-sortable"]
    assert ops["listBudgets"]["x-sortable"] == ["name", "assigned", "limit", "spent"]


# --------------------------------------------------------------------------- through the SDK, before sending


@pytest.fixture
def router() -> respx.MockRouter:
    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as mock:
        yield mock


async def test_list_iter_and_pages_refuse_before_sending(router: respx.MockRouter) -> None:
    async with AsyncBill(dev_key="k", username="u", password="p", organization_id="00801X", env={}) as bill:
        with pytest.raises(ArgumentError, match="'nmae'"):
            await bill.vendors.list(filters=where("nmae").eq("Acme"))
        with pytest.raises(ArgumentError, match="'nmae'"):
            await bill.vendors.list(filters="nmae:eq:Acme")
        with pytest.raises(ArgumentError, match="sortable fields"):
            await bill.vendors.list(sort=desc("dueDate"))
        with pytest.raises(ArgumentError, match="'nmae'"):
            [v async for v in bill.vendors.iter(filters=where("nmae").eq("Acme"))]
        with pytest.raises(ArgumentError, match="'nmae'"):
            [p async for p in bill.vendors.pages(filters=where("nmae").eq("Acme"))]
    assert router.calls.call_count == 0  # not even a login


async def test_a_documented_field_is_sent(router: respx.MockRouter) -> None:
    router.post("/connect/v3/login").respond(200, json={"sessionId": "s", "organizationId": "00801X", "userId": "006"})
    router.post("/connect/v3/logout").respond(200, json={})
    route = router.get("/connect/v3/vendors").respond(200, json={"results": []})
    async with AsyncBill(dev_key="k", username="u", password="p", organization_id="00801X", env={}) as bill:
        await bill.vendors.list(filters=where("name").sw("Acme"), sort=desc("createdTime"))
    assert httpx.URL(str(route.calls.last.request.url)).params["filters"] == "name:sw:Acme"


def test_spend_lists_take_one_sort_field() -> None:
    check_sort("listBudgets", desc("spent"), ("name", "spent"), max_fields=1)
    with pytest.raises(ArgumentError, match="at most 1 field"):
        check_sort("listBudgets", sort_by(desc("spent"), asc("name")), ("name", "spent"), max_fields=1)
    ops = _list_operations()
    assert ops["listBudgets"]["x-sort-max-fields"] == 1 and "x-sort-max-fields" not in ops["listVendors"]


async def test_spend_list_refuses_two_sort_fields_before_sending(router: respx.MockRouter) -> None:
    async with AsyncBill(api_token="t", env={}) as bill:
        with pytest.raises(ArgumentError, match="at most 1 field"):
            await bill.spend.budgets.list(sort=sort_by(desc("spent"), asc("name")))
    assert router.calls.call_count == 0


def _split_reference(text: str) -> list[str]:
    """Commas outside double quotes, read one character at a time (a quote left open runs to the end)."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def test_filter_clauses_split_on_commas_outside_quotes_exactly_as_read_character_by_character() -> None:
    import random

    from bill_sdk._filters import _split_top_level

    rng = random.Random(7)
    samples = ["", ",", '"', '","', 'a:eq:"x,y",b:eq:1', 'name:sw:"A,B', *(
        "".join(rng.choice('ab,":') for _ in range(rng.randrange(12))) for _ in range(20_000)
    )]  # fmt: skip
    for text in samples:
        assert _split_top_level(text) == _split_reference(text), text
