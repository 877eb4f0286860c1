"""The sync run: windows, keyset reads, batches and their acknowledgement (see the package docstring)."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import operator
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, NamedTuple, TypeVar

from bill_sdk._filters import Filter, all_of, asc, where
from bill_sdk._runtime import UNSET, Unset
from bill_sdk.errors import ArgumentError, BillError

from ._checkpoints import CheckpointError, CheckpointStore
from ._targets import SyncTarget, target

T = TypeVar("T")

FORMAT = 1
_ID = operator.attrgetter("id")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
DEFAULT_LAG = timedelta(seconds=60)
DEFAULT_OVERLAP = timedelta(minutes=5)
MAX_DRAIN_PASSES = 5


class SyncError(BillError):
    """A sync cannot go on: a batch was not acknowledged before the next, or BILL's pages do not settle."""


class _Read(NamedTuple):
    """One answer, checked: its records, whether BILL points to more, and whether no record can repeat among them
    (sorted reads whose stamps strictly increase: a repeat would have the same stamp)."""

    records: list[Any]
    more: bool
    distinct: bool


# -- small helpers --------------------------------------------------------------------------------------------


def value_of(record: Any, name: str) -> Any:
    """A model field, or None when it is missing: the one place that knows both ``UNSET`` and ``None``."""
    value = getattr(record, name, None)
    return None if value is None or isinstance(value, Unset) else value


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (BILL's precision); a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MS


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(0, ms // 1000, ms % 1000 * 1000)  # positional: about a quarter faster than milliseconds=


def iso(moment: datetime) -> str:
    """BILL's spelling of a UTC instant: milliseconds and ``Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_ms(ms: int | None) -> str | None:
    return None if ms is None else iso(from_ms(ms))


def parse_ms(text: str | None) -> int | None:
    return None if text is None else to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def record_id(record: Any) -> str:
    found = getattr(record, "id", None)
    if isinstance(found, str) and found:
        return found
    found = value_of(record, "uuid")
    if not isinstance(found, str):
        raise SyncError(f"a {type(record).__name__} without an id cannot be synced")
    return found


def _no_stamp(record: Any) -> None:
    return None


def content_hash(record: Any) -> str:
    """A stable hash of a record's content (full-scan sync)."""
    data = record.to_dict() if hasattr(record, "to_dict") else record
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- what the caller sees -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The ``updatedTime`` range one run reads: ``lo`` (None: from the beginning) to ``hi``, both inclusive."""

    lo: datetime | None
    hi: datetime


@dataclass
class SyncStats:
    """Counters of the current run (for progress output)."""

    resource: str = ""
    mode: str = ""
    pages: int = 0
    records: int = 0  # delivered in batches
    skipped: int = 0  # read again across a boundary or the overlap, not delivered twice
    batches: int = 0
    window: Window | None = None
    resumed: bool = False


class Batch(Generic[T]):
    """Changed records in ``updatedTime`` order (full scans: page order), to be acknowledged with :meth:`commit`
    or by leaving ``async with batch:`` without an exception. Archived records come as records with
    ``archived=True``; ``removed`` lists ids a full scan no longer finds (deleted, or archived and hidden)."""

    def __init__(
        self,
        owner: Changes[T],
        records: list[T],
        *,
        position: int | None,
        removed: Sequence[str] = (),
        final: bool = False,
        acked: dict[str, Any] | None = None,
    ) -> None:
        self._owner = owner
        self.records = records
        self.removed = list(removed)
        self.resource = owner.target.name
        self.window = owner.stats.window
        self.final = final
        self.committed = False
        self._position_ms = position
        self._acked = acked or {}

    @property
    def position(self) -> datetime | None:
        """Where the checkpoint stands once this batch is acknowledged (None for a full scan)."""
        return None if self._position_ms is None else from_ms(self._position_ms)

    def __iter__(self) -> Any:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"Batch({self.resource!r}, {len(self.records)} records, position={self.position}, final={self.final})"

    async def commit(self) -> None:
        """Acknowledge this batch: the checkpoint moves past it (once; a second call does nothing)."""
        if not self.committed:
            await self._owner._acknowledge(self)
            self.committed = True

    async def __aenter__(self) -> Batch[T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.commit()


class Changes(Generic[T]):
    """``async for batch in bill.changes("bills", checkpoint=store): ...`` — see :mod:`bill_sdk.changes`."""

    def __init__(
        self,
        client: Any,
        resource: str,
        *,
        checkpoint: CheckpointStore,
        lag: timedelta = DEFAULT_LAG,
        overlap: timedelta = DEFAULT_OVERLAP,
        page_size: int | None = None,
        clock: Callable[[], datetime] | None = None,
        organization_id: str | None = None,
        on_page: Callable[[SyncStats], None] | None = None,
    ) -> None:
        self.target: SyncTarget = target(resource)
        if lag < timedelta(0) or overlap < timedelta(0):
            raise ArgumentError("lag and overlap must not be negative")
        self.page_size = page_size or self.target.page_limit
        if not 1 <= self.page_size <= self.target.page_limit:
            raise ArgumentError(f"page_size must be between 1 and {self.target.page_limit} for {self.target.name}")
        self._client = client
        self._resource = client
        for part in self.target.attribute_path:
            self._resource = getattr(self._resource, part)
        self.checkpoint = checkpoint
        self.lag_ms = lag // MS
        self.overlap_ms = overlap // MS
        self.clock = clock or _utc_now
        credentials = getattr(client, "credentials", None)
        self.organization_id = organization_id or getattr(credentials, "organization_id", None)
        self.on_page = on_page
        self.stats = SyncStats(resource=self.target.name, mode=self.target.mode)
        self._state: dict[str, Any] = {}
        self._pending: Batch[T] | None = None
        self._attr = self.target.cursor_attribute or ""
        self._stamp: Callable[[Any], Any] = operator.attrgetter(self._attr) if self._attr else _no_stamp
        # what the cursor-mode dedupe needs (see _batch): keys of the previous run's overlap, ids delivered at the
        # current position's millisecond, and the keys delivered within this window's last `overlap`
        self._recent: set[tuple[str, int]] = set()
        self._recent_max = -1
        self._at_ms = -1
        self._at: set[str] = set()
        self._next_recent: list[list[Any]] = []
        field_name = self.target.cursor_field
        self._field = where(field_name) if field_name else None
        self._sort = asc(field_name) if field_name and self.target.sortable else None
        # the bounds of the current read, each made once: as datetimes (for the checks) and as filter clauses
        self._hi_ms = -1
        self._hi_after = EPOCH  # the millisecond after the upper bound
        self._hi_clause = ""
        self._lo_ms = -1
        self._lo_moment = EPOCH

    def __aiter__(self) -> AsyncIterator[Batch[T]]:
        return self._run()

    # -- state ------------------------------------------------------------------------------------------------

    async def _load(self) -> dict[str, Any]:
        state = await self.checkpoint.load(self.target.name)
        if state is None:
            return {
                "format": FORMAT,
                "organization_id": self.organization_id,
                "resource": self.target.name,
                "mode": self.target.mode,
                "field": self.target.cursor_field,
                "completed_to": None,
                "window": None,
                "position": None,
                "acked_ids": [],
                "acknowledged": 0,
                "recent": [],
                "next_recent": [],
                "hashes": {},
                "seen": [],
                "runs": 0,
            }
        if state.get("format") != FORMAT:
            raise CheckpointError(f"checkpoint for {self.target.name} has an unknown format {state.get('format')!r}")
        theirs = state.get("organization_id")
        if theirs and self.organization_id and theirs != self.organization_id:
            raise CheckpointError(
                f"this checkpoint belongs to organization {theirs}, not {self.organization_id}: use one per organization"
            )
        if state.get("resource") != self.target.name or state.get("mode") != self.target.mode:
            raise CheckpointError(
                f"this checkpoint is for {state.get('resource')!r} ({state.get('mode')}), not {self.target.name!r}"
                f" ({self.target.mode}): start a new checkpoint"
            )
        if state.get("field") != self.target.cursor_field:
            raise CheckpointError(f"this checkpoint syncs on {state.get('field')!r}, the spec now says otherwise")
        state["organization_id"] = theirs or self.organization_id
        return state

    async def _save(self) -> None:
        self._state["saved_at"] = iso(_utc_now())
        await self.checkpoint.save(self.target.name, self._state)

    def _check_acknowledged(self) -> None:
        if self._pending is not None and not self._pending.committed:
            raise SyncError("commit() each batch (or use `async with batch:`) before asking for the next one")
        self._pending = None

    async def _acknowledge(self, batch: Batch[T]) -> None:
        if batch is not self._pending:
            raise SyncError("only the latest batch can be acknowledged")
        state = self._state
        state["acknowledged"] = int(state.get("acknowledged", 0)) + len(batch.records) + len(batch.removed)
        state.update(batch._acked)
        if batch.final:
            self._complete(state)
        await self._save()

    def _complete(self, state: dict[str, Any]) -> None:
        """The run read its whole window: the checkpoint becomes the window's upper bound (never the largest
        value seen: a record stamped just below it may only now be visible)."""
        state["runs"] = int(state.get("runs", 0)) + 1
        if self.target.mode == "cursor":
            hi = int(state["window"]["hi"])
            keep_from = hi - self.overlap_ms
            recent = {tuple(k) for k in state.get("recent", [])} | {tuple(k) for k in state.get("next_recent", [])}
            state["recent"] = sorted([list(k) for k in recent if k[1] >= keep_from])
            state["completed_to"] = hi
        state.update(window=None, position=None, acked_ids=[], next_recent=[], seen=[], acknowledged=0)

    # -- reading ----------------------------------------------------------------------------------------------

    def _streams(self) -> list[Filter | None]:
        if self.target.has_archived:  # BILL's lists may leave archived records out unless a filter names them
            return [where("archived").eq(False), where("archived").eq(True)]
        return [None]

    def _filters(self, stream: Filter | None, lo: int | None, hi: int | None) -> str | Unset:
        field = self._field
        parts: list[str] = []
        if field is not None and lo is not None:
            parts.append(field.gte(self._lower(lo)))
        if field is not None and hi is not None:
            self._upper(hi)
            parts.append(self._hi_clause)
        if stream is not None:
            parts.append(stream)
        return all_of(*parts) if parts else UNSET

    def _lower(self, lo: int) -> datetime:
        """The millisecond `lo` as a datetime, made once for the request and the check of its answer."""
        if lo != self._lo_ms:
            self._lo_ms, self._lo_moment = lo, from_ms(lo)
        return self._lo_moment

    def _upper(self, hi: int) -> datetime:
        """The millisecond after `hi` as a datetime, and `hi` as a filter clause: once per window."""
        if hi != self._hi_ms:
            field = self._field
            self._hi_ms, self._hi_after = hi, from_ms(hi + 1)
            self._hi_clause = "" if field is None else field.lte(from_ms(hi))
        return self._hi_after

    def _pages(self, stream: Filter | None, lo: int | None, hi: int | None, *, sort: bool) -> AsyncIterator[Any]:
        kwargs: dict[str, Any] = {"filters": self._filters(stream, lo, hi), "page_size": self.page_size}
        if sort and self._sort is not None:
            kwargs["sort"] = self._sort
        pages: AsyncIterator[Any] = self._resource.pages(**kwargs)
        return pages

    async def _first_page(self, stream: Filter | None, lo: int | None, hi: int, *, sort: bool) -> _Read:
        """One request: the first page of the slice, checked (see :meth:`_check`), and whether BILL says there is
        more."""
        if sort and self._sort is not None:
            page = await self._resource.list(filters=self._filters(stream, lo, hi), sort=self._sort, max=self.page_size)
        else:
            page = await self._resource.list(filters=self._filters(stream, lo, hi), max=self.page_size)
        read = self._read(page, lo, hi, sort=sort)
        if read.more and not read.records:  # "more" but nothing here: never taken as the end of the window
            return await self._first_records(stream, lo, hi, sort=sort)
        return read

    async def _first_records(self, stream: Filter | None, lo: int | None, hi: int, *, sort: bool) -> _Read:
        """The first page of the slice that has records, following BILL's cursor past empty pages that point
        further (the paginator's rules: a bounded number of them; a cursor without results is a PaginationError)."""
        pages = self._pages(stream, lo, hi, sort=sort)
        try:
            async for page in pages:
                read = self._read(page, lo, hi, sort=sort)
                if read.records:
                    return read
        finally:
            await pages.aclose()  # type: ignore[attr-defined]
        return _Read([], False, True)

    def _read(self, page: Any, lo: int | None, hi: int, *, sort: bool) -> _Read:
        """A page's records, checked (:meth:`_check`) and in cursor order when `sort`; counted for progress."""
        self._count_page()
        results = page.results  # a list the page owns, never changed here (buffers are sliced, batches copied)
        records = results if isinstance(results, list) else list(results) if isinstance(results, Sequence) else []
        more = isinstance(page.next_page, str) and bool(page.next_page)
        if not records:
            return _Read(records, more, True)
        in_order, distinct = self._check(records, lo, hi, sort=sort)
        if not in_order:
            records = self._in_order(list(records))  # in order by the millisecond, not yet by the datetime
        return _Read(records, more, distinct)

    def _check(self, records: list[Any], lo: int | None, hi: int, *, sort: bool) -> tuple[bool, bool]:
        """Every record has its cursor field, within ``lo..hi`` (milliseconds, inclusive), in ascending order when
        `sort`. Returns whether that order holds for the datetimes too (not only by the millisecond) and whether
        the datetimes strictly increase (sorted reads only). This runs for every record synced, so it compares the
        datetimes themselves in C (``map``, ``min``, ``max``); anything unusual (a missing value, a naive datetime,
        two records out of order within one millisecond) takes the exact path in milliseconds, which also names
        the problem."""
        stamps = list(map(self._stamp, records))
        in_order, distinct = True, False
        try:
            if sort:
                following = stamps[1:]
                distinct = not any(map(operator.ge, stamps, following))
                if not distinct and any(map(operator.gt, stamps, following)):
                    raise TypeError  # out of order as datetimes: decide in milliseconds
            first, last = (stamps[0], stamps[-1]) if sort else (min(stamps), max(stamps))
            inside = last < self._upper(hi) and (lo is None or first >= self._lower(lo))
        except TypeError:
            in_order, distinct = not sort, False  # sorted by the millisecond at best: _read puts them in order
            milliseconds = [self._ms(record) for record in records]  # SyncError for a missing value
            if sort and milliseconds != sorted(milliseconds):
                raise SyncError(
                    f"{self.target.name}: BILL did not sort by {self.target.cursor_field}; the spec's x-sync-cursor"
                    " should say `sortable: false`"
                ) from None
            inside = max(milliseconds) <= hi and (lo is None or min(milliseconds) >= lo)
        if not inside:
            raise SyncError(f"{self.target.name}: BILL answered records outside the {self.target.cursor_field} filter")
        return in_order, distinct

    def _in_order(self, records: list[Any]) -> list[Any]:
        """`records` sorted in place by the cursor's datetime (by its millisecond where naive and aware stamps
        cannot be compared)."""
        try:
            records.sort(key=self._stamp)
        except TypeError:
            records.sort(key=self._ms)
        return records

    async def _drain(self, streams: Iterable[Filter | None], at: int) -> list[Any]:
        """Every record stamped in one millisecond (more than a page of them). Read with BILL's cursor, again and
        again until a pass finds nothing new: records leaving the slice while it is read can shift a later one
        onto a page already read, and the slice only ever shrinks, so a pass that adds nothing is complete."""
        found: dict[str, Any] = {}
        for stream in streams:
            for attempt in range(MAX_DRAIN_PASSES):
                added = 0
                async for page in self._pages(stream, at, at, sort=False):
                    for record in self._read(page, at, at, sort=False).records:
                        rid = record_id(record)
                        if rid not in found:
                            found[rid] = record
                            added += 1
                if attempt and not added:
                    break
            else:
                raise SyncError(f"{self.target.name}: the records of {iso_ms(at)} kept changing while read")
        return list(found.values())

    def _count_page(self) -> None:
        self.stats.pages += 1
        if self.on_page is not None:
            self.on_page(self.stats)

    def _ms(self, record: Any) -> int:
        moment = getattr(record, self._attr, None)  # UNSET and None are no datetime
        if not isinstance(moment, datetime):
            raise SyncError(f"a {type(record).__name__} without {self.target.cursor_field} cannot be synced by it")
        return to_ms(moment)

    # -- runs -------------------------------------------------------------------------------------------------

    async def _run(self) -> AsyncIterator[Batch[T]]:
        self._state = await self._load()
        if self.target.mode == "scan":
            async for batch in self._run_scan():
                yield batch
            return
        state = self._state
        if state["window"] is None:
            done = state["completed_to"]
            hi = to_ms(self.clock()) - self.lag_ms
            if done is not None and hi <= done:
                return  # the clock has not passed the last window yet: nothing can be complete
            lo = None if done is None else max(0, done - self.overlap_ms)
            state.update(window={"lo": lo, "hi": hi}, position=lo, acked_ids=[], acknowledged=0, next_recent=[])
            await self._save()  # the window is fixed now: a crash resumes this window, not a new one
        else:
            self.stats.resumed = True
        lo, hi = state["window"]["lo"], int(state["window"]["hi"])
        self.stats.window = Window(None if lo is None else from_ms(lo), from_ms(hi))
        position = state["position"]
        self._recent = {(str(k[0]), int(k[1])) for k in (*state["recent"], *state["next_recent"])}
        self._recent_max = max((k[1] for k in self._recent), default=-1)
        self._at_ms = -1 if position is None else int(position)
        self._at = {str(i) for i in state["acked_ids"]}
        self._next_recent = [[str(k[0]), int(k[1])] for k in state["next_recent"]]
        reader = self._keyset if self.target.sortable else self._slices
        async for batch in reader(position, hi):
            yield batch
        self._check_acknowledged()

    def _batch(
        self,
        records: list[Any],
        position: int,
        *,
        drained: bool,
        final: bool,
        hi: int,
        ordered: bool = False,
        distinct: bool = False,
    ) -> Batch[T] | None:
        """Order (unless `ordered`: already in cursor order, as the keyset's merged pages are), deduplicate by
        (id, updatedTime), and make the batch that moves the position to `position` (`drained`: everything at
        `position` was read, so the position becomes the next millisecond). `distinct`: no two records share a
        datetime, so none repeats another within the batch and the answer's ids need no set.

        Records arrive at or after the position (``gte``) and everything delivered in this run is at or before
        it, so a record read again can only be one delivered at the position's millisecond (``self._at``) or one
        of the previous run's overlap (``self._recent``): only the records up to the larger of those two
        milliseconds, at the front once sorted, are looked up. Two copies of one record in one answer (a
        server's fault) take the exact path, by key."""
        if not ordered:
            self._in_order(records)
        try:  # models whose `id` is a plain string (all of BILL's but a few): no Python loop per record
            ids = list(map(_ID, records))
            "".join(ids)  # TypeError unless every one is a string
            plain = all(ids)  # and none is empty
        except (AttributeError, TypeError):
            plain = False
        if not plain:  # each record's own rule: its uuid, else a SyncError
            ids = [record_id(record) for record in records]
        if not distinct and len(set(ids)) != len(ids):
            return self._batch_by_key(records, position, drained=drained, final=final, hi=hi)
        at_ms, at, recent = self._at_ms, self._at, self._recent
        limit = max(at_ms if at else -1, self._recent_max)
        front = 0  # records[:front] are the ones up to `limit`
        skip: set[int] = set()
        while front < len(records) and (ms := self._ms(records[front])) <= limit:
            rid = ids[front]
            if (ms == at_ms and rid in at) or (rid, ms) in recent:
                skip.add(front)
            front += 1
        if len(skip) == front:  # all of the front read again (the boundary record, usually), or none of it
            records, ids = (records[front:], ids[front:]) if front else (records, ids)
        else:
            keep = [index for index in range(front) if index not in skip]
            records = [records[i] for i in keep] + records[front:]
            ids = [ids[i] for i in keep] + ids[front:]
        self.stats.skipped += len(skip)
        return self._make_batch(records, ids, position, drained=drained, final=final, hi=hi)

    def _batch_by_key(
        self, records: list[Any], position: int, *, drained: bool, final: bool, hi: int
    ) -> Batch[T] | None:
        """:meth:`_batch` for an answer that repeats a record: every record looked up by (id, milliseconds)."""
        fresh: list[Any] = []
        ids: list[str] = []
        keys: set[tuple[str, int]] = set()
        for record in records:
            ms, rid = self._ms(record), record_id(record)
            key = (rid, ms)
            if key in keys or key in self._recent or (ms == self._at_ms and rid in self._at):
                self.stats.skipped += 1
                continue
            keys.add(key)
            fresh.append(record)
            ids.append(rid)
        return self._make_batch(fresh, ids, position, drained=drained, final=final, hi=hi)

    def _make_batch(
        self, fresh: list[Any], ids: list[str], position: int, *, drained: bool, final: bool, hi: int
    ) -> Batch[T] | None:
        """The batch of `fresh` (sorted, deduplicated; `ids` theirs) and what acknowledging it saves."""
        after = position + 1 if drained else position
        at_ms, at = self._at_ms, self._at
        if after != at_ms:
            at_ms, at = after, set()
        if not drained:  # the ids delivered at the position's millisecond, for the next read from there
            index = len(fresh)
            while index and self._ms(fresh[index - 1]) == position:
                index -= 1
                at.add(ids[index])
        self._at_ms, self._at = at_ms, at
        if self._recent_max < at_ms:
            self._recent, self._recent_max = set(), -1  # the previous run's overlap is behind the position now
        tail = hi - self.overlap_ms  # the next run reads again from here: remember what it would repeat
        index = len(fresh)
        while index and (ms := self._ms(fresh[index - 1])) >= tail:
            index -= 1
            self._next_recent.append([ids[index], ms])
        acked_ids = sorted(at)
        next_recent = list(self._next_recent)
        if not fresh:
            self._state.update(position=after, acked_ids=acked_ids, next_recent=next_recent)  # nothing to acknowledge
            return None
        batch: Batch[T] = Batch(
            self,
            fresh,
            position=after,
            final=final,
            acked={"position": after, "acked_ids": acked_ids, "next_recent": next_recent},
        )
        self.stats.batches += 1
        self.stats.records += len(fresh)
        self._pending = batch
        return batch

    async def _finish(self, last: Batch[T] | None) -> None:
        """After the window's last batch: that batch's commit completed the run; with no last batch (nothing new
        at the end) complete it here, once the previous batch is acknowledged."""
        self._check_acknowledged()
        if last is None:
            self._complete(self._state)
            await self._save()

    async def _keyset(self, position: int | None, hi: int) -> AsyncIterator[Batch[T]]:
        """Sorted by the cursor: a stream is read with ``gte position, lte hi`` from the start again each time its
        page is used up (keyset, not BILL's offset cursor, so records leaving the window while it is read cannot
        shift one past us). Streams (live, archived) are merged: a step delivers every buffered record up to the
        smallest last millisecond of the streams that have more, so the delivery stays in cursor order."""
        streams = self._streams()
        buffers: list[list[Any]] = [[] for _ in streams]
        distinct = [True] * len(streams)  # no stamp twice in a stream's buffer
        more = [True] * len(streams)
        fetched = [False] * len(streams)
        ms = self._ms
        while True:
            self._check_acknowledged()
            for index, stream in enumerate(streams):
                fetched[index] = False
                if more[index] and not buffers[index]:
                    buffers[index], more[index], distinct[index] = await self._first_page(
                        stream, position, hi, sort=True
                    )
                    fetched[index] = True
            lasts = [ms(buffer[-1]) if buffer else -1 for buffer in buffers]
            bound, stuck = hi, False
            for index in range(len(streams)):
                if not more[index]:
                    continue
                last = lasts[index]
                fresh_and_flat = fetched[index] and ms(buffers[index][0]) == last
                if last < bound or (last == bound and fresh_and_flat):
                    bound, stuck = last, fresh_and_flat
            if stuck:  # a full page of one millisecond: read that millisecond to its end, every stream
                open_streams = [s for i, s in enumerate(streams) if more[i]]
                drained = await self._drain(open_streams, bound)
                for index in range(len(streams)):
                    if more[index]:
                        buffers[index] = buffers[index][: bisect.bisect_left(buffers[index], bound, key=ms)]
            else:
                drained = []
            final = not any(more) and not stuck
            parts: list[list[Any]] = [drained] if drained else []
            for index in range(len(streams)):
                buffer = buffers[index]
                if buffer and lasts[index] <= bound:  # sorted: all of it (a drain only shortens a buffer)
                    parts.append(buffer)
                    buffers[index] = []
                elif buffer:
                    cut = self._cut(buffer, bound)
                    if cut:
                        parts.append(buffer[:cut])
                        buffers[index] = buffer[cut:]
            if drained:
                self._in_order(drained)  # read without `sort`: one millisecond, in no particular order
            merged, tied = self._merged(parts)
            apart = not drained and not tied and all(distinct)  # no record can be in this batch twice
            batch = self._batch(merged, bound, drained=stuck or final, final=final, hi=hi, ordered=True, distinct=apart)
            if batch is not None:
                yield batch
            if final:
                await self._finish(batch)
                return
            position = bound + 1 if stuck else bound  # a stream whose buffer is used up is read again from here

    def _merged(self, parts: list[list[Any]]) -> tuple[list[Any], bool]:
        """One list in cursor order from lists each in cursor order: the records of the shorter ones (the archived
        stream's few, usually) inserted into the longest where they belong, so that only they are compared; and
        whether an inserted record has the stamp of one already there."""
        if len(parts) <= 1:
            return (parts[0] if parts else []), False
        parts = sorted(parts, key=len, reverse=True)
        merged = list(parts[0])
        stamp = self._stamp
        tied = False
        try:
            for part in parts[1:]:
                at = 0
                for record in part:  # in order: each one goes at or after the previous one
                    moment = stamp(record)
                    at = bisect.bisect_right(merged, moment, at, key=stamp)
                    tied = tied or (at > 0 and stamp(merged[at - 1]) == moment)  # after its equals, if any
                    merged.insert(at, record)
                    at += 1
        except TypeError:  # naive stamps beside aware ones
            return self._in_order(list(itertools.chain.from_iterable(parts))), True
        return merged, tied

    def _cut(self, buffer: list[Any], bound: int) -> int:
        """How many of a sorted buffer's records are stamped at or before the millisecond `bound`: compared as
        datetimes in C (a stamp is within `bound` exactly when it is before the next millisecond), in milliseconds
        for naive stamps."""
        try:
            return bisect.bisect_left(buffer, from_ms(bound + 1), key=self._stamp)
        except TypeError:
            return bisect.bisect_right(buffer, bound, key=self._ms)

    async def _slices(self, position: int | None, hi: int) -> AsyncIterator[Batch[T]]:
        """Filterable but not sortable (Spend transactions): split the window in time until each slice fits in one
        page (one answer is one consistent read), oldest slice first; a millisecond with more than a page is
        drained. Each slice's records are delivered sorted by the cursor."""
        streams = self._streams()
        stack = [(0 if position is None else position, hi)]
        while stack:
            self._check_acknowledged()
            lo, top = stack.pop()
            collected: list[Any] = []
            full = False
            for stream in streams:
                read = await self._first_page(stream, lo, top, sort=False)
                if read.more:
                    full = True
                    break
                collected += read.records
            if full and top > lo:
                middle = (lo + top) // 2
                stack += [(middle + 1, top), (lo, middle)]
                continue
            if full:
                collected = await self._drain(streams, lo)
            batch = self._batch(collected, top, drained=True, final=not stack, hi=hi)
            if batch is not None:
                yield batch
            if not stack:
                await self._finish(batch)

    async def _run_scan(self) -> AsyncIterator[Batch[T]]:
        """No filterable time field: read everything, deliver what is new or whose content hash changed; at the end
        ids no longer listed (confirmed by a second listing) are delivered as ``removed``."""
        state = self._state
        if state.get("seen"):
            self.stats.resumed = True
        hashes: dict[str, str] = dict(state.get("hashes", {}))
        seen: set[str] = set(state.get("seen", []))
        async for page in self._resource.pages(page_size=self.page_size):
            self._check_acknowledged()
            self._count_page()
            changed, updates = [], {}
            for record in page.results if isinstance(page.results, Sequence) else ():
                rid, digest = record_id(record), content_hash(record)
                seen.add(rid)
                if hashes.get(rid) == digest:
                    self.stats.skipped += 1
                    continue
                changed.append(record)
                updates[rid] = digest
            hashes.update(updates)
            if changed:
                yield self._scan_batch(changed, hashes, seen, removed=[], final=False)
        self._check_acknowledged()
        gone = [rid for rid in hashes if rid not in seen]
        if gone:  # a record skipped by a shifting page is not gone: confirm with a second listing
            still = {record_id(r) async for r in self._resource.iter(page_size=self.page_size)}
            gone = [rid for rid in gone if rid not in still]
        remaining = {rid: digest for rid, digest in hashes.items() if rid not in set(gone)}
        if gone:
            yield self._scan_batch([], remaining, seen, removed=gone, final=True)
            self._check_acknowledged()
        else:
            self._state.update(hashes=remaining)
            self._complete(self._state)
            await self._save()

    def _scan_batch(
        self, records: list[Any], hashes: dict[str, str], seen: set[str], *, removed: list[str], final: bool
    ) -> Batch[T]:
        batch: Batch[T] = Batch(
            self,
            records,
            position=None,
            removed=removed,
            final=final,
            acked={"hashes": dict(hashes), "seen": sorted(seen)},
        )
        self.stats.batches += 1
        self.stats.records += len(records)
        self._pending = batch
        return batch
