"""Partner sessions, login-as-user children and the MFA helpers, over respx."""

from __future__ import annotations

import json

import anyio
import pytest
import respx

from bill_sdk import AsyncBill
from bill_sdk.errors import ArgumentError, ConfigurationError

from .conftest import CREDENTIALS, OBJ, SESSION

PARTNER_SESSION = "partner-session-SECRET-6"
CHILD_SESSION = "child-session-SECRET-7"
CHILD_SESSION_2 = "child-session-SECRET-8"
EXPIRED = [{"code": "BDC_1109", "message": "Session is invalid.  Please log in."}]


def page(*ids: str) -> dict[str, object]:
    return {"results": [{**OBJ, "id": i} for i in ids]}


@pytest.fixture
def partner_mock(bill_mock: respx.MockRouter) -> respx.MockRouter:
    bill_mock.post("/connect/v3/partner/login", name="partner_login").respond(
        200, json={"sessionId": PARTNER_SESSION, "userId": "00601PARTNER"}
    )
    bill_mock.post("/connect/v3/partner/login-as-user", name="login_as_user").mock(
        side_effect=[
            respx.MockResponse(200, json={"sessionId": CHILD_SESSION, "organizationId": "00801CHILD"}),
            respx.MockResponse(200, json={"sessionId": CHILD_SESSION_2, "organizationId": "00801CHILD"}),
        ]
    )
    return bill_mock


async def test_login_as_user_gives_an_org_client_that_shares_pool_and_limit(partner_mock: respx.MockRouter) -> None:
    vendors = partner_mock.get("/connect/v3/vendors", name="vendors").respond(200, json=page("00901A"))
    async with AsyncBill(**CREDENTIALS, env={}) as partner:
        child = await partner.login_as_user("00801CHILD", "00601USER")

        as_user = partner_mock["login_as_user"].calls.last.request
        assert as_user.headers["appKey"] == CREDENTIALS["app_key"]
        assert as_user.headers["sessionId"] == PARTNER_SESSION
        assert json.loads(as_user.content) == {"organizationId": "00801CHILD", "userId": "00601USER"}

        listed = await child.vendors.list()
        assert [v.id for v in listed.results] == ["00901A"]  # type: ignore[union-attr]
        sent = vendors.calls.last.request
        assert (sent.headers["devKey"], sent.headers["sessionId"]) == (CREDENTIALS["dev_key"], CHILD_SESSION)
        assert child.credentials.organization_id == "00801CHILD"
        assert child.session is not None and child.session.organization_id == "00801CHILD"
        assert child._http is partner._http and child._limiter.capacity == partner._limiter.capacity
        assert partner_mock["login"].call_count == 0  # the org session came from login-as-user, not /v3/login

    # Closing the partner closes the child: its org session is logged out, the shared pool is closed once.
    logouts = [c.request.headers["sessionId"] for c in partner_mock["logout"].calls]
    assert logouts == [CHILD_SESSION]
    assert child._lifecycle.closed and partner._http.is_closed


async def test_an_expired_child_session_is_renewed_with_login_as_user_again(partner_mock: respx.MockRouter) -> None:
    partner_mock.get("/connect/v3/vendors/00901A").mock(
        side_effect=[respx.MockResponse(401, json=EXPIRED), respx.MockResponse(200, json={**OBJ, "id": "00901A"})]
    )
    async with AsyncBill(**CREDENTIALS, env={}) as partner:
        child = await partner.login_as_user("00801CHILD", "00601USER")
        vendor = await child.vendors.get("00901A")
    assert vendor.id == "00901A"
    assert partner_mock["login_as_user"].call_count == 2
    assert partner_mock["partner_login"].call_count == 1  # the partner session itself was still good
    assert partner_mock["login"].call_count == 0


async def test_a_child_and_its_partner_do_not_share_slots(partner_mock: respx.MockRouter) -> None:
    """BILL's 3 are per developer key and organization: a child's org calls and the partner-level calls each
    get their own (test_shared_limits covers the sharing between clients of one organization)."""
    in_flight = peak = 0

    def slow(body: dict[str, object]) -> object:
        async def respond(request: object) -> respx.MockResponse:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.01)
            in_flight -= 1
            return respx.MockResponse(200, json=body)

        return respond

    partner_mock.get("/connect/v3/vendors/00901A").mock(side_effect=slow({**OBJ, "id": "00901A"}))
    partner_mock.get("/connect/v3/partner/organizations").mock(side_effect=slow(page()))
    async with AsyncBill(**CREDENTIALS, env={}, max_concurrency=2) as partner:
        child = await partner.login_as_user("00801CHILD", "00601USER")
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(child.vendors.get, "00901A")
                tg.start_soon(partner.partner.organizations.list)
    assert peak == 4  # the child's 2 and the partner's 2, never more


async def test_login_as_user_needs_an_app_key_before_anything_is_sent(bill_mock: respx.MockRouter) -> None:
    without_app_key = {k: v for k, v in CREDENTIALS.items() if k != "app_key"}
    async with AsyncBill(**without_app_key, env={}) as bill:
        with pytest.raises(ConfigurationError, match="BILL_APP_KEY"):
            await bill.login_as_user("00801CHILD", "00601USER")
    assert not bill_mock.calls


# --------------------------------------------------------------------------- MFA


@pytest.fixture
def mfa_mock(bill_mock: respx.MockRouter) -> respx.MockRouter:
    bill_mock.post("/connect/v3/mfa/challenge", name="challenge").respond(200, json={"challengeId": "chal-1"})
    bill_mock.post("/connect/v3/mfa/challenge/validate", name="validate").respond(
        200, json={"rememberMeId": "remember-SECRET-9"}
    )
    bill_mock.post("/connect/v3/mfa/step-up", name="step_up").respond(200, json={"trusted": True})
    return bill_mock


async def test_mfa_challenge_then_validate_makes_this_and_later_sessions_trusted(
    bill: AsyncBill, mfa_mock: respx.MockRouter
) -> None:
    challenge_id = await bill.request_mfa_code()
    assert challenge_id == "chal-1"
    assert mfa_mock["challenge"].calls.last.request.headers["sessionId"] == SESSION
    assert bill.session is not None and not bill.session.trusted

    remember_me_id = await bill.trust_session(challenge_id, " 123456 ", device="payments-worker")

    assert remember_me_id == "remember-SECRET-9"
    assert json.loads(mfa_mock["validate"].calls.last.request.content) == {
        "challengeId": "chal-1",
        "token": "123456",
        "device": "payments-worker",
        "rememberMe": True,
    }
    assert bill.session.trusted  # type: ignore[union-attr]
    assert (bill.credentials.remember_me_id, bill.credentials.device) == ("remember-SECRET-9", "payments-worker")
    assert "remember-SECRET-9" not in repr(bill)

    # The next login (after expiry) presents the remembered device, so it is trusted from the start.
    mfa_mock.get("/connect/v3/vendors/00901A").mock(
        side_effect=[respx.MockResponse(401, json=EXPIRED), respx.MockResponse(200, json={**OBJ, "id": "00901A"})]
    )
    await bill.vendors.get("00901A")
    relogin = json.loads(mfa_mock["login"].calls.last.request.content)
    assert (relogin["rememberMeId"], relogin["device"]) == ("remember-SECRET-9", "payments-worker")


async def test_step_up_uses_the_remembered_device(mfa_mock: respx.MockRouter) -> None:
    async with AsyncBill(**CREDENTIALS, remember_me_id="remember-SECRET-9", device="payments-worker", env={}) as bill:
        assert await bill.step_up() is True
        assert bill.session is not None and bill.session.trusted
    sent = json.loads(mfa_mock["step_up"].calls.last.request.content)
    assert sent == {"rememberMeId": "remember-SECRET-9", "device": "payments-worker"}


async def test_step_up_without_a_remembered_device_names_what_is_missing(
    bill: AsyncBill, mfa_mock: respx.MockRouter
) -> None:
    with pytest.raises(ConfigurationError, match="BILL_REMEMBER_ME_ID"):
        await bill.step_up()
    assert mfa_mock["step_up"].call_count == 0


async def test_an_empty_mfa_code_is_refused_before_sending(bill: AsyncBill, mfa_mock: respx.MockRouter) -> None:
    with pytest.raises(ArgumentError, match="MFA code is empty"):
        await bill.trust_session("chal-1", "  ", device="payments-worker")
    assert mfa_mock["validate"].call_count == 0
