"""``bench_changes()``: an incremental sync of 100,000 records against plain paging of the same records, one run.

Not part of ``make test``. Call it from bench/run.py (``from changes import bench_changes``) or by hand::

    .venv/bin/python bench/changes.py                       # 100,000 records, 3 paired runs, prints JSON
    .venv/bin/python bench/changes.py --records 20000 --runs 1 --server fakebill

The server runs in its own process (``serve`` mode) and holds the same vendors either way (5% archived, one
distinct millisecond each, an hour old so nothing is within the sync's lag or overlap):

- ``fixed`` (default): precomputed answers (each record's JSON encoded once; the sync's ``updatedTime``/``archived``
  filters found by bisection, plain pages by offset), a few microseconds per request and the same for both kinds,
  so the comparison is the SDK's work, as in bench/server.py's rows;
- ``fakebill``: FakeBill, response validation off. Its time per request is most of the wall clock and differs by
  kind (a plain page is read in stored order only as far as its offset; a sync request checks the time index
  against every record), and a busy server on the other core slows the client's own CPU too (caches), so these
  figures describe FakeBill end to end, not the SDK.

Each measurement is a fresh interpreter (``worker`` mode) so that its memory is the SDK's alone:

- ``plain``: ``async for page in bill.vendors.pages(page_size=100)`` (the archived 5% are not listed);
- ``sync``: ``async for batch in bill.changes("vendors", checkpoint=MemoryCheckpoint())``, every batch
  acknowledged: a first run, so every record (archived ones too, read as a second stream) is delivered.

Reported per mode: items/s (delivered records per second, wall clock), items per second of the client process's
own CPU (the SDK's cost, robust to a loaded machine) and peak RSS growth over the loop (VmHWM after minus VmRSS
before, Linux). Goals: sync items per client-CPU second at least 0.9 x plain paging's in the same run; sync peak
growth under 30 MB. What the sync does beyond plain paging: keyset re-reads of one boundary record per page, the
checks of every answer, de-duplication, batches and their acknowledgement.
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


def bench_changes(records: int = 100_000, runs: int = 3, server_kind: str = "fixed") -> dict[str, Any]:
    """Start a server (`fixed`: precomputed answers; `fakebill`) with `records` vendors, measure `runs` paired
    (plain, sync) runs; returns medians and goals."""
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__)), "serve", "--records", str(records), "--server", server_kind],
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
        "server": server_kind,
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


# -- the server processes ------------------------------------------------------------------------------------


def seed_records(records: int) -> list[dict[str, Any]]:
    """The vendors both servers hold: 5% archived, one distinct millisecond each, an hour old."""
    from datetime import UTC, datetime, timedelta

    base = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for i in range(records):
        stamp = (base + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"
        out.append(
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
            }
        )
    return out


class FixedVendors:
    """`GET /connect/v3/vendors` over precomputed records, answering both kinds of request in a few microseconds
    so that the server's share is small and the same for both: ``page=N`` (plain paging of the live records, N an
    offset) and the sync's ``filters`` (``updatedTime`` gte/lte, ``archived`` eq; sorted by ``updatedTime``),
    found by bisection. Each record's JSON is encoded once."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        from datetime import datetime

        def ms(text: str) -> int:
            return int(datetime.fromisoformat(text).timestamp() * 1000 + 0.5)

        streams: dict[bool, list[tuple[int, bytes]]] = {False: [], True: []}
        for record in records:
            streams[bool(record["archived"])].append((ms(record["updatedTime"]), json.dumps(record).encode()))
        self.rows = {flag: [row[1] for row in sorted(rows)] for flag, rows in streams.items()}
        self.keys = {flag: [row[0] for row in sorted(rows)] for flag, rows in streams.items()}
        self.ms = ms

    def route(self, method: bytes, target: bytes) -> bytes:
        import bisect
        from urllib.parse import parse_qs

        import server

        path, _, query = target.partition(b"?")
        if method == b"POST":
            return server.LOGIN_RESPONSE if path.endswith(b"/login") else server.LOGOUT_RESPONSE
        params = {k: v[0] for k, v in parse_qs(query.decode()).items()}
        size = int(params.get("max", "100"))
        offset = int(params.get("page", "0"))
        archived, start, end = False, 0, None
        for clause in params.get("filters", "").split(",") if "filters" in params else ():
            field, op, value = clause.split(":", 2)
            if field == "archived":
                archived = value == "true"
            elif op == "gte":
                start = self.ms(value.strip('"').replace("Z", "+00:00"))
            elif op == "lte":
                end = self.ms(value.strip('"').replace("Z", "+00:00"))
        keys, rows = self.keys[archived], self.rows[archived]
        low = bisect.bisect_left(keys, start) + offset
        high = len(keys) if end is None else bisect.bisect_right(keys, end)
        page = rows[low : min(high, low + size)]
        body = b'{"results":[' + b",".join(page) + b"]"
        if low + size < high:
            body += b',"nextPage":"%d"' % (offset + size)
        return server._response(body + b"}")


def serve(records: int, kind: str) -> None:
    started = time.perf_counter()
    seeded_records = seed_records(records)
    if kind == "fixed":
        import asyncio

        import server

        vendors = FixedVendors(seeded_records)
        seeded = time.perf_counter() - started

        def announce(port: int) -> None:
            ready = {"url": f"http://127.0.0.1:{port}", "dev_key": "d", "username": "u", "password": "p"}
            print(json.dumps({**ready, "organization_id": "008x", "seed_seconds": seeded}), flush=True)

        asyncio.run(server.serve(vendors.route, announce))
        return
    from bill_sdk.testing import FakeBill

    fake = FakeBill(validate_responses=False)  # the bench measures the SDK, not FakeBill's checks
    org = fake.credentials.organization_id
    for record in seeded_records:  # straight into the state: no HTTP, no hooks
        fake.state.add(org, "vendors", record)
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
    parser.add_argument("--server", default="fixed", choices=["fixed", "fakebill"], help="what answers (default fixed)")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.records, args.server)
    else:
        result = bench_changes(args.records, args.runs, args.server)
        summary = {k: v for k, v in result.items() if k != "runs"}
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    _main()
