"""AsyncBill behaviour a service moving money relies on: sessions, retries, limits, errors, pagination."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest
import respx

from bill_sdk import (
    ArgumentError,
    AsyncBill,
    AuthenticationError,
    BillConnectionError,
    ConfigurationError,
    MFARequiredError,
    OutcomeUnknownError,
    PaginationError,
    RateLimitError,
    SessionExpiredError,
    ValidationError,
)
from tests import bodies

from .conftest import CREDENTIALS, OBJ, SESSION

EXPIRED = [
    {
        "code": "BDC_1109",
        "severity": "ERROR",
        "category": "DOWNSTREAM",
        "message": "Session is invalid.  Please log in.",
    }
]


async def test_login_is_lazy_and_reused(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
    assert not bill_mock["login"].called
    for _ in range(3):
        await bill.vendors.get("0091")
    assert bill_mock["login"].call_count == 1


async def test_close_logs_out_when_the_client_logged_in(bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
    async with AsyncBill(**CREDENTIALS, env={}) as bill:
        await bill.vendors.get("0091")
    assert bill_mock["logout"].call_count == 1
    assert bill_mock["logout"].calls.last.request.headers["sessionId"] == SESSION


async def test_close_without_login_does_not_log_out(bill_mock: respx.MockRouter) -> None:
    bill = AsyncBill(**CREDENTIALS, env={})
    await bill.aclose()
    assert not bill_mock["logout"].called


async def test_expired_session_relogins_once_for_twenty_concurrent_calls(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    sessions = iter(["s-old", "s-new"])
    bill_mock["login"].mock(side_effect=lambda r: httpx.Response(200, json={"sessionId": next(sessions)}))

    def vendor(request: httpx.Request) -> httpx.Response:
        if request.headers["sessionId"] == "s-old":
            return httpx.Response(401, json=EXPIRED)
        return httpx.Response(200, json={**OBJ, "id": "0091"})

    bill_mock.get("/connect/v3/vendors/0091").mock(side_effect=vendor)
    await bill.vendors.get("0091")  # first login: s-old ... expired -> s-new
    assert bill_mock["login"].call_count == 2
    sessions = iter(["s-old", "s-newer"])
    bill._org_sessions.adopt(type(bill.session)(session_id="s-old"))  # type: ignore[misc]
    bill_mock["login"].mock(side_effect=lambda r: httpx.Response(200, json={"sessionId": "s-newer"}))
    results: list[str] = []

    async def call() -> None:
        results.append((await bill.vendors.get("0091")).id)  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(call)
    assert results == ["0091"] * 20
    assert bill_mock["login"].call_count == 3  # exactly one more login for the 20 expired calls


async def test_session_expiring_again_after_relogin_raises(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(401, json=EXPIRED)
    with pytest.raises(SessionExpiredError):
        await bill.vendors.get("0091")
    assert bill_mock["login"].call_count == 2


async def test_wrong_credentials_raise_at_first_call_without_login_loops(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    bill_mock["login"].respond(400, json=[{"code": "BDC_1101", "message": "User name and/or password do not match"}])
    vendors = bill_mock.get("/connect/v3/vendors/0091").respond(200, json={})
    for _ in range(3):
        with pytest.raises(AuthenticationError) as info:
            await bill.vendors.get("0091")
    assert info.value.codes == ("BDC_1101",)
    assert bill_mock["login"].call_count == 1
    assert not vendors.called


async def test_untrusted_session_raises_mfa_required_without_retry_or_relogin(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    route = bill_mock.post("/connect/v3/payments").respond(
        403, json=[{"code": "BDC_1361", "message": "Untrusted session."}]
    )
    with pytest.raises(MFARequiredError) as info:
        await bill.payments.create(body=bodies.payment())
    assert "MFA" in str(info.value)
    assert route.call_count == 1 and bill_mock["login"].call_count == 1


async def test_missing_credentials_name_the_variable_before_any_request(bill_mock: respx.MockRouter) -> None:
    async with AsyncBill(dev_key="d", username="u", organization_id="o", env={}) as bill:
        with pytest.raises(ConfigurationError, match="BILL_PASSWORD"):
            await bill.vendors.list()
        with pytest.raises(ConfigurationError, match="BILL_API_TOKEN"):
            await bill.spend.budgets.list()
    assert not bill_mock.calls


async def test_get_is_retried_after_503_with_retry_after(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.get("/connect/v3/vendors/0091")
    route.side_effect = [
        httpx.Response(503, headers={"Retry-After": "0"}, json=[{"code": "BDC_1001"}]),
        httpx.Response(200, json={**OBJ, "id": "0091"}),
    ]
    assert (await bill.vendors.get("0091")).id == "0091"
    assert route.call_count == 2


async def test_limit_codes_are_retried_for_safe_requests(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.post("/connect/v3/vendors/0091/archive")
    route.side_effect = [
        httpx.Response(400, json=[{"code": "BDC_1322", "message": "Max number of concurrent requests"}]),
        httpx.Response(429, json=[{"code": "BDC_1144"}]),
        httpx.Response(200, json={**OBJ, "id": "0091", "archived": True}),
    ]
    assert (await bill.vendors.archive("0091")).archived is True
    assert route.call_count == 3


async def test_retries_give_up_with_a_typed_error(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.get("/connect/v3/vendors/0091").respond(429, json=[{"code": "BDC_1322"}])
    with pytest.raises(RateLimitError):
        await bill.vendors.get("0091")
    assert route.call_count == 3  # 1 + max_retries(2)


async def test_create_payment_is_never_resent_after_a_read_timeout(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    route = bill_mock.post("/connect/v3/payments").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknownError) as info:
        await bill.payments.create(body=bodies.payment())
    assert route.call_count == 1
    assert "not re-sent" in str(info.value) and info.value.operation_id == "createPayment"


async def test_create_payment_is_never_resent_after_a_5xx(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.post("/connect/v3/payments").respond(502)
    with pytest.raises(OutcomeUnknownError):
        await bill.payments.create(body=bodies.payment())
    assert route.call_count == 1


async def test_create_is_not_retried_on_rate_limit(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = bill_mock.post("/connect/v3/vendors").respond(429, json=[{"code": "BDC_1322"}])
    with pytest.raises(RateLimitError):
        await bill.vendors.create(body=bodies.vendor())
    assert route.call_count == 1


async def test_connection_refused_before_sending_is_retried_even_for_payments(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    route = bill_mock.post("/connect/v3/payments")
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(201, json={**OBJ, "id": "stp1"})]
    payment = await bill.payments.create(body=bodies.payment())
    assert payment.id == "stp1" and route.call_count == 2


async def test_validation_error_lists_every_message(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    bill_mock.post("/connect/v3/vendors").respond(
        400,
        json=[
            {"code": "BDC_1117", "message": "Missing required data for: name"},
            {"code": "BDC_1119", "message": "Invalid field,value: email"},
        ],
    )
    with pytest.raises(ValidationError) as info:
        await bill.vendors.create(body=bodies.vendor(""))
    assert "name" in str(info.value) and "email" in str(info.value)
    assert info.value.codes == ("BDC_1117", "BDC_1119")
    assert info.value.method == "POST" and info.value.path == "/v3/vendors"


async def test_concurrency_limit_holds_under_fifty_concurrent_calls(bill_mock: respx.MockRouter) -> None:
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={**OBJ, "id": "0091"})

    bill_mock.get("/connect/v3/vendors/0091").mock(side_effect=slow)
    async with AsyncBill(**CREDENTIALS, env={}) as bill, anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(bill.vendors.get, "0091")
    assert peak == 3


async def test_connect_pagination_follows_page_cursor_across_three_pages(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    pages = {
        None: {"results": [{**OBJ, "id": "1"}, {**OBJ, "id": "2"}], "nextPage": "c1"},
        "c1": {"results": [{**OBJ, "id": "3"}], "nextPage": "c2", "prevPage": "c0"},
        "c2": {"results": [{**OBJ, "id": "4"}], "prevPage": "c1"},
    }
    route = bill_mock.get("/connect/v3/vendors").mock(
        side_effect=lambda r: httpx.Response(200, json=pages[r.url.params.get("page")])
    )
    ids = [v.id async for v in bill.vendors.iter(page_size=2, filters="archived:eq:false")]
    assert ids == ["1", "2", "3", "4"]
    assert [c.request.url.params.get("max") for c in route.calls] == ["2", "2", "2"]
    assert all(c.request.url.params["filters"] == "archived:eq:false" for c in route.calls)


async def test_spend_pagination_sends_the_cursor_as_next_page(bill_mock: respx.MockRouter) -> None:
    pages = {
        None: {"results": [{**OBJ, "id": "b1"}], "nextPage": "n1"},
        "n1": {"results": [{**OBJ, "id": "b2"}], "nextPage": "n2"},
        "n2": {"results": [{**OBJ, "id": "b3"}], "nextPage": "n3"},
        "n3": {"results": []},
    }
    route = bill_mock.get("/connect/v3/spend/budgets").mock(
        side_effect=lambda r: httpx.Response(200, json=pages[r.url.params.get("nextPage")])
    )
    async with AsyncBill(api_token="t", env={}) as bill:
        ids = [b.id async for b in bill.spend.budgets.iter(page_size=1)]
    assert ids == ["b1", "b2", "b3"]
    assert "page" not in route.calls.last.request.url.params


async def test_pagination_follows_an_empty_page_with_a_cursor_and_refuses_the_same_cursor_again(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    # An empty page with a cursor is followed (BILL sends those); the same cursor again would loop forever.
    route = bill_mock.get("/connect/v3/bills").respond(200, json={"results": [], "nextPage": "again"})
    with pytest.raises(PaginationError, match=r"returned the cursor it was fetched with.*\(listBills\)"):
        [b async for b in bill.bills.iter()]
    assert route.call_count == 2


def test_page_size_outside_bills_limit_fails_early(bill: AsyncBill) -> None:
    with pytest.raises(ValueError, match="between 1 and 100"):
        bill.vendors.iter(page_size=500)


async def test_secrets_never_appear_in_logs_repr_or_errors(
    bill: AsyncBill, bill_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bill_sdk")
    bill_mock.get("/connect/v3/vendors/0091").respond(
        400, json=[{"code": "BDC_1119", "message": f"bad devKey {CREDENTIALS['dev_key']} for session {SESSION}"}]
    )
    with pytest.raises(ValidationError) as info:
        await bill.vendors.get("0091")
    text = " ".join(
        [caplog.text, repr(bill), str(bill.credentials), repr(bill.session), str(info.value), repr(info.value)]
    )
    for secret in [*CREDENTIALS.values(), SESSION]:
        if secret.endswith(("SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET-5")):
            assert secret not in text


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
def test_works_under_asyncio_and_trio(anyio_backend: str) -> None:
    async def main() -> str:
        with respx.mock(base_url="https://gateway.stage.bill.com") as router:
            router.post("/connect/v3/login").respond(200, json={"sessionId": "s"})
            router.post("/connect/v3/logout").respond(200, json={})
            router.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
            async with AsyncBill(**CREDENTIALS, env={}) as bill:
                results = []
                async with anyio.create_task_group() as tg:

                    async def one() -> None:
                        results.append((await bill.vendors.get("0091")).id)

                    for _ in range(5):
                        tg.start_soon(one)
                return ",".join(results)  # type: ignore[arg-type]

    assert anyio.run(main, backend=anyio_backend) == ",".join(["0091"] * 5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda bill: bill.vendors.list(max=0), "max must be between 1 and 100 (BILL's limit), got 0"),
        (lambda bill: bill.vendors.list(max=101), "max must be between 1 and 100"),
        (lambda bill: bill.spend.transactions.list(max=60), "max must be between 1 and 50"),
        (lambda bill: bill.vendors.get(""), "vendor_id must not be empty"),
        (lambda bill: bill.vendors.archive("  "), "vendor_id must not be empty"),
        (
            lambda bill: bill.vendors.create(body={"name": "Acme"}),
            "body must be a bill_sdk.models.VendorCreate, got dict",
        ),
        (
            lambda bill: bill.vendors.bulk_create(body=[{"name": "Acme"}]),
            "body must be a list of bill_sdk.models.VendorCreate",
        ),
    ],
)
async def test_invalid_arguments_fail_before_anything_is_sent(
    bill: AsyncBill,
    bill_mock: respx.MockRouter,
    call,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(ArgumentError) as caught:
        await call(bill)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)  # ArgumentError is also a ValueError
    assert not bill_mock.calls  # not even a login


async def test_a_transient_login_failure_is_retried_even_before_a_create_payment(bill_mock: respx.MockRouter) -> None:
    bill_mock["login"].mock(
        side_effect=[
            respx.MockResponse(503, text="<html>maintenance</html>"),
            respx.MockResponse(200, json={"sessionId": SESSION, "organizationId": "00801ORG"}),
        ]
    )
    created = bill_mock.post("/connect/v3/payments").respond(200, json={**OBJ, "id": "stp1", "amount": 125.50})
    async with AsyncBill(**CREDENTIALS, env={}) as bill:
        bill._retry.base_delay = 0.001
        payment = await bill.payments.create(body=bodies.payment())
    assert payment.id == "stp1"
    assert bill_mock["login"].call_count == 2  # the payment itself had not been sent: retrying the login is safe
    assert created.call_count == 1


async def test_a_refused_connection_at_login_is_a_connection_error_not_wrong_credentials(
    bill_mock: respx.MockRouter,
) -> None:
    bill_mock["login"].mock(side_effect=httpx.ConnectError("refused"))
    async with AsyncBill(**CREDENTIALS, env={}, max_retries=1) as bill:
        bill._retry.base_delay = 0.001
        with pytest.raises(BillConnectionError, match=r"POST /v3/login \(login\)") as caught:
            await bill.vendors.get("00901A")
        assert caught.value.during_login
        assert bill_mock["login"].call_count == 2
        # Not remembered as "wrong credentials": once BILL is reachable, the same client signs in.
        bill_mock["login"].mock(side_effect=None, return_value=respx.MockResponse(200, json={"sessionId": SESSION}))
        bill_mock.get("/connect/v3/vendors/00901A").respond(200, json={**OBJ, "id": "00901A"})
        assert (await bill.vendors.get("00901A")).id == "00901A"
