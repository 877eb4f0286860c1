"""FastAPI integration: one BILL client per app, and a webhook receiver.

Needs the ``fastapi`` extra. Typical app::

    app = FastAPI(lifespan=bill_lifespan())
    app.include_router(webhook_router("/bill/events", keys=load_keys, handler=on_event))

    @app.get("/vendors/{vendor_id}")
    async def vendor(vendor_id: str, bill: AsyncBill = Depends(get_bill)): ...

BILL counts a notification as failed unless it gets HTTP 200 within 10 s and
then re-sends it, so the receiver answers as soon as the signature is checked
and runs the handler afterwards as a background task.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint's
# annotations at run time and must see the real objects.

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, cast

import attrs
from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from bill_sdk.errors import ConfigurationError
from bill_sdk.webhooks import (
    SIGNATURE_HEADER,
    DedupeStore,
    InMemoryDedupeStore,
    WebhookEvent,
    WebhookKeys,
    WebhookPayloadError,
    WebhookSignatureError,
    construct_event,
)

if TYPE_CHECKING:
    from bill_sdk._client import AsyncBill

__all__ = [
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
"""Called once per new event, after the 200 was sent; sync handlers run in a thread."""


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
    """A verified notification; ``duplicate`` is True if its eventId was seen before."""

    event: WebhookEvent
    duplicate: bool = False


class WebhookVerifier:
    """FastAPI dependency that turns a request into a verified, deduplicated event.

    Answers 401 for a missing or wrong signature and 400 for a signed body that
    is not a BILL notification. A redelivered eventId is returned with
    ``duplicate=True`` so the route can answer 200 without doing the work again
    (anything but 200 makes BILL retry). ``dedupe=None`` turns dedupe off.

    Create it once at module level: FastAPI cannot resolve
    ``Depends(verifier)`` on a local variable in a module that uses
    ``from __future__ import annotations``.
    """

    def __init__(self, keys: KeySource, *, dedupe: DedupeStore | _Default | None = _DEFAULT) -> None:
        self._keys = keys
        self.dedupe: DedupeStore | None = InMemoryDedupeStore() if isinstance(dedupe, _Default) else dedupe

    async def __call__(self, request: Request) -> DeliveredEvent:
        body = await request.body()
        keys = self._keys() if callable(self._keys) else self._keys
        try:
            event = construct_event(body, request.headers.get(SIGNATURE_HEADER), keys)
        except WebhookSignatureError as exc:
            # Same answer for every signature failure: no hints for a forger.
            raise HTTPException(status_code=401, detail="invalid webhook signature") from exc
        except WebhookPayloadError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        duplicate = self.dedupe is not None and not await self.dedupe.claim(event.event_id)
        return DeliveredEvent(event=event, duplicate=duplicate)


def webhook_router(
    path: str,
    keys: KeySource,
    handler: WebhookHandler,
    *,
    dedupe: DedupeStore | _Default | None = _DEFAULT,
) -> APIRouter:
    """An ``APIRouter`` with one POST route at ``path`` that receives BILL notifications.

    Answers ``{"received": true}`` (plus ``"duplicate": true`` for a redelivery,
    which is not handled again) and runs ``handler(event)`` after the response.
    If the handler raises, the eventId is released so a manual re-send from
    BILL is handled again; BILL itself already got its 200 and will not retry.
    """
    verifier = WebhookVerifier(keys, dedupe=dedupe)
    router = APIRouter()

    async def receive(
        delivered: Annotated[DeliveredEvent, Depends(verifier)],
    ) -> JSONResponse:
        if delivered.duplicate:
            return JSONResponse({"received": True, "duplicate": True})
        task = BackgroundTask(_run_handler, handler, delivered.event, verifier.dedupe)
        return JSONResponse({"received": True}, background=task)

    router.add_api_route(path, receive, methods=["POST"], include_in_schema=False)
    return router


async def _run_handler(handler: WebhookHandler, event: WebhookEvent, dedupe: DedupeStore | None) -> None:
    try:
        if _is_async_callable(handler):
            await cast(Callable[[WebhookEvent], Awaitable[object]], handler)(event)
        else:
            result = await run_in_threadpool(handler, event)
            if inspect.isawaitable(result):  # e.g. a lambda returning a coroutine
                await result
    except Exception:
        if dedupe is not None:
            await dedupe.release(event.event_id)
        raise


def _is_async_callable(obj: Any) -> bool:
    # Also catches objects whose __call__ is async, which iscoroutinefunction misses.
    return inspect.iscoroutinefunction(obj) or (callable(obj) and inspect.iscoroutinefunction(type(obj).__call__))
