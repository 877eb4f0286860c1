"""Fleet mode: BILL's limits and sessions shared through Redis by every worker of a service.

``pip install bill-sdk[redis]`` and ``AsyncBill(redis_url="redis://...")`` (or ``BILL_REDIS_URL``): every client in
every process with the same (BILL host, developer key, organization) shares, through one Redis:

* **Concurrency**: a semaphore of ``max_concurrency`` (3) slots built from *leases*. A slot is a member of a
  sorted set ``{prefix}:slots:{digest}`` scored with its expiry on **Redis's clock** (``TIME`` inside the
  scripts, never a worker's clock). A lease lasts ``lease_seconds`` (10 s by default) and is renewed every third
  of that while the request runs, so a long request keeps its slot and a worker that dies (``kill -9``, OOM)
  loses its slots within ``lease_seconds``; any worker waiting for a slot removes expired leases first. Waiting
  is polling (2-25 ms with jitter); the in-process limiter stays in front, so at most 3 tasks per process poll.
  A call costs two round trips: one script takes the slot and the budgets, a ``ZREM`` gives the slot back.
* **Budgets** on BILL's windows, per developer key (partner calls: per app key): 20,000 requests per clock hour,
  200 logins per clock hour (``login``, ``partnerLogin``, ``loginAsUser``), and 5 per minute for the calls that
  send a text message to a user (``createMfaChallenge``, ``addMfaPhone``: BILL's current rate-limit page,
  https://developer.bill.com/docs/api-rate-limits, updated 2026-03-24; an older page also listed login and the
  email-sending calls, which it no longer does). A window is ``[k*w, (k+1)*w)`` seconds
  of Redis's Unix time, so 3600 s windows are clock hours. The budgets of one attempt are taken together with its
  slot or not at all (a call waiting for the next window holds no slot). When a budget is used up, the call
  waits if the window resets within its deadline, else raises :class:`~bill_sdk.RateLimitError` with
  ``retry_after``: the fleet never sends more than the budget. A unit is spent per attempt and not refunded, so
  the fleet errs on the side of sending fewer.
* **Sessions**: one login serves every worker. ``{prefix}:session:{digest}`` holds the session; a worker that
  finds none takes a login lock (a lease like the slots', renewed while the login runs), logs in and stores it;
  the others wait for it. On BDC_1109 a worker reports the session it used: only the first to report that
  session id deletes it and logs in again (compare-and-delete in one script), the others wait for and use the
  new one. A credential failure (BILL's credential codes) is stored for ``failure_ttl`` (15 min) and raised by
  every worker without a login, so a fleet with a wrong password does not burn BILL's 200 logins an hour.
  Login-as-user children keep their sessions in their process (their slots and budgets are shared).

Secrets in Redis: only session ids are stored, under digests (BLAKE2b of the host, key, organization, user
name and password: no key name holds a credential), with a TTL (``session_ttl``, 55 min: BILL's sessions expire
after 35 idle minutes). Pass ``cipher=`` (anything with ``encrypt(bytes) -> bytes`` and ``decrypt(bytes) ->
bytes``, such as ``cryptography.fernet.Fernet(key)``) to store them encrypted; without it, protect Redis like
the credentials themselves (ACL, TLS with ``rediss://``, a private network). Session ids and the Redis URL's
password are never logged. A shared session is not signed out when one client closes (the others use it).

Redis unreachable (``on_redis_error``, env ``BILL_REDIS_FALLBACK``): ``"local"`` (the default) degrades to the
in-process limits and sessions with a WARNING log on every outage, retrying Redis every few seconds; BILL's own
limits then answer BDC_1322/BDC_1144 (refused requests, retried when safe, never a payment sent twice), so an
outage of Redis does not stop payments. ``"fail"`` raises :class:`FleetUnavailableError` before anything is sent.

Why not ``limits``, ``pyrate-limiter`` or ``aiolimiter``: they offer rate limits (moving or fixed windows,
token or leaky buckets) on the workers' clock, not a counting semaphore with leases, and their windows are not
aligned on BILL's clock hour; ``aiolimiter`` is in-process only. A few small Lua scripts on redis-py's asyncio
client do exactly BILL's semantics, atomically, on one clock.

trio: redis-py's asyncio client runs on asyncio only; a client with ``redis_url`` used under trio raises
:class:`~bill_sdk.ConfigurationError` at its first call.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, Literal, NoReturn, Protocol
from urllib.parse import urlsplit

import anyio
from attrs import define, field

from ._auth import Session, SessionManager
from ._limits import LimitKey, _digest
from ._runtime import Operation
from .errors import (
    APIError,
    AuthenticationError,
    BillConnectionError,
    ConfigurationError,
    ErrorDetail,
    RateLimitError,
    is_credential_error,
)

logger = logging.getLogger("bill_sdk")

LOGIN_OPERATIONS = frozenset({"login", "partnerLogin", "loginAsUser"})
# BILL: "any endpoint that sends a text message to a user is limited to 5 messages per minute" (current page).
MESSAGE_OPERATIONS = frozenset({"createMfaChallenge", "addMfaPhone"})
REDIS_RETRY_SECONDS = 5.0  # after a failure, how long the fallback is used before Redis is tried again


class SessionCipher(Protocol):
    def encrypt(self, data: bytes) -> bytes: ...

    def decrypt(self, token: bytes) -> bytes: ...


@define(frozen=True)
class Budget:
    """At most ``limit`` requests per window of ``window`` seconds (windows aligned on Unix time)."""

    limit: int
    window: float


HOURLY_REQUESTS = Budget(20_000, 3600)  # per developer key (BDC_1144)
HOURLY_LOGINS = Budget(200, 3600)  # per developer key
TEXT_MESSAGES = Budget(5, 60)  # calls that send a text message or an email


@define(frozen=True, repr=False)
class FleetOptions:
    """Settings of the Redis fleet mode (see the module docs). The defaults are BILL's published limits."""

    key_prefix: str = "bill-sdk"
    lease_seconds: float = 10.0
    on_redis_error: Literal["local", "fail"] = "local"
    hourly_requests: Budget | None = HOURLY_REQUESTS
    hourly_logins: Budget | None = HOURLY_LOGINS
    text_messages: Budget | None = TEXT_MESSAGES
    session_ttl: float = 55 * 60
    failure_ttl: float = 15 * 60
    cipher: SessionCipher | None = None
    redis_timeout: float = 2.0  # connect and per-command socket timeout

    def __repr__(self) -> str:
        return (
            f"FleetOptions(key_prefix={self.key_prefix!r}, lease_seconds={self.lease_seconds}, "
            f"on_redis_error={self.on_redis_error!r}, encrypted={self.cipher is not None})"
        )


class FleetUnavailableError(BillConnectionError):
    """Redis (fleet mode, ``on_redis_error="fail"``) could not be reached; nothing was sent to BILL."""


_NOW_MS = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# KEYS[1]: sorted set of slot leases, KEYS[2..]: one hash per budget ({w: window index, n: count}).
# ARGV: token, capacity, lease_ms, then limit and window_ms per budget. All or nothing:
# 1: slot taken and budgets spent; 0: no free slot (nothing spent); -ms: a budget is used up until its reset.
TAKE = (
    _NOW_MS
    + """
local wait = 0
for i = 2, #KEYS do
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local w = math.floor(now / window)
  local seen = redis.call('HMGET', KEYS[i], 'w', 'n')
  local n = 0
  if tonumber(seen[1]) == w then n = tonumber(seen[2]) or 0 end
  if n >= limit then wait = math.max(wait, (w + 1) * window - now) end
end
if wait > 0 then return -wait end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]))
for i = 2, #KEYS do
  local window = tonumber(ARGV[2 * i + 1])
  local w = math.floor(now / window)
  if tonumber(redis.call('HGET', KEYS[i], 'w')) == w then
    redis.call('HINCRBY', KEYS[i], 'n', 1)
  else
    redis.call('HSET', KEYS[i], 'w', w, 'n', 1)
  end
  redis.call('PEXPIRE', KEYS[i], (w + 1) * window - now + 1000)
end
return 1
"""
)

# KEYS[1]: sorted set of leases; ARGV: token, lease_ms. 1: renewed, 0: the lease was lost.
RENEW = (
    _NOW_MS
    + """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) and tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1])) > now then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
  return 1
end
return 0
"""
)

# KEYS: session hash, login lock, failure; ARGV: token, lock_ms, fingerprint of the stale session ('' if none).
SESSION = """
local failed = redis.call('GET', KEYS[3])
if failed then return {'fail', failed} end
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then
  if fp ~= ARGV[3] then return {'session', redis.call('HGETALL', KEYS[1])} end
  redis.call('DEL', KEYS[1])
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'login'} end
return {'wait'}
"""

# KEYS: session hash, login lock; ARGV: token, ttl_ms, field, value, ...
STORE = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: failure, login lock; ARGV: token, ttl_ms, payload ('' to only release the lock)
FAIL = """
if ARGV[3] ~= '' then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS[1]: lock; ARGV: token, lease_ms
RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class _Down(Exception):
    """Internal: Redis failed and the fallback is the in-process path."""


def check_redis_url(url: str) -> None:
    """A ConfigurationError, naming no value, unless `url` is a Redis URL redis-py can use."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "redis_url needs the redis package: pip install 'bill-sdk[redis]'", argument="redis_url"
        ) from None
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError("redis_url must be a redis://, rediss:// or unix:// URL", argument="redis_url")


class Fleet:
    """The Redis side of one root client (shared by its login-as-user children): slots, budgets, sessions."""

    def __init__(self, url: str, options: FleetOptions | None = None) -> None:
        check_redis_url(url)
        self._url = url
        self.options = options or FleetOptions()
        if self.options.lease_seconds <= 0:
            raise ConfigurationError("lease_seconds must be positive", argument="fleet")
        self._redis: Any = None
        self._scripts: dict[str, Any] = {}
        self._down_until = 0.0
        self._down = False

    @staticmethod
    def configure(redis_url: str | None, options: FleetOptions | None, env: Mapping[str, str]) -> Fleet | None:
        """The client's Fleet from its arguments or BILL_REDIS_URL / BILL_REDIS_FALLBACK (see :func:`fleet_from`)."""
        return fleet_from(redis_url, options, env)

    def sessions(self, login: Callable[[], Awaitable[Session]], name: str, *identity: str | None) -> SessionManager:
        """A SessionManager shared through Redis by every worker signing in as `identity`."""
        return SharedSessions(login, name, fleet=self, identity=self.session_identity(*identity))

    def __repr__(self) -> str:
        parts = urlsplit(self._url)
        where = parts.hostname or parts.path  # never the password
        return f"Fleet(redis={parts.scheme}://{where}{':' + str(parts.port) if parts.port else ''}, {self.options!r})"

    # ------------------------------------------------------------------ Redis plumbing
    def _client(self) -> Any:
        import sniffio

        if sniffio.current_async_library() != "asyncio":
            raise ConfigurationError(
                "redis_url works under asyncio only (redis-py's asyncio client): under trio, leave redis_url "
                "unset (each process then has its own limits)",
                argument="redis_url",
            )
        if self._redis is None:
            import redis.asyncio

            timeout = self.options.redis_timeout
            self._redis = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=False
            )
        if not self._scripts:
            for name, text in (
                ("take", TAKE),
                ("renew", RENEW),
                ("session", SESSION),
                ("store", STORE),
                ("fail", FAIL),
                ("renew_lock", RENEW_LOCK),
            ):
                self._scripts[name] = self._redis.register_script(text)
        return self._redis

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run a script; on a connection failure: raise FleetUnavailableError, or _Down for the fallback."""
        import redis.exceptions

        client = self._client()
        if self._down and time.monotonic() < self._down_until:
            raise self._unavailable(None)
        try:
            result = await self._scripts[name](keys=keys, args=args, client=client)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise self._unavailable(exc) from None
        if self._down:
            self._down = False
            logger.warning("bill_sdk fleet: Redis is reachable again; BILL's limits and sessions are shared again")
        return result

    def _unavailable(self, exc: BaseException | None) -> Exception:
        reason = type(exc).__name__ if exc is not None else "unreachable a moment ago"
        if self.options.on_redis_error == "fail":
            return FleetUnavailableError(
                f"Redis for BILL's shared limits is unreachable ({reason}); on_redis_error='fail', so nothing was sent",
                method="",
                path="",
            )
        if exc is not None:
            if not self._down:
                logger.warning(
                    "bill_sdk fleet: Redis is unreachable (%s): using this process's own limits and sessions "
                    "until it is back. BILL's limits are per developer key and organization, so the fleet may now "
                    "get BDC_1322/BDC_1144 and log in once per worker. Set on_redis_error='fail' to stop instead.",
                    reason,
                )
            self._down = True
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
        return _Down()

    def _key(self, kind: str, digest: str) -> str:
        return f"{self.options.key_prefix}:{kind}:{digest}"

    async def aclose(self) -> None:
        redis, self._redis = self._redis, None
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()

    # ------------------------------------------------------------------ budgets
    def _budgets_for(self, key: LimitKey, operation: Operation) -> list[tuple[str, Budget]]:
        o = self.options
        wanted: list[tuple[str, Budget | None]] = []
        if key.kind != "spend":  # BILL's published budgets are Connect's (dev key) and Partner's (app key)
            wanted.append(("requests", o.hourly_requests))
            if operation.operation_id in LOGIN_OPERATIONS:
                wanted.append(("logins", o.hourly_logins))
            if operation.operation_id in MESSAGE_OPERATIONS:
                wanted.append(("messages", o.text_messages))
        return [(self._key("budget:" + name, key.credential_digest), b) for name, b in wanted if b is not None]

    # ------------------------------------------------------------------ one attempt: budgets and a slot
    @contextlib.asynccontextmanager
    async def slot(
        self, key: LimitKey, operation: Operation, capacity: int, deadline: float | None, local: anyio.CapacityLimiter
    ) -> AsyncIterator[None]:
        """The budgets and a fleet slot for one attempt, behind this process's limiter `local`.

        One script takes both (one round trip): budgets are spent only with a slot. When a budget is used up the
        local slot is given back while the call waits for the next window (or raises past its deadline).
        """
        budgets = self._budgets_for(key, operation)
        name = self._key("slots", key.digest)
        token = uuid.uuid4().hex
        lease_ms = int(self.options.lease_seconds * 1000)
        keys = [name, *(budget_key for budget_key, _ in budgets)]
        args: list[Any] = [token, capacity, lease_ms]
        for _, budget in budgets:
            args += [budget.limit, max(1, int(budget.window * 1000))]
        while True:
            async with local:  # at most `capacity` tasks of this process contend in Redis
                taken = await self._take(keys, args, token)
                if taken is None:
                    yield  # Redis is down: the in-process limiter is all there is
                    return
                if taken == 0:
                    async with self._renewing(name, token, lease_ms, "renew"):
                        yield
                    return
            await self._wait_for_window(taken, [budget_key for budget_key, _ in budgets], operation, deadline)

    async def _take(self, keys: list[str], args: list[Any], token: str) -> float | None:
        """0: the slot is ours and the budgets spent; > 0: seconds until a used-up budget's window resets (nothing
        taken); None: Redis is down (fallback). Waits for a free slot (the call's deadline cancels the wait)."""
        pause = 0.002
        try:
            while True:
                answer = int(await self._run("take", keys, args))
                if answer == 1:
                    return 0
                if answer < 0:
                    return -answer / 1000
                await anyio.sleep(random.uniform(pause / 2, pause))
                pause = min(pause * 2, 0.025)
        except _Down:
            return None
        except BaseException:
            # Cancelled (deadline, caller) perhaps after Redis granted the lease: give it back rather than let
            # it block a slot until it expires. (The budgets stay spent: the fleet errs on sending fewer.)
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await self._client().zrem(keys[0], token)
            raise

    async def _wait_for_window(
        self, wait: float, budget_keys: list[str], operation: Operation, deadline: float | None
    ) -> None:
        wait += random.uniform(0, 0.05)  # not the whole fleet at the same millisecond
        if deadline is not None and anyio.current_time() + wait >= deadline:
            names = [budget_key.split(":")[-2] for budget_key in budget_keys]
            raise RateLimitError(
                status_code=429,
                details=(
                    ErrorDetail(
                        message=f"the fleet's budget ({', '.join(names)}) for this key is used up until its window "
                        f"resets in {wait:.1f} s, after this call's deadline; not sent"
                    ),
                ),
                method=operation.method,
                path=operation.path,
                operation_id=operation.operation_id,
                retry_after=round(wait, 3),
            )
        logger.info("bill_sdk fleet: %s waits %.2f s for BILL's next budget window", operation.operation_id, wait)
        await anyio.sleep(wait)

    @contextlib.asynccontextmanager
    async def _renewing(self, name: str, token: str, lease_ms: int, script: str) -> AsyncIterator[None]:
        """Renew a lease every third of its time while the block runs; release it afterwards (shielded)."""
        import asyncio

        period = lease_ms / 3000

        async def renew() -> None:
            while True:
                try:
                    if not int(await self._run(script, [name], [token, lease_ms])):
                        logger.warning("bill_sdk fleet: a lease expired before it was renewed (event loop blocked?)")
                        return
                except Exception:  # Redis down: the lease will expire on its own
                    return
                await asyncio.sleep(period)

        # Most requests end long before a third of the lease: a timer, not a task, until one is needed.
        loop = asyncio.get_running_loop()
        renewer: list[asyncio.Task[None]] = []
        timer = loop.call_later(period, lambda: renewer.append(loop.create_task(renew())))
        try:
            yield
        finally:
            timer.cancel()
            for task in renewer:
                task.cancel()
            if script == "renew" and not self._down:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await self._client().zrem(name, token)

    # ------------------------------------------------------------------ sessions
    def session_identity(self, *parts: str | None) -> str:
        return _digest("session", *(p or "" for p in parts))

    def _fingerprint(self, identity: str, session_id: str) -> str:
        return _digest("fingerprint", identity, session_id)

    async def shared_session(
        self, identity: str, stale: Session | None, login: Callable[[], Awaitable[Session]]
    ) -> Session:
        """The fleet's session for `identity`: stored, or logged in by this worker (holding the login lock)."""
        keys = [self._key(kind, identity) for kind in ("session", "login-lock", "login-failure")]
        token = uuid.uuid4().hex
        lease_ms = int(self.options.lease_seconds * 1000)
        stale_fp = self._fingerprint(identity, stale.session_id) if stale is not None else ""
        pause = 0.02
        while True:
            try:
                answer = await self._run("session", keys, [token, lease_ms, stale_fp])
            except _Down:
                return await login()
            verdict = answer[0].decode()
            if verdict == "session":
                return self._decode(identity, answer[1])
            if verdict == "fail":
                raise _failure_from(answer[1])
            if verdict == "login":
                return await self._login_holding_lock(identity, keys, token, lease_ms, login)
            await anyio.sleep(random.uniform(pause / 2, pause))  # another worker is logging in
            pause = min(pause * 2, 0.25)

    async def _login_holding_lock(
        self, identity: str, keys: list[str], token: str, lease_ms: int, login: Callable[[], Awaitable[Session]]
    ) -> Session:
        session_key, lock_key, failure_key = keys
        stored = False
        try:
            async with self._renewing(lock_key, token, lease_ms, "renew_lock"):
                try:
                    session = await login()
                except APIError as exc:
                    if isinstance(exc, AuthenticationError) and is_credential_error(exc):
                        payload = _failure_payload(exc)
                        ttl = int(self.options.failure_ttl * 1000)
                        with contextlib.suppress(_Down, FleetUnavailableError):
                            await self._run("fail", [failure_key, lock_key], [token, ttl, payload])
                            stored = True
                    raise
            with contextlib.suppress(_Down, FleetUnavailableError):
                ttl = int(self.options.session_ttl * 1000)
                await self._run("store", [session_key, lock_key], [token, ttl, *self._encode(identity, session)])
                stored = True
            return session
        finally:
            if not stored:  # let the next worker try at once instead of after the lease
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await self._run("fail", [failure_key, lock_key], [token, 1, ""])

    def _encode(self, identity: str, session: Session) -> list[str | bytes]:
        secret = session.session_id.encode()
        cipher = self.options.cipher
        return [
            "fp",
            self._fingerprint(identity, session.session_id),
            "sid",
            cipher.encrypt(secret) if cipher is not None else secret,
            "enc",
            "1" if cipher is not None else "0",
            "org",
            session.organization_id or "",
            "user",
            session.user_id or "",
            "trusted",
            "1" if session.trusted else "0",
        ]

    def _decode(self, identity: str, flat: list[bytes]) -> Session:
        fields = {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}
        secret = fields["sid"]
        if fields.get("enc") == b"1":
            cipher = self.options.cipher
            if cipher is None:
                raise ConfigurationError(
                    "the fleet's session in Redis is encrypted and this client has no cipher: give every worker "
                    "the same FleetOptions(cipher=...)",
                    argument="fleet",
                )
            try:
                secret = cipher.decrypt(secret)
            except Exception:
                raise ConfigurationError(
                    "the fleet's session in Redis cannot be decrypted with this client's cipher: give every worker "
                    "the same key",
                    argument="fleet",
                ) from None
        session_id = secret.decode()
        if self._fingerprint(identity, session_id) != fields["fp"].decode():
            raise ConfigurationError("the fleet's session in Redis does not match its fingerprint", argument="fleet")
        return Session(
            session_id=session_id,
            organization_id=fields.get("org", b"").decode() or None,
            user_id=fields.get("user", b"").decode() or None,
            trusted=fields.get("trusted") == b"1",
        )


class NoFleet:
    """What :class:`bill_sdk.Bill` (sync) has instead of a Fleet: nothing. Fleet mode runs on redis-py's asyncio
    client, so ``redis_url`` / ``BILL_REDIS_URL`` given to ``Bill`` raise ConfigurationError (use AsyncBill for a
    fleet); Bill's limits are this process's (every thread of it shares them)."""

    @staticmethod
    def configure(redis_url: str | None, options: FleetOptions | None, env: Mapping[str, str]) -> NoFleet | None:
        given = "redis_url" if redis_url is not None else "fleet" if options is not None else None
        if given is not None or env.get("BILL_REDIS_URL"):
            raise ConfigurationError(
                "fleet mode (redis_url, BILL_REDIS_URL, fleet=) is AsyncBill's only: Bill, the synchronous client, "
                "shares BILL's limits and sessions within this process (all its threads), not through Redis. Use "
                "AsyncBill for a fleet of workers, or unset BILL_REDIS_URL for Bill",
                argument=given,
                env_var=None if given is not None else "BILL_REDIS_URL",
            )
        return None

    def sessions(self, login: Any, name: str, *identity: str | None) -> NoReturn:
        raise AssertionError("Bill has no fleet")  # pragma: no cover - configure() never returns a NoFleet

    def slot(self, *args: Any) -> NoReturn:
        raise AssertionError("Bill has no fleet")  # pragma: no cover

    def close(self) -> None:  # pragma: no cover
        pass


def sessions_for(
    fleet: Fleet | None, login: Callable[[], Awaitable[Session]], *identity: str | None, name: str = "session"
) -> SessionManager:
    """A local SessionManager, or with a fleet one shared through Redis by every worker with that identity."""
    if fleet is None:
        return SessionManager(login, name=name)
    return SharedSessions(login, name, fleet=fleet, identity=fleet.session_identity(*identity))


def fleet_from(redis_url: str | None, options: FleetOptions | None, env: Mapping[str, str]) -> Fleet | None:
    """The client's Fleet from its arguments or BILL_REDIS_URL / BILL_REDIS_FALLBACK (arguments win)."""
    if redis_url is None:
        redis_url = env.get("BILL_REDIS_URL") or None
    elif not redis_url:
        raise ConfigurationError("redis_url is empty", argument="redis_url")
    if redis_url is None:
        if options is not None:
            raise ConfigurationError("fleet options were given without redis_url (or BILL_REDIS_URL)", argument="fleet")
        return None
    fallback = env.get("BILL_REDIS_FALLBACK")
    if options is None and fallback:
        if fallback not in ("local", "fail"):
            raise ConfigurationError("BILL_REDIS_FALLBACK must be 'local' or 'fail'", env_var="BILL_REDIS_FALLBACK")
        options = FleetOptions(on_redis_error="fail" if fallback == "fail" else "local")
    return Fleet(redis_url, options)


def _failure_payload(error: APIError) -> str:
    details = [{"code": d.code, "message": d.message} for d in error.details]
    return json.dumps({"status": error.status_code, "details": details, "path": error.path, "method": error.method})


def _failure_from(raw: bytes) -> AuthenticationError:
    data: Mapping[str, Any] = json.loads(raw)
    details = tuple(ErrorDetail(code=d.get("code"), message=d.get("message")) for d in data.get("details", ()))
    return AuthenticationError(
        status_code=int(data.get("status", 401)),
        details=details,
        method=str(data.get("method", "")),
        path=str(data.get("path", "")),
    )


@define(eq=False, repr=False)
class SharedSessions(SessionManager):
    """A :class:`SessionManager` whose logins are the fleet's (one per expiry across every worker)."""

    fleet: Fleet = field(kw_only=True)
    identity: str = field(kw_only=True)
    shared: ClassVar[bool] = True

    async def _login_unless_changed(self, stale: Session | None) -> Session:
        async with self._lock:
            if self._session is not None and self._session is not stale:
                return self._session
            if self._failure is not None:
                raise copy.copy(self._failure).with_traceback(None)
            self._session = None
            try:
                self._session = await self.fleet.shared_session(self.identity, stale, self._login_here)
            except AuthenticationError as exc:
                if is_credential_error(exc):
                    self._failure = copy.copy(exc).with_traceback(None)
                raise
            return self._session

    async def _login_here(self) -> Session:
        self.login_count += 1
        return await self.login()
