"""Fixtures for the incremental-sync tests: FakeBill with a wall clock the test moves, and an AsyncBill on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bill_sdk.testing import FakeBill
from bill_sdk.testing import pytest_plugin as _plugin
from bill_sdk.testing.sessions import Principal

fake_bill = _plugin.fake_bill
bill_client = _plugin.bill_client

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    """One wall clock for FakeBill's stamps and the sync's "now"."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self, milliseconds: float = 1) -> None:
        self.now += timedelta(milliseconds=milliseconds)


@pytest.fixture
def clock(fake_bill: FakeBill) -> Clock:
    clock = Clock()
    fake_bill.resources.wall_clock = clock
    return clock


@pytest.fixture
def who(fake_bill: FakeBill) -> Principal:
    return Principal("org", fake_bill.credentials.organization_id)
