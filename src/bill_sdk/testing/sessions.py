"""Credentials, sessions, logins and MFA: the authentication service (its HTTP handlers: ``handlers/auth.py``).

* Org calls: ``devKey`` + ``sessionId`` of an org session (``/v3/login`` or ``/v3/partner/login-as-user``).
* Partner calls: ``appKey`` + ``sessionId`` of a partner session (``/v3/partner/login``); an
  ``organizationId`` header points a partner call at a child organization.
* Spend calls: ``apiToken`` only. Connect Events: any one of the three sets.

Which set an operation takes comes from its ``security`` in the spec. A session expires after
``idle_seconds`` without use (sliding; the clock is injectable) and then answers 401 ``BDC_1109``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bill_sdk.testing.bdc import ErrorReply, missing, session_invalid
from bill_sdk.testing.config import FakeCredentials
from bill_sdk.testing.spec import SpecOperation
from bill_sdk.testing.state import PARTNER_SCOPE, State

REMEMBER_ME_SECONDS = 30 * 24 * 3600
__all__ = ["IssuedSession", "Principal", "Sessions"]


@dataclass
class IssuedSession:
    """A session FakeBill handed out (the SDK's own record of the one it holds is ``bill_sdk._auth.Session``)."""

    id: str
    kind: str  # "org" | "partner"
    organization_id: str | None
    user_id: str | None
    trusted: bool
    last_used: float


@dataclass(frozen=True)
class Principal:
    """Who is calling: ``kind`` ("anonymous" | "org" | "partner" | "spend") and the state scope they act in."""

    kind: str
    scope: str  # state scope: an organization id or PARTNER_SCOPE
    session: IssuedSession | None = None

    @property
    def org_key(self) -> str:
        """Whose concurrency/in-flight budget a request uses."""
        return self.scope


def _invalid_key(what: str) -> ErrorReply:
    return ErrorReply(401, "BDC_1102", f"{what} is invalid.", category="DOWNSTREAM")


class Sessions:
    """Sessions, remembered MFA devices, MFA challenges and the login counter of one fake.

    `state` answers which organizations and users exist (partner-created organizations, their users);
    `security_schemes` is the spec's ``components.securitySchemes`` (which header carries which credential).
    """

    def __init__(
        self,
        credentials: FakeCredentials,
        state: State,
        *,
        security_schemes: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        idle_seconds: float = 35 * 60,
    ) -> None:
        self.credentials = credentials
        self.state = state
        self.security_schemes = dict(security_schemes or {})
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.sessions: dict[str, IssuedSession] = {}
        self.remembered: dict[str, tuple[str | None, float]] = {}  # rememberMeId -> (device, issued at)
        self.challenges: dict[str, str] = {}  # challengeId -> sessionId
        self.login_count = 0

    # -- sessions ------------------------------------------------------------------------------------

    def new_session(
        self, kind: str, organization_id: str | None, user_id: str | None, trusted: bool = False
    ) -> IssuedSession:
        session = IssuedSession(secrets.token_urlsafe(24), kind, organization_id, user_id, trusted, self.clock())
        self.sessions[session.id] = session
        return session

    def live_session(self, session_id: str | None) -> IssuedSession | None:
        session = self.sessions.get(session_id or "")
        if session is None:
            return None
        if self.clock() - session.last_used > self.idle_seconds:
            del self.sessions[session.id]
            return None
        return session

    def expire(self, session_id: str | None = None) -> None:
        """End one session (or all of them): the next call with it answers 401 BDC_1109."""
        if session_id is None:
            self.sessions.clear()
        else:
            self.sessions.pop(session_id, None)

    def remembered_device(self, remember_me_id: Any, device: Any) -> bool:
        if not remember_me_id or not device:
            return False
        entry = self.remembered.get(str(remember_me_id))
        if entry is None or self.clock() - entry[1] > REMEMBER_ME_SECONDS:
            return False
        return entry[0] in (None, device)

    def is_organization(self, org: str) -> bool:
        """An organization calls may act in: the fake's own, or one a partner created."""
        return org == self.credentials.organization_id or org in self.state.partner_orgs

    # -- logins --------------------------------------------------------------------------------------

    def _check_user(self, username: Any, password: Any) -> None:
        creds = self.credentials
        if str(username).lower() != creds.username.lower() or password != creds.password:
            raise ErrorReply(
                401, "BDC_1101", "User name and/or password do not match our records.", category="DOWNSTREAM"
            )

    def login(self, body: Mapping[str, Any]) -> IssuedSession:
        """``POST /v3/login``: check devKey, user and organization; trusted when the device is remembered."""
        creds = self.credentials
        if body.get("devKey") != creds.dev_key:
            raise _invalid_key("Developer key")
        self._check_user(body.get("username", ""), body.get("password"))
        if body.get("organizationId") != creds.organization_id:
            raise ErrorReply(400, "BDC_1123", f"Invalid organization id: {body.get('organizationId')}")
        trusted = self.remembered_device(body.get("rememberMeId"), body.get("device"))
        session = self.new_session("org", creds.organization_id, creds.user_id, trusted)
        self.login_count += 1
        return session

    def partner_login(self, body: Mapping[str, Any]) -> IssuedSession:
        if body.get("appKey") != self.credentials.app_key:
            raise _invalid_key("Application key")
        self._check_user(body.get("username", ""), body.get("password"))
        session = self.new_session("partner", None, self.credentials.user_id)
        self.login_count += 1
        return session

    def login_as_user(self, body: Mapping[str, Any]) -> IssuedSession:
        """A partner enters one of its organizations as one of its users."""
        creds = self.credentials
        org, user = str(body.get("organizationId", "")), str(body.get("userId", ""))
        if not self.is_organization(org):
            raise ErrorReply(400, "BDC_1123", f"Invalid organization id: {org}")
        own_user = org == creds.organization_id and user == creds.user_id
        if not own_user and not self.state.record(org, "users", user):
            raise ErrorReply(400, "BDC_1111", f"No active user for: {user}")
        trusted = self.remembered_device(body.get("rememberMeId"), body.get("device"))
        session = self.new_session("org", org, user, trusted)
        self.login_count += 1
        return session

    # -- MFA -----------------------------------------------------------------------------------------

    def open_challenge(self, session: IssuedSession | None) -> str:
        challenge_id = "mfa" + secrets.token_hex(8)
        self.challenges[challenge_id] = session.id if session else ""
        return challenge_id

    def validate_challenge(
        self, session: IssuedSession | None, challenge_id: Any, token: Any, *, remember: bool, device: Any
    ) -> str | None:
        """Check the MFA code; trust `session`; return a new rememberMeId when `remember`."""
        if challenge_id is not None and challenge_id not in self.challenges:
            raise ErrorReply(400, "BDC_1119", f"Invalid field,value: challengeId,{challenge_id}")
        if str(token) != self.credentials.mfa_code:
            raise ErrorReply(400, "BDC_1119", "Invalid field,value: token")
        self.challenges.pop(str(challenge_id), None)
        if session is not None:
            session.trusted = True
        if not remember:
            return None
        remember_me_id = secrets.token_urlsafe(18)
        self.remembered[remember_me_id] = (device, self.clock())
        return remember_me_id

    def step_up(self, session: IssuedSession | None, remember_me_id: Any, device: Any, token: Any) -> bool:
        """Trust `session` with a remembered device (or the MFA code as `token`); whether it is trusted now."""
        trusted = self.remembered_device(remember_me_id, device) or str(token) == self.credentials.mfa_code
        if trusted and session is not None:
            session.trusted = True
        return bool(session and session.trusted)

    # -- authentication ------------------------------------------------------------------------------

    def _header(self, scheme: str) -> str:
        return str((self.security_schemes.get(scheme) or {}).get("name", scheme))

    def authenticate(self, op: SpecOperation, headers: Mapping[str, str]) -> Principal:
        """Who sends a request for `op` with these headers (raises BILL's 401/400 when nobody valid)."""
        default = Principal("anonymous", self.credentials.organization_id)
        security = op.security or []
        if not security or any(not requirement for requirement in security):
            return default
        chosen = next((req for req in security if all(headers.get(self._header(name)) for name in req)), None)
        if chosen is None:
            absent = next((self._header(n) for n in security[0] if not headers.get(self._header(n))), "sessionId")
            if op.family == "events":
                raise missing(absent)
            if absent == self._header("sessionId"):
                raise session_invalid()
            raise ErrorReply(401, "BDC_1102", f"Missing credentials: {absent}", category="DOWNSTREAM")
        values = {name: headers.get(self._header(name), "") for name in chosen}
        creds = self.credentials
        if "devKey" in values and values["devKey"] != creds.dev_key:
            raise _invalid_key("Developer key")
        if "appKey" in values and values["appKey"] != creds.app_key:
            raise _invalid_key("Application key")
        if "apiToken" in values:
            if values["apiToken"] != creds.api_token:
                raise _invalid_key("API token")
            if "sessionId" not in values:
                return Principal("spend", creds.organization_id)
        if "sessionId" not in values:
            return default
        return self._session_principal(op, values, headers)

    def _session_principal(self, op: SpecOperation, values: Mapping[str, str], headers: Mapping[str, str]) -> Principal:
        session = self.live_session(values["sessionId"])
        wanted = "partner" if "appKey" in values else "org"
        if session is None or session.kind != wanted:
            raise session_invalid()
        session.last_used = self.clock()
        if session.kind == "org":
            return Principal("org", session.organization_id or self.credentials.organization_id, session)
        org = headers.get("organizationId")
        if org and op.family == "partner":
            if not self.is_organization(org):
                raise ErrorReply(400, "BDC_1123", f"Invalid organization id: {org}")
            return Principal("partner", org, session)
        return Principal("partner", PARTNER_SCOPE, session)
