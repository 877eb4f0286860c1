"""``bench_changes()``: an incremental sync of 100,000 records against plain paging of the same records, one run.

Not part of ``make test``. Call it from bench/run.py (``from changes import bench_changes``) or by hand::

    .venv/bin/python bench/changes.py                       # 100,000 records, 3 paired runs, prints JSON
    .venv/bin/python bench/changes.py --instructions        # instructions per record under valgrind
    .venv/bin/python bench/changes.py --interleaved --runs 5 [--no-gc]
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

The two loops (``worker`` mode runs one in a fresh interpreter, so that its memory is the SDK's alone):

- ``plain``: ``async for page in bill.vendors.pages(page_size=100)`` (the archived 5% are not listed);
- ``sync``: ``async for batch in bill.changes("vendors", checkpoint=MemoryCheckpoint())``, every batch
  acknowledged: a first run, so every record (archived ones too, read as a second stream) is delivered.

Three ways of measuring the same two loops, all against the fixed server:

- ``count_instructions`` (``--instructions``): each worker under valgrind's cachegrind, against 2,000 records and
  against ``--records``; instructions per delivered record are the difference over the difference, so start-up
  cancels out. A count, not a time: it repeats to 0.05% whatever else the machine is doing. Needs valgrind.
- ``bench_interleaved`` (``--interleaved``): both loops in one fresh process, a page and a batch in turn, timed
  with the process's CPU clock, so both see the same state of the machine (whose speed differs by up to 2x
  between processes).
- ``bench_changes`` (default): each loop in its own fresh interpreter, paired runs: items/s (wall clock), items
  per second of the client process's own CPU, and peak RSS growth over the loop (VmHWM after minus VmRSS before,
  Linux); spreads by about 30% per pair on a 2-core VM.

Goals: sync records per instruction and per client-CPU second at least 0.9 x plain paging's in the same run;
sync peak growth under 30 MB. What the sync does beyond plain paging: keyset re-reads of one boundary record per
page, the checks of every answer, the merge of the live and archived streams, de-duplication, batches and their
acknowledgement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
PAGE_SIZE = 100
ITEMS_GOAL = 0.9  # sync items/s >= 0.9 x plain paging
MEMORY_GOAL_MB = 30.0
BASELINE_RECORDS = 2_000  # the instruction count's small run (see count_instructions)


def bench_changes(records: int = 100_000, runs: int = 3, server_kind: str = "fixed") -> dict[str, Any]:
    """Start a server (`fixed`: precomputed answers; `fakebill`) with `records` vendors, measure `runs` paired
    (plain, sync) runs; returns medians and goals."""
    results: dict[str, list[dict[str, Any]]] = {"plain": [], "sync": []}
    with _server(records, server_kind) as ready:
        for _ in range(runs):
            for mode in ("plain", "sync"):
                out = subprocess.run(
                    [sys.executable, str(Path(__file__)), "worker", mode, ready],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=_env(),
                )
                results[mode].append(json.loads(out.stdout))
    plain = statistics.median(r["items_per_s"] for r in results["plain"])
    sync = statistics.median(r["items_per_s"] for r in results["sync"])
    peak = statistics.median(r["peak_growth_mb"] for r in results["sync"])
    pairs = list(zip(results["plain"], results["sync"], strict=True))
    ratios = [s["items_per_s"] / p["items_per_s"] for p, s in pairs]
    cpu_ratios = [s["items_per_cpu_s"] / p["items_per_cpu_s"] for p, s in pairs]
    return {
        "records": records,
        "server": server_kind,
        "seed_seconds": json.loads(ready)["seed_seconds"],
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


def count_instructions(records: int = 100_000, baseline: int = BASELINE_RECORDS) -> dict[str, Any] | None:
    """Instructions per delivered record of plain paging and of the sync, counted by valgrind (cachegrind): a
    count of the client's own work that comes out the same whatever else the machine is doing, where its CPU
    seconds swing by a factor of two. Each mode's worker runs under valgrind against the fixed server holding
    `baseline` vendors, then `records`: the difference in instructions over the difference in delivered records
    leaves out what both runs share (interpreter start, imports, sign-in, the first page). ``PYTHONHASHSEED`` is
    fixed so that a run repeats. None when valgrind is not installed."""
    if shutil.which("valgrind") is None:
        return None
    counted: dict[int, dict[str, tuple[int, int]]] = {}
    for size in (baseline, records):
        counted[size] = {}
        with _server(size, "fixed") as ready, tempfile.TemporaryDirectory() as tmp:
            for mode in ("plain", "sync"):
                out_file = Path(tmp) / f"{mode}.cachegrind"
                command = [
                    "valgrind",
                    "--tool=cachegrind",
                    "--cache-sim=no",
                    f"--cachegrind-out-file={out_file}",
                    sys.executable,
                    str(Path(__file__)),
                    "worker",
                    mode,
                    ready,
                ]
                out = subprocess.run(command, capture_output=True, text=True, check=True, env=_env(hash_seed="0"))
                counted[size][mode] = (_instructions(out_file), int(json.loads(out.stdout)["items"]))
    per_item = {}
    for mode in ("plain", "sync"):
        (small, small_items), (large, large_items) = counted[baseline][mode], counted[records][mode]
        per_item[mode] = (large - small) / (large_items - small_items)
    ratio = per_item["plain"] / per_item["sync"]  # sync records per instruction, relative to plain paging's
    return {
        "records": records,
        "baseline_records": baseline,
        "plain_instructions_per_item": per_item["plain"],
        "sync_instructions_per_item": per_item["sync"],
        "ratio": ratio,
        "goal_met": ratio >= ITEMS_GOAL,
        "counts": {
            str(size): {m: {"instructions": i, "items": n} for m, (i, n) in c.items()} for size, c in counted.items()
        },
    }


def _instructions(cachegrind_out: Path) -> int:
    """The total of a cachegrind output file (its ``summary:`` line: instructions executed, with --cache-sim=no)."""
    for line in cachegrind_out.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"{cachegrind_out}: no summary line")


@contextmanager
def _server(records: int, kind: str) -> Iterator[str]:
    """The server in its own process (``serve`` mode) until the block ends; yields its ready line (JSON)."""
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__)), "serve", "--records", str(records), "--server", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline()
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)


def _env(hash_seed: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
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


def interleaved(ready: dict[str, Any], rounds: int, *, gc_off: bool = False) -> list[dict[str, Any]]:
    """Plain paging and a first sync in one process, a page of one and a batch of the other in turn (whichever has
    delivered fewer records goes next), each step timed by the process's CPU clock: both see the same state of
    the machine, whose speed drifts by a factor of two between fresh processes. One result per round. The
    cyclic GC is charged to whichever side's allocation sets it off, which is not always the side whose objects
    it collects (`gc_off`: no cyclic GC during the rounds, to see its share)."""
    import asyncio
    import gc
    from collections.abc import AsyncIterator

    from bill_sdk import AsyncBill
    from bill_sdk.changes import MemoryCheckpoint

    async def plain_steps(bill: AsyncBill) -> AsyncIterator[int]:
        async for page in bill.vendors.pages(page_size=PAGE_SIZE):
            yield len(page.results)

    async def sync_steps(bill: AsyncBill) -> AsyncIterator[int]:
        async for batch in bill.changes("vendors", checkpoint=MemoryCheckpoint()):
            yield len(batch.records)
            await batch.commit()

    async def one_round(bill: AsyncBill) -> dict[str, Any]:
        steps = {"plain": plain_steps(bill), "sync": sync_steps(bill)}
        items = dict.fromkeys(steps, 0)
        cpu = dict.fromkeys(steps, 0.0)
        while steps:
            mode = min(steps, key=items.__getitem__)
            started = time.process_time()
            try:
                items[mode] += await anext(steps[mode])
            except StopAsyncIteration:
                del steps[mode]
            cpu[mode] += time.process_time() - started
        per_cpu_s = {mode: items[mode] / cpu[mode] for mode in items}
        return {"items": items, "cpu_seconds": cpu, "items_per_cpu_s": per_cpu_s}

    async def main() -> list[dict[str, Any]]:
        options = {k: ready[k] for k in ("dev_key", "username", "password", "organization_id")}
        async with AsyncBill(base_url=ready["url"], env={}, **options) as bill:
            await bill.vendors.list(max=PAGE_SIZE)  # sign in, load the vendor modules
            bill.changes("vendors", checkpoint=MemoryCheckpoint())  # load the sync's modules and its table
            if gc_off:
                gc.disable()
            try:
                return [await one_round(bill) for _ in range(rounds)]
            finally:
                gc.enable()

    return asyncio.run(main())


def bench_interleaved(records: int = 100_000, rounds: int = 5, *, gc_off: bool = False) -> dict[str, Any]:
    """:func:`interleaved` in a fresh process against the fixed server: sync items per client-CPU second over
    plain paging's, per round (median and range)."""
    with _server(records, "fixed") as ready:
        out = subprocess.run(
            [sys.executable, str(Path(__file__)), "interleaved", ready, str(rounds), "gc-off" if gc_off else "gc-on"],
            capture_output=True,
            text=True,
            check=True,
            env=_env(),
        )
    results = json.loads(out.stdout)
    ratios = [r["items_per_cpu_s"]["sync"] / r["items_per_cpu_s"]["plain"] for r in results]
    return {
        "records": records,
        "plain_items_per_cpu_s": statistics.median(r["items_per_cpu_s"]["plain"] for r in results),
        "sync_items_per_cpu_s": statistics.median(r["items_per_cpu_s"]["sync"] for r in results),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "goal_met": statistics.median(ratios) >= ITEMS_GOAL,
        "rounds": results,
    }


def _main() -> None:
    if sys.argv[1:2] == ["worker"]:  # worker MODE READY-JSON
        print(json.dumps(worker(sys.argv[2], json.loads(sys.argv[3]))))
        return
    if sys.argv[1:2] == ["interleaved"]:  # interleaved READY-JSON ROUNDS gc-on|gc-off
        print(json.dumps(interleaved(json.loads(sys.argv[2]), int(sys.argv[3]), gc_off=sys.argv[4] == "gc-off")))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve"])
    parser.add_argument("--server", default="fixed", choices=["fixed", "fakebill"], help="what answers (default fixed)")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions under valgrind instead (fixed server)"
    )
    parser.add_argument(
        "--interleaved", action="store_true", help="plain and sync in turn in one process, --runs rounds (fixed server)"
    )
    parser.add_argument("--no-gc", action="store_true", help="with --interleaved: the cyclic GC off during the rounds")
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.records, args.server)
    elif args.instructions:
        print(json.dumps(count_instructions(args.records), indent=1))
    elif args.interleaved:
        result = bench_interleaved(args.records, args.runs, gc_off=args.no_gc)
        summary = {k: v for k, v in result.items() if k != "rounds"}
        print(json.dumps(summary, indent=1))
    else:
        result = bench_changes(args.records, args.runs, args.server)
        summary = {k: v for k, v in result.items() if k != "runs"}
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    _main()
