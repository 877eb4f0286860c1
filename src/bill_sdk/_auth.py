"""Authentication as httpx.Auth flows: which headers each BILL family needs, and sessions that renew themselves.

- Connect (org): ``devKey`` + ``sessionId``; the session comes from ``POST /v3/login`` (or a partner's
  login-as-user) and expires after 35 idle minutes, after which BILL answers ``BDC_1109``.
- Partner: ``appKey`` + ``sessionId`` from ``POST /v3/partner/login``.
- Spend & Expense: ``apiToken`` only.
- Connect Events: any one of the three sets.

A session is obtained lazily on the first call that needs it, shared by every concurrent call, and renewed at
most once per expiry: when twenty calls see BDC_1109 together, one logs in again and all replay (single
flight). BILL allows 200 logins per developer key per hour, so a failed login is remembered and re-raised
rather than retried on every call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import anyio
import httpx
from attrs import define, field

from ._json import loads_json
from .errors import AuthenticationError, BillError

SESSION_EXPIRED = "BDC_1109"


@define(frozen=True, repr=False)
class Session:
    """A signed-in BILL session. ``repr`` never shows the session id."""

    session_id: str
    organization_id: str | None = None
    user_id: str | None = None
    trusted: bool = False

    def __repr__(self) -> str:
        return f"Session(organization_id={self.organization_id!r}, user_id={self.user_id!r}, trusted={self.trusted})"


LoginFunction = Callable[[], Awaitable[Session]]


@define(eq=False)
class SessionManager:
    """Holds the current session of one identity and logs in again only when a session is stale."""

    login: LoginFunction
    _session: Session | None = field(default=None, init=False)
    _failure: BillError | None = field(default=None, init=False)
    _lock: anyio.Lock = field(factory=anyio.Lock, init=False)
    login_count: int = field(default=0, init=False)

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
                raise self._failure
            self._session = None
            self.login_count += 1
            try:
                self._session = await self.login()
            except AuthenticationError as exc:
                # Wrong credentials stay wrong: do not spend BILL's 200 logins/hour finding out again.
                self._failure = exc
                raise
            return self._session


def is_session_expired(response: httpx.Response) -> bool:
    """True for BILL's "Session is invalid. Please log in." (BDC_1109), whatever the HTTP status."""
    if response.is_success or response.status_code >= 500:
        return False
    try:
        payload: Any = loads_json(response.content)
    except ValueError:
        return False
    items = payload if isinstance(payload, list) else [payload]
    return any(isinstance(item, dict) and item.get("code") == SESSION_EXPIRED for item in items)


class SessionAuth(httpx.Auth):
    """Adds a key header + ``sessionId``; on BDC_1109 renews the session once and replays the request."""

    def __init__(self, key_header: str, key: str, sessions: SessionManager) -> None:
        self._key_header = key_header
        self._key = key
        self._sessions = sessions

    def _apply(self, request: httpx.Request, session: Session) -> None:
        request.headers[self._key_header] = self._key
        request.headers["sessionId"] = session.session_id

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        session = await self._sessions.current()
        self._apply(request, session)
        response = yield request
        await response.aread()
        if is_session_expired(response):
            session = await self._sessions.renew(stale=session)
            self._apply(request, session)
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        raise RuntimeError("bill_sdk is async-only: use it with httpx.AsyncClient")


class HeaderAuth(httpx.Auth):
    """Fixed headers (the Spend & Expense ``apiToken``)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers.update(self._headers)
        yield request
