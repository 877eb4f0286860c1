"""Login, logout, session details and MFA: read the body, ask :class:`~..sessions.Sessions`, answer."""

from __future__ import annotations

from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.sessions import IssuedSession, Sessions


class AuthHandlers:
    def __init__(self, sessions: Sessions, answers: Answers) -> None:
        self.sessions = sessions
        self.answers = answers

    def routes(self) -> dict[str, Handler]:
        return {
            "login": self.login,
            "partnerLogin": self.partner_login,
            "loginAsUser": self.login_as_user,
            "logout": self.logout,
            "getSessionDetails": self.session_details,
            "createMfaChallenge": self.mfa_challenge,
            "validateMfaChallenge": self.mfa_validate,
            "stepUpMfaSession": self.mfa_step_up,
        }

    def _signed_in(self, call: Call, session: IssuedSession) -> Reply:
        data = {
            "sessionId": session.id,
            "organizationId": session.organization_id,
            "userId": session.user_id,
            "trusted": session.trusted,
        }
        return self.answers.respond(call.op, data)

    async def login(self, call: Call) -> Reply:
        return self._signed_in(call, self.sessions.login(call.json_object()))

    async def partner_login(self, call: Call) -> Reply:
        session = self.sessions.partner_login(call.json_object())
        return self.answers.respond(call.op, {"sessionId": session.id})

    async def login_as_user(self, call: Call) -> Reply:
        return self._signed_in(call, self.sessions.login_as_user(call.json_object()))

    async def logout(self, call: Call) -> Reply:
        if call.principal.session is not None:
            self.sessions.expire(call.principal.session.id)
        return self.answers.respond(call.op, {})

    async def session_details(self, call: Call) -> Reply:
        session = call.principal.session
        data = {
            "organizationId": session.organization_id if session else None,
            "userId": session.user_id if session else None,
            "mfaBypass": False,
            "trusted": bool(session and session.trusted),
        }
        return self.answers.respond(call.op, {k: v for k, v in data.items() if v is not None})

    async def mfa_challenge(self, call: Call) -> Reply:
        challenge_id = self.sessions.open_challenge(call.principal.session)
        return self.answers.respond(call.op, {"challengeId": challenge_id})

    async def mfa_validate(self, call: Call) -> Reply:
        body = call.json_object()
        remember_me_id = self.sessions.validate_challenge(
            call.principal.session,
            body.get("challengeId"),
            body.get("token", ""),
            remember=body.get("rememberMe", True) is not False,
            device=body.get("device"),
        )
        return self.answers.respond(call.op, {"rememberMeId": remember_me_id} if remember_me_id else {})

    async def mfa_step_up(self, call: Call) -> Reply:
        """Make the current session MFA-trusted with a remembered device (or the MFA code as `token`)."""
        body = call.json_object()
        trusted = self.sessions.step_up(
            call.principal.session, body.get("rememberMeId"), body.get("device"), body.get("token", "")
        )
        return self.answers.respond(call.op, {"trusted": trusted})
