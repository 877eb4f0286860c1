"""Generated resource methods send what BILL expects, for each API family, and return typed models."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import respx

from bill_sdk import AsyncBill, File, ServerError, where
from bill_sdk.errors import ConfigurationError
from bill_sdk.models import (
    Bill,
    BudgetCreate,
    BudgetRecurringInterval,
    SubscriptionCreate,
    SubscriptionEventInput,
    SubscriptionStatusInput,
    VendorUpdate,
)
from tests import bodies

from .conftest import BASE, CREDENTIALS, OBJ, SESSION


async def test_connect_list_sends_query_and_session_headers(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.get("/connect/v3/vendors").respond(
        200, json={"results": [{**OBJ, "id": "00901", "name": "Acme"}]}
    )
    page = await bill.vendors.list(max=50, filters=where("name").eq("Acme"), sort="name:asc")
    request = route.calls.last.request
    assert request.url.params["max"] == "50"
    assert request.url.params["filters"] == "name:eq:Acme"
    assert request.url.params["sort"] == "name:asc"
    assert request.headers["devKey"] == CREDENTIALS["dev_key"]
    assert request.headers["sessionId"] == SESSION
    assert page.results[0].name == "Acme"


async def test_connect_create_sends_json_body(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.post("/connect/v3/vendors").respond(201, json={**OBJ, "id": "00902", "name": "Happy Music"})
    body = bodies.vendor()
    body.email = "a@b.example"
    vendor = await bill.vendors.create(body=body)
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "name": "Happy Music",
        "address": {"line1": "1 Main St", "city": "San Jose", "country": "US"},
        "email": "a@b.example",
    }
    assert vendor.id == "00902"


async def test_archive_is_a_post_on_the_object_path(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.post("/connect/v3/bills/00n01/archive").respond(
        200, json={**OBJ, "id": "00n01", "archived": True}
    )
    archived = await bill.bills.archive("00n01")
    assert route.called and isinstance(archived, Bill) and archived.archived is True


async def test_spend_uses_api_token_only_and_no_login(bill_mock: respx.MockRouter) -> None:
    route = bill_mock.post("/connect/v3/spend/budgets").respond(200, json={**OBJ, "id": "b1", "name": "Travel"})
    async with AsyncBill(api_token=CREDENTIALS["api_token"], env={}) as bill:
        budget = await bill.spend.budgets.create(
            body=BudgetCreate(name="Travel", owners=["u1"], recurring_interval=BudgetRecurringInterval.MONTHLY)
        )
    request = route.calls.last.request
    assert request.headers["apiToken"] == CREDENTIALS["api_token"]
    assert "sessionId" not in request.headers and "devKey" not in request.headers
    assert not bill_mock["login"].called
    assert budget.name == "Travel"


async def test_events_use_their_own_base_and_an_idempotency_key(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.post("/connect-events/v3/subscriptions").respond(
        200, json={**OBJ, "id": "sub1", "name": "bills", "notificationUrl": "https://h.example/x", "securityKey": "k"}
    )
    sub = await bill.events.subscriptions.create(
        body=SubscriptionCreate(
            name="bills",
            status=SubscriptionStatusInput(enabled=True),
            events=[SubscriptionEventInput(type_="bill.created", version="1")],
            notification_url="https://h.example/x",
        )
    )
    request = route.calls.last.request
    key = request.headers["X-Idempotent-Key"]
    assert len(key) == 36 and key[14] == "4"  # a UUID4
    assert sub.id == "sub1"


async def test_partner_calls_use_app_key_and_partner_session(bill_mock: respx.MockRouter) -> None:
    login = bill_mock.post("/connect/v3/partner/login").respond(200, json={"sessionId": "partner-SECRET-6"})
    route = bill_mock.get("/connect/v3/partner/organizations").respond(200, json={"results": []})
    async with AsyncBill(app_key=CREDENTIALS["app_key"], username="p@example.com", password="pw", env={}) as bill:
        await bill.partner.organizations.list()
    assert json.loads(login.calls.last.request.content)["appKey"] == CREDENTIALS["app_key"]
    request = route.calls.last.request
    assert request.headers["appKey"] == CREDENTIALS["app_key"]
    assert request.headers["sessionId"] == "partner-SECRET-6"
    assert "devKey" not in request.headers


async def test_upload_sends_raw_bytes_from_a_file_object(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    import io

    route = bill_mock.post("/connect/v3/attachments/vendors/00901").respond(200, json={**OBJ, "id": "att1"})
    await bill.attachments.upload_vendor_attachment("00901", body=File(payload=io.BytesIO(b"%PDF-1.4")), name="w9.pdf")
    request = route.calls.last.request
    assert request.content == b"%PDF-1.4"
    assert request.url.params["name"] == "w9.pdf"
    assert request.headers["content-type"] == "application/octet-stream"


async def test_money_round_trips_without_float(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    body = b'{"id":"00n1","archived":false,"vendorId":"00901V","createdTime":"2024-01-02T03:04:05Z",'
    body += (
        b'"updatedTime":"2024-01-02T03:04:05Z","amount":1234567.89,"billLineItems":[{"amount":0.07},{"amount":19.99}]}'
    )
    bill_mock.get("/connect/v3/bills/00n1").respond(200, content=body, headers={"content-type": "application/json"})
    got = await bill.bills.get("00n1")
    assert got.amount == Decimal("1234567.89") and isinstance(got.amount, Decimal)
    amounts = [item.amount for item in got.bill_line_items]  # type: ignore[union-attr]
    assert amounts == [Decimal("0.07"), Decimal("19.99")]
    route = bill_mock.put("/connect/v3/bills/00n1").respond(200, content=body)
    from bill_sdk._json import dumps_json

    sent = dumps_json(got.to_dict())
    assert b"1234567.89" in sent and b"0.07" in sent and b"19.99" in sent
    assert route is not None


async def test_unknown_enum_value_and_unknown_field_survive_a_round_trip(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    bill_mock.get("/connect/v3/vendors/009x").respond(
        200, json={**OBJ, "id": "009x", "accountType": "GOVERNMENT", "brandNewField": {"a": 1}}
    )
    vendor = await bill.vendors.get("009x")
    assert vendor.account_type == "GOVERNMENT"
    assert vendor.to_dict()["accountType"] == "GOVERNMENT"
    assert vendor.to_dict()["brandNewField"] == {"a": 1}


def test_patch_body_keeps_unset_and_null_apart() -> None:
    untouched = VendorUpdate(name="New name")
    cleared = VendorUpdate(name="New name", email=None)
    assert untouched.to_dict() == {"name": "New name"}
    assert cleared.to_dict() == {"name": "New name", "email": None}


async def test_non_iana_status_raises_server_error(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(520, content=b"<html>origin error</html>")
    with pytest.raises(ServerError) as info:
        await bill.vendors.get("0091", max_retries=0)
    assert info.value.status_code == 520


def test_base_url_and_environment_selection() -> None:
    assert AsyncBill(env={}).base_url == BASE
    assert AsyncBill(env={"BILL_ENVIRONMENT": "production"}).base_url == "https://gateway.prod.bill.com"
    assert AsyncBill(env={"BILL_BASE_URL": "http://127.0.0.1:8765/connect"}).base_url == "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    "base_url", ["http://gateway.prod.bill.com", "http://10.0.0.5:8080/connect", "ftp://gateway.stage.bill.com"]
)
def test_a_base_url_from_the_environment_cannot_turn_tls_off(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="must use https://") as caught:
        AsyncBill(env={"BILL_BASE_URL": base_url})
    assert caught.value.env_var == "BILL_BASE_URL"


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"])
def test_plain_http_is_accepted_for_loopback_only(base_url: str) -> None:
    assert AsyncBill(base_url=base_url, env={}).base_url == base_url


async def test_default_timeout_is_set_and_overridable_per_call(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    seen: list[dict[str, float | None]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={**OBJ, "id": "0091"})

    bill_mock.get("/connect/v3/vendors/0091").mock(side_effect=record)
    await bill.vendors.get("0091")
    await bill.vendors.get("0091", timeout=2.5, extra_headers={"X-Trace": "t1"})
    # Each attempt may use what is left of the call's deadline (60 s by default, or the call's own timeout=).
    assert 59.0 < seen[0]["read"] <= 60.0  # type: ignore[operator]
    assert 2.0 < seen[1]["read"] <= 2.5  # type: ignore[operator]
    assert seen[0]["connect"] == 10.0
