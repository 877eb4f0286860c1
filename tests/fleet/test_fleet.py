"""A fleet of worker processes sharing BILL's limits and session through a real Redis (issue #18, step 4).

Four processes x 25 tasks against one FakeBill served by uvicorn with a per-request latency (so requests really
overlap) and BILL's limit of 3 in flight per (dev key, organization):

* the control, without ``redis_url``: BDC_1322 and one login per worker;
* with ``redis_url``: no BDC_1322, never more than 3 in flight at FakeBill, one login for the whole fleet, and
  one re-login per forced session expiry;
* a worker killed with SIGKILL while holding every slot: its leases expire and the others finish;
* a test-sized hourly budget: the fleet sends exactly the budget, and the calls beyond it raise RateLimitError
  with ``retry_after`` (or wait, when the window resets within their deadline).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bill_sdk.testing import FakeBill

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WORKER = str(Path(__file__).with_name("worker.py"))
ORG = "00801FAKEORG"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


@contextmanager
def fake_bill(latency: float = 0.01, max_concurrent: int | None = 3, **options: Any) -> Iterator[tuple[FakeBill, str]]:
    fake = FakeBill(validate_responses=False, max_concurrent_per_org=max_concurrent, **options)
    fake.limits.latency = latency
    with fake.serve() as url:
        yield fake, str(url)


class Fleet:
    """Worker processes started together: each prints `ready`, then all get `go` at once."""

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, WORKER, json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_env(),
                text=True,
            )
            for config in configs
        ]
        for process in self.processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"

    def go(self) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()

    def results(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        answers = []
        for process in self.processes:
            out, _ = process.communicate(timeout=timeout)
            assert process.returncode == 0, out
            answers.append(json.loads(out.strip().splitlines()[-1]))
        return answers

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _config(url: str, redis_url: str | None, prefix: str, **more: Any) -> dict[str, Any]:
    return {"base_url": url, "redis_url": redis_url, "prefix": prefix, "tasks": 25, "calls": 2, **more}


def _total(results: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for result in results:
        total.update(result["outcomes"])
    return total


def test_without_redis_a_fleet_gets_bdc_1322_and_logs_in_once_per_worker(prefix: str) -> None:
    with fake_bill() as (fake, url):
        fleet = Fleet([_config(url, None, prefix) for _ in range(4)])
        try:
            fleet.go()
            results = fleet.results()
        finally:
            fleet.kill()
    total = _total(results)
    assert total["BDC_1322"] > 0 and fake.limits.refused[ORG] > 0  # the control: 4 x 3 slots is 12, not 3
    assert fake.login_count == 4


def test_with_redis_the_fleet_shares_three_slots_and_one_session(redis_server: str, prefix: str) -> None:
    with fake_bill() as (fake, url):
        fleet = Fleet([_config(url, redis_server, prefix) for _ in range(4)])
        try:
            fleet.go()
            # Force one session expiry in the middle of the run: exactly one worker logs in again.
            deadline = time.monotonic() + 20
            while sum(r.operation_id == "getOrganization" for r in fake.requests) < 60:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            fake.auth.expire()
            results = fleet.results()
        finally:
            fleet.kill()
    total = _total(results)
    assert total == {"ok": 4 * 25 * 2}
    assert fake.limits.refused.get(ORG, 0) == 0  # zero BDC_1322
    assert fake.peak_in_flight[ORG] == 3  # reached, never exceeded, at any instant
    assert fake.login_count == 2  # one login for the fleet, one re-login for the forced expiry
    assert sum(r["logins"] for r in results) == 2


def test_a_killed_worker_loses_its_slots_within_the_lease(redis_server: str, prefix: str) -> None:
    lease = 1.0
    with fake_bill() as (fake, url):
        victim = Fleet([_config(url, redis_server, prefix, mode="hold", tasks=3, lease_seconds=lease)])
        others = Fleet([_config(url, redis_server, prefix, tasks=5, calls=2, lease_seconds=lease) for _ in range(2)])
        try:
            victim.go()
            assert victim.processes[0].stdout is not None
            assert victim.processes[0].stdout.readline().strip() == "holding"  # all 3 fleet slots are its
            others.go()
            time.sleep(0.3)
            assert not [r for r in fake.requests if r.operation_id == "getOrganization"]  # nobody got a slot
            victim.processes[0].send_signal(signal.SIGKILL)
            killed = time.monotonic()
            first: list[float] = []

            def watch() -> None:
                while not any(r.operation_id == "getOrganization" for r in fake.requests):
                    time.sleep(0.005)
                first.append(time.monotonic())

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            results = others.results()
            watcher.join(5)
        finally:
            victim.kill()
            others.kill()
    assert _total(results) == {"ok": 2 * 5 * 2}  # the others finished
    assert first and first[0] - killed <= lease + 1.5  # free within the lease (+ a login and a loaded machine)
    assert fake.limits.refused.get(ORG, 0) == 0 and fake.peak_in_flight[ORG] <= 3


def test_without_redis_a_fleet_overruns_an_hourly_budget(prefix: str) -> None:
    """The control of the next test: FakeBill counts the hourly budget per dev key across every connection."""
    with fake_bill(hourly_request_limit=20, max_concurrent=None) as (fake, url):
        fleet = Fleet([_config(url, None, prefix, tasks=5, calls=3) for _ in range(3)])
        try:
            fleet.go()
            fleet.results()
        finally:
            fleet.kill()
    refused = [r for r in fake.requests if r.status == 429]  # BDC_1144: the only limit configured here
    assert len(fake.requests) >= 3 * 5 * 3 and len(refused) == len(fake.requests) - 20  # ~50 sent for 20


def test_an_hourly_budget_is_never_exceeded_by_the_fleet(redis_server: str, prefix: str) -> None:
    budget = 20  # requests per hour for the dev key, logins included (one login: 19 calls)
    with fake_bill(hourly_request_limit=budget) as (fake, url):
        fleet = Fleet(
            [_config(url, redis_server, prefix, tasks=5, calls=3, hourly_requests=[budget, 3600]) for _ in range(3)]
        )
        try:
            fleet.go()
            results = fleet.results()
        finally:
            fleet.kill()
    total = _total(results)
    assert total == {"ok": budget - 1, "rate_limited": 3 * 5 * 3 - (budget - 1)}
    assert len(fake.requests) == budget  # the fleet sent exactly its budget: no BDC_1144 from "BILL"
    assert all(r.status == 200 for r in fake.requests)
    retry_after = [value for r in results for value in r["retry_after"]]
    assert retry_after and all(0 < value <= 3600 for value in retry_after)


def test_a_call_waits_for_the_next_window_when_it_resets_within_its_deadline(redis_server: str, prefix: str) -> None:
    window = 1.0  # a test-sized window: 4 requests per second, 2 workers x 2 tasks x 3 calls (+ one login)
    with fake_bill() as (_, url):
        fleet = Fleet(
            [
                _config(url, redis_server, prefix, tasks=2, calls=3, hourly_requests=[4, window], timeout=10.0)
                for _ in range(2)
            ]
        )
        try:
            fleet.go()
            started = time.monotonic()
            results = fleet.results()
            elapsed = time.monotonic() - started
        finally:
            fleet.kill()
    assert _total(results) == {"ok": 12}  # nobody failed: they waited
    assert elapsed >= 2 * window * 0.9  # 13 requests at 4 per window take at least three windows
