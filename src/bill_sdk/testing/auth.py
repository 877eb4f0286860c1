"""Credentials, sessions and the login/MFA operations.

* Org calls: ``devKey`` + ``sessionId`` of an org session (``/v3/login`` or ``/v3/partner/login-as-user``).
* Partner calls: ``appKey`` + ``sessionId`` of a partner session (``/v3/partner/login``); an
  ``organizationId`` header points a partner call at a child organization.
* Spend calls: ``apiToken`` only. Connect Events: any one of the three sets.

Which set an operation takes comes from its ``security`` in the spec. A session expires after
``session_idle_seconds`` without use (sliding; the clock is injectable) and then answers 401 ``BDC_1109``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bill_sdk.testing.bdc import ApiError, missing, session_invalid
from bill_sdk.testing.calls import Call, Reply
from bill_sdk.testing.state import PARTNER_SCOPE

if TYPE_CHECKING:
    from bill_sdk.testing.fake import FakeBill
    from bill_sdk.testing.spec import Operation

REMEMBER_ME_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Credentials:
    dev_key: str
    username: str
    password: str
    organization_id: str
    user_id: str
    app_key: str
    api_token: str
    mfa_code: str

    def describe(self) -> dict[str, str]:
        return {
            "devKey": self.dev_key,
            "username": self.username,
            "password": self.password,
            "organizationId": self.organization_id,
            "appKey": self.app_key,
            "apiToken": self.api_token,
            "mfaCode": self.mfa_code,
        }


@dataclass
class Session:
    id: str
    kind: str  # "org" | "partner"
    organization_id: str | None
    user_id: str | None
    trusted: bool
    last_used: float


@dataclass(frozen=True)
class Principal:
    kind: str  # "anonymous" | "org" | "partner" | "spend"
    scope: str  # state scope: an organization id or PARTNER_SCOPE
    session: Session | None = None

    @property
    def org_key(self) -> str:
        """Whose concurrency/in-flight budget a request uses."""
        return self.scope


class Auth:
    def __init__(
        self, fake: FakeBill, credentials: Credentials, clock: Callable[[], float], idle_seconds: float
    ) -> None:
        self.fake = fake
        self.credentials = credentials
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.sessions: dict[str, Session] = {}
        self.remembered: dict[str, tuple[str | None, float]] = {}  # rememberMeId -> (device, issued at)
        self.challenges: dict[str, str] = {}  # challengeId -> sessionId

    # -- sessions ------------------------------------------------------------------------------------

    def new_session(
        self, kind: str, organization_id: str | None, user_id: str | None, trusted: bool = False
    ) -> Session:
        session = Session(secrets.token_urlsafe(24), kind, organization_id, user_id, trusted, self.clock())
        self.sessions[session.id] = session
        return session

    def live_session(self, session_id: str | None) -> Session | None:
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

    # -- authentication ------------------------------------------------------------------------------

    def authenticate(self, op: Operation, headers: Mapping[str, str]) -> Principal:
        default = Principal("anonymous", self.credentials.organization_id)
        security = op.security or []
        if not security or any(not requirement for requirement in security):
            return default
        schemes = ((self.fake.spec.doc.get("components") or {}).get("securitySchemes")) or {}

        def header_of(scheme: str) -> str:
            return str((schemes.get(scheme) or {}).get("name", scheme))

        chosen = next(
            (req for req in security if all(headers.get(header_of(name)) for name in req)),
            None,
        )
        if chosen is None:
            first = security[0]
            absent = next((header_of(n) for n in first if not headers.get(header_of(n))), "sessionId")
            if op.family == "events":
                raise missing(absent)
            if absent == header_of("sessionId"):
                raise session_invalid()
            raise ApiError(401, "BDC_1102", f"Missing credentials: {absent}", category="DOWNSTREAM")
        values = {name: headers.get(header_of(name), "") for name in chosen}
        creds = self.credentials
        if "devKey" in values and values["devKey"] != creds.dev_key:
            raise ApiError(401, "BDC_1102", "Developer key is invalid.", category="DOWNSTREAM")
        if "appKey" in values and values["appKey"] != creds.app_key:
            raise ApiError(401, "BDC_1102", "Application key is invalid.", category="DOWNSTREAM")
        if "apiToken" in values:
            if values["apiToken"] != creds.api_token:
                raise ApiError(401, "BDC_1102", "API token is invalid.", category="DOWNSTREAM")
            if "sessionId" not in values:
                return Principal("spend", creds.organization_id)
        if "sessionId" not in values:
            return default
        session = self.live_session(values["sessionId"])
        wanted = "partner" if "appKey" in values else "org"
        if session is None or session.kind != wanted:
            raise session_invalid()
        session.last_used = self.clock()
        if session.kind == "org":
            return Principal("org", session.organization_id or creds.organization_id, session)
        org = headers.get("organizationId")
        if org and op.family == "partner":
            if org not in self.fake.state.partner_orgs and org != creds.organization_id:
                raise ApiError(400, "BDC_1123", f"Invalid organization id: {org}")
            return Principal("partner", org, session)
        return Principal("partner", PARTNER_SCOPE, session)


# -- operations ------------------------------------------------------------------------------------------


def _body(call: Call) -> dict[str, Any]:
    return call.body if isinstance(call.body, dict) else {}


def _check_user(creds: Credentials, body: dict[str, Any]) -> None:
    if str(body.get("username", "")).lower() != creds.username.lower() or body.get("password") != creds.password:
        raise ApiError(401, "BDC_1101", "User name and/or password do not match our records.", category="DOWNSTREAM")


async def login(call: Call) -> Reply:
    fake, body = call.fake, _body(call)
    creds = fake.auth.credentials
    if body.get("devKey") != creds.dev_key:
        raise ApiError(401, "BDC_1102", "Developer key is invalid.", category="DOWNSTREAM")
    _check_user(creds, body)
    if body.get("organizationId") != creds.organization_id:
        raise ApiError(400, "BDC_1123", f"Invalid organization id: {body.get('organizationId')}")
    trusted = fake.auth.remembered_device(body.get("rememberMeId"), body.get("device"))
    session = fake.auth.new_session("org", creds.organization_id, creds.user_id, trusted)
    fake.login_count += 1
    return fake.engine.respond(
        call,
        {"sessionId": session.id, "organizationId": creds.organization_id, "userId": creds.user_id, "trusted": trusted},
    )


async def partner_login(call: Call) -> Reply:
    fake, body = call.fake, _body(call)
    creds = fake.auth.credentials
    if body.get("appKey") != creds.app_key:
        raise ApiError(401, "BDC_1102", "Application key is invalid.", category="DOWNSTREAM")
    _check_user(creds, body)
    session = fake.auth.new_session("partner", None, creds.user_id)
    fake.login_count += 1
    return fake.engine.respond(call, {"sessionId": session.id})


async def login_as_user(call: Call) -> Reply:
    fake, body = call.fake, _body(call)
    creds = fake.auth.credentials
    org, user = str(body.get("organizationId", "")), str(body.get("userId", ""))
    if org != creds.organization_id and org not in fake.state.partner_orgs:
        raise ApiError(400, "BDC_1123", f"Invalid organization id: {org}")
    known_user = (org == creds.organization_id and user == creds.user_id) or fake.state.record(org, "users", user)
    if not known_user:
        raise ApiError(400, "BDC_1111", f"No active user for: {user}")
    trusted = fake.auth.remembered_device(body.get("rememberMeId"), body.get("device"))
    session = fake.auth.new_session("org", org, user, trusted)
    fake.login_count += 1
    return fake.engine.respond(
        call, {"sessionId": session.id, "organizationId": org, "userId": user, "trusted": trusted}
    )


async def logout(call: Call) -> Reply:
    if call.principal.session is not None:
        call.fake.auth.expire(call.principal.session.id)
    return call.fake.engine.respond(call, {})


async def session_details(call: Call) -> Reply:
    session = call.principal.session
    data = {
        "organizationId": session.organization_id if session else None,
        "userId": session.user_id if session else None,
        "mfaBypass": False,
        "trusted": bool(session and session.trusted),
    }
    return call.fake.engine.respond(call, {k: v for k, v in data.items() if v is not None})


async def mfa_challenge(call: Call) -> Reply:
    challenge_id = "mfa" + secrets.token_hex(8)
    call.fake.auth.challenges[challenge_id] = call.principal.session.id if call.principal.session else ""
    return call.fake.engine.respond(call, {"challengeId": challenge_id})


async def mfa_validate(call: Call) -> Reply:
    fake, body = call.fake, _body(call)
    challenge_id = body.get("challengeId")
    if challenge_id is not None and challenge_id not in fake.auth.challenges:
        raise ApiError(400, "BDC_1119", f"Invalid field,value: challengeId,{challenge_id}")
    if str(body.get("token", "")) != fake.auth.credentials.mfa_code:
        raise ApiError(400, "BDC_1119", "Invalid field,value: token")
    fake.auth.challenges.pop(str(challenge_id), None)
    if call.principal.session is not None:
        call.principal.session.trusted = True
    data: dict[str, Any] = {}
    if body.get("rememberMe", True) is not False:
        remember_me_id = secrets.token_urlsafe(18)
        fake.auth.remembered[remember_me_id] = (body.get("device"), fake.auth.clock())
        data["rememberMeId"] = remember_me_id
    return fake.engine.respond(call, data)


async def mfa_step_up(call: Call) -> Reply:
    """Make the current session MFA-trusted with a remembered device (or the MFA code as `token`)."""
    body, auth = _body(call), call.fake.auth
    trusted = auth.remembered_device(body.get("rememberMeId"), body.get("device")) or (
        str(body.get("token", "")) == auth.credentials.mfa_code
    )
    if trusted and call.principal.session is not None:
        call.principal.session.trusted = True
    return call.fake.engine.respond(call, {"trusted": bool(call.principal.session and call.principal.session.trusted)})


HANDLERS = {
    "login": login,
    "partnerLogin": partner_login,
    "loginAsUser": login_as_user,
    "logout": logout,
    "getSessionDetails": session_details,
    "createMfaChallenge": mfa_challenge,
    "validateMfaChallenge": mfa_validate,
    "stepUpMfaSession": mfa_step_up,
}
