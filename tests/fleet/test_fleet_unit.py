"""The fleet mode in one process: the scripts (fakeredis, quick), and the client's behaviour against a real Redis:
shared sessions and failures, secrets in Redis, budgets, leases, configuration, Redis unreachable, trio."""

from __future__ import annotations

import logging
import threading

import anyio
import fakeredis
import pytest
import respx

from bill_sdk import AsyncBill, AuthenticationError, ConfigurationError, RateLimitError
from bill_sdk._fleet import Fleet
from bill_sdk._generated.api.auth import login
from bill_sdk._generated.api.invoices import send_invoice
from bill_sdk._generated.api.mfa import add_mfa_phone, create_mfa_challenge
from bill_sdk._generated.api.vendors import get_vendor
from bill_sdk._limits import limit_key
from bill_sdk.fleet import Budget, FleetOptions, FleetUnavailableError
from tests.client.conftest import OBJ

BASE = "https://gateway.stage.bill.com"
CREDENTIALS = {
    "dev_key": "dev-key-SECRET-1",
    "username": "ap@example.com",
    "password": "pw-SECRET-2",
    "organization_id": "00801ORG",
}
SESSION = "session-SECRET-5"
KEY = limit_key("org", BASE, "dev-key-SECRET-1", "00801ORG")


def fake_fleet(**options: object) -> Fleet:
    fleet = Fleet("redis://unused.invalid:6379", FleetOptions(**options))  # type: ignore[arg-type]
    fleet._redis = fakeredis.FakeAsyncRedis()
    return fleet


# --------------------------------------------------------------------------- scripts (fakeredis)


async def test_the_semaphore_gives_capacity_leases_and_takes_expired_ones_back() -> None:
    fleet = fake_fleet(lease_seconds=0.2)
    name = fleet._key("slots", KEY.digest)
    assert [await fleet._run("take", [name], [f"t{i}", 3, 200]) for i in range(4)] == [1, 1, 1, 0]
    assert await fleet._run("renew", [name], ["t0", 200]) == 1
    await anyio.sleep(0.3)  # t0..t2 expire on Redis's clock
    assert await fleet._run("renew", [name], ["t1", 200]) == 0  # a lost lease is not renewed
    assert await fleet._run("take", [name], ["t9", 3, 200]) == 1


async def test_budgets_are_spent_with_a_slot_all_or_nothing_and_say_when_the_window_resets() -> None:
    fleet = fake_fleet()
    slots = fleet._key("slots", "d")
    requests, messages = fleet._key("budget:requests", "d"), fleet._key("budget:messages", "d")
    budgets = [5, 3_600_000, 1, 60_000]
    assert await fleet._run("take", [slots, requests, messages], ["a", 1, 60_000, *budgets]) == 1
    assert await fleet._run("take", [slots, requests], ["b", 1, 60_000, 5, 3_600_000]) == 0  # no slot: not spent
    await fleet._redis.zrem(slots, "a")
    wait = await fleet._run("take", [slots, requests, messages], ["c", 1, 60_000, *budgets])
    assert -60_000 <= wait < 0  # the message budget is used up until the next minute: nothing taken
    assert await fleet._redis.zcard(slots) == 0
    assert await fleet._run("take", [slots, requests], ["d", 1, 60_000, 5, 3_600_000]) == 1
    redis = fleet._redis
    assert int(await redis.hget(requests, "n")) == 2 and 0 < await redis.pttl(requests) <= 3_601_000


async def test_the_first_report_of_a_stale_session_deletes_it_the_others_wait() -> None:
    fleet = fake_fleet()
    keys = [fleet._key(kind, "i") for kind in ("session", "login-lock", "login-failure")]
    assert (await fleet._run("session", keys, ["a", 1000, ""]))[0] == b"login"
    assert (await fleet._run("session", keys, ["b", 1000, ""]))[0] == b"wait"  # a is logging in
    await fleet._run("store", keys[:2], ["a", 60_000, "fp", "FP1", "sid", "s1"])
    assert (await fleet._run("session", keys, ["b", 1000, ""]))[0] == b"session"
    assert (await fleet._run("session", keys, ["b", 1000, "FP1"]))[0] == b"login"  # b reported it first
    assert (await fleet._run("session", keys, ["c", 1000, "FP1"]))[0] == b"wait"  # c waits for b's login
    await fleet._run("store", keys[:2], ["b", 60_000, "fp", "FP2", "sid", "s2"])
    assert (await fleet._run("session", keys, ["c", 1000, "FP1"]))[0] == b"session"  # FP2: c uses it


# --------------------------------------------------------------------------- the client against a real Redis


def client(redis_url: str, prefix: str, **options: object) -> AsyncBill:
    return AsyncBill(**CREDENTIALS, env={}, redis_url=redis_url, fleet=FleetOptions(key_prefix=prefix, **options))  # type: ignore[arg-type]


@pytest.fixture
def bill_mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login", name="login").respond(200, json={"sessionId": SESSION})
        router.post("/connect/v3/logout", name="logout").respond(200, json={})
        router.get("/connect/v3/vendors/00901A", name="vendor").respond(200, json={**OBJ, "id": "00901A"})
        yield router


def _in_thread(work: object) -> None:
    """Run `work` (an async function) in its own thread and loop: a second "worker" with its own local limits."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(work)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    if errors:
        raise errors[0]


async def test_two_workers_share_one_login_and_the_session_is_not_signed_out(
    redis_server: str, prefix: str, bill_mock: respx.MockRouter
) -> None:
    async with client(redis_server, prefix) as one:
        await one.vendors.get("00901A")

    async def second() -> None:
        async with client(redis_server, prefix) as two:
            await two.vendors.get("00901A")
            assert two.login_count == 0

    _in_thread(second)
    assert bill_mock["login"].call_count == 1
    assert bill_mock["logout"].call_count == 0  # the fleet's session is left to expire, not signed out


async def test_wrong_credentials_are_found_out_once_for_the_whole_fleet(redis_server: str, prefix: str) -> None:
    bad = [{"code": "BDC_1101", "message": "Incorrect User Name or Password."}]
    with respx.mock(base_url=BASE) as router:
        login = router.post("/connect/v3/login").respond(400, json=bad)
        async with client(redis_server, prefix) as one:
            with pytest.raises(AuthenticationError):
                await one.vendors.get("00901A")

        async def second() -> None:
            async with client(redis_server, prefix) as two:
                for _ in range(3):
                    with pytest.raises(AuthenticationError) as caught:
                        await two.vendors.get("00901A")
                    assert caught.value.codes == ("BDC_1101",)

        _in_thread(second)
    assert login.call_count == 1


class Reversing:
    """A toy cipher (tests only): what a Fernet does, without the dependency."""

    def encrypt(self, data: bytes) -> bytes:
        return b"enc:" + data[::-1]

    def decrypt(self, token: bytes) -> bytes:
        assert token.startswith(b"enc:")
        return token[4:][::-1]


@pytest.mark.parametrize("cipher", [None, Reversing()], ids=["plain", "encrypted"])
async def test_session_ids_in_redis_have_a_prefix_a_ttl_no_secret_in_key_names_and_no_log(
    redis_server: str, prefix: str, bill_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, cipher: object
) -> None:
    import redis.asyncio

    caplog.set_level(logging.DEBUG, logger="bill_sdk")
    async with client(redis_server, prefix, cipher=cipher) as bill:
        await bill.vendors.get("00901A")
    r = redis.asyncio.Redis.from_url(redis_server)
    keys = [k.decode() for k in await r.keys(prefix + ":*")]
    assert keys and all(k.startswith(prefix + ":") for k in keys)
    for secret in (*CREDENTIALS.values(), SESSION):
        assert not any(secret in k for k in keys)
        assert secret not in caplog.text
    (session_key,) = [k for k in keys if ":session:" in k]
    assert 0 < await r.pttl(session_key) <= 55 * 60 * 1000
    stored = await r.hget(session_key, "sid")
    assert (stored == SESSION.encode()) is (cipher is None)
    await r.aclose()


async def test_a_client_without_the_cipher_refuses_an_encrypted_session(
    redis_server: str, prefix: str, bill_mock: respx.MockRouter
) -> None:
    async with client(redis_server, prefix, cipher=Reversing()) as bill:
        await bill.vendors.get("00901A")

    async def second() -> None:
        async with client(redis_server, prefix) as other:
            with pytest.raises(ConfigurationError, match="cipher"):
                await other.vendors.get("00901A")

    _in_thread(second)


async def test_only_calls_that_send_a_text_message_use_the_message_budget(redis_server: str, prefix: str) -> None:
    """BILL's current rate-limit page: 5 per minute for endpoints that send a text message; login and the
    email-sending calls (an older page listed them) are not among them."""
    fleet = Fleet(redis_server, FleetOptions(key_prefix=prefix, text_messages=Budget(1, 60), hourly_logins=None))
    local = anyio.CapacityLimiter(3)
    deadline = anyio.current_time() + 2.0  # a budget used up raises at once (its wait is past the deadline)
    for operation in (login.OPERATION, send_invoice.OPERATION) * 2:
        async with fleet.slot(KEY, operation, 3, deadline, local):
            pass
    async with fleet.slot(KEY, add_mfa_phone.OPERATION, 3, deadline, local):
        pass
    with pytest.raises(RateLimitError, match="messages"):
        async with fleet.slot(KEY, create_mfa_challenge.OPERATION, 3, deadline, local):
            pass
    await fleet.aclose()


async def test_the_text_message_budget_raises_with_retry_after_past_the_deadline(
    redis_server: str, prefix: str
) -> None:
    fleet = Fleet(redis_server, FleetOptions(key_prefix=prefix, text_messages=Budget(2, 60)))
    local = anyio.CapacityLimiter(3)
    operation = create_mfa_challenge.OPERATION
    deadline = anyio.current_time() + 1.0
    for _ in range(2):
        async with fleet.slot(KEY, operation, 3, deadline, local):
            pass
    with pytest.raises(RateLimitError) as caught:
        async with fleet.slot(KEY, operation, 3, deadline, local):
            pass
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60.1
    assert "messages" in str(caught.value) and local.borrowed_tokens == 0  # no slot held while refused
    async with fleet.slot(KEY, get_vendor.OPERATION, 3, deadline, local):  # other calls are not text messages
        pass
    await fleet.aclose()


async def test_a_lease_is_renewed_while_a_long_request_runs(redis_server: str, prefix: str) -> None:
    fleet = Fleet(redis_server, FleetOptions(key_prefix=prefix, lease_seconds=0.3))
    name = fleet._key("slots", KEY.digest)
    async with fleet.slot(KEY, get_vendor.OPERATION, 1, None, anyio.CapacityLimiter(1)):
        await anyio.sleep(1.0)  # three leases long
        assert await fleet._run("take", [name], ["other", 1, 300]) == 0  # still ours
    assert await fleet._run("take", [name], ["other", 1, 300]) == 1  # released at once afterwards
    await fleet.aclose()


# --------------------------------------------------------------------------- configuration, failures, trio


def test_configuration_from_arguments_and_environment() -> None:
    env = {"BILL_REDIS_URL": "redis://127.0.0.1:1/0", "BILL_REDIS_FALLBACK": "fail"}
    bill = AsyncBill(**CREDENTIALS, env=env)
    assert bill._fleet is not None and bill._fleet.options.on_redis_error == "fail"
    assert AsyncBill(**CREDENTIALS, env={})._fleet is None
    with pytest.raises(ConfigurationError, match="redis://") as caught:
        AsyncBill(**CREDENTIALS, env={}, redis_url="http://secret-password@example.com")
    assert "secret-password" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="BILL_REDIS_FALLBACK"):
        AsyncBill(**CREDENTIALS, env={**env, "BILL_REDIS_FALLBACK": "maybe"})
    with pytest.raises(ConfigurationError, match="without redis_url"):
        AsyncBill(**CREDENTIALS, env={}, fleet=FleetOptions())
    assert "hunter2" not in repr(AsyncBill(**CREDENTIALS, env={}, redis_url="redis://:hunter2@h:1/0")._fleet)


async def test_redis_unreachable_degrades_to_local_limits_with_a_warning(
    bill_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bill_sdk")
    async with AsyncBill(**CREDENTIALS, env={}, redis_url="redis://127.0.0.1:1/0") as bill:
        assert (await bill.vendors.get("00901A")).id == "00901A"
        assert (await bill.vendors.get("00901A")).id == "00901A"
    warnings = [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]
    assert len(warnings) == 1  # loud, once per outage, not once per call
    assert bill_mock["login"].call_count == 1


async def test_redis_unreachable_fails_closed_when_asked(bill_mock: respx.MockRouter) -> None:
    options = FleetOptions(on_redis_error="fail")
    async with AsyncBill(**CREDENTIALS, env={}, redis_url="redis://127.0.0.1:1/0", fleet=options) as bill:
        with pytest.raises(FleetUnavailableError, match="nothing was sent"):
            await bill.vendors.get("00901A")
    assert not bill_mock["vendor"].called and not bill_mock["login"].called


def test_redis_url_under_trio_is_a_configuration_error() -> None:
    async def main() -> None:
        async with AsyncBill(**CREDENTIALS, env={}, redis_url="redis://127.0.0.1:1/0") as bill:
            with pytest.raises(ConfigurationError, match="asyncio only"):
                await bill.vendors.get("00901A")

    with respx.mock(base_url=BASE, assert_all_called=False):
        anyio.run(main, backend="trio")
