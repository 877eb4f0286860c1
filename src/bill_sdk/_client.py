"""``AsyncBill``: configuration, environments, credentials and the resource tree of the BILL API."""

from __future__ import annotations

import logging
import os
import platform
import re
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal

import httpx
from attrs import evolve

from ._auth import FixedSessionSigner, Session, SessionManager, SessionSigner, Signer, TokenSigner
from ._config import CONNECT_PREFIX, ENV_VARS, Given, load
from ._config import ENVIRONMENTS as ENVIRONMENTS  # configuration lives in _config; re-exported names
from ._config import Credentials as Credentials
from ._extras import AsyncExtras
from ._fleet import Fleet, FleetOptions
from ._generated import Resources
from ._limits import ClientLimits, LimitKey, LimitKind, limit_key
from ._logs import ENV_VAR as LOG_ENV_VAR
from ._logs import configure_from_env
from ._primitives import AsyncBackend
from ._runtime import UNSET, Operation, RequestOptions, Unset
from ._tls import tls_context
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Lifecycle, RequestSender, RetryPolicy
from ._version import __version__
from .errors import MAX_ERROR_BODY_BYTES, ArgumentError, BillError, ConfigurationError, ResponseDecodeError

logger = logging.getLogger("bill_sdk")

DEFAULT_MAX_CONCURRENCY = 3  # BILL: 3 concurrent requests per developer key per organization (BDC_1322)
USER_AGENT = f"bill-sdk/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"

# What each family needs, in the order an error lists them. Connect needs the org login settings only where this
# client signs in itself (a login-as-user child is signed in through its partner).
ORG_LOGIN_SETTINGS = ("username", "password", "organization_id")
PARTNER_SETTINGS = ("app_key", "username", "password")


class AsyncBill(AsyncExtras, Resources):
    """Client for the BILL v3 API: ``async with AsyncBill() as bill: await bill.vendors.get(vendor_id)``.

    Credentials come from the arguments or the ``BILL_*`` environment variables. Which are needed depends on
    what you call: Connect AP/AR needs dev key, username, password and organization id; Partner calls need app
    key, username and password; Spend & Expense needs an API token; Connect Events uses whichever is set.

    ``timeout`` is the deadline of a whole call in seconds (waiting for a slot, signing in, every attempt and
    backoff, reading the body); ``None`` means no deadline. An ``httpx.Timeout`` is accepted too: its largest
    value becomes the deadline. ``attempt_timeout`` bounds one attempt's waits for data (so a stuck GET is
    retried within the deadline); by default an attempt may use whatever is left of the deadline. Where a client
    may be used from (one event loop for the async client, any thread for the sync one): ``_transport.Lifecycle``.

    Requests carry ``User-Agent: bill-sdk/<version> python/<version> httpx/<version>`` (unless your own
    ``http_client`` sets a User-Agent). ``BILL_LOG=info`` or ``debug`` prints the SDK's log on stderr. Close the
    client (``async with``, or ``await bill.aclose()``) to sign out: one collected with an open session warns
    (``ResourceWarning``).

    ``redis_url`` (or ``BILL_REDIS_URL``; ``pip install bill-sdk[redis]``) shares BILL's concurrency limit, hourly
    budgets and the session with every worker using the same Redis; ``fleet=FleetOptions(...)`` tunes it
    (``bill_sdk._fleet`` documents both; the async client's only: the sync one raises ConfigurationError for
    them). Without it, the limits are shared within this process only.
    """

    def __init__(
        self,
        *,
        dev_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        organization_id: str | None = None,
        api_token: str | None = None,
        app_key: str | None = None,
        remember_me_id: str | None = None,
        device: str | None = None,
        environment: Literal["sandbox", "production"] | str | None = None,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        attempt_timeout: float | None = None,
        max_retries: int = 2,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        redis_url: str | None = None,
        fleet: FleetOptions | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        configure_from_env((os.environ if env is None else env).get(LOG_ENV_VAR))
        # Error trackers record the locals of every frame a failure passes through: the parameters holding
        # credentials go into `given` (its repr shows no value) and are deleted before anything can fail.
        given = Given(
            {
                "dev_key": dev_key,
                "username": username,
                "password": password,
                "organization_id": organization_id,
                "api_token": api_token,
                "app_key": app_key,
                "remember_me_id": remember_me_id,
                "device": device,
                "environment": environment,
                "base_url": base_url,
            },
            os.environ if env is None else env,
        )
        del dev_key, username, password, organization_id, api_token, app_key, remember_me_id, device
        # fleet mode (BILL's limits and sessions shared through Redis, see _fleet): redis_url / BILL_REDIS_URL.
        shared = Fleet.configure(redis_url, fleet, os.environ if env is None else env)
        del environment, base_url, env, redis_url, fleet
        config = load(given, require_tls=http_client is None)  # ConfigurationError, naming no value
        del given
        self.credentials = config.credentials
        self.base_url = config.base_url
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1", argument="max_concurrency")
        if max_response_bytes < MAX_ERROR_BODY_BYTES:
            raise ConfigurationError(
                f"max_response_bytes must be at least {MAX_ERROR_BODY_BYTES}", argument="max_response_bytes"
            )
        self._owns_http = http_client is None
        # trust_env=False: proxy/TLS settings from the environment must not silently change where money moves;
        # TLS verification stays on unless the caller passes their own http_client.
        self._http = http_client or httpx.AsyncClient(
            verify=tls_context(self.base_url), trust_env=False, limits=httpx.Limits(max_connections=100)
        )
        self._max_concurrency = max_concurrency
        self._fleet: Fleet | None = shared
        self._lifecycle = Lifecycle()
        self._timeout = _deadline(timeout)
        self._attempt_timeout = None if attempt_timeout is None else _deadline(attempt_timeout)
        self._retry = RetryPolicy(max_retries=max_retries)
        self._max_response_bytes = max_response_bytes
        own_agent = http_client is not None and not http_client.headers.get("user-agent", "").startswith(
            "python-httpx/"
        )
        self._headers: dict[str, str] = {} if own_agent else {"User-Agent": USER_AGENT}
        c = self.credentials
        self._org_sessions = _sessions(
            shared, self._login, "org", self.base_url, c.dev_key, c.organization_id, c.username, c.password,
            c.remember_me_id, c.device, name="Connect session",
        )  # fmt: skip
        self._partner_sessions = _sessions(
            shared, self._partner_login, "partner", self.base_url, c.app_key, c.username, c.password,
            name="partner session",
        )  # fmt: skip
        self._org_login_settings = ORG_LOGIN_SETTINGS
        self._children: list[AsyncBill] = []
        self._parent: AsyncBill | None = None
        self._owns_sessions = True
        self._sender = self._client = self._make_sender()

    def _copy(self, **changes: Any) -> AsyncBill:
        """A client sharing this one's pool, limiter, retry policy and partner session, with `changes` applied
        (the one way to derive a client: login-as-user children and with_options are built here)."""
        clone = object.__new__(type(self))
        clone.__dict__.update({k: v for k, v in self.__dict__.items() if k in _SHARED_STATE})
        clone._children = []
        clone._owns_sessions = True
        clone.__dict__.update(changes)
        clone._sender = clone._client = clone._make_sender()
        return clone

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | Unset | None = UNSET,
        attempt_timeout: float | Unset | None = UNSET,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncBill:
        """A client with other defaults, sharing this one's sessions, connection pool and concurrency limit.

            patient = bill.with_options(timeout=300, max_retries=5)
            await patient.documents.upload_bill_document(...)

        Options not given stay as they are; ``extra_headers`` are added to every request, on top of this
        client's. The new client never signs out or closes the pool (closing it only makes it unusable): this
        client owns those, and closing this client closes the new one too. Nothing is sent.
        """
        changes: dict[str, Any] = {
            "_lifecycle": self._lifecycle.child(),
            "_owns_http": False,
            "_owns_sessions": False,
            "_children": self._children,  # login_as_user children made through it are this client's
        }
        if not isinstance(timeout, Unset):
            changes["_timeout"] = _deadline(timeout)
        if not isinstance(attempt_timeout, Unset):
            changes["_attempt_timeout"] = None if attempt_timeout is None else _deadline(attempt_timeout)
        if max_retries is not None:
            if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
                raise ConfigurationError("max_retries must be an int, 0 or more", argument="max_retries")
            retry = self._retry
            changes["_retry"] = RetryPolicy(max_retries, retry.base_delay, retry.max_delay, retry.max_retry_after)
        if extra_headers:
            changes["_headers"] = {**self._headers, **extra_headers}
        return self._copy(**changes)

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> AsyncBill:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Sign out of sessions this client opened and close its connections (a shared pool stays open).

        Bounded: signing out gets a few seconds, then the pool is closed anyway; a caller's cancel scope or
        timeout around ``aclose()`` cuts the sign-out short and still closes the pool.
        """
        if not self._owns_sessions:  # a with_options client: its sessions and pool are its origin's
            self._lifecycle.close()
            return
        if self._lifecycle.closed and not self._children and self._org_sessions.session is None:
            return
        self._lifecycle.close()
        if self._parent is not None and self in self._parent._children:
            self._parent._children.remove(self)
        try:
            if self._lifecycle.on_own_loop():
                for child in list(self._children):
                    await child.aclose()
                await self._logout()
            else:
                logger.warning("AsyncBill closed from another event loop: not signing out (sessions expire)")
        finally:
            self._children.clear()
            self._org_sessions.forget()
            if self._fleet is not None and self._parent is None and self._lifecycle.on_own_loop():
                await self._fleet.aclose()
            if self._owns_http and self._parent is None and self._lifecycle.on_own_loop():
                with AsyncBackend.shielded(POOL_CLOSE_SECONDS):
                    await self._http.aclose()

    def __del__(self) -> None:
        # Only a client that owns a session it never signed out of; cheap, and safe on a half-built client.
        if not getattr(self, "_owns_sessions", False) or getattr(self, "_parent", None) is not None:
            return
        lifecycle = getattr(self, "_lifecycle", None)
        if lifecycle is None or lifecycle.closed:
            return
        sessions = (getattr(self, "_org_sessions", None), getattr(self, "_partner_sessions", None))
        if any(manager is not None and manager.session is not None for manager in sessions):
            warnings.warn(
                "a client (AsyncBill) with an open BILL session was garbage collected without aclose(): its session "
                "stays open until BILL expires it. Use `async with AsyncBill(...) as bill:` or `await bill.aclose()`",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    def __repr__(self) -> str:
        # getattr: a half-built client is shown too, in the locals of a traceback through __init__
        base_url, credentials = getattr(self, "base_url", None), getattr(self, "credentials", None)
        return f"AsyncBill(base_url={base_url!r}, credentials={credentials!r})"

    # ------------------------------------------------------------------ sessions
    @property
    def session(self) -> Session | None:
        """The current Connect session, if signed in (its id is never shown in repr)."""
        return self._org_sessions.session

    @property
    def login_count(self) -> int:
        return self._org_sessions.login_count + self._partner_sessions.login_count

    async def login_as_user(self, organization_id: str, user_id: str) -> AsyncBill:
        """As a partner, act inside a child organization: returns a client scoped to that org's session.

        The child shares this client's connection pool; its concurrency slots are its organization's (shared
        with every client of this process for that dev key and organization, see ``_limits``). It needs a dev key for the
        org-level calls that follow (``BILL_DEV_KEY``). When the partner session has expired too (36 idle
        minutes), signing the child in again renews the partner session first.
        """
        self._lifecycle.check()
        session = await self._login_as(organization_id, user_id)
        child = self._copy(
            credentials=evolve(self.credentials, organization_id=organization_id),
            _owns_http=False,
            _lifecycle=self._lifecycle.child(),
            _org_sessions=SessionManager(
                lambda: self._login_as(organization_id, user_id), name="login-as-user session"
            ),
            _org_login_settings=(),
            _parent=self,
        )
        child._org_sessions.adopt(session)
        self._children.append(child)
        return child

    # ------------------------------------------------------------------ MFA
    async def request_mfa_code(self) -> str:
        """Ask BILL to text a six-digit code to the user's MFA phone; returns the challenge id.

        BILL allows 5 such calls per minute. Then :meth:`trust_session` with the code the user received.
        """
        from .models import MfaChallengeCreate

        challenge = await self.mfa.create_challenge(body=MfaChallengeCreate(use_backup=False))
        if not isinstance(challenge.challenge_id, str):
            raise BillError("BILL's MFA challenge answer has no challengeId")
        return challenge.challenge_id

    async def trust_session(
        self, challenge_id: str, code: str, *, device: str, machine_name: str | None = None, remember: bool = True
    ) -> str | None:
        """Prove an MFA code: the current session becomes MFA-trusted (payments, bank accounts need it).

        With ``remember`` (the default) BILL returns a ``rememberMeId`` valid for 30 days: this client signs in
        trusted from now on, and passing it with the same ``device`` to a new client (``remember_me_id=``,
        ``BILL_REMEMBER_ME_ID``) does too. It is a credential: store it like a password. Returns it (or None).
        """
        from .models import MfaChallengeValidation

        if not code.strip():
            raise ArgumentError("the MFA code is empty")
        body = MfaChallengeValidation(
            challenge_id=challenge_id, token=code.strip(), device=device, remember_me=remember
        )
        if machine_name is not None:
            body.machine_name = machine_name
        result = await self.mfa.validate_challenge(body=body)
        self._mark_trusted()
        remember_me_id = result.remember_me_id if isinstance(result.remember_me_id, str) else None
        if remember_me_id:
            self.credentials = evolve(self.credentials, remember_me_id=remember_me_id, device=device)
        return remember_me_id

    async def step_up(self) -> bool:
        """Make the current session MFA-trusted with the remembered device (``remember_me_id`` + ``device``)."""
        from .models import MfaStepUp

        self._require_all(("remember_me_id", "device"), "step_up()")
        body = MfaStepUp(remember_me_id=self._require("remember_me_id"), device=self._require("device"))
        result = await self.mfa.step_up_session(body=body)
        trusted = result.trusted is not False  # BILL answers 2xx only when the step-up worked
        if trusted:
            self._mark_trusted()
        return trusted

    def _mark_trusted(self) -> None:
        session = self._org_sessions.session
        if session is not None and not session.trusted:
            self._org_sessions.adopt(evolve(session, trusted=True))

    # ------------------------------------------------------------------ signing in and out
    # Each goes through the generated operation and so through the one request path (slot, deadline, retries,
    # logging). Credentials travel only inside models whose repr masks them, never as local strings or dicts.
    async def _login(self) -> Session:
        from .models import LoginRequest

        body = LoginRequest(
            username=self._require("username"),
            organization_id=self._require("organization_id"),
            dev_key=self._require("dev_key"),
            password=self._require("password"),
        )
        if self.credentials.remember_me_id and self.credentials.device:
            body.remember_me_id, body.device = self.credentials.remember_me_id, self.credentials.device
        return _session_from(await self.auth.login(body=body))

    async def _partner_login(self) -> Session:
        from .models import PartnerLoginRequest

        body = PartnerLoginRequest(
            username=self._require("username"), password=self._require("password"), app_key=self._require("app_key")
        )
        return _session_from(await self.partner.auth.login(body=body))

    async def _login_as(self, organization_id: str, user_id: str) -> Session:
        """An org session for a partner's user (the first one, and each renewal after BDC_1109); an expired
        partner session is renewed on the way by the request path, like any partner call's."""
        from .models import LoginAsUserRequest

        body = LoginAsUserRequest(organization_id=organization_id, user_id=user_id)
        if self.credentials.remember_me_id and self.credentials.device:  # renewals stay MFA-trusted
            body.remember_me_id, body.device = self.credentials.remember_me_id, self.credentials.device
        session = _session_from(await self.partner.auth.login_as_user(body=body))
        return evolve(
            session,
            organization_id=session.organization_id or organization_id,
            user_id=session.user_id or user_id,
        )

    async def _logout(self) -> None:
        session = self._org_sessions.session
        if session is None or not self.credentials.dev_key or self._org_sessions.shared:
            return  # a fleet's shared session is every worker's: it is left to expire, not signed out
        from ._generated.api.auth import logout

        try:
            await self._sender.send(
                logout.OPERATION,
                url="/v3/logout",
                options=RequestOptions(timeout=LOGOUT_SECONDS, max_retries=0),
                signer=FixedSessionSigner("devKey", self.credentials.dev_key, session),
                closing=True,
            )
        except BillError as exc:  # best effort: the session expires by itself after 35 idle minutes
            logger.info(
                "signing out (%s) failed (%s); the session expires on its own after 35 idle minutes",
                self._org_sessions.name,
                type(exc).__name__,
            )
        else:
            logger.info("signed out: %s (%s)", self._org_sessions.name, session.describe())

    # ------------------------------------------------------------------ plumbing
    def _require(self, name: str) -> str:
        value = getattr(self.credentials, name)
        if not value:
            raise ConfigurationError.missing(name.replace("_", " "), ENV_VARS[name])
        return str(value)

    def _require_all(self, names: Iterable[str], purpose: str) -> None:
        """One ConfigurationError naming every setting of `names` that is missing (nothing is returned: the
        values stay in `credentials`, not in locals a traceback could show)."""
        missing = [(name.replace("_", " "), ENV_VARS[name]) for name in names if not getattr(self.credentials, name)]
        if missing:
            raise ConfigurationError.missing_settings(missing, purpose)

    def _secrets(self) -> Iterable[str | None]:
        sessions = (self._org_sessions.session, self._partner_sessions.session)
        return (*self.credentials.secrets(), *(s.session_id for s in sessions if s is not None))

    def _base_for(self, operation: Operation) -> str:
        return self.base_url if operation.family == "events" else self.base_url + CONNECT_PREFIX

    def _signer_for(self, operation: Operation) -> Signer | None:
        if not operation.authenticated:
            return None
        c = self.credentials
        if operation.family == "events" and not (c.dev_key or c.app_key or c.api_token):
            raise ConfigurationError(
                "missing BILL credentials for Connect Events calls: any one of an API token (BILL_API_TOKEN), a "
                "developer key with username, password and organization id (BILL_DEV_KEY, BILL_USERNAME, "
                "BILL_PASSWORD, BILL_ORGANIZATION_ID), or a partner app key with username and password "
                "(BILL_APP_KEY, ...). Pass them to the client or set those environment variables",
                env_var="BILL_API_TOKEN",
            )
        if operation.family == "spend" or (operation.family == "events" and not c.dev_key and not c.app_key):
            self._require_all(("api_token",), "Spend & Expense calls")
            return TokenSigner("apiToken", self._require("api_token"))
        if operation.family == "partner" or (operation.family == "events" and not c.dev_key):
            self._require_all(PARTNER_SETTINGS, "Partner calls")
            return SessionSigner("appKey", self._require("app_key"), self._partner_sessions)
        self._require_all(("dev_key", *self._org_login_settings), "Connect AP/AR calls")
        return SessionSigner("devKey", self._require("dev_key"), self._org_sessions)

    def _limit_kind(self, operation: Operation) -> LimitKind:
        """Whose slots an operation takes: the credential it is signed with (as in _signer_for), see _limits."""
        c = self.credentials
        if operation.family == "spend" or (operation.family == "events" and not c.dev_key and not c.app_key):
            return "spend"
        if operation.family == "partner" or (operation.family == "events" and not c.dev_key):
            return "partner"
        return "org"

    def _limit_key(self, kind: LimitKind) -> LimitKey:
        c = self.credentials
        if kind == "org":
            return limit_key(kind, self.base_url, c.dev_key, c.organization_id)
        return limit_key(kind, self.base_url, c.app_key if kind == "partner" else c.api_token)

    def _make_sender(self) -> RequestSender:
        # Each client (a login-as-user child too) maps its own credentials to the process-wide shared limiters.
        self._limiter = ClientLimits(
            self._limit_kind, self._limit_key, self._max_concurrency, self._fleet, AsyncBackend
        )
        return RequestSender(
            http=self._http,
            base_url=self._base_for,
            signer=self._signer_for,
            limiter=self._limiter,
            lifecycle=self._lifecycle,
            retry=self._retry,
            timeout=self._timeout,
            attempt_timeout=self._attempt_timeout,
            secrets=self._secrets,
            max_response_bytes=self._max_response_bytes,
            headers=self._headers,
        )


# What a derived client (_copy) shares with the client it comes from; everything else is its own.
_SHARED_STATE = frozenset(
    {
        "credentials",
        "base_url",
        "_owns_http",
        "_http",
        "_max_concurrency",
        "_fleet",
        "_lifecycle",
        "_timeout",
        "_attempt_timeout",
        "_retry",
        "_max_response_bytes",
        "_headers",
        "_org_sessions",
        "_org_login_settings",
        "_partner_sessions",
        "_parent",
    }
)
LOGOUT_SECONDS = 5.0
POOL_CLOSE_SECONDS = 2.0


def _sessions(
    fleet: Fleet | None, login: Callable[[], Awaitable[Session]], *identity: str | None, name: str
) -> SessionManager:
    """A local SessionManager, or with a fleet one shared through Redis by every worker with that identity."""
    if fleet is None:
        return SessionManager(login, name=name)
    return fleet.sessions(login, name, *identity)


def _deadline(timeout: float | httpx.Timeout | None) -> float | None:
    if isinstance(timeout, httpx.Timeout):
        values = [v for v in timeout.as_dict().values() if v is not None]
        return max(values) if values else None
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise ConfigurationError(
            f"a timeout must be a positive number of seconds or None, got {type(timeout).__name__}", argument="timeout"
        )
    return None if timeout is None else float(timeout)


_HEADER_SAFE = re.compile(r"[\x21-\x7e]{1,4096}")


def _session_from(answer: Any) -> Session:
    """The session of a login, partner login or login-as-user answer (generated models)."""
    session_id = getattr(answer, "session_id", None)
    if not isinstance(session_id, str):
        raise ResponseDecodeError("login answer", "no sessionId")
    if not _HEADER_SAFE.fullmatch(session_id):
        # It goes into a header on every call; refuse it here rather than fail each request obscurely.
        raise ResponseDecodeError("login answer", "a sessionId that cannot be sent as a header (not visible ASCII)")
    return Session(
        session_id=session_id,
        organization_id=_text(getattr(answer, "organization_id", None)),
        user_id=_text(getattr(answer, "user_id", None)),
        trusted=getattr(answer, "trusted", None) is True,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and not isinstance(value, Unset) else None
