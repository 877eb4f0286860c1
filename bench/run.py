"""bill-sdk benchmarks: each figure side by side with its floor (raw httpx + json.loads) measured in the same run.

Run with ``make bench`` (see bench/README.md). Starts bench/server.py on 127.0.0.1, a BILL-shaped server that
answers with prebuilt bytes, and measures

1. sequential ``vendors.get`` and 100-vendor ``vendors.list`` vs raw ``httpx.AsyncClient.get`` + ``json.loads``
2. 2,000 ``vendors.get`` with 50 in flight vs raw httpx under a semaphore of 50
3. parsing a 100-vendor page into models vs ``json.loads``
4. ``async for`` over 100,000 vendors: items/s and peak RSS growth (fresh subprocesses)
5. cold ``import bill_sdk`` vs ``import httpx``; cold import + first call
6. wall time of ``codegen/generate.py --check``
9. sequential ``vendors.get`` and ``vendors.list`` with ``Bill`` (sync) vs raw ``httpx.Client.get`` + ``json.loads``

then writes bench/results.json and bench/results.md and prints the Markdown table. A missed goal gets a short
cause from profiling: a line sampler compared with the floor (bench/profiling.py), or ``-X importtime``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.util
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import httpx
from profiling import compare, compare_async, explain
from server import PAGE_SIZE, PAGES, VENDOR_ID, page_body

from bill_sdk import AsyncBill, Bill
from bill_sdk._client import DEFAULT_MAX_CONCURRENCY
from bill_sdk._generated.api.vendors import list_vendors

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
# What AsyncBill sends on every Connect call; the floor sends the same headers.
RAW_HEADERS = {"Accept": "application/json", "devKey": "k", "sessionId": "s"}
# Subprocesses write bytecode even if the caller's environment says not to: cold imports use cached .pyc.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# Packages httpx/httpcore import whenever they are installed (here: dev and codegen dependencies) that an
# application's production install of bill-sdk does not have.
OPTIONAL_EXTRAS = ("trio", "rich", "click", "pygments", "h2", "socksio", "brotli", "brotlicffi", "zstandard")

SEQUENTIAL_GETS = 400
SEQUENTIAL_LISTS = 30
CONCURRENT_CALLS = 2_000
IN_FLIGHT = 50
SMALL_BURST = 500  # the profiling burst, same 50 in flight
PARSES = 30
IMPORT_REPEATS = 7
GENERATE_TIMEOUT = 180.0
FLOOR = "raw httpx + json.loads"
T = TypeVar("T")


@dataclass
class Row:
    """One line of the table: the SDK's figure, its floor, and whether the goal was met."""

    key: str
    title: str
    unit: str
    sdk: float
    floor: float | None = None
    floor_name: str = "—"
    ratio: float | None = None  # median of the per-run ratios sdk/floor
    ratio_range: tuple[float, float] | None = None
    target: str = "—"
    met: bool | None = None  # None: informational, no goal
    cause: str = ""
    runs: dict[str, list[float]] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


def compared(key: str, title: str, unit: str, mine: list[float], theirs: list[float], floor_name: str) -> Row:
    """A row from paired runs (run i of the SDK and of the floor ran back to back)."""
    ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
    return Row(
        key=key,
        title=title,
        unit=unit,
        sdk=statistics.median(mine),
        floor=statistics.median(theirs),
        floor_name=floor_name,
        ratio=statistics.median(ratios),
        ratio_range=(min(ratios), max(ratios)),
        runs={"sdk": mine, "floor": theirs},
    )


# --------------------------------------------------------------------------- server and subprocesses
@contextmanager
def bench_server() -> Iterator[str]:
    """bench/server.py on a free loopback port; stopped on exit, whatever the reason (it also dies with us)."""
    proc = subprocess.Popen(
        [PYTHON, str(BENCH / "server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=CHILD_ENV,
        start_new_session=True,  # a terminal's Ctrl-C reaches only us; we stop the server ourselves
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"bench server did not start (said {line!r}, exit code {proc.poll()})")
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker(
    mode: str, base_url: str, *python_flags: str, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    """Run ``bench/workers.py MODE PORT`` in a fresh interpreter: its JSON result and its stderr."""
    done = subprocess.run(
        [PYTHON, *python_flags, str(BENCH / "workers.py"), mode, base_url.rsplit(":", 1)[1]],
        capture_output=True,
        text=True,
        env={**CHILD_ENV, **(env or {})},
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout), done.stderr


def python(*args: str) -> tuple[float, str]:
    """Wall time of ``python ARGS`` in seconds, and its stderr."""
    started = time.perf_counter()
    done = subprocess.run([PYTHON, *args], capture_output=True, text=True, env=CHILD_ENV, check=True)
    return time.perf_counter() - started, done.stderr


def importtime(stderr: str) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, name with its nesting indent) for each line of ``-X importtime`` output."""
    entries = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, cumulative, name = line.removeprefix("import time:").split("|", 2)
            entries.append((int(own), int(cumulative), name[1:]))
    return entries


def importtime_ms(stderr: str, startup: set[str]) -> float:
    """Total cumulative time of the top-level imports, leaving out those the interpreter does at startup."""
    return sum(cum for _, cum, name in importtime(stderr) if not name.startswith(" ") and name not in startup) / 1e3


def importtime_by_package(stderr: str, count: int = 5) -> str:
    totals: dict[str, float] = defaultdict(float)
    for own, _, name in importtime(stderr):
        totals[name.strip().split(".", 1)[0]] += own / 1e3
    best = sorted(totals.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {ms:.0f}" for name, ms in best)


# --------------------------------------------------------------------------- interruption
_running: list[asyncio.Task[Any]] = []  # the benchmark coroutine in progress, if any


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C / SIGTERM: cancel the running benchmark coroutine, or raise KeyboardInterrupt outside of one."""
    if _running and not _running[0].done():
        _running[0].get_loop().call_soon_threadsafe(_running[0].cancel)
        return
    raise KeyboardInterrupt


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(work), cancellable by `interrupt` (cancellation propagates as asyncio.CancelledError)."""

    async def tracked() -> T:
        task = asyncio.current_task()
        assert task is not None
        _running.append(task)
        try:
            return await work
        finally:
            _running.remove(task)

    return asyncio.run(tracked())


# --------------------------------------------------------------------------- timing helpers
async def timed(make: Callable[[], Awaitable[Any]], calls: int) -> float:
    """Seconds for `calls` sequential awaits of make()."""
    started = time.perf_counter()
    for _ in range(calls):
        await make()
    return time.perf_counter() - started


def repeated(make: Callable[[], Awaitable[Any]], calls: int) -> Callable[[], Awaitable[float]]:
    """A coroutine function awaiting make() `calls` times in a row; it returns the seconds taken."""

    async def run() -> float:
        return await timed(make, calls)

    return run


async def paired_async(
    runs: int, sdk: Callable[[], Awaitable[float]], floor: Callable[[], Awaitable[float]]
) -> tuple[list[float], list[float]]:
    """Both measurements `runs` times, back to back, alternating which goes first so drift hits both alike."""
    mine: list[float] = []
    theirs: list[float] = []
    for run in range(runs):
        if run % 2:
            theirs.append(await floor())
            mine.append(await sdk())
        else:
            mine.append(await sdk())
            theirs.append(await floor())
    return mine, theirs


def paired(runs: int, sdk: Callable[[], T], floor: Callable[[], T]) -> dict[str, list[T]]:
    """`paired_async` for plain functions: {"sdk": [...], "floor": [...]}."""
    results: dict[str, list[T]] = {"sdk": [], "floor": []}
    for run in range(runs):
        order = [("floor", floor), ("sdk", sdk)] if run % 2 else [("sdk", sdk), ("floor", floor)]
        for side, measure in order:
            results[side].append(measure())
    return results


# --------------------------------------------------------------------------- 1-3: in this process
def sdk_client(base_url: str, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> AsyncBill:
    return AsyncBill(
        dev_key="k",
        username="u",
        password="p",
        organization_id="008x",
        base_url=base_url,
        env={},
        max_concurrency=max_concurrency,
    )


async def in_process(base_url: str, runs: int) -> list[Row]:
    rows: list[Row] = []
    vendor_url = f"{base_url}/connect/v3/vendors/{VENDOR_ID}"
    list_url = f"{base_url}/connect/v3/vendors?max=100"
    limits = httpx.Limits(max_connections=100)  # what AsyncBill uses
    async with (
        sdk_client(base_url) as bill,
        sdk_client(base_url, max_concurrency=IN_FLIGHT) as bill50,
        httpx.AsyncClient(trust_env=False, limits=limits, headers=RAW_HEADERS) as raw,
    ):

        async def sdk_get() -> Any:
            return await bill.vendors.get(VENDOR_ID)

        async def raw_get() -> Any:
            return json.loads((await raw.get(vendor_url)).content)

        async def sdk_list() -> Any:
            return await bill.vendors.list(max=100)

        async def raw_list() -> Any:
            return json.loads((await raw.get(list_url)).content)

        for make, calls in ((sdk_get, 50), (raw_get, 50), (sdk_list, 5), (raw_list, 5)):
            await timed(make, calls)  # warm up: log in, load modules, open connections

        # 1. sequential calls
        for key, title, sdk_make, raw_make, calls in (
            ("get", "sequential `vendors.get`", sdk_get, raw_get, SEQUENTIAL_GETS),
            ("list", "sequential `vendors.list` (100 vendors)", sdk_list, raw_list, SEQUENTIAL_LISTS),
        ):

            def per_call(make: Callable[[], Awaitable[Any]], n: int = calls) -> Callable[[], Awaitable[float]]:
                async def measure() -> float:
                    return await repeated(make, n)() / n * 1e6

                return measure

            mine, theirs = await paired_async(runs, per_call(sdk_make), per_call(raw_make))
            row = compared(key, title, "µs/call", mine, theirs, FLOOR)
            row.target, row.met = "≤ 1.3× floor", row.ratio is not None and row.ratio <= 1.3
            row.detail["calls_per_run"] = calls
            if not row.met:
                n = max(calls // 4, 10)
                captures = await compare_async((repeated(sdk_make, n), n), (repeated(raw_make, n), n))
                row.cause = explain(*captures, "call")
            rows.append(row)

        # 2. throughput with 50 in flight. Not interleaved like the rest: a cold httpx pool (fresh, or idle for
        # longer than its 5 s keep-alive) opens a connection per request in flight, and its assignment pass
        # scans all of them for every queued request, until the unused ones expire after 5 s of idleness. A
        # burst on a pool that another burst just left idle would be measured in that slow state. So each side
        # runs as one block: a first burst on its cold pool (recorded, not compared), then `runs` timed bursts
        # back to back.
        def burst(make: Callable[[], Awaitable[Any]], calls: int = CONCURRENT_CALLS) -> Callable[[], Awaitable[float]]:
            async def measure() -> float:
                started = time.perf_counter()
                await asyncio.gather(*(make() for _ in range(calls)))
                return calls / (time.perf_counter() - started)

            return measure

        # Twice: with the SDK's limit lifted to 50 (what the SDK costs in CPU under concurrency), and at BILL's
        # limit of 3 (what a user gets; the floor holds a semaphore of 3 too).
        for key, client, limit, note in (
            ("concurrent", bill50, IN_FLIGHT, f"limit lifted to {IN_FLIGHT}"),
            ("concurrent_at_limit", bill, DEFAULT_MAX_CONCURRENCY, f"BILL's limit of {DEFAULT_MAX_CONCURRENCY}"),
        ):
            semaphore = asyncio.Semaphore(limit)

            async def sdk_limited(client: AsyncBill = client) -> Any:
                return await client.vendors.get(VENDOR_ID)

            async def raw_limited(semaphore: asyncio.Semaphore = semaphore) -> Any:
                async with semaphore:
                    return json.loads((await raw.get(vendor_url)).content)

            sides = {"sdk": sdk_limited, "floor": raw_limited}
            cold: dict[str, float] = {}
            timed_runs: dict[str, list[float]] = {}
            for side, make in sides.items():
                cold[side] = await burst(make)()
                timed_runs[side] = [await burst(make)() for _ in range(runs)]
            row = compared(
                key,
                f"{CONCURRENT_CALLS:,} `vendors.get` started at once, {note}",
                "calls/s",
                timed_runs["sdk"],
                timed_runs["floor"],
                f"{FLOOR}, semaphore {limit}",
            )
            row.target, row.met = "≥ 0.8× floor", row.ratio is not None and row.ratio >= 0.8
            row.detail.update(calls=CONCURRENT_CALLS, in_flight=limit, first_burst_on_cold_pool_calls_per_s=cold)
            row.cause = (
                f"each side timed as one block, after a first burst on its cold pool: {cold['sdk']:,.0f} vs "
                f"{cold['floor']:,.0f} calls/s (httpx pool warm-up, see README)"
            )
            if not row.met:
                # Alternating bursts leave each pool idle while the other runs, but only briefly (< 5 s).
                captures = await compare_async(
                    (burst(sdk_limited, SMALL_BURST), SMALL_BURST), (burst(raw_limited, SMALL_BURST), SMALL_BURST), 2
                )
                row.cause = explain(*captures, "call") + "; " + row.cause
            rows.append(row)
    return rows


def sync_calls(base_url: str, runs: int) -> list[Row]:
    """9. Rows 1's sequential calls with ``Bill``, the synchronous client, against raw ``httpx.Client``."""
    rows: list[Row] = []
    vendor_url = f"{base_url}/connect/v3/vendors/{VENDOR_ID}"
    list_url = f"{base_url}/connect/v3/vendors?max=100"
    limits = httpx.Limits(max_connections=100)  # what Bill uses
    options = {"dev_key": "k", "username": "u", "password": "p", "organization_id": "008x"}
    with (
        Bill(**options, base_url=base_url, env={}) as bill,
        httpx.Client(trust_env=False, limits=limits, headers=RAW_HEADERS) as raw,
    ):

        def sdk_get() -> Any:
            return bill.vendors.get(VENDOR_ID)

        def raw_get() -> Any:
            return json.loads(raw.get(vendor_url).content)

        def sdk_list() -> Any:
            return bill.vendors.list(max=100).page

        def raw_list() -> Any:
            return json.loads(raw.get(list_url).content)

        def repeated_sync(make: Callable[[], Any], calls: int) -> Callable[[], None]:
            def run() -> None:
                for _ in range(calls):
                    make()

            return run

        for make, calls in ((sdk_get, 50), (raw_get, 50), (sdk_list, 5), (raw_list, 5)):
            repeated_sync(make, calls)()  # warm up: log in, load modules, open connections
        for key, title, sdk_make, raw_make, calls in (
            ("sync_get", "sequential `vendors.get`, `Bill` (sync)", sdk_get, raw_get, SEQUENTIAL_GETS),
            (
                "sync_list",
                "sequential `vendors.list` (100 vendors), `Bill` (sync)",
                sdk_list,
                raw_list,
                SEQUENTIAL_LISTS,
            ),
        ):

            def per_call(make: Callable[[], Any], n: int = calls) -> Callable[[], float]:
                def measure() -> float:
                    started = time.perf_counter()
                    repeated_sync(make, n)()
                    return (time.perf_counter() - started) / n * 1e6

                return measure

            results = paired(runs, per_call(sdk_make), per_call(raw_make))
            row = compared(key, title, "µs/call", results["sdk"], results["floor"], "raw httpx.Client + json.loads")
            row.target, row.met = "≤ 1.3× floor", row.ratio is not None and row.ratio <= 1.3
            row.detail["calls_per_run"] = calls
            if not row.met:
                n = max(calls // 4, 10)
                row.cause = explain(*compare((repeated_sync(sdk_make, n), n), (repeated_sync(raw_make, n), n)), "call")
            rows.append(row)
    return rows


def parsing(runs: int) -> Row:
    """3. A page into models vs json.loads, no I/O."""
    body = page_body(0)
    response = httpx.Response(200, content=body)

    def parse_sdk() -> Any:
        return list_vendors._parse_response(response)  # what vendors.list does with a 200

    def parse_raw() -> Any:
        return json.loads(body)

    def per_parse(parse: Callable[[], Any]) -> Callable[[], float]:
        def measure() -> float:
            started = time.perf_counter()
            for _ in range(PARSES):
                parse()
            return (time.perf_counter() - started) / PARSES * 1e6

        return measure

    for parse in (parse_sdk, parse_raw):
        per_parse(parse)()
    results = paired(runs, per_parse(parse_sdk), per_parse(parse_raw))
    row = compared(
        "parse",
        f"parse a {PAGE_SIZE}-vendor page into models",
        "µs/page",
        results["sdk"],
        results["floor"],
        "json.loads",
    )
    row.target, row.met = "≤ 2.0× floor", row.ratio is not None and row.ratio <= 2.0
    row.detail.update(page_bytes=len(body), parses_per_run=PARSES)
    if not row.met:

        def many(parse: Callable[[], Any], count: int) -> Callable[[], None]:
            def run() -> None:
                for _ in range(count):
                    parse()

            return run

        row.cause = explain(*compare((many(parse_sdk, 40), 40), (many(parse_raw, 80), 80)), "page")
    return row


# --------------------------------------------------------------------------- 4-6: fresh processes
def paging(base_url: str, runs: int) -> list[Row]:
    """4. 100,000 vendors through ``async for``: items/s and peak RSS growth, one fresh process per run."""

    def run(mode: str) -> Callable[[], dict[str, Any]]:
        def measure() -> dict[str, Any]:
            result = worker(mode, base_url)[0]
            assert result["items"] == PAGES * PAGE_SIZE, result
            return result

        return measure

    results = paired(runs, run("paging-sdk"), run("paging-raw"))
    items = PAGES * PAGE_SIZE
    floor_name = f"{FLOOR}, following nextPage"
    rate = compared(
        "paging_rate",
        f"`async for` over {items:,} vendors ({PAGES:,} pages)",
        "items/s",
        [r["items_per_s"] for r in results["sdk"]],
        [r["items_per_s"] for r in results["floor"]],
        floor_name,
    )
    rate.detail = {"items": items, "pages": PAGES}
    growth = {side: [r["peak_growth_mb"] for r in rs] for side, rs in results.items()}
    memory = Row(
        key="paging_memory",
        title=f"peak RSS growth over those {items:,} vendors",
        unit="MB",
        sdk=statistics.median(growth["sdk"]),
        floor=statistics.median(growth["floor"]),
        floor_name=floor_name,
        target="< 20 MB",
        runs=growth,
        detail={"processes": results},
    )
    memory.met = memory.sdk < 20
    if not memory.met:
        retained = statistics.median([r["rss_growth_mb"] for r in results["sdk"]])
        memory.cause = f"RSS is still {retained:.1f} MB above the start after the loop: pages or items are retained"
    return [rate, memory]


def imports(runs: int) -> list[Row]:
    """5. Cold imports in fresh interpreters with warm bytecode caches."""
    snippets = {"httpx": "import httpx", "bill_sdk": "import bill_sdk", "AsyncBill": "from bill_sdk import AsyncBill"}
    for code in ("pass", *snippets.values()):
        python("-c", code)  # write the bytecode caches
    startup = {name for _, _, name in importtime(python("-X", "importtime", "-c", "pass")[1])}
    measured: dict[str, list[float]] = defaultdict(list)
    wall: dict[str, list[float]] = defaultdict(list)
    for _ in range(max(runs, IMPORT_REPEATS)):
        wall["pass"].append(python("-c", "pass")[0] * 1e3)
        for name, code in snippets.items():
            measured[name].append(importtime_ms(python("-X", "importtime", "-c", code)[1], startup))
            wall[name].append(python("-c", code)[0] * 1e3)
    start_ms = statistics.median(wall["pass"])
    detail = {
        "method": "-X importtime: cumulative µs of the statement's top-level imports",
        "interpreter_start_ms": start_ms,
        "wall_minus_interpreter_start_ms": {name: statistics.median(wall[name]) - start_ms for name in snippets},
    }
    row = compared("import", "cold `import bill_sdk`", "ms", measured["bill_sdk"], measured["httpx"], "`import httpx`")
    row.target, row.met = "≤ 1.2× floor", row.ratio is not None and row.ratio <= 1.2
    row.detail = detail
    if not row.met:
        by_package = importtime_by_package(python("-X", "importtime", "-c", snippets["bill_sdk"])[1])
        row.cause = f"-X importtime self ms: {by_package}"
    client = compared(
        "import_client",
        "cold `from bill_sdk import AsyncBill`",
        "ms",
        measured["AsyncBill"],
        measured["httpx"],
        "`import httpx`",
    )
    return [row, client]


def first_call(base_url: str, runs: int) -> list[Row]:
    """5. Cold process to first answer, as installed here and without the dev-only extras httpx picks up."""
    extras = [name for name in OPTIONAL_EXTRAS if importlib.util.find_spec(name) is not None]
    rows = [_first_call(base_url, runs, hidden=[]), _first_call(base_url, runs, hidden=[], tls=True)]
    if extras:
        rows.append(_first_call(base_url, runs, hidden=extras))
    return rows


def _first_call(base_url: str, runs: int, hidden: list[str], tls: bool = False) -> Row:
    env = {"BENCH_HIDE": ",".join(hidden), "BENCH_TLS": "1" if tls else "0"}
    for mode in ("first-call-sdk", "first-call-raw"):
        worker(mode, base_url, env=env)  # write the bytecode caches
    results = paired(
        runs,
        lambda: worker("first-call-sdk", base_url, env=env)[0],
        lambda: worker("first-call-raw", base_url, env=env)[0],
    )
    title = "cold: import, create client, first `vendors.get` (login + GET), plain HTTP: no CA bundle"
    floor_name = "import httpx, AsyncClient(verify=False), GET + json.loads"
    key = "first_call"
    if tls:
        title = "same, and the verified TLS context an https destination needs (CA bundle loaded)"
        floor_name, key = (
            "import httpx, AsyncClient() (its default verified context), GET + json.loads",
            "first_call_tls",
        )
    if hidden:
        title = f"same as the plain-HTTP row, without dev-only packages httpx/httpcore load if present ({', '.join(hidden)})"
        key = "first_call_without_extras"
    row = compared(
        key,
        title,
        "ms",
        [r["total_ms"] for r in results["sdk"]],
        [r["total_ms"] for r in results["floor"]],
        floor_name,
    )
    parts = {side: {part: statistics.median([r[part] for r in rs]) for part in rs[0]} for side, rs in results.items()}
    row.detail = {"median_parts_ms": parts, "hidden_modules": hidden}
    if not hidden and not tls:
        row.target, row.met = "≤ 150 ms", row.sdk <= 150
    if row.met is False:
        sdk, floor = parts["sdk"], parts["floor"]
        by_package = importtime_by_package(worker("first-call-sdk", base_url, "-X", "importtime", env=env)[1])
        row.cause = (
            f"imports {sdk['import_ms']:.0f} ms (-X importtime self ms: {by_package}); "
            f"AsyncBill() {sdk['client_ms']:.0f} ms (floor's httpx.AsyncClient() {floor['client_ms']:.0f} ms); "
            f"login + GET {sdk['call_ms']:.0f} ms"
        )
    return row


def generate() -> Row:
    """6. ``codegen/generate.py --check``: regenerate the whole spec into a temp dir and compare."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [PYTHON, str(ROOT / "codegen" / "generate.py"), "--check"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=CHILD_ENV,
            timeout=GENERATE_TIMEOUT,
        )
        code: int | None = done.returncode
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
    except subprocess.TimeoutExpired:
        code, said = None, [f"timed out after {GENERATE_TIMEOUT:.0f} s"]
    seconds = time.perf_counter() - started
    differing = [line for line in said if line.strip().startswith(("differs:", "missing from", "not produced"))]
    if differing:
        count = f"{len(differing)}+" if len(differing) >= 50 else str(len(differing))  # generate.py lists 50 at most
        last = f"generated tree differs from the checkout in {count} file(s) (tree being edited)"
    else:
        last = said[-1].strip() if said else ""
    return Row(
        key="generate",
        title="`codegen/generate.py --check` (whole spec)",
        unit="s",
        sdk=seconds,
        cause=f"exit code {code}" + (f": {last}" if code else ""),
        detail={"exit_code": code, "output": said[-20:]},
    )


# --------------------------------------------------------------------------- report
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": {name: metadata.version(name) for name in ("bill-sdk", "httpx", "httpcore", "anyio", "attrs")},
    }


def cpu_load() -> dict[str, float]:
    """1-minute load average, and CPU pressure: % of the last 60 s in which some task waited for a CPU."""
    load: dict[str, float] = {}
    try:
        with open("/proc/loadavg") as loadavg:
            load["loadavg_1m"] = float(loadavg.read().split()[0])
        with open("/proc/pressure/cpu") as pressure:
            some = dict(item.split("=") for item in pressure.readline().split()[1:])
            load["cpu_pressure_60s_pct"] = float(some["avg60"])
    except (OSError, ValueError, KeyError):
        pass
    return load


def fmt(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):  # NaN: a row that could not be measured (its note says why)
        return "—"
    digits = 1 if unit in ("ms", "MB", "s") else 0
    return f"{value:,.{digits}f} {unit}"


def fleet(base_url: str, runs: int) -> list[Row]:
    """The added cost per call of sharing BILL's limits on Redis (bench/fleet.py), against in-process limits."""
    sys.path.insert(0, str(BENCH))
    from fleet import fleet_overhead, redis_server

    with redis_server() as redis_url:
        result = run_async(fleet_overhead(base_url, redis_url, calls=300, runs=runs))
    ratios = [f / i for f, i in zip(result["runs"]["fleet"], result["runs"]["in_process"], strict=True)]
    return [
        Row(
            key="fleet",
            title="sequential `vendors.get` with `redis_url` (fleet limits on a local Redis)",
            unit="µs/call",
            sdk=result["fleet_us"],
            floor=result["in_process_us"],
            floor_name="the same client with in-process limits",
            ratio=statistics.median(ratios),
            ratio_range=(min(ratios), max(ratios)),
            cause=f"{result['added_us_per_call']:,.0f} µs added per call: 2 Redis round trips (take a slot, release)",
            runs=result["runs"],
        )
    ]


def incremental_sync(records: int, runs: int) -> list[Row]:
    """`bill.changes()` over `records` vendors against plain paging of the same (bench/changes.py), against a
    server of precomputed answers (the SDK's cost): instructions counted by valgrind (the same count whatever the
    machine is doing), CPU time with the two in turn in one process, fresh processes for memory and wall clock;
    then end to end against FakeBill (its time per request)."""
    sys.path.insert(0, str(BENCH))
    from changes import bench_changes, bench_interleaved, count_instructions

    counted = count_instructions(records)
    interleaved = bench_interleaved(records, rounds=max(7, runs))  # cheap (≈6 s a round) and tight: more rounds
    result = bench_changes(records, runs=runs, server_kind="fixed")
    fake = bench_changes(records, runs=max(1, runs - 2), server_kind="fakebill")
    rows = []
    if counted is None:
        rows.append(Row(key="sync-instructions", title="instructions per record", unit="", sdk=float("nan"),
                        cause="valgrind is not installed: not counted"))  # fmt: skip
    else:
        rows.append(
            Row(
                key="sync-instructions",
                title=f"`bill.changes()` over {records:,} records, records per billion instructions of the client"
                " (valgrind)",
                unit="records/G",
                sdk=1e9 / counted["sync_instructions_per_item"],
                floor=1e9 / counted["plain_instructions_per_item"],
                floor_name="plain paging of the same records, same run, same server of precomputed answers",
                ratio=counted["ratio"],
                target="≥ 0.9× floor",
                met=counted["goal_met"],
                cause=f"{counted['sync_instructions_per_item']:,.0f} against"
                f" {counted['plain_instructions_per_item']:,.0f} instructions per record; start-up cancelled out"
                f" (a run with {counted['baseline_records']:,} records subtracted)",
                detail=counted,
            )
        )
    low, high = interleaved["ratio_range"]
    rows += [
        Row(
            key="sync",
            title="the same, records per second of the client's own CPU, plain page and sync batch in turn in one"
            " process",
            unit="items/s",
            sdk=interleaved["sync_items_per_cpu_s"],
            floor=interleaved["plain_items_per_cpu_s"],
            floor_name="plain paging in the same process, in turn with the sync",
            ratio=interleaved["ratio"],
            ratio_range=(low, high),
            target="≥ 0.9× floor",
            met=interleaved["goal_met"],
            cause="the cyclic GC is charged to whichever side sets it off",
            runs={
                "sdk": [r["items_per_cpu_s"]["sync"] for r in interleaved["rounds"]],
                "floor": [r["items_per_cpu_s"]["plain"] for r in interleaved["rounds"]],
            },
        ),
        Row(
            key="sync-processes",
            title="the same in fresh processes, one run each, wall clock",
            unit="items/s",
            sdk=result["sync_items_per_s"],
            floor=result["plain_items_per_s"],
            floor_name="plain paging, fresh processes, paired",
            ratio=result["ratio"],
            ratio_range=(result["ratio_range"][0], result["ratio_range"][1]),
            cause=f"client CPU {result['client_cpu_ratio']:.2f}× ({result['client_cpu_ratio_range'][0]:.2f}–"
            f"{result['client_cpu_ratio_range'][1]:.2f}): this machine's speed differs between processes;"
            f" pages {result['sync_pages']:.0f} vs {result['plain_pages']:.0f} (archived records too)",
        ),
        Row(
            key="sync-memory",
            title="peak RSS growth of that sync",
            unit="MB",
            sdk=result["sync_peak_growth_mb"],
            target="< 30 MB",
            met=result["sync_peak_growth_mb"] < 30,
        ),
        Row(
            key="sync-fakebill",
            title=f"the same sync end to end against FakeBill ({records:,} records), wall clock",
            unit="items/s",
            sdk=fake["sync_items_per_s"],
            floor=fake["plain_items_per_s"],
            floor_name="plain paging against FakeBill, same run",
            ratio=fake["ratio"],
            ratio_range=(fake["ratio_range"][0], fake["ratio_range"][1]),
            cause=f"FakeBill's time per request dominates (a sync request checks its time index against every"
            f" record); client CPU {fake['client_cpu_ratio']:.2f}×",
        ),
    ]
    return rows


COMPARE_PYTHON = BENCH / ".venv-compare" / "bin" / "python"


def sdk_comparison(base_url: str, runs: int) -> list[Row]:
    """9. The same 20-vendor page through raw httpx, httpx2, openai, stripe and bill-sdk (bench/compare.py), in
    the bench-only environment bench/.venv-compare that `make bench` builds (the test suite never installs it)."""
    if not COMPARE_PYTHON.exists():
        return [
            Row(
                key="compare_missing",
                title="SDK comparison (20-vendor page)",
                unit="",
                sdk=float("nan"),
                cause=f"not run: {COMPARE_PYTHON.relative_to(ROOT)} is missing (`make bench` builds it)",
            )
        ]
    done = subprocess.run(
        [str(COMPARE_PYTHON), str(BENCH / "compare.py"), base_url.rsplit(":", 1)[1], str(runs)],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        check=True,
        timeout=900,
    )
    result = json.loads(done.stdout)
    floor = "raw httpx (floor)"
    seq, par = result["sequential_us"], result["concurrent_calls_per_s"]
    versions = result["versions"]
    rows = []
    for name in seq:
        if name == floor:
            continue
        package = {"bill-sdk": "bill_sdk"}.get(name, name)
        row = compared(
            f"compare_{package}",
            f"{name} {versions.get(package, '')}: a {result['page_size']}-vendor page, sequential",
            "µs/call",
            seq[name],
            seq[floor],
            f"raw httpx {versions.get('httpx', '')} + json.loads",
        )
        ratios = [floor_rate / rate for rate, floor_rate in zip(par[name], par[floor], strict=True)]
        row.cause = (
            f"{result['in_flight']} in flight: {statistics.median(par[name]):,.0f} calls/s, "
            f"{statistics.median(ratios):.2f}× raw httpx's time ({min(ratios):.2f}–{max(ratios):.2f})"
        )
        row.detail = {"concurrent_calls_per_s": par[name], "floor_concurrent_calls_per_s": par[floor]}
        rows.append(row)
    for name, why in result["missing"].items():
        rows.append(Row(key=f"compare_{name}", title=f"{name}: a 20-vendor page", unit="", sdk=float("nan"), cause=why))
    return rows


def markdown(rows: list[Row], info: dict[str, Any], total_s: float, stamp: str, load: dict[str, Any]) -> str:
    busiest = max((step.get("loadavg_1m", 0.0) for step in load.values()), default=0.0)
    lines = [
        "# bill-sdk benchmarks",
        "",
        f"{stamp} · {info['cpu']}, {info['cores']} cores · Python {info['python']} · {info['platform']} · "
        f"httpx {info['packages']['httpx']} · total {total_s:.0f} s · highest 1-min load average seen {busiest:.2f}",
        "",
        "| # | benchmark | bill-sdk | floor | ratio (range) | goal | status | cause of a miss / note |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for number, row in enumerate(rows, 1):
        status = "—" if row.met is None else ("MET" if row.met else "**MISSED**")
        ratio = "—"
        if row.ratio is not None:
            ratio = f"{row.ratio:.2f}×"
            if row.ratio_range is not None:
                ratio += f" ({row.ratio_range[0]:.2f}–{row.ratio_range[1]:.2f})"
        floor = "—" if row.floor is None else f"{fmt(row.floor, row.unit)} ({row.floor_name})"
        cells = [str(number), row.title, fmt(row.sdk, row.unit), floor, ratio, row.target, status, row.cause]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += [
        "",
        "Medians of several runs; each run measures bill-sdk and its floor back to back. The ratio is the median "
        "of the per-run ratios bill-sdk / floor (for calls/s and items/s higher is better), with their range. "
        f"A load average above the {info['usable_cores']} usable cores means other processes competed for the CPU "
        "(`cpu_load` in results.json). See bench/README.md.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="bill-sdk benchmarks against a local BILL-shaped server")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure, the median is reported (default 5)")
    parser.add_argument("--paging-runs", type=int, default=3, help="fresh processes per side for paging (default 3)")
    parser.add_argument("--skip-generate", action="store_true", help="leave out the codegen timing")
    parser.add_argument(
        "--sync-records", type=int, default=100_000, help="records for the incremental-sync row (0: leave it out)"
    )
    parser.add_argument(
        "--sync-runs",
        type=int,
        default=5,
        help="paired fresh processes (plain, sync) for the incremental-sync row (default 5: its per-pair ratio"
        " spreads by ±10%% on this machine)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated step numbers to run (e.g. 1,3; default: all); prints the table, writes no results files",
    )
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}

    # Ctrl-C and SIGTERM unwind through the `with bench_server()` below, so the server is always stopped.
    signal.signal(signal.SIGTERM, interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if SIGINT is ignored (background job)
        signal.signal(signal.SIGINT, interrupt)
    started = time.perf_counter()
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    rows: list[Row] = []
    load = {"start": cpu_load()}
    with bench_server() as base_url:
        steps: list[tuple[str, Callable[[], list[Row]]]] = [
            ("1-2 calls and concurrency", lambda: run_async(in_process(base_url, args.runs))),
            (
                "3 parsing",
                lambda: [parsing(max(6 * args.runs, 31))],
            ),  # cheap (≈3 s): many runs, the cyclic GC is bursty
            ("4 paging", lambda: paging(base_url, args.paging_runs)),
            ("5 imports", lambda: imports(args.runs)),
            ("5 first call", lambda: first_call(base_url, args.runs)),
        ]
        if not args.skip_generate:
            steps.append(("6 generate --check", lambda: [generate()]))
        steps.append(("7 fleet (Redis)", lambda: fleet(base_url, args.runs)))
        if args.sync_records:
            steps.append(("8 incremental sync", lambda: incremental_sync(args.sync_records, args.sync_runs)))
        steps.append(("9 sync client calls", lambda: sync_calls(base_url, args.runs)))
        steps.append(("10 SDK comparison", lambda: sdk_comparison(base_url, max(args.runs // 2, 3))))
        for name, step in steps:
            if only and name.split()[0].split("-")[0] not in only:
                continue
            step_started = time.perf_counter()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            rows += step()
            load[name] = cpu_load()
            print(f"[bench] {name}: {time.perf_counter() - step_started:.1f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    info = machine()
    table = markdown(rows, info, total, stamp, load)
    results = {
        "timestamp": stamp,
        "machine": info,
        "config": {"runs": args.runs, "paging_runs": args.paging_runs, "server": "bench/server.py on 127.0.0.1"},
        "total_seconds": total,
        "cpu_load": load,
        "rows": [
            {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(row).items()} for row in rows
        ],
    }
    if not only:
        (BENCH / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        (BENCH / "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("[bench] interrupted: server stopped, no results written", file=sys.stderr)
        raise SystemExit(130) from None
