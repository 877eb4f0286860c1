"""The keyset's two list helpers against their plain definitions: merging streams that are each in cursor order,
and cutting a sorted buffer at a millisecond (compared as datetimes, microseconds included)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bill_sdk.changes import Changes, MemoryCheckpoint
from bill_sdk.changes._engine import from_ms, to_ms

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def engine() -> Changes[Any]:
    return Changes(SimpleNamespace(vendors=object()), "vendors", checkpoint=MemoryCheckpoint())


def record(index: int, stamp: datetime) -> SimpleNamespace:
    return SimpleNamespace(id=f"v{index}", updated_time=stamp)


def stamps(rng: random.Random, count: int, *, naive: bool = False) -> list[datetime]:
    """Sorted instants over a few milliseconds, so that many share a millisecond or a whole datetime."""
    found = sorted(
        T0 + timedelta(microseconds=rng.randrange(0, 6000, rng.choice((1, 250, 1000)))) for _ in range(count)
    )
    return [s.replace(tzinfo=None) for s in found] if naive else found


@pytest.mark.parametrize("seed", range(200))
def test_merged_is_every_record_once_in_cursor_order(seed: int) -> None:
    rng = random.Random(seed)
    sync = engine()
    parts, index = [], 0
    for _ in range(rng.randint(0, 3)):
        part = []
        for stamp in stamps(rng, rng.randint(0, 12)):
            part.append(record(index, stamp))
            index += 1
        parts.append(part)
    before = [list(part) for part in parts]
    merged, tied = sync._merged(parts)
    assert sorted(r.id for r in merged) == sorted(r.id for part in parts for r in part)
    assert [r.updated_time for r in merged] == sorted(r.updated_time for part in parts for r in part)
    assert parts == before  # the parts themselves are left as they were
    # every tie between parts is reported (ties within one part are the page check's to find); a reported tie is one
    across = any(
        a.updated_time == b.updated_time for i, p in enumerate(parts) for q in parts[i + 1 :] for a in p for b in q
    )
    everywhere = len({r.updated_time for r in merged}) < len(merged)
    assert (not across or tied) and (not tied or everywhere)


def test_merged_with_naive_and_aware_stamps_orders_by_millisecond() -> None:
    sync = engine()
    aware = [record(0, T0 + timedelta(milliseconds=1)), record(1, T0 + timedelta(milliseconds=3))]
    naive = [record(2, (T0 + timedelta(milliseconds=2)).replace(tzinfo=None))]
    merged, tied = sync._merged([aware, naive])
    assert [r.id for r in merged] == ["v0", "v2", "v1"]
    assert tied  # stamps that cannot be compared: assumed to tie


@pytest.mark.parametrize("seed", range(200))
def test_cut_counts_the_records_at_or_before_a_millisecond(seed: int) -> None:
    rng = random.Random(seed)
    sync = engine()
    naive = seed % 5 == 0
    buffer = [record(i, stamp) for i, stamp in enumerate(stamps(rng, rng.randint(1, 15), naive=naive))]
    milliseconds = [to_ms(r.updated_time) for r in buffer]
    for bound in range(milliseconds[0] - 1, milliseconds[-1] + 2):
        assert sync._cut(buffer, bound) == sum(ms <= bound for ms in milliseconds)


@pytest.mark.parametrize("seed", range(20))
def test_the_filters_a_read_sends_are_what_the_filter_builders_write(seed: int) -> None:
    from bill_sdk._filters import all_of, where

    rng = random.Random(seed)
    sync = engine()
    archived = where("archived").eq(bool(seed % 2))
    for _ in range(5):
        lo = rng.randrange(0, 4_000_000_000_000)
        hi = lo + rng.randrange(0, 10_000_000)
        field = where("updatedTime")
        expected = all_of(field.gte(from_ms(lo)), field.lte(from_ms(hi)), archived)
        assert sync._filters(archived, lo, hi) == expected
        assert sync._filters(None, None, hi) == field.lte(from_ms(hi))
        assert sync._lower(lo) == from_ms(lo) and sync._upper(hi) == from_ms(hi + 1)
