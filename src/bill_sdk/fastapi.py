"""FastAPI integration: one BILL client per app, and a webhook receiver.

Needs the ``fastapi`` extra. Typical app::

    app = FastAPI(lifespan=bill_lifespan())
    app.include_router(webhook_router("/bill/events", keys=load_keys, handler=on_event))

    @app.get("/vendors/{vendor_id}")
    async def vendor(vendor_id: str, bill: AsyncBill = Depends(get_bill)): ...

BILL counts a notification as failed unless it gets HTTP 200 within 10 s and
then re-sends it (after 2, 4, 8, 16 s). By default the receiver answers as soon
as the signature is checked and runs the handler afterwards as a background
task; ``acknowledge="after_handler"`` answers only once the handler succeeded,
so a failing handler gets BILL's automatic retries. Either way an eventId counts
as handled only after its handler (or, with :class:`WebhookVerifier`, the
route and its background tasks) finished without raising.

Needs FastAPI 0.118 or later: from that version on, the exit code of a
dependency with ``yield`` runs after the response and its background tasks.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint's
# annotations at run time and must see the real objects.

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import anyio
import attrs

from bill_sdk.errors import ConfigurationError, MissingExtraError

try:
    from fastapi import APIRouter, Depends, HTTPException, Request
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
except ImportError as missing:  # ConfigurationError (and ImportError) with the pip command
    raise MissingExtraError("bill_sdk.fastapi", "fastapi", missing) from None

from bill_sdk.webhooks import (
    SIGNATURE_HEADER,
    ClaimOutcome,
    DedupeStore,
    InMemoryDedupeStore,
    WebhookEvent,
    WebhookKeys,
    WebhookPayloadError,
    WebhookSignatureError,
    _KeyRing,
    _normalize_keys,
    _verify,
    parse_event,
)

if TYPE_CHECKING:
    from bill_sdk._client import AsyncBill

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DeliveredEvent",
    "KeySource",
    "WebhookHandler",
    "WebhookVerifier",
    "bill_lifespan",
    "get_bill",
    "webhook_router",
]

KeySource = WebhookKeys | Callable[[], WebhookKeys]
"""Security keys, or a callable returning the current ones (rotation without restart)."""

WebhookHandler = Callable[[WebhookEvent], Awaitable[object] | object]
"""Called once per new event (again after it raised); sync handlers run in a thread."""

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest webhook body read (4 MiB): far above BILL's largest notification, small enough to refuse a flood."""

IN_PROGRESS_RETRY_AFTER_SECONDS = 2
"""``Retry-After`` of the 409 for a duplicate that arrives while the first delivery still runs."""


class _Default:
    """Marker for "a fresh InMemoryDedupeStore for this receiver"."""


_DEFAULT = _Default()


# --------------------------------------------------------------------------- client


def bill_lifespan(
    factory: "Callable[[], AsyncBill] | None" = None,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A FastAPI ``lifespan=`` that opens one BILL client for the app and closes it on shutdown.

    One client per app (not per request) keeps BILL's session alive across
    requests: logins are limited to 200 per hour per developer key. The client
    is ``factory()``, by default ``AsyncBill()`` configured from the environment.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = (factory or _default_factory)()
        async with client:
            app.state.bill = client
            try:
                yield
            finally:
                del app.state.bill

    return lifespan


def _default_factory() -> "AsyncBill":
    # Imported here so that importing this module does not load the client.
    from bill_sdk._client import AsyncBill

    return AsyncBill()


def get_bill(request: Request) -> "AsyncBill":
    """FastAPI dependency returning the app's BILL client (see :func:`bill_lifespan`)."""
    client = getattr(request.app.state, "bill", None)
    if client is None:
        raise ConfigurationError("no BILL client on app.state: create the app with FastAPI(lifespan=bill_lifespan())")
    return cast("AsyncBill", client)


# --------------------------------------------------------------------------- webhooks


@attrs.frozen
class DeliveredEvent:
    """A verified notification; ``duplicate`` is True if its eventId was already handled successfully."""

    event: WebhookEvent
    duplicate: bool = False


class WebhookVerifier:
    """FastAPI dependency that turns a request into a verified, deduplicated event.

    Answers 413 for a body over ``max_body_bytes`` (checked against
    Content-Length first, then while reading, which stops at the cap), 401 for
    a missing or wrong signature and 400 for a signed body that is not a BILL
    notification. Then the eventId is claimed in ``dedupe``:

    * new: the route gets the event (``duplicate=False``) and must do its work;
      the event counts as handled once the route returned and the response's
      background tasks finished, all without raising. If any of them raises,
      the claim is released, so the next delivery of the event runs again
      (a route that fails should raise, not return an error response);
    * completed before: the route gets ``duplicate=True`` and should answer
      200 without doing the work again;
    * claimed by a delivery still running: 409 with ``Retry-After``, never
      200, because BILL treats 200 as done while the first delivery may still
      fail; BILL retries anything else.

    ``dedupe=None`` turns dedupe off. ``keys`` are checked when the verifier is
    created (an empty key or one of another type is a ``ConfigurationError``
    naming its position); a callable's result is checked at each delivery.
    Use the default dependency scope (``"request"``): with ``scope="function"``
    the event would count as handled before background tasks ran.

    Create it once at module level: FastAPI cannot resolve
    ``Depends(verifier)`` on a local variable in a module that uses
    ``from __future__ import annotations``.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        dedupe: DedupeStore | _Default | None = _DEFAULT,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ConfigurationError("max_body_bytes must be a positive number of bytes")
        # Static keys are checked (and turned into bytes) once, here; a callable is asked at each delivery.
        self._keys: _KeyRing | Callable[[], WebhookKeys] = keys if callable(keys) else _KeyRing(keys)
        self.max_body_bytes = max_body_bytes
        self.dedupe: DedupeStore | None = InMemoryDedupeStore() if isinstance(dedupe, _Default) else dedupe

    def __repr__(self) -> str:
        keys = self._keys if isinstance(self._keys, _KeyRing) else "<callable>"
        return f"WebhookVerifier(keys={keys!r}, dedupe={self.dedupe!r}, max_body_bytes={self.max_body_bytes})"

    async def __call__(self, request: Request) -> AsyncIterator[DeliveredEvent]:
        # Verified in another frame, so no local here (seen by error reporters while the route runs) holds a key.
        event = await self._verified_event(request)
        if self.dedupe is None:
            yield DeliveredEvent(event=event)
            return
        outcome = ClaimOutcome(await self.dedupe.claim(event.event_id))
        if outcome is ClaimOutcome.COMPLETED:
            yield DeliveredEvent(event=event, duplicate=True)
            return
        if outcome is ClaimOutcome.IN_PROGRESS:
            raise HTTPException(
                status_code=409,
                detail="this event is being handled by another delivery; retry later",
                headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER_SECONDS)},
            )
        try:
            yield DeliveredEvent(event=event)
        except BaseException:
            # The route or a background task failed (or the request was cancelled): the next delivery runs.
            with anyio.CancelScope(shield=True):
                await self.dedupe.release(event.event_id)
            raise
        await self.dedupe.complete(event.event_id)

    async def _verified_event(self, request: Request) -> WebhookEvent:
        body = await _read_body(request, self.max_body_bytes)
        keys = _normalize_keys(self._keys()) if callable(self._keys) else self._keys.keys
        try:
            _verify(body, request.headers.get(SIGNATURE_HEADER), keys)
        except WebhookSignatureError:
            # Same answer for every signature failure: no hints for a forger (and no chained frames holding keys).
            raise HTTPException(status_code=401, detail="invalid webhook signature") from None
        try:
            return parse_event(body)
        except WebhookPayloadError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 once it is over ``limit`` bytes (the rest is not read)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise HTTPException(status_code=400, detail="Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPException(status_code=413, detail=f"webhook body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"webhook body is larger than {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # so the route can still ``await request.body()``
    return body


def webhook_router(
    path: str,
    keys: KeySource,
    handler: WebhookHandler,
    *,
    dedupe: DedupeStore | _Default | None = _DEFAULT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    acknowledge: Literal["on_receipt", "after_handler"] = "on_receipt",
) -> APIRouter:
    """An ``APIRouter`` with one POST route at ``path`` that receives BILL notifications.

    Answers as :class:`WebhookVerifier` does (413, 401, 400, 409 for a
    duplicate while the first delivery runs), else ``{"received": true}``
    (plus ``"duplicate": true`` for an event already handled, which is not
    handled again) and runs ``handler(event)``. The event counts as handled
    only once the handler returned without raising:

    * ``acknowledge="on_receipt"`` (default): the 200 is sent first and the
      handler runs after it, so slow work is fine. If it raises, the event is
      released and a re-send (BILL's resend endpoint, or by hand) runs it
      again, but BILL itself already got its 200 and will not retry;
    * ``acknowledge="after_handler"``: the handler runs before the answer; if
      it raises the answer is 500 and BILL's automatic retries run it again.
      The handler must then finish well within BILL's 10 s.
    """
    if acknowledge not in ("on_receipt", "after_handler"):
        raise ConfigurationError('acknowledge must be "on_receipt" or "after_handler"')
    verifier = WebhookVerifier(keys, dedupe=dedupe, max_body_bytes=max_body_bytes)
    router = APIRouter()

    async def receive(
        delivered: Annotated[DeliveredEvent, Depends(verifier)],
    ) -> JSONResponse:
        if delivered.duplicate:
            return JSONResponse({"received": True, "duplicate": True})
        if acknowledge == "after_handler":
            await _run_handler(handler, delivered.event)
            return JSONResponse({"received": True})
        # The verifier completes the event after this task succeeded, or releases it if it raised.
        task = BackgroundTask(_run_handler, handler, delivered.event)
        return JSONResponse({"received": True}, background=task)

    router.add_api_route(path, receive, methods=["POST"], include_in_schema=False)
    return router


async def _run_handler(handler: WebhookHandler, event: WebhookEvent) -> None:
    if _is_async_callable(handler):
        await cast(Callable[[WebhookEvent], Awaitable[object]], handler)(event)
    else:
        result = await run_in_threadpool(handler, event)
        if inspect.isawaitable(result):  # e.g. a lambda returning a coroutine
            await result


def _is_async_callable(obj: Any) -> bool:
    # Also catches objects whose __call__ is async, which iscoroutinefunction misses.
    return inspect.iscoroutinefunction(obj) or (callable(obj) and inspect.iscoroutinefunction(type(obj).__call__))
