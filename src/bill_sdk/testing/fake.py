"""FakeBill: an embedded, stateful, spec-validated fake of the BILL v3 API."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from bill_sdk.testing import auth, documents, payments, spend, webhooks
from bill_sdk.testing.app import FakeBillTransport, RequestRecord, ResponseViolation, create_app
from bill_sdk.testing.auth import Auth, Credentials
from bill_sdk.testing.classify import Catalog
from bill_sdk.testing.engine import Engine
from bill_sdk.testing.faults import Faults
from bill_sdk.testing.idempotency import IdempotencyStore
from bill_sdk.testing.limits import Limits
from bill_sdk.testing.spec import Spec, load_spec
from bill_sdk.testing.state import State
from bill_sdk.testing.validation import Validators
from bill_sdk.testing.webhooks import Webhooks


def _shared(spec: Spec) -> tuple[Catalog, Validators]:
    if "fakebill" not in spec.cache:
        spec.cache["fakebill"] = (Catalog(spec), Validators(spec))
    return spec.cache["fakebill"]  # type: ignore[no-any-return]


class FakeBill:
    """A fake BILL: in-memory state, credentials, an ASGI app, and what tests need to look inside.

    Serve it in process with ``httpx.AsyncClient(transport=fake.transport(), base_url="http://fake/connect")``,
    or over loopback with ``with fake.serve() as url:`` (``url.connect_url``, ``url.events_url``).
    """

    def __init__(
        self,
        *,
        dev_key: str = "fake-dev-key",
        username: str = "fakeuser",
        password: str = "fake-password",
        organization_id: str = "00801FAKEORG",
        user_id: str = "00601FAKEUSER",
        app_key: str = "fake-app-key",
        api_token: str = "fake-api-token",
        mfa_code: str = "123456",
        clock: Callable[[], float] = time.monotonic,
        session_idle_seconds: float = 35 * 60,
        validate_responses: bool = True,
        raise_on_response_violation: bool = True,
        require_trusted_session_for_payments: bool = False,
        require_https_webhooks: bool = False,
        max_concurrent_per_org: int | None = None,
        concurrency_limit_status: int = 429,
        hourly_request_limit: int | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        webhook_retry_delays: Sequence[float] = (2, 4, 8, 16),
        webhook_timeout: float = 10.0,
        spec: str | os.PathLike[str] | dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        self.spec = load_spec(spec)
        self.catalog, self.validators = _shared(self.spec)
        self.credentials = Credentials(
            dev_key, username, password, organization_id, user_id, app_key, api_token, mfa_code
        )
        self.clock = clock
        self.validate_responses = validate_responses
        self.raise_on_response_violation = raise_on_response_violation
        self.require_trusted_session_for_payments = require_trusted_session_for_payments
        self.require_https_webhooks = require_https_webhooks

        self.state = State(organization_id, rng=random.Random(seed))
        self.auth = Auth(self, self.credentials, clock, session_idle_seconds)
        self.engine = Engine(self, self.catalog)
        for hooks in (payments.HOOKS, spend.HOOKS, webhooks.HOOKS):
            for collection, functions in hooks.items():
                self.engine.hooks.setdefault(collection, []).extend(functions)
        self.handlers = {**auth.HANDLERS, **payments.HANDLERS, **documents.HANDLERS, **webhooks.HANDLERS}
        self.faults = Faults(random.Random(seed))
        self.limits = Limits(
            clock,
            max_concurrent=max_concurrent_per_org,
            concurrency_status=concurrency_limit_status,
            hourly_limit=hourly_request_limit,
        )
        self.idempotency = IdempotencyStore(clock)
        self.webhooks = Webhooks(
            self, transport=webhook_transport, retry_delays=webhook_retry_delays, timeout=webhook_timeout
        )

        self.requests: list[RequestRecord] = []
        self.response_violations: list[ResponseViolation] = []
        self.spec_gaps: list[str] = []
        self.login_count = 0
        self._app: Any = None
        self._seed_organization()

    def _seed_organization(self) -> None:
        creds = self.credentials
        self.state.put(
            "organizations",
            {"id": creds.organization_id, "name": "FakeBill Organization", "organizationName": "FakeBill Organization"},
        )
        self.state.put(
            "users",
            {
                "id": creds.user_id,
                "username": creds.username,
                "firstName": "Fake",
                "lastName": "User",
                "email": "fakeuser@example.com",
            },
        )

    # -- serving -------------------------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The ASGI app (Starlette)."""
        if self._app is None:
            self._app = create_app(self)
        return self._app

    def transport(self) -> httpx.ASGITransport:
        """An in-process transport: ``httpx.AsyncClient(transport=fake.transport(), base_url=...)``."""
        return FakeBillTransport(app=self.app)

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> contextlib.AbstractContextManager[Any]:
        """Run uvicorn in a thread; yields the origin URL (a ``str`` with ``.connect_url``, ``.events_url``, ``.fake``)."""
        from bill_sdk.testing.server import serve_in_thread

        return serve_in_thread(self, port=port, host=host)

    def serve_async(self, port: int = 0, host: str = "127.0.0.1") -> contextlib.AbstractAsyncContextManager[Any]:
        """Run uvicorn as a task of the running event loop; ``async with fake.serve_async() as url:``."""
        from bill_sdk.testing.server import serve_in_loop

        return serve_in_loop(self, port=port, host=host)

    # -- shortcuts for tests -------------------------------------------------------------------------

    @property
    def peak_in_flight(self) -> dict[str, int]:
        """The most requests seen in flight at once, per organization (partner calls: ``"partner"``)."""
        return self.limits.peak_in_flight

    @property
    def in_flight(self) -> dict[str, int]:
        return self.limits.in_flight

    def login_body(self, **fields: Any) -> dict[str, Any]:
        """The JSON body of a valid ``POST /v3/login`` (override or add fields, e.g. ``rememberMeId``)."""
        creds = self.credentials
        body = {
            "username": creds.username,
            "password": creds.password,
            "organizationId": creds.organization_id,
            "devKey": creds.dev_key,
        }
        return {**body, **fields}

    def new_session(self, *, kind: str = "org", trusted: bool = False) -> str:
        """A valid sessionId without a login call (not counted in ``login_count``)."""
        creds = self.credentials
        org = creds.organization_id if kind == "org" else None
        return self.auth.new_session(kind, org, creds.user_id, trusted).id

    def headers(self, family: str = "connect", *, trusted: bool = False) -> dict[str, str]:
        """Ready auth headers: ``connect`` (devKey+sessionId), ``partner`` (appKey+sessionId), ``spend``."""
        creds = self.credentials
        if family == "spend":
            return {"apiToken": creds.api_token}
        if family == "partner":
            return {"appKey": creds.app_key, "sessionId": self.new_session(kind="partner")}
        return {"devKey": creds.dev_key, "sessionId": self.new_session(trusted=trusted)}

    def example(self, operation_id: str, **fields: Any) -> Any:
        """A request body the spec accepts for `operation_id`: its required fields synthesized, then `fields`.

        Keeps tests valid while the spec's required fields change: ``fake.example("createVendor", name="Acme")``.
        """
        op = self.spec.by_id[operation_id]
        if op.body_schema is None:
            return dict(fields)
        body = self.engine.tools.synthesize(op.body_schema, required_only=True)
        if isinstance(body, dict):
            body.update(fields)
        elif isinstance(body, list):
            item = self.engine.tools.synthesize(self.engine.tools.items(op.body_schema), required_only=True)
            body = [{**item, **fields}] if isinstance(item, dict) else [item]
        return body

    def calls(self, operation_id: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.operation_id == operation_id]

    def assert_no_violations(self) -> None:
        if self.response_violations:
            lines = "\n".join(f"  {v}" for v in self.response_violations)
            raise AssertionError(f"FakeBill sent responses its spec does not allow:\n{lines}")

    def close(self) -> None:
        """Cancel background webhook deliveries."""
        self.webhooks.cancel()

    async def aclose(self) -> None:
        self.webhooks.cancel()
