"""Authentication: which headers each BILL family needs, and sessions that renew themselves.

- Connect (org): ``devKey`` + ``sessionId``; the session comes from ``POST /v3/login`` (or a partner's
  login-as-user) and expires after 35 idle minutes, after which BILL answers ``BDC_1109``.
- Partner: ``appKey`` + ``sessionId`` from ``POST /v3/partner/login``.
- Spend & Expense: ``apiToken`` only.
- Connect Events: any one of the three sets.

A :class:`Signer` is what the request path (``_transport``) asks for headers. ``prepare()`` signs in if needed
*before* the request takes a concurrency slot (a stalled login must not hold a slot that the login itself, or
a Spend call, needs) and returns an ``httpx.Auth`` that only adds headers. When BILL answers BDC_1109 the
request path calls ``renew()`` and replays the request once.

A session is obtained lazily, shared by every concurrent call, and renewed at most once per expiry: when twenty
calls see BDC_1109 together, one logs in again and all replay (single flight). Logins go through the same
request path as every other call (slot, deadline, retries). BILL allows 200 logins per developer key per hour,
so wrong credentials are remembered and raised again (as a fresh exception each time) instead of retried;
nothing else is remembered: rate limits, 5xx, a gateway's HTML page or a network failure at login are ordinary
retryable errors.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Generator
from typing import ClassVar, Protocol

import httpx
from attrs import define, field

from ._primitives import AsyncLock
from .errors import APIError, AuthenticationError, BillError, is_credential_error

SESSION_EXPIRED = "BDC_1109"

logger = logging.getLogger("bill_sdk")


@define(frozen=True, repr=False)
class Session:
    """A signed-in BILL session. ``repr`` never shows the session id."""

    session_id: str
    organization_id: str | None = None
    user_id: str | None = None
    trusted: bool = False

    def __repr__(self) -> str:
        return f"Session(organization_id={self.organization_id!r}, user_id={self.user_id!r}, trusted={self.trusted})"

    def describe(self) -> str:
        """For the log: organization, user and trust; never the session id."""
        trusted = ", MFA-trusted" if self.trusted else ""
        return f"organization {self.organization_id or '?'}, user {self.user_id or '?'}{trusted}"


LoginFunction = Callable[[], Awaitable[Session]]


@define(eq=False, repr=False)
class SessionManager:
    """Holds the current session of one identity and logs in again only when a session is stale."""

    login: LoginFunction
    #: What the log calls this identity ("Connect session", "partner session", "login-as-user session").
    name: str = "session"
    _session: Session | None = field(default=None, init=False)
    _failure: AuthenticationError | None = field(default=None, init=False)
    _lock: AsyncLock = field(factory=AsyncLock, init=False)
    login_count: int = field(default=0, init=False)
    #: A session shared beyond this client (a fleet's, in Redis): never signed out by one client.
    shared: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"SessionManager(session={self._session!r}, login_count={self.login_count})"

    @property
    def session(self) -> Session | None:
        return self._session

    def adopt(self, session: Session) -> None:
        """Use a session obtained elsewhere (login-as-user, or one the user restored)."""
        self._session = session
        self._failure = None

    async def current(self) -> Session:
        session = self._session
        if session is not None:
            return session
        return await self._login_unless_changed(stale=None)

    async def renew(self, stale: Session) -> Session:
        """A new session to replace `stale`; shared by every caller that saw the same stale session."""
        return await self._login_unless_changed(stale=stale)

    def forget(self) -> Session | None:
        session, self._session = self._session, None
        return session

    async def _login_unless_changed(self, stale: Session | None) -> Session:
        async with self._lock:
            if self._session is not None and self._session is not stale:
                return self._session  # another call already logged in while we waited
            if self._failure is not None:
                # A fresh exception each time: re-raising one object would grow its traceback on every call.
                raise copy.copy(self._failure).with_traceback(None)
            self._session = None
            self.login_count += 1
            if stale is not None:
                logger.info("BILL no longer accepts the %s (BDC_1109, expired or invalid): signing in again", self.name)
            try:
                session = await self.login()
            except APIError as exc:
                # Wrong credentials stay wrong: do not spend BILL's 200 logins/hour finding out again. Only
                # BILL's own credential codes count; a gateway's 401/403 page or a rate limit is not a verdict.
                remembered = False
                if isinstance(exc, AuthenticationError) and is_credential_error(exc):
                    self._failure = copy.copy(exc).with_traceback(None)
                    remembered = True
                logger.warning(
                    "signing in (%s) failed: %s %s%s",
                    self.name,
                    exc.status_code,
                    ",".join(exc.codes) or type(exc).__name__,
                    " (wrong credentials: not tried again by this client)" if remembered else "",
                )
                raise
            self._session = session
            logger.info("signed in%s: %s (%s)", " again" if stale is not None else "", self.name, session.describe())
            return session


class HeaderAuth(httpx.Auth):
    """Fixed headers on a request. ``repr`` names the headers, never their values."""

    def __init__(self, headers: dict[str, str], session: Session | None = None) -> None:
        self._headers = headers
        self.session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers)
        yield request

    def __repr__(self) -> str:
        return f"HeaderAuth(headers={sorted(self._headers)})"


class Signer(Protocol):
    """What the request path asks for credentials: headers to send, and a renewal after BDC_1109."""

    @property
    def renewable(self) -> bool: ...

    async def prepare(self) -> HeaderAuth: ...

    async def renew(self, stale: HeaderAuth) -> None: ...


class TokenSigner:
    """Spend & Expense: a fixed ``apiToken`` header, no session."""

    renewable = False

    def __init__(self, header: str, token: str) -> None:
        self._auth = HeaderAuth({header: token})

    async def prepare(self) -> HeaderAuth:
        return self._auth

    async def renew(self, stale: HeaderAuth) -> None:  # pragma: no cover - not renewable
        raise BillError("an API token cannot be renewed")

    def __repr__(self) -> str:
        return "TokenSigner()"


class SessionSigner:
    """A key header + ``sessionId`` from a :class:`SessionManager` (signing in on first use)."""

    renewable = True

    def __init__(self, key_header: str, key: str, sessions: SessionManager) -> None:
        self._key_header = key_header
        self._key = key
        self._sessions = sessions

    def _auth(self, session: Session) -> HeaderAuth:
        return HeaderAuth({self._key_header: self._key, "sessionId": session.session_id}, session)

    async def prepare(self) -> HeaderAuth:
        return self._auth(await self._sessions.current())

    async def renew(self, stale: HeaderAuth) -> None:
        if stale.session is not None:
            await self._sessions.renew(stale=stale.session)

    def __repr__(self) -> str:
        return f"SessionSigner({self._key_header})"


class FixedSessionSigner(SessionSigner):
    """One given session, never a login (signing out must not sign in first)."""

    renewable = False

    def __init__(self, key_header: str, key: str, session: Session) -> None:
        self._key_header = key_header
        self._key = key
        self._session = session

    async def prepare(self) -> HeaderAuth:
        return self._auth(self._session)


def is_session_expired(error: APIError) -> bool:
    """True for BILL's "Session is invalid. Please log in." (BDC_1109), whatever the HTTP status."""
    return SESSION_EXPIRED in error.codes and error.status_code < 500
