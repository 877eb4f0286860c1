"""BILL's concurrency limit is per (host, developer key, organization), not per AsyncBill object: in one process,
every client and login-as-user child talking to one organization shares one limiter; other organizations,
partner-level and Spend calls get their own (issue #18, step 1)."""

from __future__ import annotations

import asyncio
import threading

import anyio
import respx

from bill_sdk import AsyncBill
from tests.client.conftest import OBJ

from .conftest import CREDENTIALS
from .test_sessions import PARTNER_SESSION, page


def _slow(counter: dict[str, int], name: str, body: object) -> object:
    async def respond(request: object) -> respx.MockResponse:
        counter[name] = counter.get(name, 0) + 1
        counter[name + "_peak"] = max(counter.get(name + "_peak", 0), counter[name])
        await anyio.sleep(0.01)
        counter[name] -= 1
        return respx.MockResponse(200, json=body)

    return respond


async def test_two_clients_for_one_organization_share_three_slots(bill_mock: respx.MockRouter) -> None:
    seen: dict[str, int] = {}
    bill_mock.get("/connect/v3/vendors/00901A").mock(side_effect=_slow(seen, "org", {**OBJ, "id": "00901A"}))
    async with (
        AsyncBill(**CREDENTIALS, env={}) as one,
        AsyncBill(**CREDENTIALS, env={}) as two,
        anyio.create_task_group() as tg,
    ):
        for _ in range(12):
            tg.start_soon(one.vendors.get, "00901A")
            tg.start_soon(two.vendors.get, "00901A")
    assert seen["org_peak"] == 3  # reached, never exceeded: not 3 per client


async def test_clients_for_other_organizations_or_hosts_do_not_share(bill_mock: respx.MockRouter) -> None:
    seen: dict[str, int] = {}
    bill_mock.get("/connect/v3/vendors/00901A").mock(side_effect=_slow(seen, "org", {**OBJ, "id": "00901A"}))
    bill_mock.post("/connect/v3/login").mock(
        side_effect=lambda request: respx.MockResponse(200, json={"sessionId": "s-" + request.content.decode()[-12:-2]})
    )
    other = {**CREDENTIALS, "organization_id": "00801OTHER"}
    async with AsyncBill(**CREDENTIALS, env={}) as one, AsyncBill(**other, env={}) as two:
        assert one._limiter.key_for("org") != two._limiter.key_for("org")
        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(one.vendors.get, "00901A")
                tg.start_soon(two.vendors.get, "00901A")
    assert seen["org_peak"] == 6  # 3 each


async def test_login_as_user_children_for_other_organizations_get_their_own_slots(
    bill_mock: respx.MockRouter,
) -> None:
    bill_mock.post("/connect/v3/partner/login").respond(200, json={"sessionId": PARTNER_SESSION})
    counter = iter(range(100))
    bill_mock.post("/connect/v3/partner/login-as-user").mock(
        side_effect=lambda request: respx.MockResponse(200, json={"sessionId": f"child-{next(counter)}"})
    )
    seen: dict[str, int] = {}
    bill_mock.get("/connect/v3/vendors/00901A").mock(side_effect=_slow(seen, "org", {**OBJ, "id": "00901A"}))
    bill_mock.get("/connect/v3/partner/organizations").mock(side_effect=_slow(seen, "partner", page()))
    async with AsyncBill(**CREDENTIALS, env={}) as partner:
        a = await partner.login_as_user("00801CHILDA", "00601USER")
        b = await partner.login_as_user("00801CHILDB", "00601USER")
        a2 = await partner.login_as_user("00801CHILDA", "00601OTHER")  # same organization as `a`
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(a.vendors.get, "00901A")
                tg.start_soon(a2.vendors.get, "00901A")
                tg.start_soon(b.vendors.get, "00901A")
                tg.start_soon(partner.partner.organizations.list)
    assert seen["org_peak"] == 6  # CHILDA's 3 (shared by a and a2) + CHILDB's 3
    assert seen["partner_peak"] == 3  # partner-level calls: their own 3 per app key


def test_limiters_belong_to_one_event_loop() -> None:
    """A CapacityLimiter is bound to a loop: clients in two threads' loops for one organization get two."""
    from bill_sdk._limits import REGISTRY

    seen = []

    def run() -> None:
        async def main() -> None:
            async with AsyncBill(**CREDENTIALS, env={}) as bill:
                seen.append(bill._limiter.local_limiter(bill._limiter.key_for("org")))

        asyncio.run(main())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 2 and seen[0] is not seen[1]
    import gc

    gc.collect()
    assert REGISTRY.loops() == 0  # weakly keyed: finished loops leave nothing behind


def test_limit_keys_never_hold_a_secret() -> None:
    bill = AsyncBill(**CREDENTIALS, env={})
    for kind in ("org", "partner", "spend"):
        key = bill._limiter.key_for(kind)
        text = repr(key) + str(key) + key.digest
        assert not any(
            secret in text for secret in (CREDENTIALS["dev_key"], CREDENTIALS["app_key"], CREDENTIALS["api_token"])
        )
