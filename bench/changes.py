"""``bench_changes()``: an incremental sync of 100,000 records against plain paging of the same records, one run.

Not part of ``make test``. Call it from bench/run.py (``from changes import bench_changes``) or by hand::

    .venv/bin/python bench/changes.py                 # 100,000 records, 3 paired runs, prints JSON
    .venv/bin/python bench/changes.py --records 20000 --runs 1

FakeBill runs in its own process (``serve`` mode), its vendors seeded straight into its state (5% archived,
one distinct millisecond each, an hour old so nothing is within the sync's lag or overlap) and response
validation off. Each measurement is a fresh interpreter (``worker`` mode) so that its memory is the SDK's alone:

- ``plain``: ``async for vendor in bill.vendors.iter(page_size=100)`` (the archived 5% are not listed);
- ``sync``: ``async for batch in bill.changes("vendors", checkpoint=MemoryCheckpoint())``, every batch
  acknowledged: a first run, so every record (archived ones too, read as a second stream) is delivered.

Reported per mode: items/s (delivered records per second, wall clock), items per second of the client process's
own CPU (FakeBill runs in another process, so this is the SDK's cost, robust to a loaded machine) and peak RSS
growth over the loop (VmHWM after minus VmRSS before, Linux). Goals: sync items/s at least 0.9 x plain paging's
in the same run; sync peak growth under 30 MB. Wall-clock items/s are mostly FakeBill's time per page, which
differs by kind of request (a plain page is read in stored order only as far as its offset; a sync request
checks FakeBill's time index against every one of the 100,000 records), so the client-CPU ratio is the one that
compares the SDK's work: keyset re-reads of one boundary record per page, checks, de-duplication, batches.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
PAGE_SIZE = 100
ITEMS_GOAL = 0.9  # sync items/s >= 0.9 x plain paging
MEMORY_GOAL_MB = 30.0


def bench_changes(records: int = 100_000, runs: int = 3) -> dict[str, Any]:
    """Start FakeBill with `records` vendors, measure `runs` paired (plain, sync) runs; returns medians and goals."""
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__)), "serve", "--records", str(records)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        results: dict[str, list[dict[str, Any]]] = {"plain": [], "sync": []}
        for _ in range(runs):
            for mode in ("plain", "sync"):
                out = subprocess.run(
                    [sys.executable, str(Path(__file__)), "worker", mode, json.dumps(ready)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=_env(),
                )
                results[mode].append(json.loads(out.stdout))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    plain = statistics.median(r["items_per_s"] for r in results["plain"])
    sync = statistics.median(r["items_per_s"] for r in results["sync"])
    peak = statistics.median(r["peak_growth_mb"] for r in results["sync"])
    pairs = list(zip(results["plain"], results["sync"], strict=True))
    ratios = [s["items_per_s"] / p["items_per_s"] for p, s in pairs]
    cpu_ratios = [s["items_per_cpu_s"] / p["items_per_cpu_s"] for p, s in pairs]
    return {
        "records": records,
        "seed_seconds": ready["seed_seconds"],
        "plain_items_per_s": plain,
        "sync_items_per_s": sync,
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        # the client process's own CPU (FakeBill runs elsewhere): the SDK's cost, not the server's or the load's
        "plain_items_per_client_cpu_s": statistics.median(r["items_per_cpu_s"] for r in results["plain"]),
        "sync_items_per_client_cpu_s": statistics.median(r["items_per_cpu_s"] for r in results["sync"]),
        "client_cpu_ratio": statistics.median(cpu_ratios),
        "client_cpu_ratio_range": [min(cpu_ratios), max(cpu_ratios)],
        "sync_peak_growth_mb": peak,
        "plain_peak_growth_mb": statistics.median(r["peak_growth_mb"] for r in results["plain"]),
        "sync_pages": statistics.median(r["pages"] for r in results["sync"]),
        "plain_pages": statistics.median(r["pages"] for r in results["plain"]),
        "items_goal_met": statistics.median(ratios) >= ITEMS_GOAL,
        "client_cpu_goal_met": statistics.median(cpu_ratios) >= ITEMS_GOAL,
        "memory_goal_met": peak < MEMORY_GOAL_MB,
        "runs": results,
    }


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(BENCH), env.get("PYTHONPATH", "")])
    return env


# -- the FakeBill process ------------------------------------------------------------------------------------


def serve(records: int) -> None:
    from datetime import UTC, datetime, timedelta

    from bill_sdk.testing import FakeBill

    started = time.perf_counter()
    fake = FakeBill(validate_responses=False)  # the bench measures the SDK, not FakeBill's checks
    org = fake.credentials.organization_id
    base = datetime.now(UTC) - timedelta(hours=1)
    for i in range(records):  # straight into the state: no HTTP, no hooks
        stamp = (base + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"
        fake.state.add(
            org,
            "vendors",
            {
                "id": f"00901BENCH{i:010d}",
                "name": f"Vendor {i}",
                "shortName": f"V{i}",
                "email": f"ap{i}@example.com",
                "phone": "555-0100",
                "accountType": "BUSINESS",
                "billCurrency": "USD",
                "address": {"line1": f"{i} Main St", "city": "San Jose", "zipOrPostalCode": "95113", "country": "US"},
                "archived": i % 20 == 7,
                "createdTime": stamp,
                "updatedTime": stamp,
            },
        )
    seeded = time.perf_counter() - started
    c = fake.credentials
    with fake.serve() as url:
        ready = {
            "url": url.url,
            "dev_key": c.dev_key,
            "username": c.username,
            "password": c.password,
            "organization_id": c.organization_id,
            "seed_seconds": seeded,
        }
        print(json.dumps(ready), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


# -- one measurement in a fresh interpreter --------------------------------------------------------------------


def worker(mode: str, ready: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from workers import memory_kib, reset_peak

    from bill_sdk import AsyncBill
    from bill_sdk.changes import MemoryCheckpoint, SyncStats

    async def main() -> dict[str, Any]:
        options = {k: ready[k] for k in ("dev_key", "username", "password", "organization_id")}
        async with AsyncBill(base_url=ready["url"], env={}, **options) as bill:
            await bill.vendors.list(max=PAGE_SIZE)  # sign in and load the vendor modules before the baseline
            pages = 0
            items = 0
            peak_reset = reset_peak()
            before = memory_kib()
            started, cpu_started = time.perf_counter(), time.process_time()
            if mode == "plain":
                async for page in bill.vendors.pages(page_size=PAGE_SIZE):
                    pages += 1
                    items += len(page.results)
            else:
                stats = SyncStats()

                def count(current: SyncStats) -> None:
                    nonlocal stats
                    stats = current

                async for batch in bill.changes("vendors", checkpoint=MemoryCheckpoint(), on_page=count):
                    items += len(batch.records)
                    await batch.commit()
                pages = stats.pages
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            after = memory_kib()
            return {
                "mode": mode,
                "items": items,
                "pages": pages,
                "seconds": elapsed,
                "items_per_s": items / elapsed,
                "cpu_seconds": cpu,
                "items_per_cpu_s": items / cpu,
                "peak_growth_mb": (after["VmHWM"] - before["VmRSS"]) * 1024 / 1e6,
                "rss_growth_mb": (after["VmRSS"] - before["VmRSS"]) * 1024 / 1e6,
                "peak_reset": peak_reset,
            }

    return asyncio.run(main())


def _main() -> None:
    if sys.argv[1:2] == ["worker"]:  # worker MODE READY-JSON
        print(json.dumps(worker(sys.argv[2], json.loads(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve"])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.records)
    else:
        result = bench_changes(args.records, args.runs)
        summary = {k: v for k, v in result.items() if k != "runs"}
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    _main()
