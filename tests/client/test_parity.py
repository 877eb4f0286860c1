"""The behaviour a service relies on, for both clients: every test runs once with ``AsyncBill`` and once with
``Bill`` (the ``twin`` fixture, tests/twins.py), over respx, which mocks ``httpx.AsyncClient`` and
``httpx.Client`` alike. Sessions, retries and their safety rules, limits, errors, pagination, per-call options,
``with_options``, raw responses, login-as-user, MFA and the client's life cycle.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time

import httpx
import pytest
import respx

import bill_sdk
from bill_sdk import (
    ArgumentError,
    AuthenticationError,
    BillTimeoutError,
    ClientStateError,
    ConfigurationError,
    MFARequiredError,
    NotFoundError,
    OutcomeUnknownError,
    PaginationError,
    RateLimitError,
    ServerError,
    SessionExpiredError,
    ValidationError,
)
from tests import bodies
from tests.twins import Twin

from .conftest import CREDENTIALS, OBJ, SESSION

EXPIRED = [{"code": "BDC_1109", "message": "Session is invalid.  Please log in."}]


@pytest.fixture
def bill(twin: Twin, bill_mock: respx.MockRouter):  # type: ignore[no-untyped-def]
    with twin.client(**CREDENTIALS, env={}, max_retries=2) as client:
        client._retry.base_delay = 0.001
        yield client


def vendor(bill_mock: respx.MockRouter, vendor_id: str = "0091") -> respx.Route:
    return bill_mock.get(f"/connect/v3/vendors/{vendor_id}").respond(200, json={**OBJ, "id": vendor_id})


def paged_vendors(bill_mock: respx.MockRouter) -> respx.Route:
    pages = {
        None: {"results": [{**OBJ, "id": "1"}, {**OBJ, "id": "2"}], "nextPage": "c1"},
        "c1": {"results": [{**OBJ, "id": "3"}], "nextPage": "c2"},
        "c2": {"results": [{**OBJ, "id": "4"}]},
    }
    return bill_mock.get("/connect/v3/vendors").mock(
        side_effect=lambda r: httpx.Response(200, json=pages[r.url.params.get("page")])
    )


# --------------------------------------------------------------------------- sessions


def test_login_is_lazy_and_reused(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    vendor(bill_mock)
    assert not bill_mock["login"].called
    for _ in range(3):
        assert twin.run(lambda: bill.vendors.get("0091")).id == "0091"
    assert bill_mock["login"].call_count == 1
    assert bill.session is not None and "session-SECRET" not in repr(bill.session)


def test_close_logs_out_once_and_a_closed_client_refuses_calls(twin: Twin, bill_mock: respx.MockRouter) -> None:
    vendor(bill_mock)
    client = twin.make(**CREDENTIALS, env={})
    twin.run(lambda: client.vendors.get("0091"))
    twin.close(client)
    twin.close(client)  # closing twice is harmless
    assert bill_mock["logout"].call_count == 1
    assert bill_mock["logout"].calls.last.request.headers["sessionId"] == SESSION
    with pytest.raises(ClientStateError, match="closed"):
        twin.run(lambda: client.vendors.get("0091"))


def test_close_without_login_does_not_log_out(twin: Twin, bill_mock: respx.MockRouter) -> None:
    twin.close(twin.make(**CREDENTIALS, env={}))
    assert not bill_mock["logout"].called


def test_expired_session_relogins_once_for_twenty_concurrent_calls(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,  # type: ignore[no-untyped-def]
) -> None:
    logins = iter(["s-old", "s-new"])
    lock = threading.Lock()

    def login(request: httpx.Request) -> httpx.Response:
        with lock:
            return httpx.Response(200, json={"sessionId": next(logins)})

    def get(request: httpx.Request) -> httpx.Response:
        time.sleep(0.005)  # the calls overlap (Bill's threads; respx runs AsyncBill's mocks in the loop)
        if request.headers["sessionId"] == "s-old":
            return httpx.Response(401, json=EXPIRED)
        return httpx.Response(200, json={**OBJ, "id": "0091"})

    bill_mock["login"].mock(side_effect=login)
    bill_mock.get("/connect/v3/vendors/0091").mock(side_effect=get)
    twin.run(lambda: bill.vendors.get("0091"))  # s-old, expired -> one re-login -> s-new
    assert bill_mock["login"].call_count == 2
    bill._org_sessions.adopt(type(bill.session)(session_id="s-old"))
    logins = iter(["s-newer"])
    results = twin.parallel(20, lambda: bill.vendors.get("0091"))
    assert [v.id for v in results] == ["0091"] * 20
    assert bill_mock["login"].call_count == 3  # exactly one more login for the twenty expired calls


def test_session_expiring_again_after_relogin_raises(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    bill_mock.get("/connect/v3/vendors/0091").respond(401, json=EXPIRED)
    with pytest.raises(SessionExpiredError):
        twin.run(lambda: bill.vendors.get("0091"))
    assert bill_mock["login"].call_count == 2


def test_wrong_credentials_raise_at_first_call_without_login_loops(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,  # type: ignore[no-untyped-def]
) -> None:
    bill_mock["login"].respond(400, json=[{"code": "BDC_1101", "message": "User name and/or password do not match"}])
    vendors = vendor(bill_mock)
    for _ in range(3):
        with pytest.raises(AuthenticationError) as info:
            twin.run(lambda: bill.vendors.get("0091"))
    assert info.value.codes == ("BDC_1101",)
    assert bill_mock["login"].call_count == 1 and not vendors.called


def test_untrusted_session_raises_mfa_required_without_retry(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.post("/connect/v3/payments").respond(403, json=[{"code": "BDC_1361", "message": "Untrusted."}])
    with pytest.raises(MFARequiredError):
        twin.run(lambda: bill.payments.create(body=bodies.payment()))
    assert route.call_count == 1 and bill_mock["login"].call_count == 1


def test_missing_credentials_name_the_variable_before_any_request(twin: Twin, bill_mock: respx.MockRouter) -> None:
    with twin.client(dev_key="d", username="u", organization_id="o", env={}) as client:
        with pytest.raises(ConfigurationError, match="BILL_PASSWORD"):
            twin.page(lambda: client.vendors.list())
        with pytest.raises(ConfigurationError, match="BILL_API_TOKEN"):
            twin.page(lambda: client.spend.budgets.list())
    assert not bill_mock.calls


def test_environment_variables_configure_the_client(twin: Twin, bill_mock: respx.MockRouter) -> None:
    env = {
        "BILL_DEV_KEY": "dev-key-SECRET-1",
        "BILL_USERNAME": "ap@example.com",
        "BILL_PASSWORD": "pw-SECRET-2",
        "BILL_ORGANIZATION_ID": "00801ORG",
        "BILL_ENVIRONMENT": "sandbox",
    }
    route = vendor(bill_mock)
    with twin.client(env=env) as client:
        twin.run(lambda: client.vendors.get("0091"))
    assert route.calls.last.request.headers["devKey"] == "dev-key-SECRET-1"


# --------------------------------------------------------------------------- retries and their safety rules


def test_get_is_retried_after_503_with_retry_after(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.get("/connect/v3/vendors/0091")
    route.side_effect = [
        httpx.Response(503, headers={"Retry-After": "0"}, json=[{"code": "BDC_1001"}]),
        httpx.Response(200, json={**OBJ, "id": "0091"}),
    ]
    assert twin.run(lambda: bill.vendors.get("0091")).id == "0091"
    assert route.call_count == 2


def test_limit_codes_are_retried_for_safe_requests(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.post("/connect/v3/vendors/0091/archive")
    route.side_effect = [
        httpx.Response(400, json=[{"code": "BDC_1322", "message": "Max number of concurrent requests"}]),
        httpx.Response(429, json=[{"code": "BDC_1144"}]),
        httpx.Response(200, json={**OBJ, "id": "0091", "archived": True}),
    ]
    assert twin.run(lambda: bill.vendors.archive("0091")).archived is True
    assert route.call_count == 3


def test_retries_give_up_with_a_typed_error(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.get("/connect/v3/vendors/0091").respond(429, json=[{"code": "BDC_1322"}])
    with pytest.raises(RateLimitError):
        twin.run(lambda: bill.vendors.get("0091"))
    assert route.call_count == 3  # 1 + max_retries(2)


def test_create_payment_is_never_resent_after_a_read_timeout(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.post("/connect/v3/payments").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknownError) as info:
        twin.run(lambda: bill.payments.create(body=bodies.payment()))
    assert route.call_count == 1
    assert "not re-sent" in str(info.value) and info.value.operation_id == "createPayment"


def test_create_payment_is_never_resent_after_a_5xx_or_a_dropped_connection(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,  # type: ignore[no-untyped-def]
) -> None:
    route = bill_mock.post("/connect/v3/payments").respond(502)
    with pytest.raises(OutcomeUnknownError):
        twin.run(lambda: bill.payments.create(body=bodies.payment()))
    route.mock(side_effect=httpx.RemoteProtocolError("Server disconnected"))
    with pytest.raises(OutcomeUnknownError):
        twin.run(lambda: bill.payments.create(body=bodies.payment()))
    assert route.call_count == 2


def test_create_is_not_retried_on_rate_limit(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.post("/connect/v3/vendors").respond(429, json=[{"code": "BDC_1322"}])
    with pytest.raises(RateLimitError):
        twin.run(lambda: bill.vendors.create(body=bodies.vendor()))
    assert route.call_count == 1


def test_connection_refused_before_sending_is_retried_even_for_payments(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,  # type: ignore[no-untyped-def]
) -> None:
    route = bill_mock.post("/connect/v3/payments")
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(201, json={**OBJ, "id": "stp1"})]
    assert twin.run(lambda: bill.payments.create(body=bodies.payment())).id == "stp1"
    assert route.call_count == 2


def test_a_post_with_an_idempotency_key_is_retried_with_the_same_key(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,  # type: ignore[no-untyped-def]
) -> None:
    from bill_sdk.models import SubscriptionCreate, SubscriptionEventInput, SubscriptionStatusInput

    route = bill_mock.post("/connect-events/v3/subscriptions")
    route.side_effect = [
        httpx.Response(503, json=[{"code": "BDC_1001"}]),
        httpx.Response(
            200, json={**OBJ, "id": "sub1", "name": "h", "notificationUrl": "https://h.example/x", "securityKey": "k"}
        ),
    ]
    body = SubscriptionCreate(
        name="h",
        status=SubscriptionStatusInput(enabled=True),
        events=[SubscriptionEventInput(type_="bill.created", version="1")],
        notification_url="https://h.example/x",
    )
    twin.run(lambda: bill.events.subscriptions.create(body=body))
    keys = [call.request.headers.get("X-Idempotent-Key") for call in route.calls]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]


def test_a_delete_whose_retry_finds_nothing_succeeded(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.delete("/connect/v3/vendors/0091/bank-account")
    route.side_effect = [httpx.ReadTimeout("lost"), httpx.Response(404, json=[{"code": "BDC_1120"}])]
    twin.run(lambda: bill.vendors.delete_bank_account("0091"))
    assert route.call_count == 2


def test_the_deadline_covers_the_whole_call(twin: Twin, bill_mock: respx.MockRouter) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.2)
        return httpx.Response(503, json=[{"code": "BDC_1001"}])

    route = bill_mock.get("/connect/v3/vendors/0091").mock(side_effect=slow)
    with twin.client(**CREDENTIALS, env={}, timeout=0.5, max_retries=10) as client:
        client._retry.base_delay = 0.3
        started = time.monotonic()
        with pytest.raises((BillTimeoutError, ServerError)):
            twin.run(lambda: client.vendors.get("0091"))
        assert time.monotonic() - started < 1.5
    assert 1 <= route.call_count <= 3


@pytest.mark.parametrize("twin", ["sync"], indirect=True)  # AsyncBill's: tests/reliability/test_request_path.py
def test_a_slot_wait_past_the_deadline_is_a_timeout(twin: Twin, bill_mock: respx.MockRouter) -> None:
    gate = threading.Event()

    def held(request: httpx.Request) -> httpx.Response:
        gate.wait(2)
        return httpx.Response(200, json={**OBJ, "id": "0091"})

    bill_mock.get("/connect/v3/vendors/0091").mock(side_effect=held)
    with twin.client(**CREDENTIALS, env={}, max_concurrency=1) as client:
        holder = threading.Thread(target=lambda: client.vendors.get("0091"))
        holder.start()
        time.sleep(0.1)  # the holder has signed in and holds the one slot
        started = time.monotonic()
        with pytest.raises(BillTimeoutError, match="concurrency slot"):
            client.vendors.get("0091", timeout=0.2)
        assert 0.15 < time.monotonic() - started < 1.0
        gate.set()
        holder.join()


# --------------------------------------------------------------------------- errors


def test_validation_error_lists_every_message(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    bill_mock.post("/connect/v3/vendors").respond(
        400,
        json=[
            {"code": "BDC_1117", "message": "Missing required data for: name"},
            {"code": "BDC_1119", "message": "Invalid field,value: email"},
        ],
    )
    with pytest.raises(ValidationError) as info:
        twin.run(lambda: bill.vendors.create(body=bodies.vendor("")))
    assert "name" in str(info.value) and "email" in str(info.value)
    assert info.value.codes == ("BDC_1117", "BDC_1119") and info.value.path == "/v3/vendors"


def test_not_found_is_typed_and_names_the_operation(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    bill_mock.get("/connect/v3/vendors/0099").respond(404, json=[{"code": "BDC_1120", "message": "No object"}])
    with pytest.raises(NotFoundError) as info:
        twin.run(lambda: bill.vendors.get("0099"))
    assert info.value.operation_id == "getVendor"


def test_invalid_arguments_fail_before_anything_is_sent(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArgumentError, match="max must be between 1 and 100"):
        twin.page(lambda: bill.vendors.list(max=101))
    with pytest.raises(ArgumentError, match="vendor_id must not be empty"):
        twin.run(lambda: bill.vendors.get(""))
    with pytest.raises(ArgumentError, match="cannot filter on 'nmae'"):
        twin.page(lambda: bill.vendors.list(filters=bill_sdk.where("nmae").eq("x")))
    with pytest.raises(ArgumentError, match="between 1 and 100"):
        bill.vendors.iter(page_size=500)
    assert not bill_mock.calls


def test_secrets_never_appear_in_logs_repr_or_errors(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG, logger="bill_sdk")
    bill_mock.get("/connect/v3/vendors/0091").respond(
        400, json=[{"code": "BDC_1119", "message": f"bad devKey {CREDENTIALS['dev_key']} for session {SESSION}"}]
    )
    with pytest.raises(ValidationError) as info:
        twin.run(lambda: bill.vendors.get("0091"))
    text = " ".join(
        [caplog.text, repr(bill), str(bill.credentials), repr(bill.session), str(info.value), repr(info.value)]
    )
    for secret in [*CREDENTIALS.values(), SESSION]:
        if "SECRET" in secret:
            assert secret not in text


# --------------------------------------------------------------------------- pagination


def test_list_is_one_page_and_iterating_it_gives_every_item(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = paged_vendors(bill_mock)
    page = twin.page(lambda: bill.vendors.list(max=2))
    assert [v.id for v in page.results] == ["1", "2"] and page.next_page == "c1"
    assert [v.id for v in twin.items(lambda: bill.vendors.list(max=2))] == ["1", "2", "3", "4"]
    assert [v.id for v in twin.items(lambda: bill.vendors.iter(page_size=2))] == ["1", "2", "3", "4"]
    assert [len(p.results) for p in twin.items(lambda: bill.vendors.list(max=2).pages())] == [2, 1, 1]
    assert route.call_count == 1 + 3 + 3 + 3


def test_list_without_max_iterates_with_bills_largest_page(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = paged_vendors(bill_mock)
    twin.items(lambda: bill.vendors.list())
    assert {c.request.url.params.get("max") for c in route.calls} == {"100"}


def test_spend_pagination_sends_the_cursor_as_next_page(twin: Twin, bill_mock: respx.MockRouter) -> None:
    pages = {
        None: {"results": [{**OBJ, "id": "b1"}], "nextPage": "n1"},
        "n1": {"results": [{**OBJ, "id": "b2"}], "nextPage": "n2"},
        "n2": {"results": []},
    }
    route = bill_mock.get("/connect/v3/spend/budgets").mock(
        side_effect=lambda r: httpx.Response(200, json=pages[r.url.params.get("nextPage")])
    )
    with twin.client(api_token="t", env={}) as client:
        assert [b.id for b in twin.items(lambda: client.spend.budgets.iter(page_size=1))] == ["b1", "b2"]
    assert "page" not in route.calls.last.request.url.params
    assert not bill_mock["login"].called


def test_pagination_refuses_a_repeated_cursor_and_pages_that_only_repeat(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,  # type: ignore[no-untyped-def]
) -> None:
    route = bill_mock.get("/connect/v3/bills").respond(200, json={"results": [], "nextPage": "again"})
    with pytest.raises(PaginationError, match=r"returned the cursor it was fetched with.*\(listBills\)"):
        twin.items(lambda: bill.bills.iter())
    assert route.call_count == 2
    same = {"results": [{**OBJ, "id": "1"}]}
    bill_mock.get("/connect/v3/vendors").mock(
        side_effect=lambda r: httpx.Response(200, json={**same, "nextPage": f"p{r.url.params.get('page', '0')}x"})
    )
    with pytest.raises(PaginationError, match="only repeats items"):
        twin.items(lambda: bill.vendors.list())


# --------------------------------------------------------------------------- per-call options, with_options, raw


def test_per_call_options_apply_to_that_call_only(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.get("/connect/v3/vendors/0091")
    route.side_effect = [httpx.Response(503), httpx.Response(503), httpx.Response(200, json={**OBJ, "id": "0091"})]
    with pytest.raises(ServerError):
        twin.run(lambda: bill.vendors.get("0091", max_retries=0, extra_headers={"X-Trace": "t-1"}, timeout=5))
    assert route.calls.last.request.headers["X-Trace"] == "t-1"
    assert twin.run(lambda: bill.vendors.get("0091")).id == "0091"
    assert "X-Trace" not in route.calls.last.request.headers


def test_with_options_shares_the_session_and_never_signs_out(twin: Twin, bill_mock: respx.MockRouter) -> None:
    route = vendor(bill_mock)
    with twin.client(**CREDENTIALS, env={}) as client:
        twin.run(lambda: client.vendors.get("0091"))
        patient = client.with_options(timeout=120, max_retries=5, extra_headers={"X-Trace": "t-1"})
        twin.run(lambda: patient.vendors.get("0091"))
        assert route.calls.last.request.headers["X-Trace"] == "t-1"
        assert patient._timeout == 120 and patient._retry.max_retries == 5 and patient._http is client._http
        key = client._limiter.key_for("org")
        assert twin.run(lambda: patient._limiter.local_limiter(key) is client._limiter.local_limiter(key))
        twin.close(patient)
        assert not bill_mock["logout"].called
        twin.run(lambda: client.vendors.get("0091"))
    assert bill_mock["login"].call_count == 1 and bill_mock["logout"].call_count == 1


def test_with_raw_response_gives_status_headers_request_id_and_parse(
    twin: Twin,
    bill,
    bill_mock: respx.MockRouter,  # type: ignore[no-untyped-def]
) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(
        200, json={**OBJ, "id": "0091", "name": "Happy"}, headers={"x-request-id": "req-42"}
    )
    raw = twin.run(lambda: bill.vendors.with_raw_response.get("0091"))
    assert (raw.status_code, raw.request_id, raw.parse().name) == (200, "req-42", "Happy")
    assert bill_sdk.request_id(twin.run(lambda: bill.vendors.get("0091"))) == "req-42"
    paged_vendors(bill_mock)
    assert [v.id for v in twin.run(lambda: bill.vendors.with_raw_response.list(max=2)).parse().results] == ["1", "2"]


def test_requests_carry_the_sdk_user_agent(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = vendor(bill_mock)
    twin.run(lambda: bill.vendors.get("0091"))
    assert route.calls.last.request.headers["User-Agent"].startswith("bill-sdk/")


# --------------------------------------------------------------------------- concurrency


def test_at_most_three_requests_in_flight_under_fifty_concurrent_calls(twin: Twin, bill_mock: respx.MockRouter) -> None:
    in_flight = peak = 0
    lock = threading.Lock()

    def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return httpx.Response(200, json={**OBJ, "id": "0091"})

    bill_mock.get("/connect/v3/vendors/0091").mock(side_effect=slow)
    with twin.client(**CREDENTIALS, env={}) as client:
        twin.parallel(50 if twin.is_async else 20, lambda: client.vendors.get("0091"))
        assert client._limiter.borrowed_tokens == 0
    # respx runs AsyncBill's mock in the event loop, one at a time; Bill's threads really overlap
    assert peak <= 3 and (twin.is_async or peak == 3)


# --------------------------------------------------------------------------- partner, login-as-user, MFA


def test_login_as_user_gives_an_org_client_closed_with_its_partner(twin: Twin, bill_mock: respx.MockRouter) -> None:
    bill_mock.post("/connect/v3/partner/login").respond(200, json={"sessionId": "partner-s", "userId": "006P"})
    bill_mock.post("/connect/v3/partner/login-as-user").respond(
        200, json={"sessionId": "child-s", "organizationId": "00801CHILD"}
    )
    vendors = bill_mock.get("/connect/v3/vendors").respond(200, json={"results": [{**OBJ, "id": "00901A"}]})
    with twin.client(**CREDENTIALS, env={}) as partner:
        child = twin.run(lambda: partner.login_as_user("00801CHILD", "00601USER"))
        assert [v.id for v in twin.page(lambda: child.vendors.list()).results] == ["00901A"]
        assert vendors.calls.last.request.headers["sessionId"] == "child-s"
        assert child._http is partner._http and child.credentials.organization_id == "00801CHILD"
    assert [c.request.headers["sessionId"] for c in bill_mock["logout"].calls] == ["child-s"]
    with pytest.raises(ClientStateError):
        twin.run(lambda: child.vendors.get("00901A"))


def test_mfa_challenge_then_validate_makes_the_session_trusted(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    bill_mock.post("/connect/v3/mfa/challenge").respond(200, json={"challengeId": "chal-1"})
    bill_mock.post("/connect/v3/mfa/challenge/validate").respond(200, json={"rememberMeId": "remember-SECRET-9"})
    challenge_id = twin.run(lambda: bill.request_mfa_code())
    remembered = twin.run(lambda: bill.trust_session(challenge_id, " 123456 ", device="worker"))
    assert remembered == "remember-SECRET-9" and bill.session.trusted
    assert bill.credentials.device == "worker" and "remember-SECRET-9" not in repr(bill)
    with pytest.raises(ArgumentError, match="MFA code is empty"):
        twin.run(lambda: bill.trust_session("chal-1", " ", device="worker"))


@pytest.mark.parametrize("twin", ["sync"], indirect=True)  # AsyncBill's fleet mode: tests/fleet
def test_redis_fleet_mode_is_the_async_clients_only(twin: Twin) -> None:
    with pytest.raises(ConfigurationError, match="AsyncBill") as caught:
        twin.make(**CREDENTIALS, env={}, redis_url="redis://localhost:6379/0")
    assert caught.value.argument == "redis_url"
    with pytest.raises(ConfigurationError, match="BILL_REDIS_URL"):
        twin.make(**CREDENTIALS, env={"BILL_REDIS_URL": "redis://localhost:6379/0"})


@pytest.mark.parametrize(
    "twin", ["sync"], indirect=True
)  # AsyncBill's one loop: tests/reliability/test_sessions_hardening.py
def test_the_sync_client_is_usable_from_any_thread(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    vendor(bill_mock)
    found: list[str] = []
    threads = [threading.Thread(target=lambda: found.append(bill.vendors.get("0091").id)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["0091"] * 3 and bill_mock["login"].call_count == 1


def test_json_bodies_are_the_same_from_both_clients(twin: Twin, bill, bill_mock: respx.MockRouter) -> None:  # type: ignore[no-untyped-def]
    route = bill_mock.post("/connect/v3/vendors").respond(201, json={**OBJ, "id": "00901N"})
    twin.run(lambda: bill.vendors.create(body=bodies.vendor("Acme")))
    assert json.loads(route.calls.last.request.content)["name"] == "Acme"


def test_a_client_left_open_with_a_session_warns_when_collected(twin: Twin, bill_mock: respx.MockRouter) -> None:
    vendor(bill_mock)
    clients = [twin.make(**CREDENTIALS, env={})]
    twin.run(lambda: clients[0].vendors.get("0091"))
    with pytest.warns(ResourceWarning, match="aclose" if twin.is_async else r"bill\.close\(\)"):
        clients.clear()
        gc.collect()
