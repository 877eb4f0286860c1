"""Crash and resume at every batch boundary and in the middle of a page: nothing skipped, and duplicates only within
the batch that was not acknowledged. File stores are reopened as a new process would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bill_sdk import AsyncBill
from bill_sdk.changes import (
    CheckpointLockedError,
    CheckpointStore,
    JsonFileCheckpoint,
    MemoryCheckpoint,
    SqliteCheckpoint,
    SyncStats,
)
from bill_sdk.testing import FakeBill
from bill_sdk.testing.sessions import Principal

from .conftest import Clock


class Crash(Exception):
    """The process dies here."""


def make_store(kind: str, tmp_path: Path) -> Callable[[], Any]:
    memory = MemoryCheckpoint()
    if kind == "memory":
        return lambda: memory
    if kind == "json":
        return lambda: JsonFileCheckpoint(tmp_path / "state.json")
    return lambda: SqliteCheckpoint(tmp_path / "state.sqlite")


def close(store: CheckpointStore) -> None:
    if hasattr(store, "close"):
        store.close()


@pytest.fixture
def data(fake_bill: FakeBill, clock: Clock, who: Principal) -> set[str]:
    """14 vendors: a run of 5 in one millisecond (more than a page), one archived."""
    ids = []
    for i in range(14):
        ids.append(fake_bill.resources.create(who, "vendors", {"name": f"v{i}"}).id)
        clock.tick(0 if 4 <= i < 8 else 1)
    fake_bill.resources.set_archived(who, "vendors", fake_bill.state.record(who.scope, "vendors", ids[3]), True)
    clock.tick(100)
    return set(ids)


def sync(bill: AsyncBill, store: CheckpointStore, clock: Clock, **kw: Any) -> Any:
    return bill.changes("vendors", checkpoint=store, clock=clock, lag=timedelta(milliseconds=20), page_size=3, **kw)


async def reference_batches(bill: AsyncBill, clock: Clock) -> int:
    count = 0
    async for batch in sync(bill, MemoryCheckpoint(), clock):
        async with batch:
            count += 1
    return count


async def finish(bill: AsyncBill, store: CheckpointStore, clock: Clock) -> list[str]:
    delivered = []
    async for batch in sync(bill, store, clock):
        async with batch:
            delivered += [r.id for r in batch.records]
    return delivered


@pytest.mark.parametrize("kind", ["memory", "json", "sqlite"])
async def test_a_crash_at_every_batch_boundary_replays_only_the_unacknowledged_batch(
    bill_client: AsyncBill, clock: Clock, data: set[str], tmp_path: Path, kind: str
) -> None:
    total = await reference_batches(bill_client, clock)
    assert total >= 5
    for crash_at in range(total):
        (tmp_path / str(crash_at)).mkdir()
        opener = make_store(kind, tmp_path / str(crash_at))
        store = opener()
        acknowledged: list[str] = []
        unacknowledged: list[str] = []
        committed = 0
        async for batch in sync(bill_client, store, clock):
            if committed == crash_at:
                unacknowledged = [r.id for r in batch.records]
                break  # the process dies before acknowledging this batch
            acknowledged += [r.id for r in batch.records]
            await batch.commit()
            committed += 1
        close(store)
        resumed = opener()
        replayed = await finish(bill_client, resumed, clock)
        close(resumed)
        assert set(acknowledged) | set(replayed) == data, f"skipped a record after a crash at batch {crash_at}"
        assert not set(acknowledged) & set(replayed), f"replayed an acknowledged batch (crash at {crash_at})"
        assert set(unacknowledged) <= set(replayed)
        assert len(replayed) == len(set(replayed))


@pytest.mark.parametrize("kind", ["memory", "json"])
async def test_a_crash_in_the_middle_of_a_page_skips_nothing(
    bill_client: AsyncBill, clock: Clock, data: set[str], tmp_path: Path, kind: str
) -> None:
    pages = 0

    def count(stats: SyncStats) -> None:
        nonlocal pages
        pages = stats.pages

    async for batch in sync(bill_client, MemoryCheckpoint(), clock, on_page=count):
        await batch.commit()
    assert pages >= 6
    for crash_page in range(1, pages + 1):
        folder = tmp_path / str(crash_page)
        folder.mkdir()
        opener = make_store(kind, folder)
        store = opener()

        def die(stats: SyncStats, at: int = crash_page) -> None:
            if stats.pages == at:
                raise Crash  # while a page is being read: no batch from it exists yet

        acknowledged: list[str] = []
        with pytest.raises(Crash):
            async for batch in sync(bill_client, store, clock, on_page=die):
                acknowledged += [r.id for r in batch.records]
                await batch.commit()
        close(store)
        resumed = opener()
        replayed = await finish(bill_client, resumed, clock)
        close(resumed)
        assert set(acknowledged) | set(replayed) == data, f"skipped a record after a crash on page {crash_page}"
        assert not set(acknowledged) & set(replayed)


async def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    for opener in (lambda: JsonFileCheckpoint(tmp_path / "c.json"), lambda: SqliteCheckpoint(tmp_path / "c.db")):
        first, second = opener(), opener()
        await first.save("vendors", {"format": 1})
        with pytest.raises(CheckpointLockedError):
            await second.load("vendors")
        first.close()
        assert await second.load("vendors") == {"format": 1}
        second.close()


async def test_the_json_store_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.json"
    store = JsonFileCheckpoint(path)
    await store.save("vendors", {"format": 1, "n": 1})

    def torn(*_args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", torn)
    with pytest.raises(OSError):
        await store.save("vendors", {"format": 1, "n": 2})
    monkeypatch.undo()
    store.close()
    assert await JsonFileCheckpoint(path).load("vendors") == {"format": 1, "n": 1}
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


async def test_time_slices_resume_at_every_batch_boundary(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock
) -> None:
    """Spend transactions (filterable, not sortable): the same guarantees, slice by slice."""
    for i in range(30):
        stamp = (clock.now + timedelta(milliseconds=(i * 5) if i < 24 else 200)).isoformat(timespec="milliseconds")
        fake_bill.state.put("spend/transactions", {"id": f"tx{i:02d}", "uuid": f"tx{i:02d}", "updatedTime": stamp})
    clock.tick(1000)
    every = {f"tx{i:02d}" for i in range(30)}

    def txs(store: CheckpointStore) -> Any:
        return bill_client.changes(
            "spend.transactions", checkpoint=store, clock=clock, lag=timedelta(milliseconds=20), page_size=4
        )

    total = 0
    async for batch in txs(MemoryCheckpoint()):
        await batch.commit()
        total += 1
    assert total >= 5
    for crash_at in range(total):
        store = MemoryCheckpoint()
        acknowledged: list[str] = []
        unacknowledged: list[str] = []
        committed = 0
        async for batch in txs(store):
            if committed == crash_at:
                unacknowledged = [r.id for r in batch.records]
                break  # dies before acknowledging
            acknowledged += [r.id for r in batch.records]
            await batch.commit()
            committed += 1
        replayed = []
        async for batch in txs(store):
            replayed += [r.id for r in batch.records]
            await batch.commit()
        assert set(acknowledged) | set(replayed) == every
        assert not set(acknowledged) & set(replayed)
        assert set(unacknowledged) <= set(replayed)
