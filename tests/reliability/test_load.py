"""Load held: 10,000 calls from 50 tasks sharing one client over loopback, then nothing left behind; cancellation
in the middle of requests (and of a login) leaves the client usable.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import warnings
from collections import Counter

import anyio
import pytest

from bill_sdk import AsyncBill
from bill_sdk.models import Address
from bill_sdk.testing import FakeBill
from tests import bodies

pytestmark = pytest.mark.integration

CALLS = 10_000
TASKS = 50


def client_for(fake: FakeBill, url: str, **options: object) -> AsyncBill:
    c = fake.credentials
    return AsyncBill(
        dev_key=c.dev_key,
        username=c.username,
        password=c.password,
        organization_id=c.organization_id,
        base_url=url,
        env={},
        **options,  # type: ignore[arg-type]
    )


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1


async def test_ten_thousand_calls_from_fifty_tasks_leave_nothing_behind(reliability_report: list[str]) -> None:
    # Response validation off: this measures the client under load, not FakeBill's schema checks.
    fake = FakeBill(seed=3, validate_responses=False)
    fds_before = open_fds()
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, fake.serve() as url:
        warnings.simplefilter("always")
        bill = client_for(fake, str(url))
        vendors = [
            str((await bill.vendors.create(body=bodies.vendor(f"Load {i}", address=Address(country="US")))).id)
            for i in range(10)
        ]
        tasks_before = len(asyncio.all_tasks())

        async def worker(n: int) -> None:
            for i in range(CALLS // TASKS):
                try:
                    if i % 10 == 0:
                        await bill.vendors.list(max=5)
                    else:
                        await bill.vendors.get(vendors[(n + i) % len(vendors)])
                    outcomes["ok"] += 1
                except Exception as exc:  # counted, then asserted below
                    outcomes[type(exc).__name__] += 1

        async with anyio.create_task_group() as tg:
            for n in range(TASKS):
                tg.start_soon(worker, n)
        elapsed = time.perf_counter() - started
        peak = max(fake.peak_in_flight.values())
        pool = bill._http._transport._pool  # type: ignore[attr-defined]
        open_before_close = len(pool.connections)
        await bill.aclose()
        open_after_close = len(pool.connections)
        tasks_after = len(asyncio.all_tasks())
        logins = fake.login_count
    gc.collect()
    fds_after = open_fds()

    assert outcomes == Counter(ok=CALLS), outcomes
    assert peak <= 3
    assert logins == 1
    assert open_before_close <= 3  # the pool never grew past the concurrency limit
    assert open_after_close == 0 and bill._http.is_closed
    assert tasks_after == tasks_before, "tasks left running after aclose()"
    assert fds_after <= fds_before, f"file descriptors leaked: {fds_before} -> {fds_after}"
    problems = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning | RuntimeWarning)]
    problems += [str(w.message) for w in caught if "event loop is closed" in str(w.message).lower()]
    assert not problems, problems
    reliability_report.append(
        f"{'load':32} {CALLS} calls from {TASKS} tasks in {elapsed:.1f} s ({CALLS / elapsed:.0f}/s), all ok, "
        f"FakeBill peak {peak}, 1 login, pool {open_before_close} -> {open_after_close} connections, "
        f"tasks {tasks_before} -> {tasks_after}, fds {fds_before} -> {fds_after}, warnings none"
    )


async def test_cancelling_tasks_mid_request_leaves_the_client_usable() -> None:
    fake = FakeBill(seed=4)
    with fake.serve() as url:
        async with client_for(fake, str(url)) as bill:
            vendor = await bill.vendors.create(body=bodies.vendor("Slow", address=Address(country="US")))
            slow = fake.faults.add("/v3/vendors/{vendorId}", method="GET", kind="latency", seconds=1.0, count=20)

            with anyio.move_on_after(0.3) as scope:
                async with anyio.create_task_group() as tg:
                    for _ in range(20):
                        tg.start_soon(bill.vendors.get, str(vendor.id))
            assert scope.cancelled_caught
            assert 1 <= slow.hits <= 3  # only the three in-flight requests reached BILL before the cancel

            # Every concurrency slot came back and the next calls go through at full width.
            assert bill._limiter.borrowed_tokens == 0
            fake.faults.remove(slow)
            results = []
            async with anyio.create_task_group() as tg:
                for _ in range(12):

                    async def one() -> None:
                        results.append((await bill.vendors.get(str(vendor.id))).name)

                    tg.start_soon(one)
            assert results == ["Slow"] * 12
            assert fake.login_count == 1


async def test_cancelling_the_task_that_is_logging_in_lets_another_log_in() -> None:
    fake = FakeBill(seed=5)
    with fake.serve() as url:
        async with client_for(fake, str(url)) as bill:
            login = fake.faults.add("/v3/login", kind="latency", seconds=1.0, count=1)
            first = asyncio.ensure_future(bill.organizations.get(fake.credentials.organization_id))
            await asyncio.sleep(0.2)  # the first call is now waiting for its (slow) login
            assert login.hits == 1
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            organization = await bill.organizations.get(fake.credentials.organization_id)
            assert organization.id == fake.credentials.organization_id
            assert bill.session is not None
            assert bill._limiter.borrowed_tokens == 0  # nothing held


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
def test_a_thousand_calls_under_trio_and_asyncio(anyio_backend: str) -> None:
    fake = FakeBill(seed=6, validate_responses=False)
    with fake.serve() as url:

        async def main() -> int:
            done = 0
            async with client_for(fake, str(url)) as bill:
                vendor = await bill.vendors.create(body=bodies.vendor("Either", address=Address(country="US")))

                async def worker() -> None:
                    nonlocal done
                    for _ in range(50):
                        await bill.vendors.get(str(vendor.id))
                        done += 1

                async with anyio.create_task_group() as tg:
                    for _ in range(20):
                        tg.start_soon(worker)
            return done

        assert anyio.run(main, backend=anyio_backend) == 1_000
    assert max(fake.peak_in_flight.values()) <= 3
