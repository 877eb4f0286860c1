"""SyncScheduler: webhook events as hints, bursts coalesced, one run at a time per resource."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest

from bill_sdk.changes import SyncScheduler
from bill_sdk.changes._scheduler import resource_for_event


def test_event_types_name_the_resource_they_sync() -> None:
    assert resource_for_event("bill.updated") == "bills"
    assert resource_for_event("vendor.archived") == "vendors"
    assert resource_for_event("payment.failed") == "payments"
    assert resource_for_event("spend.transaction.updated") == "spend.transactions"
    assert resource_for_event("spend.reimbursement.created") == "spend.reimbursements"
    assert resource_for_event("bank-account.updated") is None
    assert resource_for_event("autopay.failed") is None


async def test_a_burst_of_hints_is_one_run_and_a_hint_during_a_run_is_one_more() -> None:
    started: list[str] = []
    release = anyio.Event()

    async def sync(resource: str) -> None:
        started.append(resource)
        if len(started) == 2:
            await release.wait()

    async with SyncScheduler(sync, delay=0.01) as scheduler:
        for _ in range(5):
            assert scheduler.hint("bill.updated") == "bills"
        scheduler.hint("vendor.created")
        assert scheduler.hint("autopay.failed") is None
        await anyio.sleep(0.1)
        assert sorted(started) == ["bills", "vendors"]
        scheduler.hint("bill.created")  # the first run of bills is over: a new one
        await anyio.sleep(0.05)
        for _ in range(3):
            scheduler.hint("bill.updated")  # while that run is blocked: exactly one more afterwards
        release.set()
        await anyio.sleep(0.1)
    assert started.count("bills") == 3 and scheduler.runs == {"bills": 3, "vendors": 1}


async def test_a_failing_run_is_counted_and_the_scheduler_goes_on() -> None:
    async def sync(resource: str) -> None:
        raise RuntimeError("BILL is down")

    async with SyncScheduler(sync, delay=0) as scheduler:
        scheduler.hint("bills")
        await anyio.sleep(0.05)
        scheduler.hint("bills")
        await anyio.sleep(0.05)
    assert scheduler.failures == {"bills": 2}


async def test_the_webhook_handler_hints_and_passes_the_event_on() -> None:
    synced: list[str] = []
    seen: list[object] = []

    async def sync(resource: str) -> None:
        synced.append(resource)

    async def on_event(event: object) -> None:
        seen.append(event)

    async with SyncScheduler(sync, delay=0) as scheduler:
        event = SimpleNamespace(event_type="invoice.updated")
        await scheduler.handler(on_event)(event)
        await anyio.sleep(0.05)
    assert synced == ["invoices"] and seen == [event]
    with pytest.raises(RuntimeError, match="not running"):
        scheduler.hint("bills")
