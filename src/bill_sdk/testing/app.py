"""The ASGI app: one origin serving ``/connect/v3/...`` (Connect, Partner, Spend) and ``/connect-events/v3/...``.

Each request goes through: route (spec) -> authenticate -> in-flight accounting and limits -> idempotency key
-> injected faults -> parameter and body validation -> handler (specific by operationId, else the generic
handlers) -> response validation -> send. Every request is logged in ``fake.requests`` (no header values).

The pipeline gets the services it uses (:class:`Pipeline`'s keyword arguments); ``FakeBill`` wires them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bill_sdk._json import dumps_json, loads_json
from bill_sdk.testing import jsonio
from bill_sdk.testing.bdc import ErrorReply, api_not_supported, missing, session_invalid
from bill_sdk.testing.catalog import Catalog
from bill_sdk.testing.config import ResponseChecks
from bill_sdk.testing.faults import Fault, FaultKind, Faults
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.idempotency import Claim, IdempotencyStore
from bill_sdk.testing.limits import Limits
from bill_sdk.testing.reply import NO_BODY, Reply
from bill_sdk.testing.sessions import Principal, Sessions
from bill_sdk.testing.spec import Spec, SpecOperation
from bill_sdk.testing.validation import Validators

RAW_SEND = "bill_sdk.testing.raw_send"
log = logging.getLogger("bill_sdk.testing")
# Public prefix -> spec prefix. `/connect` serves the `/v3/...` paths, `/connect-events` the events paths.
MOUNTS = (("/connect-events/v3", "/connect-events/v3"), ("/connect/v3", "/v3"))


class ConnectionDropped(Exception):
    """A fault closed the connection; :class:`FakeBillTransport` turns it into an httpx transport error."""


class ResponseViolationError(AssertionError):
    """FakeBill was about to send a response its spec does not allow (a bug in the fake or the spec)."""


@dataclass
class RequestRecord:
    method: str
    path: str
    operation_id: str | None = None
    status: int | None = None  # None: connection dropped without a response
    organization_id: str | None = None
    fault: str | None = None
    duration: float = 0.0

    @property
    def dropped(self) -> bool:
        return self.status is None


@dataclass
class ResponseViolation:
    method: str
    path: str
    operation_id: str | None
    status: int
    problems: list[str]
    body: Any = field(repr=False, default=None)

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation_id}) -> {self.status}: " + "; ".join(self.problems)


class _NoResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class _Drop(Exception):
    pass


def spec_path_for(path: str) -> str:
    for public, internal in MOUNTS:
        if path == public or path.startswith(public + "/"):
            return internal + path[len(public) :]
    raise api_not_supported(path)


@dataclass
class Journal:
    """What the app records for tests: every request, every response the spec does not allow."""

    requests: list[RequestRecord] = field(default_factory=list)
    violations: list[ResponseViolation] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        *,
        spec: Spec,
        catalog: Catalog,
        validators: Validators,
        sessions: Sessions,
        limits: Limits,
        idempotency: IdempotencyStore,
        faults: Faults,
        handlers: Mapping[str, Handler],
        fallback: Handler,
        checks: ResponseChecks,
        journal: Journal,
    ) -> None:
        self.spec = spec
        self.catalog = catalog
        self.validators = validators
        self.sessions = sessions
        self.limits = limits
        self.idempotency = idempotency
        self.faults = faults
        self.handlers = handlers
        self.fallback = fallback
        self.checks = checks
        self.journal = journal

    async def dispatch(self, request: Request) -> Response:
        started = time.perf_counter()
        record = RequestRecord(request.method, request.url.path)
        op: SpecOperation | None = None
        try:
            try:
                spec_path = spec_path_for(request.url.path)
                op, path_params = self.spec.match(request.method, spec_path)
                record.operation_id = op.operation_id
                reply = await self._handle(request, op, path_params, spec_path, record)
            except ErrorReply as error:
                reply = Reply(error.status, error.items, error.headers)
        except _Drop:
            record.duration = time.perf_counter() - started
            self.journal.requests.append(record)
            return await _drop(request)
        record.status = reply.status
        record.duration = time.perf_counter() - started
        self.journal.requests.append(record)
        return self._render(request, op, reply, record)

    async def _handle(
        self, request: Request, op: SpecOperation, path_params: dict[str, str], spec_path: str, record: RequestRecord
    ) -> Reply:
        raw = await request.body()
        principal = self.sessions.authenticate(op, request.headers)
        org = principal.org_key
        record.organization_id = org
        self.limits.enter(org, _budget_key(principal, op), op.operation_id)
        try:
            await self.limits.work()  # the request's time at BILL, counted in flight (limits.latency)
            claimed = self.idempotency.begin(principal.scope, op, spec_path, request.headers)
            if isinstance(claimed, Reply):
                return claimed
            reply: Reply | None = None
            try:
                delays, fault = self.faults.take(
                    request.method, (request.url.path, spec_path, op.path, op.operation_id)
                )
                for delay in delays:
                    record.fault = record.fault or delay.kind.value
                    await asyncio.sleep(delay.seconds)
                drop_after = False
                if fault is not None:
                    record.fault = fault.kind.value
                    early = self._fault_reply(fault, principal)
                    if early is not None:
                        return early
                    drop_after = True
                call = self._call(request, op, path_params, raw, principal)
                handler = self.handlers.get(op.operation_id, self.fallback)
                reply = await handler(call)
                if drop_after:
                    raise _Drop
                return reply
            finally:
                if isinstance(claimed, Claim):
                    self.idempotency.finish(claimed, reply)
        finally:
            self.limits.leave(org)

    def _fault_reply(self, fault: Fault, principal: Principal) -> Reply | None:
        """The answer a decisive fault gives instead of the handler's (raises); None: DROP_AFTER, handle first."""
        if fault.kind is FaultKind.DROP_BEFORE:
            raise _Drop
        if fault.kind is FaultKind.DROP_AFTER:
            return None
        if fault.kind is FaultKind.SESSION_EXPIRED:
            if principal.session is not None:
                self.sessions.expire(principal.session.id)
            raise session_invalid()
        if fault.body is not None:
            content = fault.body.encode() if isinstance(fault.body, str) else fault.body
            headers = {"content-type": fault.content_type, **fault.error().headers}
            return Reply(fault.status or 500, content, headers, validate=False)
        raise fault.error()

    def _call(
        self, request: Request, op: SpecOperation, path_params: dict[str, str], raw: bytes, principal: Principal
    ) -> Call:
        """Read the request: parameters and body checked against the spec (raises BILL's 400 array)."""
        query = dict(request.query_params)
        params = self.validators.check_params(op, {"path": path_params, "query": query, "header": request.headers})
        body: Any = None
        declared_json = op.body_content_type is not None and "json" in op.body_content_type
        if raw.strip() and (declared_json or op.body_content_type is None):
            try:
                body = loads_json(raw)
            except ValueError:
                if declared_json:  # a body nobody asked for is ignored, like BILL does
                    raise ErrorReply(400, "BDC_1122", "Error Parsing Json Object. Please check your request.") from None
        if op.body_required and (body is None if declared_json else not raw.strip()):
            raise missing("body")
        if declared_json and body is not None:
            beyond = jsonio.out_of_range(body)
            if beyond:
                raise ErrorReply(400, "BDC_1124", f"Invalid field datatype: {beyond}")
            self.validators.check_body(op, body)
        route = self.catalog.route(op)
        return Call(op, route, path_params, params, query, request.headers, body, raw, principal)

    def _render(self, request: Request, op: SpecOperation | None, reply: Reply, record: RequestRecord) -> Response:
        headers = {"x-request-id": "fake-" + uuid.uuid4().hex[:16], **reply.headers}
        if reply.body is NO_BODY:
            content, parsed, has_body = b"", None, False
        elif isinstance(reply.body, bytes | bytearray):
            content, parsed, has_body = bytes(reply.body), None, True
        else:
            content = dumps_json(reply.body)
            parsed, has_body = loads_json(content), True
            headers.setdefault("content-type", "application/json")
        if self.checks.validate_responses and reply.validate:
            problems = self.validators.check_response(op, reply.status, parsed, has_body)
            if problems:
                violation = ResponseViolation(
                    request.method, request.url.path, record.operation_id, reply.status, problems, parsed
                )
                self.journal.violations.append(violation)
                if not self.checks.raise_on_response_violation:
                    log.warning("response violates the spec: %s", violation)
                elif _socket_transport(request) is None:
                    record.status = 500
                    raise ResponseViolationError(str(violation))
                else:  # over a real server an exception would only reach the server's log: answer 500 instead
                    log.error("response violates the spec: %s", violation)
                    record.status = 500
                    text = f"FakeBill response violates the spec: {violation}"
                    return Response(text, 500, headers={"content-type": "text/plain; charset=utf-8"})
        return Response(content, reply.status, headers=headers)


def _budget_key(principal: Principal, op: SpecOperation) -> str:
    """Whose hourly budgets a request spends: the credential it is sent with (logins: the one in their body)."""
    if principal.kind == "partner" or op.family == "partner":
        return "appKey"
    if principal.kind == "spend" or op.family == "spend":
        return "apiToken"
    return "devKey"


def _socket_transport(request: Request) -> asyncio.BaseTransport | None:
    """The connection's socket transport when served by uvicorn (its `send` is a method of the HTTP cycle)."""
    send = request.scope.get(RAW_SEND)
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.BaseTransport) else None


async def _drop(request: Request) -> Response:
    """Close the connection without an answer: the socket under uvicorn, an exception in process."""
    transport = _socket_transport(request)
    if transport is not None:
        transport.close()
        for _ in range(3):  # let uvicorn see the connection as lost before this handler returns
            await asyncio.sleep(0)
        return _NoResponse()
    raise ConnectionDropped("FakeBill dropped the connection (fault injection)")


def create_app(pipeline: Pipeline) -> Any:
    """The ASGI app serving `pipeline`, wrapped so the server's own `send` stays reachable for drops."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # Every HTTP request goes to the pipeline, whatever its path (no router: a router's own 404 page is
        # not BILL's error array, and path patterns stop at characters such as an encoded newline).
        if scope["type"] != "http":
            return
        scope[RAW_SEND] = send
        response = await pipeline.dispatch(Request(scope, receive))
        await response(scope, receive, send)

    return app


class FakeBillTransport(httpx.ASGITransport):
    """In-process transport to a FakeBill app; a dropped connection surfaces as ``httpx.RemoteProtocolError``."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None


class FakeBillSyncTransport(httpx.BaseTransport):
    """In-process transport for synchronous clients (``bill_sdk.Bill``): ``httpx.Client(transport=...)``.

    The app is ASGI, so it runs on an event loop in a background thread of this transport (test infrastructure
    only: the SDK's own sync path has no event loop). Requests from many threads are served concurrently on that
    loop, as uvicorn would; the read timeout of the request is honoured (``httpx.ReadTimeout``), and a dropped
    connection surfaces as ``httpx.RemoteProtocolError``. ``close()`` (the client's) stops the thread.
    """

    def __init__(self, app: Any) -> None:
        import anyio.from_thread

        self._inner = FakeBillTransport(app=app)
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import anyio

        body = request.read()
        timeout = request.extensions.get("timeout", {}).get("read")

        async def serve() -> tuple[int, httpx.Headers, bytes]:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            with anyio.fail_after(timeout):
                response = await self._inner.handle_async_request(forwarded)
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers, raw

        try:
            status, headers, raw = self._portal.call(serve)
        except TimeoutError:
            raise httpx.ReadTimeout("FakeBill did not answer within the read timeout", request=request) from None
        return httpx.Response(status, headers=headers, content=raw, request=request)

    def close(self) -> None:
        self._portal_cm.__exit__(None, None, None)
