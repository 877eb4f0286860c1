"""A mirror kept by repeated syncs while a seeded writer creates, updates and archives records in FakeBill between
page requests (same-millisecond changes, changes of records on pages already read): afterwards it equals FakeBill."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from bill_sdk import AsyncBill
from bill_sdk.changes import MemoryCheckpoint, SyncStats
from bill_sdk.testing import FakeBill
from bill_sdk.testing.sessions import Principal

from .conftest import Clock

MAX_WRITES = 150
MAX_RUNS = 60  # runs go on until the writer is done (bounded)


def snapshot(fake: FakeBill) -> dict[str, tuple[str, str, bool]]:
    return {d["id"]: (d["updatedTime"], d["name"], bool(d["archived"])) for d in fake.state.list("vendors")}


def mirrored(mirror: dict[str, Any]) -> dict[str, tuple[str, str, bool]]:
    return {
        rid: (r.updated_time.isoformat(timespec="milliseconds"), r.name, bool(r.archived)) for rid, r in mirror.items()
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_the_mirror_equals_fakebill_after_syncs_racing_a_writer(
    bill_client: AsyncBill, fake_bill: FakeBill, clock: Clock, who: Principal, seed: int
) -> None:
    rng = random.Random(seed)
    ids: list[str] = []
    for i in range(25):
        ids.append(fake_bill.resources.create(who, "vendors", {"name": f"seed{i}"}).id)
        clock.tick(rng.choice([0, 0, 1]))
    clock.tick(100)
    writes = {"done": 0, "same_ms": 0, "early": 0}

    def write(_stats: SyncStats) -> None:
        """Between page requests, as BILL's other users do: a few changes, often in the same millisecond."""
        for _ in range(rng.randint(0, 3)):
            if writes["done"] >= MAX_WRITES:
                return
            writes["done"] += 1
            roll = rng.random()
            if roll < 0.25:
                ids.append(fake_bill.resources.create(who, "vendors", {"name": f"new{writes['done']}"}).id)
            else:
                rid = rng.choice(ids[:5]) if rng.random() < 0.3 else rng.choice(ids)  # often one read long ago
                writes["early"] += rid in ids[:5]
                record = fake_bill.state.record(who.scope, "vendors", rid)
                assert record is not None
                if roll < 0.8:
                    fake_bill.resources.update(who, "vendors", record, {"name": f"upd{writes['done']}"})
                else:
                    fake_bill.resources.set_archived(who, "vendors", record, not record.data["archived"])
            step = rng.choice([0, 0, 0, 1, 2])
            writes["same_ms"] += step == 0
            clock.tick(step)

    store = MemoryCheckpoint()
    mirror: dict[str, Any] = {}
    runs = 0
    while writes["done"] < MAX_WRITES and runs < MAX_RUNS:
        runs += 1
        sync = bill_client.changes(
            "vendors",
            checkpoint=store,
            clock=clock,
            lag=timedelta(milliseconds=20),
            overlap=timedelta(milliseconds=rng.choice([0, 5, 50])),
            page_size=rng.choice([2, 3, 5]),
            on_page=write,
        )
        last_stamp = None
        async for batch in sync:
            stamps = [r.updated_time for r in batch.records]
            assert stamps == sorted(stamps) and (last_stamp is None or stamps[0] >= last_stamp)  # cursor order
            assert batch.position is not None and stamps[-1] <= batch.position  # never past what it acknowledges
            last_stamp = stamps[-1]
            async with batch:
                for record in batch.records:  # applied in delivery order, as a database would
                    mirror[record.id] = record
        clock.tick(rng.choice([0, 5, 30]))
    assert writes["done"] == MAX_WRITES and runs > 3 and writes["same_ms"] > 20 and writes["early"] > 5

    clock.tick(1000)  # the writer has stopped; one more run once the lag has passed
    async for batch in bill_client.changes("vendors", checkpoint=store, clock=clock, lag=timedelta(milliseconds=20)):
        async with batch:
            mirror.update({r.id: r for r in batch.records})
    assert mirrored(mirror) == snapshot(fake_bill)
