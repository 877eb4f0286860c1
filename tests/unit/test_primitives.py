"""bill_sdk._primitives, Bill's side: the deadline bounds every wait, the slots are first come first served and
never lost, nested calls end at the outer call's deadline."""

from __future__ import annotations

import threading
import time

import pytest

from bill_sdk._primitives import Backend, CapacityLimiter, DeadlinePassed, Lock


def test_a_slot_wait_ends_at_the_deadline_and_gives_up_its_place() -> None:
    slots = CapacityLimiter(1)
    with slots:
        started = time.monotonic()
        with pytest.raises(DeadlinePassed), Backend.deadline_scope(time.monotonic() + 0.1):
            slots.__enter__()
        assert 0.08 < time.monotonic() - started < 1.0
    assert slots.borrowed_tokens == 0
    with slots:  # the abandoned wait left no waiter behind to hand the slot to
        assert slots.borrowed_tokens == 1


def test_slots_go_to_the_longest_waiter() -> None:
    slots = CapacityLimiter(1)
    order: list[int] = []
    slots.__enter__()

    def take(n: int) -> None:
        with slots:
            order.append(n)

    threads = []
    for n in range(5):
        thread = threading.Thread(target=take, args=(n,))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # each one queues behind the previous
    slots.__exit__(None, None, None)
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2, 3, 4] and slots.borrowed_tokens == 0


def test_a_lock_wait_ends_at_the_deadline() -> None:
    lock = Lock()
    with lock, pytest.raises(DeadlinePassed), Backend.deadline_scope(time.monotonic() + 0.05):
        threading.Thread(target=lambda: None).start()
        lock.__enter__()


def test_a_nested_call_ends_at_the_outer_deadline() -> None:
    outer = time.monotonic() + 1
    with Backend.deadline_scope(outer) as effective:
        assert effective == outer
        with Backend.deadline_scope(outer + 60) as inner:
            assert inner == outer  # a login inside a call cannot outlive the call
        with Backend.deadline_scope(None) as unbounded:
            assert unbounded == outer
    with Backend.deadline_scope(None) as free:
        assert free is None
