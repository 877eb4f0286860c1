"""FakeBill: an embedded, stateful, spec-validated fake of the BILL v3 API.

:class:`FakeBill` is the one place that builds the parts and wires them together, one way down:

    app (HTTP pipeline) -> handlers/ -> services (sessions, resources, ledger, documents, subscriptions,
    webhooks, outbox, state, catalog, limits, faults, idempotency) -> spec, schemas, validation helpers
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any, Unpack

import httpx

from bill_sdk.testing import server
from bill_sdk.testing.app import (
    FakeBillSyncTransport,
    FakeBillTransport,
    Journal,
    Pipeline,
    RequestRecord,
    ResponseViolation,
    create_app,
)
from bill_sdk.testing.catalog import Catalog
from bill_sdk.testing.config import FakeBillConfig, FakeBillOptions, FakeCredentials
from bill_sdk.testing.documents import Documents
from bill_sdk.testing.faults import Faults
from bill_sdk.testing.handlers import (
    Answers,
    AuthHandlers,
    DocumentHandlers,
    Handler,
    PayablesHandlers,
    PaymentHandlers,
    ResourceHandlers,
    WebhookHandlers,
)
from bill_sdk.testing.handlers.payment_batches import PaymentBatchHandlers
from bill_sdk.testing.handlers.receivables import ReceivableHandlers
from bill_sdk.testing.handlers.spend_actions import SpendActionHandlers
from bill_sdk.testing.idempotency import IdempotencyStore
from bill_sdk.testing.ledger import Ledger
from bill_sdk.testing.limits import Limits
from bill_sdk.testing.organizations import Organizations
from bill_sdk.testing.outbox import Outbox
from bill_sdk.testing.payables import Payables
from bill_sdk.testing.receivables import Receivables
from bill_sdk.testing.resources import Resources
from bill_sdk.testing.sessions import Sessions
from bill_sdk.testing.spec import Spec, load_spec
from bill_sdk.testing.spend import Spend
from bill_sdk.testing.spend_actions import SpendActions
from bill_sdk.testing.state import State
from bill_sdk.testing.subscriptions import Subscriptions
from bill_sdk.testing.validation import Validators
from bill_sdk.testing.vocabulary import SpecGaps, Vocabulary
from bill_sdk.testing.webhooks import Webhooks


def _shared(spec: Spec) -> tuple[Catalog, Validators]:
    if "fakebill" not in spec.cache:
        spec.cache["fakebill"] = (Catalog(spec), Validators(spec))
    return spec.cache["fakebill"]  # type: ignore[no-any-return]


class ServerURL(str):
    """The server origin (``http://127.0.0.1:PORT``) with the two BILL base URLs and the fake.

    Use ``url.connect_url`` (Connect, Partner, Spend) and ``url.events_url`` (Connect Events) as SDK base URLs.
    """

    fake: FakeBill
    port: int

    def __new__(cls, origin: str, fake: FakeBill, port: int) -> ServerURL:
        self = super().__new__(cls, origin)
        self.fake = fake
        self.port = port
        return self

    @property
    def url(self) -> str:
        return str(self)

    @property
    def connect_url(self) -> str:
        return f"{self}/connect"

    @property
    def events_url(self) -> str:
        return f"{self}/connect-events"


class FakeBill:
    """A fake BILL: in-memory state, credentials, an ASGI app, and what tests need to look inside.

    Configure it with a :class:`~.config.FakeBillConfig` and/or flat keywords (:class:`~.config.FakeBillOptions`:
    ``organization_id=...``, ``max_concurrent_per_org=3``, ``webhook_transport=...``, ``seed=7``, ...).
    Serve it in process with ``httpx.AsyncClient(transport=fake.transport(), base_url="http://fake/connect")``,
    or over loopback with ``with fake.serve() as url:`` (``url.connect_url``, ``url.events_url``).
    """

    def __init__(self, config: FakeBillConfig | None = None, **options: Unpack[FakeBillOptions]) -> None:
        self.config = config = (config or FakeBillConfig()).with_options(**options)
        self.spec = load_spec(config.spec)
        self.catalog, self.validators = _shared(self.spec)
        self.credentials: FakeCredentials = config.credentials
        self.clock = config.sessions.clock
        self.checks = dataclasses.replace(config.checks)  # this fake's own (mutable) copy
        self.spec_gaps = SpecGaps()
        self.journal = Journal()
        self._build_services(config)
        self.handlers = self._build_handlers()
        self._app: Any = None
        self.organizations.seed(self.credentials)

    def _build_services(self, config: FakeBillConfig) -> None:
        schemes = (self.spec.doc.get("components") or {}).get("securitySchemes") or {}
        self.state = State(self.credentials.organization_id, rng=random.Random(config.seed))
        self.auth = Sessions(  # `auth`: the public name of the sessions service
            self.credentials,
            self.state,
            security_schemes=schemes,
            clock=self.clock,
            idle_seconds=config.sessions.idle_seconds,
        )
        self.outbox = Outbox()
        self.resources = Resources(self.state, self.catalog, self.outbox)
        self.engine = self.resources  # its name before the split (tests read fake.engine.tools)
        self.vocabulary = Vocabulary(self.catalog, self.spec_gaps)
        self.ledger = Ledger(
            self.state,
            self.resources,
            self.vocabulary,
            require_trusted_session=config.sessions.require_trusted_for_payments,
        )
        self.documents = Documents(self.state)
        self.organizations = Organizations(self.state)
        self.subscriptions = Subscriptions(self.state, self.resources, require_https=config.webhooks.require_https)
        self.payables = Payables(self.state, self.resources, self.vocabulary)
        self.ledger.payment_checks.append(self.payables.check_payment)
        # the ledger's bill hook first: payables' bill hook works on the amounts it sets
        for hooks in (self.ledger, self.payables, self.organizations, Spend(self.state), self.subscriptions):
            self.resources.add_hooks(hooks.hooks())
        # after the ledger's: an invoice's credit is applied once its total is known
        self.receivables = Receivables(self.state, self.resources, self.vocabulary)
        self.resources.add_hooks(self.receivables.hooks())
        self.spend_actions = SpendActions(self.state, self.resources, self.vocabulary)
        self.webhooks = Webhooks(
            self.state,
            self.catalog.present,
            transport=config.webhooks.transport,
            retry_delays=config.webhooks.retry_delays,
            timeout=config.webhooks.timeout,
        )
        self.outbox.subscribe(self.webhooks.notify)
        self.faults = Faults(random.Random(config.seed))
        limits = config.limits
        self.limits = Limits(
            self.clock,
            max_concurrent=limits.max_concurrent_per_org,
            concurrency_status=limits.concurrency_status,
            hourly_limit=limits.hourly_request_limit,
        )
        self.idempotency = IdempotencyStore(self.clock)

    def _build_handlers(self) -> dict[str, Handler]:
        answers = Answers(self.catalog.tools)
        self._resource_handlers = ResourceHandlers(self.resources, self.catalog, answers)
        payments = PaymentHandlers(self.ledger, self.vocabulary, answers)
        return {
            **AuthHandlers(self.auth, answers).routes(),
            **payments.routes(),
            **PayablesHandlers(self.payables, self.resources, answers).routes(),
            **DocumentHandlers(self.documents, self.resources, self.vocabulary, answers).routes(),
            **WebhookHandlers(self.subscriptions, self.webhooks, answers).routes(),
            **ReceivableHandlers(
                self.receivables, self.resources, self._resource_handlers, answers, payments.record_invoice_payment
            ).routes(),
            **SpendActionHandlers(self.spend_actions, answers).routes(),
            **PaymentBatchHandlers(self.state, self.ledger, answers).routes(),
        }

    # -- what tests read (and may reset), and settings that take effect when changed -----------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served, in order (no header values)."""
        return self.journal.requests

    @requests.setter
    def requests(self, value: list[RequestRecord]) -> None:
        self.journal.requests = value

    @property
    def response_violations(self) -> list[ResponseViolation]:
        """Responses the spec does not allow (raised, or only logged with ``raise_on_response_violation=False``)."""
        return self.journal.violations

    @response_violations.setter
    def response_violations(self, value: list[ResponseViolation]) -> None:
        self.journal.violations = value

    @property
    def login_count(self) -> int:
        """Successful logins (org, partner, login-as-user) so far."""
        return self.auth.login_count

    @login_count.setter
    def login_count(self, value: int) -> None:
        self.auth.login_count = value

    @property
    def validate_responses(self) -> bool:
        return self.checks.validate_responses

    @validate_responses.setter
    def validate_responses(self, value: bool) -> None:
        self.checks.validate_responses = value

    @property
    def raise_on_response_violation(self) -> bool:
        return self.checks.raise_on_response_violation

    @raise_on_response_violation.setter
    def raise_on_response_violation(self, value: bool) -> None:
        self.checks.raise_on_response_violation = value

    @property
    def require_trusted_session_for_payments(self) -> bool:
        return self.ledger.require_trusted_session

    @require_trusted_session_for_payments.setter
    def require_trusted_session_for_payments(self, value: bool) -> None:
        self.ledger.require_trusted_session = value

    @property
    def require_https_webhooks(self) -> bool:
        return self.subscriptions.require_https

    @require_https_webhooks.setter
    def require_https_webhooks(self, value: bool) -> None:
        self.subscriptions.require_https = value

    # -- serving -------------------------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The ASGI app (Starlette)."""
        if self._app is None:
            pipeline = Pipeline(
                spec=self.spec,
                catalog=self.catalog,
                validators=self.validators,
                sessions=self.auth,
                limits=self.limits,
                idempotency=self.idempotency,
                faults=self.faults,
                handlers=self.handlers,
                fallback=self._resource_handlers.handle,
                checks=self.checks,
                journal=self.journal,
            )
            self._app = create_app(pipeline)
            self._app.fake = self
        return self._app

    def transport(self) -> httpx.ASGITransport:
        """An in-process transport: ``httpx.AsyncClient(transport=fake.transport(), base_url=...)``."""
        return FakeBillTransport(app=self.app)

    def sync_transport(self) -> httpx.BaseTransport:
        """An in-process transport for synchronous clients: ``httpx.Client(transport=fake.sync_transport())``
        (the app runs on an event loop in a thread of the transport; close the client to stop it)."""
        return FakeBillSyncTransport(app=self.app)

    @contextlib.contextmanager
    def serve(self, port: int = 0, host: str = "127.0.0.1") -> Iterator[ServerURL]:
        """Run uvicorn in a thread; yields the origin URL (a ``str`` with ``.connect_url``, ``.events_url``, ``.fake``)."""
        with server.serve_app(self.app, port=port, host=host, lifespan="off") as origin:
            yield ServerURL(origin, self, int(origin.rsplit(":", 1)[1]))

    @contextlib.asynccontextmanager
    async def serve_async(self, port: int = 0, host: str = "127.0.0.1") -> AsyncIterator[ServerURL]:
        """Run uvicorn as a task of the running event loop; ``async with fake.serve_async() as url:``."""
        async with server.serve_app_in_loop(self.app, port=port, host=host) as (origin, actual):
            yield ServerURL(origin, self, actual)

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
        tools = self.catalog.tools
        body = tools.synthesize(op.body_schema, required_only=True)
        if isinstance(body, dict):
            body.update(fields)
        elif isinstance(body, list):
            item = tools.synthesize(tools.items(op.body_schema), required_only=True)
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
