"""bill.changes(): windows, keyset reads, de-duplication, acknowledgement and checkpoints, against FakeBill."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bill_sdk import AsyncBill
from bill_sdk.changes import (
    Changes,
    CheckpointError,
    MemoryCheckpoint,
    SyncError,
    syncable,
)
from bill_sdk.errors import ArgumentError
from bill_sdk.testing import FakeBill
from bill_sdk.testing.sessions import Principal

from .conftest import Clock

LAG = timedelta(milliseconds=50)


def changes(
    bill: AsyncBill, store: MemoryCheckpoint, clock: Clock, resource: str = "vendors", **kw: Any
) -> Changes[Any]:
    kw.setdefault("lag", LAG)
    kw.setdefault("overlap", timedelta(milliseconds=200))
    return bill.changes(resource, checkpoint=store, clock=clock, **kw)


async def run(sync: Changes[Any]) -> list[list[Any]]:
    """One complete run, every batch acknowledged; the batches' records."""
    batches = []
    async for batch in sync:
        async with batch:
            batches.append(list(batch.records))
    return batches


def seed(fake: FakeBill, who: Principal, clock: Clock, names: list[str], step_ms: float = 1) -> list[str]:
    ids = []
    for name in names:
        ids.append(fake.resources.create(who, "vendors", {"name": name}).id)
        clock.tick(step_ms)
    return ids


def test_syncable_resources_come_from_the_spec() -> None:
    found = syncable()
    assert {name for name, t in found.items() if t.mode == "cursor"} >= {"bills", "vendors", "invoices", "payments"}
    assert found["spend.transactions"].cursor_field == "updatedTime" and not found["spend.transactions"].sortable
    assert found["spend.budgets"].mode == "scan"


async def test_first_run_delivers_everything_in_updated_time_order_archived_included(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal
) -> None:
    ids = seed(fake_bill, who, clock, [f"v{i}" for i in range(7)])
    fake_bill.resources.set_archived(who, "vendors", fake_bill.state.record(who.scope, "vendors", ids[2]), True)
    clock.tick(100)
    store = MemoryCheckpoint()
    batches = await run(changes(bill_client, store, clock, page_size=3))
    records = [r for b in batches for r in b]
    assert [r.name for r in records] == ["v0", "v1", "v3", "v4", "v5", "v6", "v2"]
    assert records[-1].archived is True
    assert len(records) == len({r.id for r in records})
    state = store.states["vendors"]
    assert state["window"] is None and state["organization_id"] == fake_bill.credentials.organization_id
    # the checkpoint is the window's upper bound (now - lag), not the newest updatedTime seen
    assert state["completed_to"] == int((clock.now - LAG).timestamp() * 1000)


async def test_the_next_run_reads_the_overlap_again_but_delivers_only_new_versions(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal
) -> None:
    ids = seed(fake_bill, who, clock, ["a", "b", "c"])
    clock.tick(100)
    store = MemoryCheckpoint()
    assert len([r for b in await run(changes(bill_client, store, clock)) for r in b]) == 3
    assert await run(changes(bill_client, store, clock)) == []  # nothing new: no batch at all
    fake_bill.resources.update(who, "vendors", fake_bill.state.record(who.scope, "vendors", ids[1]), {"name": "b2"})
    clock.tick(100)
    again = [r for b in await run(changes(bill_client, store, clock)) for r in b]
    assert [r.name for r in again] == ["b2"]


async def test_a_record_updated_between_pages_is_neither_skipped_nor_stale(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal
) -> None:
    ids = seed(fake_bill, who, clock, [f"v{i}" for i in range(10)])
    clock.tick(100)
    store = MemoryCheckpoint()
    mirror: dict[str, Any] = {}
    sync = changes(bill_client, store, clock, page_size=3)
    async for batch in sync:
        async with batch:
            mirror.update({r.id: r for r in batch.records})
        if sync.stats.batches == 1:  # a record already read, and one not read yet, change now
            for rid in (ids[0], ids[5]):
                record = fake_bill.state.record(who.scope, "vendors", rid)
                fake_bill.resources.update(who, "vendors", record, {"name": "changed"})
            clock.tick(1)
    # nobody skipped by the shift; ids[5]'s new version is above this run's window: the next run brings it
    assert set(mirror) == set(ids) - {ids[5]}
    clock.tick(100)
    for batch_records in await run(changes(bill_client, store, clock, page_size=3)):
        mirror.update({r.id: r for r in batch_records})
    assert mirror[ids[0]].name == mirror[ids[5]].name == "changed"


async def test_more_than_a_page_in_one_millisecond_is_drained(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal
) -> None:
    seed(fake_bill, who, clock, ["first"])
    seed(fake_bill, who, clock, [f"same{i}" for i in range(8)], step_ms=0)
    clock.tick(1)
    seed(fake_bill, who, clock, ["last"])
    clock.tick(100)
    batches = await run(changes(bill_client, MemoryCheckpoint(), clock, page_size=3))
    names = [r.name for b in batches for r in b]
    assert names[0] == "first" and names[-1] == "last" and sorted(names[1:-1]) == [f"same{i}" for i in range(8)]


async def test_each_batch_must_be_acknowledged_before_the_next(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal
) -> None:
    seed(fake_bill, who, clock, [f"v{i}" for i in range(5)])
    clock.tick(100)
    with pytest.raises(SyncError, match="commit"):
        async for _batch in changes(bill_client, MemoryCheckpoint(), clock, page_size=2):
            pass


async def test_a_checkpoint_of_another_organization_is_refused(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal
) -> None:
    seed(fake_bill, who, clock, ["a"])
    clock.tick(100)
    store = MemoryCheckpoint()
    await run(changes(bill_client, store, clock))
    with pytest.raises(CheckpointError, match="organization"):
        await run(changes(bill_client, store, clock, organization_id="00801OTHERORG"))
    store.states["bills"] = dict(store.states["vendors"])
    with pytest.raises(CheckpointError, match="vendors"):
        await run(changes(bill_client, store, clock, "bills"))


async def test_unknown_resources_are_refused_naming_the_known_ones(bill_client: AsyncBill, clock: Clock) -> None:
    with pytest.raises(ArgumentError, match="vendors"):
        changes(bill_client, MemoryCheckpoint(), clock, "nonsense")


async def test_spend_transactions_sync_in_time_slices(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock
) -> None:
    base = clock.now
    for i in range(23):
        stamp = (base + timedelta(milliseconds=i * 7 if i < 20 else 20 * 7)).isoformat(timespec="milliseconds")
        fake_bill.state.put("spend/transactions", {"id": f"tx{i:02d}", "uuid": f"tx{i:02d}", "updatedTime": stamp})
    clock.tick(1000)
    batches = await run(changes(bill_client, MemoryCheckpoint(), clock, "spend.transactions", page_size=4))
    ids = [r.id for b in batches for r in b]
    assert sorted(ids) == [f"tx{i:02d}" for i in range(23)] and len(ids) == 23
    assert ids[:20] == [f"tx{i:02d}" for i in range(20)]  # in updatedTime order


async def test_resources_without_a_time_cursor_sync_by_content_hash(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock
) -> None:
    for name in ("A", "B", "C"):
        fake_bill.state.put("spend/budgets", {"id": f"bud{name}", "name": name})
    store = MemoryCheckpoint()
    first = await run(changes(bill_client, store, clock, "spend.budgets"))
    assert sorted(r.name for b in first for r in b) == ["A", "B", "C"]
    assert await run(changes(bill_client, store, clock, "spend.budgets")) == []
    fake_bill.state.get("spend/budgets", "budB")["name"] = "B2"
    fake_bill.state.remove(fake_bill.credentials.organization_id, "spend/budgets", "budC")
    removed: list[str] = []
    changed = []
    async for batch in changes(bill_client, store, clock, "spend.budgets"):
        async with batch:
            changed += [r.name for r in batch.records]
            removed += batch.removed
    assert changed == ["B2"] and removed == ["budC"]


async def test_a_list_that_ignores_the_sort_is_detected_not_trusted(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(fake_bill, who, clock, [f"v{i}" for i in range(6)])
    for record in fake_bill.state.records(who.scope, "vendors")[:3]:  # out of insertion order by updatedTime
        record.data["updatedTime"] = (clock.now + timedelta(milliseconds=10)).isoformat(timespec="milliseconds")
    clock.tick(100)
    from bill_sdk.testing import listing

    monkeypatch.setattr(listing, "parse_sort", lambda text, known: [])  # a server that ignores `sort`
    with pytest.raises(SyncError, match="did not sort"):
        await run(changes(bill_client, MemoryCheckpoint(), clock, page_size=10))


async def test_a_stuck_archived_stream_does_not_deliver_live_records_past_its_batch(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal
) -> None:
    seed(fake_bill, who, clock, ["early"])
    for record_id in seed(fake_bill, who, clock, [f"gone{i}" for i in range(5)], step_ms=0):
        record = fake_bill.state.record(who.scope, "vendors", record_id)
        record.data["archived"] = True  # archived, all in one millisecond: more than a page of them
    clock.tick(5)
    seed(fake_bill, who, clock, ["late"])
    clock.tick(100)
    order = []
    async for batch in changes(bill_client, MemoryCheckpoint(), clock, page_size=3):
        assert all(r.updated_time <= batch.position for r in batch.records)
        order += [r.name for r in batch.records]
        await batch.commit()
    assert order[0] == "early" and order[-1] == "late" and sorted(order[1:-1]) == [f"gone{i}" for i in range(5)]
