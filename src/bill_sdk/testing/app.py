"""The ASGI app: one origin serving ``/connect/v3/...`` (Connect, Partner, Spend) and ``/connect-events/v3/...``.

Each request goes through: route (spec) -> authenticate -> in-flight accounting and limits -> idempotency key
-> injected faults -> parameter and body validation -> handler (specific by operationId, else the generic
engine) -> response validation -> send. Every request is logged in ``fake.requests`` (no header values).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bill_sdk.testing import jsonio
from bill_sdk.testing.bdc import ApiError, api_not_supported, missing, session_invalid
from bill_sdk.testing.calls import NO_BODY, Call, Reply
from bill_sdk.testing.faults import FaultKind
from bill_sdk.testing.idempotency import Claim

if TYPE_CHECKING:
    from bill_sdk.testing.fake import FakeBill
    from bill_sdk.testing.spec import Operation

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


class Pipeline:
    def __init__(self, fake: FakeBill) -> None:
        self.fake = fake

    async def dispatch(self, request: Request) -> Response:
        fake = self.fake
        started = time.perf_counter()
        record = RequestRecord(request.method, request.url.path)
        op: Operation | None = None
        try:
            try:
                spec_path = spec_path_for(request.url.path)
                op, path_params = fake.spec.match(request.method, spec_path)
                record.operation_id = op.operation_id
                reply = await self._handle(request, op, path_params, spec_path, record)
            except ApiError as error:
                reply = Reply(error.status, error.items, error.headers)
        except _Drop:
            record.duration = time.perf_counter() - started
            fake.requests.append(record)
            return await _drop(request)
        record.status = reply.status
        record.duration = time.perf_counter() - started
        fake.requests.append(record)
        return self._render(request, op, reply, record)

    async def _handle(
        self, request: Request, op: Operation, path_params: dict[str, str], spec_path: str, record: RequestRecord
    ) -> Reply:
        fake = self.fake
        raw = await request.body()
        principal = fake.auth.authenticate(op, request.headers)
        org = principal.org_key
        record.organization_id = org
        fake.limits.enter(org)
        try:
            claimed = fake.idempotency.begin(principal.scope, op, spec_path, request.headers)
            if isinstance(claimed, Reply):
                return claimed
            reply: Reply | None = None
            try:
                delays, fault = fake.faults.take(
                    request.method, (request.url.path, spec_path, op.path, op.operation_id)
                )
                for delay in delays:
                    record.fault = record.fault or delay.kind.value
                    await asyncio.sleep(delay.seconds)
                drop_after = False
                if fault is not None:
                    record.fault = fault.kind.value
                    if fault.kind is FaultKind.DROP_BEFORE:
                        raise _Drop
                    if fault.kind is FaultKind.DROP_AFTER:
                        drop_after = True
                    elif fault.kind is FaultKind.SESSION_EXPIRED:
                        if principal.session is not None:
                            fake.auth.expire(principal.session.id)
                        raise session_invalid()
                    elif fault.body is not None:
                        content = fault.body.encode() if isinstance(fault.body, str) else fault.body
                        headers = {"content-type": fault.content_type, **fault.error().headers}
                        return Reply(fault.status or 500, content, headers, validate=False)
                    else:
                        raise fault.error()
                call = self._call(request, op, path_params, raw, principal)
                handler = fake.handlers.get(op.operation_id)
                reply = await (handler(call) if handler is not None else fake.engine.handle(call))
                if drop_after:
                    raise _Drop
                return reply
            finally:
                if isinstance(claimed, Claim):
                    fake.idempotency.finish(claimed, reply)
        finally:
            fake.limits.leave(org)

    def _call(self, request: Request, op: Operation, path_params: dict[str, str], raw: bytes, principal: Any) -> Call:
        fake = self.fake
        query = dict(request.query_params)
        params = fake.validators.check_params(op, {"path": path_params, "query": query, "header": request.headers})
        body: Any = None
        declared_json = op.body_content_type is not None and "json" in op.body_content_type
        if raw.strip() and (declared_json or op.body_content_type is None):
            try:
                body = jsonio.loads(raw)
            except ValueError:
                if declared_json:  # a body nobody asked for is ignored, like BILL does
                    raise ApiError(400, "BDC_1122", "Error Parsing Json Object. Please check your request.") from None
        if op.body_required and (body is None if declared_json else not raw.strip()):
            raise missing("body")
        if declared_json and body is not None:
            beyond = jsonio.out_of_range(body)
            if beyond:
                raise ApiError(400, "BDC_1124", f"Invalid field datatype: {beyond}")
            fake.validators.check_body(op, body)
        route = fake.catalog.route(op)
        return Call(fake, op, route, path_params, params, query, request.headers, body, raw, principal)

    def _render(self, request: Request, op: Operation | None, reply: Reply, record: RequestRecord) -> Response:
        fake = self.fake
        headers = {"x-request-id": "fake-" + uuid.uuid4().hex[:16], **reply.headers}
        if reply.body is NO_BODY:
            content, parsed, has_body = b"", None, False
        elif isinstance(reply.body, bytes | bytearray):
            content, parsed, has_body = bytes(reply.body), None, True
        else:
            content = jsonio.dumps(reply.body)
            parsed, has_body = jsonio.loads(content), True
            headers.setdefault("content-type", "application/json")
        if fake.validate_responses and reply.validate:
            problems = fake.validators.check_response(op, reply.status, parsed, has_body)
            if problems:
                violation = ResponseViolation(
                    request.method, request.url.path, record.operation_id, reply.status, problems, parsed
                )
                fake.response_violations.append(violation)
                if not fake.raise_on_response_violation:
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


def create_app(fake: FakeBill) -> Any:
    """The Starlette app serving `fake`, wrapped so the server's own `send` stays reachable for drops."""
    pipeline = Pipeline(fake)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # Every HTTP request goes to the pipeline, whatever its path (no router: a router's own 404 page is
        # not BILL's error array, and path patterns stop at characters such as an encoded newline).
        if scope["type"] != "http":
            return
        scope[RAW_SEND] = send
        response = await pipeline.dispatch(Request(scope, receive))
        await response(scope, receive, send)

    app.fake = fake  # type: ignore[attr-defined]
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
