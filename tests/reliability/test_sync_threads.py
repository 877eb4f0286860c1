"""One ``Bill`` shared by a pool of 20 threads, against FakeBill over loopback HTTP (uvicorn), while every session
expires mid-run: BILL's limit of 3 requests in flight per developer key and organization holds, as FakeBill counts
what it serves, and the threads that saw the expired session wait for one re-login."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bill_sdk import Bill
from bill_sdk.testing import FakeBill
from tests import bodies

pytestmark = pytest.mark.integration

THREADS = 20
CALLS_PER_THREAD = 10


def test_twenty_threads_keep_three_in_flight_and_renew_an_expired_session_once() -> None:
    skew = [0.0]  # seconds added to FakeBill's clock: 36 minutes expire every idle session
    fake = FakeBill(clock=lambda: time.monotonic() + skew[0], max_concurrent_per_org=3)
    c = fake.credentials
    with fake.serve() as url:
        fake.limits.latency = 0.02  # every request stays in flight a while, so concurrent ones really overlap
        with Bill(
            base_url=str(url),
            dev_key=c.dev_key,
            username=c.username,
            password=c.password,
            organization_id=c.organization_id,
            env={},
        ) as bill:
            ids = [str(bill.vendors.create(body=bodies.vendor(f"Vendor {i}")).id) for i in range(5)]
            assert fake.login_count == 1
            start = threading.Barrier(THREADS)
            expired = threading.Event()

            def work(n: int) -> list[str]:
                start.wait()
                seen = []
                for i in range(CALLS_PER_THREAD):
                    if n == 0 and i == 3:
                        skew[0] += 36 * 60  # the session expires while the other threads are mid-flight
                        expired.set()
                    seen.append(str(bill.vendors.get(ids[(n + i) % len(ids)]).id))
                return seen

            with ThreadPoolExecutor(THREADS) as pool:
                results = [f.result() for f in [pool.submit(work, n) for n in range(THREADS)]]
            in_flight_after = bill._limiter.borrowed_tokens
    fake.close()

    assert expired.is_set()
    assert sum(len(r) for r in results) == THREADS * CALLS_PER_THREAD  # every call succeeded
    assert fake.login_count == 2  # exactly one re-login for every thread that saw the expired session
    expired_answers = [r for r in fake.requests if r.status == 401]
    print(
        f"\n{len(expired_answers)} calls saw the expired session; FakeBill peak in flight {max(fake.peak_in_flight.values())}"
    )
    assert len(expired_answers) >= 2  # several threads saw the stale session (and all waited for one login)
    peak = max(fake.peak_in_flight.values())
    assert peak == 3  # never more than BILL allows, and the pool really used all three
    assert not any(fake.limits.refused.values())  # BILL never had to refuse one (BDC_1322)
    assert in_flight_after == 0
