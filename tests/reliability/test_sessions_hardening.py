"""Sessions under stress: partner sessions that expired under their children, logins that hit a rate limit,
one request path for logins too, and tracebacks that carry no credential (issue #12, items 10-12, 14)."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

import httpx
import pytest
import respx

from bill_sdk import AsyncBill, AuthenticationError, BillError
from bill_sdk.testing import FakeBill
from tests import bodies
from tests.client.conftest import OBJ

from .hostile import CREDENTIALS, SECRETS, HostileServer, RawRequest, Reply

BASE = "https://gateway.stage.bill.com"
PARTNER_SESSION = "PSESSION-2b7c91e4"
CHILD_SESSION = "CSESSION-5e0a3d18"
ORG_SESSION = "OSESSION-8f14c6a2"
ALL_SECRETS = (*SECRETS, PARTNER_SESSION, CHILD_SESSION, ORG_SESSION)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def fake_client(fake: FakeBill, http: httpx.AsyncClient) -> AsyncBill:
    c = fake.credentials
    return AsyncBill(
        base_url="http://fakebill",
        http_client=http,
        env={},
        dev_key=c.dev_key,
        username=c.username,
        password=c.password,
        organization_id=c.organization_id,
        app_key=c.app_key,
        api_token=c.api_token,
    )


# ------------------------------------------------------------------ item 10: partner children survive idle expiry


async def test_a_partner_child_and_a_new_login_as_user_work_after_36_idle_minutes() -> None:
    clock = Clock()
    fake = FakeBill(clock=clock)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        partner = fake_client(fake, http)
        c = fake.credentials
        child = await partner.login_as_user(c.organization_id, c.user_id)
        await child.vendors.list()
        clock.now += 36 * 60  # both the partner session and the child's org session have expired
        await child.vendors.list()  # child re-login: login-as-user, which renews the partner session first
        other = await partner.login_as_user(c.organization_id, c.user_id)
        await other.vendors.list()
        await partner.aclose()
    fake.close()


async def test_concurrent_children_renew_an_expired_partner_session_once() -> None:
    clock = Clock()
    fake = FakeBill(clock=clock)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        partner = fake_client(fake, http)
        c = fake.credentials
        children = [await partner.login_as_user(c.organization_id, c.user_id) for _ in range(4)]
        partner_logins = partner._partner_sessions.login_count
        clock.now += 36 * 60
        await asyncio.gather(*(child.vendors.list() for child in children))
        assert partner._partner_sessions.login_count == partner_logins + 1
        await partner.aclose()
    fake.close()


# ------------------------------------------------------------------ item 11: only wrong credentials are remembered

RATE_LIMITED = [{"code": "BDC_1144", "message": "Max number of API calls per hour exceeded"}]
WRONG_PASSWORD = [{"code": "BDC_1102", "message": "Incorrect username or password"}]


@pytest.mark.parametrize(
    "first_answer",
    [
        respx.MockResponse(400, json=RATE_LIMITED),
        respx.MockResponse(429, json=[{"code": "BDC_1322", "message": "Too many concurrent requests"}]),
        respx.MockResponse(403, text="<html><body>Access denied by the gateway</body></html>"),
        respx.MockResponse(401, text="<html>gateway</html>"),
        respx.MockResponse(502, text="<html>bad gateway</html>"),
    ],
    ids=["BDC_1144", "BDC_1322", "gateway-403", "gateway-401", "502"],
)
async def test_a_login_refused_for_a_reason_other_than_credentials_is_not_remembered(
    first_answer: respx.MockResponse,
) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        login = router.post("/connect/v3/login").mock(
            side_effect=[first_answer, respx.MockResponse(200, json={"sessionId": ORG_SESSION})]
        )
        router.post("/connect/v3/logout").respond(200, json={})
        router.get("/connect/v3/vendors/00901A").respond(200, json={**OBJ, "id": "00901A"})
        async with AsyncBill(env={}, max_retries=0, **CREDENTIALS) as bill:
            with pytest.raises(BillError) as caught:
                await bill.vendors.get("00901A")
            assert "BDC_1102" not in caught.value.codes
            assert (await bill.vendors.get("00901A")).id == "00901A"
        assert login.call_count == 2


async def test_a_rate_limited_login_is_retried_like_any_call() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login").mock(
            side_effect=[
                respx.MockResponse(429, json=RATE_LIMITED, headers={"Retry-After": "0"}),
                respx.MockResponse(200, json={"sessionId": ORG_SESSION}),
            ]
        )
        router.post("/connect/v3/logout").respond(200, json={})
        created = router.post("/connect/v3/payments").respond(200, json={**OBJ, "id": "stp1"})
        async with AsyncBill(env={}, **CREDENTIALS) as bill:
            bill._retry.base_delay = 0.001
            assert (await bill.payments.create(body=bodies.payment())).id == "stp1"
        assert created.call_count == 1


async def test_remembered_wrong_credentials_are_raised_fresh_each_time() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        login = router.post("/connect/v3/login").respond(400, json=WRONG_PASSWORD)
        async with AsyncBill(env={}, **CREDENTIALS) as bill:
            raised: list[AuthenticationError] = []
            for _ in range(2000):
                try:
                    await bill.vendors.get("00901A")
                except AuthenticationError as exc:
                    raised.append(exc)
        assert login.call_count == 1
        assert len({id(e) for e in raised[-10:]}) == 10  # a new object each time
        assert len(traceback.extract_tb(raised[-1].__traceback__)) < 40
        assert len(traceback.format_exception(raised[-1])) < 60


# ------------------------------------------------------------------ item 12: one request path


async def test_logins_and_login_as_user_take_the_same_concurrency_slots_as_every_call() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        await asyncio.sleep(0.05)
        if request.path.endswith("/partner/login"):
            await reply.respond(200, {"sessionId": PARTNER_SESSION})
        elif request.path.endswith("/login-as-user"):
            await reply.respond(200, {"sessionId": CHILD_SESSION, "organizationId": "00801ORG"})
        else:
            await reply.respond(200, {"results": [], "nextPage": None})

    async with HostileServer(handler) as server:
        bill = AsyncBill(base_url=server.base_url, env={}, **CREDENTIALS)
        await bill.partner.organizations.list()
        await asyncio.gather(
            *(bill.partner.organizations.list() for _ in range(3)),
            *(bill.login_as_user("00801ORG", "00601USER") for _ in range(5)),
        )
        await bill.aclose()
    assert server.peak_in_flight <= 3


async def test_a_login_as_user_child_is_a_complete_client() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/partner/login").respond(200, json={"sessionId": PARTNER_SESSION})
        router.post("/connect/v3/partner/login-as-user").respond(200, json={"sessionId": CHILD_SESSION})
        router.post("/connect/v3/logout").respond(200, json={})
        async with AsyncBill(env={}, timeout=7.0, max_retries=1, max_concurrency=2, **CREDENTIALS) as partner:
            child = await partner.login_as_user("00801CHILD", "00601USER")
            # Every piece of the parent's state exists on the child (resources, public names, are built lazily).
            assert {k for k in vars(partner) if k.startswith("_")} <= set(vars(child))
            assert child._timeout == 7.0 and child._retry is partner._retry and child._limiter.capacity == 2
            assert child.credentials.organization_id == "00801CHILD"
            assert child._sender is not partner._sender


# ------------------------------------------------------------------ item 14: tracebacks with frame locals


async def _failure_of(call: Any) -> BillError:
    """The error `call()` raises, caught in a frame of its own (so the traceback holds SDK frames, not the
    test's, whose locals include the hostile server's record of every request header)."""
    try:
        await call()
    except BillError as exc:
        return exc
    raise AssertionError("the call did not fail")


def _formatted_with_locals(exc: BaseException) -> str:
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def _assert_clean(text: str) -> None:
    leaked = [s for s in ALL_SECRETS if s in text]
    assert not leaked, f"secrets in a traceback with locals: {leaked}"


async def test_a_failed_login_leaves_no_credential_in_traceback_locals() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login").respond(400, json=WRONG_PASSWORD)
        async with AsyncBill(env={}, **CREDENTIALS) as bill:
            error = await _failure_of(lambda: bill.vendors.get("00901A"))
    assert isinstance(error, AuthenticationError)
    _assert_clean(_formatted_with_locals(error))


@pytest.mark.parametrize("failure", ["drop", "stall", "500"])
async def test_a_failed_call_leaves_no_credential_or_session_in_traceback_locals(failure: str) -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if request.path.endswith("/v3/login"):
            await reply.respond(200, {"sessionId": ORG_SESSION, "organizationId": "00801ORG"})
        elif failure == "drop":
            reply.drop()
        elif failure == "stall":
            await reply.stall(seconds=3)
        else:
            await reply.respond(500, [{"code": "X", "message": "boom"}])

    async with (
        HostileServer(handler) as server,
        AsyncBill(base_url=server.base_url, env={}, max_retries=0, **CREDENTIALS) as bill,
    ):
        errors = [
            await _failure_of(lambda: bill.vendors.get("00901A", timeout=0.5)),
            await _failure_of(lambda: bill.payments.create(body=bodies.payment(), timeout=0.5)),
            await _failure_of(lambda: bill.spend.budgets.list(timeout=0.5)),
        ]
    for error in errors:
        _assert_clean(_formatted_with_locals(error))


async def test_a_login_that_cannot_connect_leaves_no_credential_in_traceback_locals() -> None:
    def refuse(request: httpx.Request) -> Any:
        raise httpx.ConnectError("refused", request=request)

    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login").mock(side_effect=refuse)
        router.post("/connect/v3/partner/login").mock(side_effect=refuse)
        async with AsyncBill(env={}, max_retries=0, **CREDENTIALS) as bill:
            for call in (lambda: bill.vendors.get("00901A"), lambda: bill.partner.organizations.list()):
                _assert_clean(_formatted_with_locals(await _failure_of(call)))
