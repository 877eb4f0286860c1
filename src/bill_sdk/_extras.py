"""What ``AsyncBill`` has and ``Bill`` (the synchronous client) has not.

``codegen/unasync.py`` renames ``AsyncExtras`` to ``Extras`` when it makes ``Bill`` from ``AsyncBill``'s source, so
these methods stay with the async client: incremental sync (:mod:`bill_sdk.changes`) is built on async iteration,
checkpoint stores and a scheduler driven by webhooks, all async.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .changes import Changes, CheckpointStore


class AsyncExtras:
    """``AsyncBill``'s methods that have no synchronous twin."""

    __slots__ = ()

    def changes(self, resource: str, *, checkpoint: CheckpointStore, **options: Any) -> Changes[Any]:
        """Batches of changed records of `resource` since `checkpoint` (see :mod:`bill_sdk.changes`):
        ``async for batch in bill.changes("bills", checkpoint=store): ...; await batch.commit()``."""
        from .changes import Changes

        return Changes(self, resource, checkpoint=checkpoint, **options)


class Extras:
    """Nothing: ``Bill`` has no incremental sync (``bill.changes``); use ``AsyncBill`` for it."""

    __slots__ = ()
