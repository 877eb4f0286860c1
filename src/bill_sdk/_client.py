"""``AsyncBill``: configuration, environments, credentials and the resource tree of the BILL API."""

from __future__ import annotations

import logging
import os
import re
import ssl
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Literal

import anyio
import certifi
import httpx
from attrs import evolve

from ._auth import HeaderAuth, Session, SessionAuth, SessionManager
from ._config import CONNECT_PREFIX, ENV_VARS, Given, load
from ._config import ENVIRONMENTS as ENVIRONMENTS  # configuration lives in _config; re-exported names
from ._config import Credentials as Credentials
from ._generated import Resources
from ._generated.types import Operation
from ._json import dumps_json, loads_json
from ._transport import NOT_SENT, RequestSender, RetryPolicy
from .errors import (
    ArgumentError,
    AuthenticationError,
    BillError,
    ConfigurationError,
    ResponseDecodeError,
    ServerError,
    error_from_response,
)

logger = logging.getLogger("bill_sdk")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_MAX_CONCURRENCY = 3  # BILL: 3 concurrent requests per developer key per organization (BDC_1322)


class AsyncBill(Resources):
    """Async client for the BILL v3 API: ``async with AsyncBill() as bill: await bill.vendors.list()``.

    Credentials come from the arguments or the ``BILL_*`` environment variables. Which are needed depends on
    what you call: Connect AP/AR needs dev key, username, password and organization id; Partner calls need app
    key, username and password; Spend & Expense needs an API token; Connect Events uses whichever is set.
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
        max_retries: int = 2,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        env: Mapping[str, str] | None = None,
    ) -> None:
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
        del environment, base_url, env
        config = load(given, require_tls=http_client is None)  # ConfigurationError, naming no value
        del given
        self.credentials = config.credentials
        self.base_url = config.base_url
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1", argument="max_concurrency")
        self._owns_http = http_client is None
        # trust_env=False: proxy/TLS settings from the environment must not silently change where money moves;
        # TLS verification stays on unless the caller passes their own http_client.
        self._http = http_client or httpx.AsyncClient(
            verify=_tls_context(), trust_env=False, limits=httpx.Limits(max_connections=100)
        )
        self._limiter = anyio.CapacityLimiter(max_concurrency)
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._retry = RetryPolicy(max_retries=max_retries)
        self._org_sessions = SessionManager(self._login)
        self._partner_sessions = SessionManager(self._partner_login)
        self._children: list[AsyncBill] = []
        self._is_child = False
        self._closed = False
        self._client = self._make_sender()

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> AsyncBill:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Sign out of sessions this client opened and close its connections (a shared pool stays open)."""
        if self._closed:
            return
        self._closed = True
        for child in self._children:
            await child.aclose()
        with anyio.CancelScope(shield=True):
            try:
                await self._logout()
            finally:
                if self._owns_http and not self._is_child:
                    await self._http.aclose()

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

        The child shares this client's connection pool and concurrency limit; it needs a dev key for the
        org-level calls that follow (``BILL_DEV_KEY``).
        """
        session = await self._login_as(organization_id, user_id)
        child = AsyncBill.__new__(AsyncBill)
        child.credentials = evolve(self.credentials, organization_id=organization_id)
        child.base_url = self.base_url
        child._owns_http = False
        child._http = self._http
        child._limiter = self._limiter
        child._timeout = self._timeout
        child._retry = self._retry
        child._org_sessions = SessionManager(lambda: self._login_as(organization_id, user_id))
        child._org_sessions.adopt(session)
        child._partner_sessions = self._partner_sessions
        child._children = []
        child._is_child = True
        child._closed = False
        child._client = child._make_sender()
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

    async def _login_as(self, organization_id: str, user_id: str) -> Session:
        """An org session for a partner's user (the first one, and each renewal after BDC_1109)."""
        partner = await self._partner_sessions.current()
        body: dict[str, Any] = {"organizationId": organization_id, "userId": user_id}
        if self.credentials.remember_me_id and self.credentials.device:  # renewals stay MFA-trusted
            body.update(rememberMeId=self.credentials.remember_me_id, device=self.credentials.device)
        payload = await self._post_login(
            "/v3/partner/login-as-user",
            body,
            headers={"appKey": self._require("app_key"), "sessionId": partner.session_id},
        )
        session = _session_from(payload)
        return evolve(
            session,
            organization_id=session.organization_id or organization_id,
            user_id=session.user_id or user_id,
        )

    async def _login(self) -> Session:
        c = self.credentials
        body: dict[str, Any] = {
            "username": self._require("username"),
            "password": self._require("password"),
            "organizationId": self._require("organization_id"),
            "devKey": self._require("dev_key"),
        }
        if c.remember_me_id and c.device:
            body.update(rememberMeId=c.remember_me_id, device=c.device)
        return _session_from(await self._post_login("/v3/login", body))

    async def _partner_login(self) -> Session:
        body = {
            "username": self._require("username"),
            "password": self._require("password"),
            "appKey": self._require("app_key"),
        }
        return _session_from(await self._post_login("/v3/partner/login", body))

    async def _post_login(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        # Called from inside an auth flow that already holds a concurrency slot: no slot, no retry here
        # (BILL allows 200 logins per hour; a failing login must surface, not loop).
        url = self.base_url + CONNECT_PREFIX + path
        request_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        operation_id = LOGIN_OPERATIONS[path]
        try:
            response = await self._http.post(
                url, content=dumps_json(body), headers=request_headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            # Not a verdict on the credentials (a TLS failure, a refused connection): a typed transport error
            # that the caller's retry budget may spend, and that is not remembered as "wrong credentials".
            failure = RequestSender.transport_error(
                "POST", path, operation_id, exc, sent=not isinstance(exc, NOT_SENT), during="signing in"
            )
            failure.during_login = True
            raise failure from exc
        if not response.is_success:
            error = error_from_response(response, operation_id=operation_id, secrets=self._secrets())
            if isinstance(error, ServerError):
                error.during_login = True
            if response.status_code in (400, 401, 403) and not isinstance(error, AuthenticationError):
                raise AuthenticationError(
                    status_code=error.status_code,
                    details=error.details,
                    method=error.method,
                    path=error.path,
                    request_id=error.request_id,
                    operation_id=error.operation_id,
                )
            raise error
        try:
            return loads_json(response.content)
        except ValueError as exc:
            raise ResponseDecodeError("login answer", "not JSON").for_call(
                status_code=response.status_code, method="POST", path=path, operation_id=operation_id
            ) from exc

    async def _logout(self) -> None:
        session = self._org_sessions.forget()
        if session is None or not self.credentials.dev_key:
            return
        try:
            await self._http.post(
                self.base_url + CONNECT_PREFIX + "/v3/logout",
                headers={"devKey": self.credentials.dev_key, "sessionId": session.session_id},
                timeout=httpx.Timeout(5.0),
            )
        except Exception:  # best effort, whatever went wrong: the session expires by itself after 35 idle minutes
            logger.debug("logout failed; the session will expire on its own")

    # ------------------------------------------------------------------ plumbing
    def _require(self, name: str) -> str:
        value = getattr(self.credentials, name)
        if not value:
            raise ConfigurationError.missing(name.replace("_", " "), ENV_VARS[name])
        return str(value)

    def _secrets(self) -> Iterable[str | None]:
        sessions = (self._org_sessions.session, self._partner_sessions.session)
        return (*self.credentials.secrets(), *(s.session_id for s in sessions if s is not None))

    def _base_for(self, operation: Operation) -> str:
        return self.base_url if operation.family == "events" else self.base_url + CONNECT_PREFIX

    def _auth_for(self, operation: Operation) -> httpx.Auth | None:
        if not operation.authenticated:
            return None
        c = self.credentials
        if operation.family == "spend" or (operation.family == "events" and not c.dev_key and not c.app_key):
            return HeaderAuth({"apiToken": self._require("api_token")})
        if operation.family == "partner" or (operation.family == "events" and not c.dev_key):
            return SessionAuth("appKey", self._require("app_key"), self._partner_sessions)
        return SessionAuth("devKey", self._require("dev_key"), self._org_sessions)

    def _make_sender(self) -> RequestSender:
        return RequestSender(
            http=self._http,
            base_url=self._base_for,
            auth=self._auth_for,
            limiter=self._limiter,
            retry=self._retry,
            timeout=self._timeout,
            secrets=self._secrets,
        )


_HEADER_SAFE = re.compile(r"[\x21-\x7e]{1,4096}")
LOGIN_OPERATIONS = {
    "/v3/login": "login",
    "/v3/partner/login": "partnerLogin",
    "/v3/partner/login-as-user": "loginAsUser",
}


def _tls_context() -> ssl.SSLContext:
    """Certificate and host-name verification against certifi's CAs, and nothing from the environment:
    no SSL_CERT_FILE/SSL_CERT_DIR trust store, and no SSLKEYLOGFILE (which would write the TLS session
    secrets, and so every credential and session id, to a file)."""
    # Not ssl.create_default_context(): it opens SSLKEYLOGFILE as soon as it is called.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=certifi.where())
    return context


def _session_from(payload: Any) -> Session:
    if not isinstance(payload, dict) or not isinstance(payload.get("sessionId"), str):
        raise ResponseDecodeError("login answer", "no sessionId")
    if not _HEADER_SAFE.fullmatch(payload["sessionId"]):
        # It goes into a header on every call; refuse it here rather than fail each request obscurely.
        raise ResponseDecodeError("login answer", "a sessionId that cannot be sent as a header (not visible ASCII)")
    return Session(
        session_id=payload["sessionId"],
        organization_id=payload.get("organizationId"),
        user_id=payload.get("userId"),
        trusted=bool(payload.get("trusted", False)),
    )
