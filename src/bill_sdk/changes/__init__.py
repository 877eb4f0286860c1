"""Incremental sync: mirror BILL records into your own store, batch by acknowledged batch.

::

    from bill_sdk.changes import JsonFileCheckpoint

    async with AsyncBill() as bill, JsonFileCheckpoint("bills.checkpoint.json") as store:
        async for batch in bill.changes("bills", checkpoint=store):
            async with batch:                      # leaving without an exception acknowledges the batch
                await my_db.upsert(batch.records)  # typed models (bill_sdk.models.Bill), archived ones included

Polling is the authority; webhooks are only hints (BILL sends none for some changes, e.g. a payment received):
:class:`SyncScheduler` turns events into coalesced sync runs.

The algorithm
-------------
*Which resources, on which field* is read from the spec: a list operation declaring ``x-sync-cursor`` (BILL
documents ``updatedTime`` filters for vendors, customers, bills, invoices, Spend transactions, ...; see the
comments in ``spec/``) syncs on that field; every other paged list syncs by a **full scan** with a per-record
content hash (what changed is delivered, ids no longer listed come as ``batch.removed``; not in time order).
:func:`syncable` lists them.

A **run** reads one window of the cursor field:

1. *Upper bound, fixed when the run starts*: ``now - lag`` (``lag``, default 60 s). "Now" is this machine's
   clock (``clock=`` to change it): BILL's clock is not readable to the millisecond, so ``lag`` must cover the
   skew between the two clocks plus BILL's write latency (a record stamped at *t* may become visible to a search
   a little later). A record stamped below the bound but not visible yet is caught by the next run's overlap.
2. *Lower bound*: the checkpoint (the previous window's upper bound) minus ``overlap`` (default 5 min); nothing
   on the first run (everything).
3. BILL is asked for ``field gte lo, field lte hi`` sorted ascending. Pages are read **keyset** style: each
   request starts again at the last millisecond delivered (``gte`` is inclusive), never by BILL's offset cursor,
   so a record updated while the pages are read (it leaves the window: its new stamp is above ``hi``) cannot
   shift an unread one onto a page already read. A page whose records all share one millisecond is drained
   with BILL's cursor and read again until a pass adds nothing. An empty page that still points to more is
   followed, never taken as the end of the window; an answer outside the filter, out of order, or (in a drain)
   from another millisecond stops the run with a ``SyncError``. When BILL filters but cannot sort on the field
   (Spend transactions), the window is split in time until each slice fits in one page.
   Where the items have ``archived``, live and archived records are read as two streams and merged, so
   archived records come through as changes (``archived=True``).
4. Records are de-duplicated by ``(id, updatedTime)``: across page boundaries and across the overlap (the
   checkpoint keeps the keys of its last ``overlap``), so two updates in the same millisecond are never
   confused with one already delivered unless they are the same version.
5. Batches (one per request, in ``updatedTime`` order) are acknowledged by the caller; the checkpoint moves
   only then (position and the ids acknowledged at that millisecond). A crash replays at most the
   unacknowledged batch; the next run resumes the same window from the acknowledged position.
6. When the whole window is read and acknowledged, the checkpoint becomes the window's **upper bound**, not the
   largest value seen (a record stamped between the two may not have been visible yet).

A mirror that applies batches in order converges to BILL's state: every delivered record is its state when read,
and later batches were read later.

Checkpoints (:class:`JsonFileCheckpoint`, :class:`SqliteCheckpoint`, or your own :class:`CheckpointStore`)
record the organization, resource, window, position and what was acknowledged, and refuse another
organization's state (:class:`CheckpointError`).
"""

from __future__ import annotations

from ._checkpoints import (
    CheckpointError,
    CheckpointLockedError,
    CheckpointStore,
    JsonFileCheckpoint,
    MemoryCheckpoint,
    SqliteCheckpoint,
)
from ._engine import (
    DEFAULT_LAG,
    DEFAULT_OVERLAP,
    Batch,
    Changes,
    SyncError,
    SyncStats,
    Window,
    content_hash,
    value_of,
)
from ._scheduler import SyncScheduler
from ._targets import SyncTarget, targets


def syncable() -> dict[str, SyncTarget]:
    """Every resource ``changes()`` accepts, with its mode (``cursor`` on a field, or ``scan``)."""
    return dict(targets())


__all__ = [
    "DEFAULT_LAG",
    "DEFAULT_OVERLAP",
    "Batch",
    "Changes",
    "CheckpointError",
    "CheckpointLockedError",
    "CheckpointStore",
    "JsonFileCheckpoint",
    "MemoryCheckpoint",
    "SqliteCheckpoint",
    "SyncError",
    "SyncScheduler",
    "SyncStats",
    "SyncTarget",
    "Window",
    "content_hash",
    "syncable",
    "value_of",
]
