"""Webhooks as hints: an event schedules a sync of the resource it names; a burst of events is one run.

::

    async def sync(resource: str) -> None:           # your sync: bill.changes(resource, checkpoint=...) ...
        ...

    async with SyncScheduler(sync, delay=2.0) as scheduler:
        scheduler.hint("bill.updated")               # -> a sync of "bills" in about 2 s
        scheduler.hint("bill.created")               # same burst: still one run

In FastAPI, hand the scheduler's handler to the webhook router and run the scheduler in the app's lifespan::

    scheduler = SyncScheduler(sync)
    app.include_router(webhook_router("/bill/webhooks", keys=..., handler=scheduler.handler(on_event)))
    # lifespan: async with scheduler: yield

Runs of one resource never overlap (a checkpoint has one writer): a hint during a run makes one more run
after it. A failing run is logged and does not stop the scheduler; polling on a timer stays the authority.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ._targets import targets

logger = logging.getLogger("bill_sdk.changes")


def resource_for_event(event_type: str) -> str | None:
    """The syncable resource an event type names: ``bill.updated`` -> ``bills``,
    ``spend.transaction.updated`` -> ``spend.transactions``; None when nothing syncs it."""
    entity = event_type.rsplit(".", 1)[0] if "." in event_type else event_type
    name = entity.replace("-", "_")
    for candidate in (name, name + "s"):
        if candidate in targets():
            return candidate
    return None


@dataclass
class _Slot:
    wanted: bool = False
    running: bool = False


class SyncScheduler:
    """Coalesces hints into sync runs, one background task per resource (see the module docstring)."""

    def __init__(self, sync: Callable[[str], Awaitable[Any]], *, delay: float = 1.0) -> None:
        self._sync = sync
        self.delay = delay
        self._slots: dict[str, _Slot] = {}
        self._group: TaskGroup | None = None
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    async def __aenter__(self) -> SyncScheduler:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        group, self._group = self._group, None
        if group is None:
            return None
        group.cancel_scope.cancel()  # pending runs are dropped: the next poll or hint catches up
        return await group.__aexit__(exc_type, exc, tb)

    def hint(self, event_type: str) -> str | None:
        """Schedule a sync for the resource `event_type` names (an event type or a resource name); returns it, or
        None when nothing syncs it. Call it from the scheduler's event loop (e.g. a webhook handler)."""
        resource = event_type if event_type in targets() else resource_for_event(event_type)
        if resource is None:
            return None
        if self._group is None:
            raise RuntimeError("SyncScheduler is not running: use `async with SyncScheduler(...)`")
        slot = self._slots.setdefault(resource, _Slot())
        slot.wanted = True
        if not slot.running:
            slot.running = True
            self._group.start_soon(self._worker, resource, slot)
        return resource

    def handler(self, then: Callable[[Any], Awaitable[Any]] | None = None) -> Callable[[Any], Awaitable[None]]:
        """A webhook handler (``bill_sdk.fastapi.webhook_router(..., handler=...)``) that hints the event's type,
        then runs `then(event)` if given."""

        async def on_event(event: Any) -> None:
            self.hint(str(getattr(event, "event_type", "") or ""))
            if then is not None:
                await then(event)

        return on_event

    async def _worker(self, resource: str, slot: _Slot) -> None:
        try:
            while slot.wanted:
                await anyio.sleep(self.delay)  # let the burst arrive
                slot.wanted = False
                try:
                    await self._sync(resource)
                    self.runs[resource] = self.runs.get(resource, 0) + 1
                except Exception:
                    self.failures[resource] = self.failures.get(resource, 0) + 1
                    logger.exception("sync of %s failed; the next hint or poll retries it", resource)
        finally:
            slot.running = False
