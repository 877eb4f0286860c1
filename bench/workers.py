"""Benchmarks that need a fresh interpreter, run by bench/run.py as ``python bench/workers.py MODE PORT``.

Each prints one JSON object on stdout. Nothing heavy is imported at module level: the cold-start modes time
their own imports, and the paging modes measure memory from a clean process. ``BENCH_HIDE=trio,rich`` makes
those packages look uninstalled, to time what a production install (without dev-only extras) would import.

Modes:
- ``first-call-sdk``: import bill_sdk, create AsyncBill, ``await bill.vendors.get(...)`` (login + GET), timed.
- ``first-call-raw``: import httpx, create AsyncClient, one GET + json.loads, timed (the floor).
  Both talk plain HTTP to the bench server and so need no CA bundle; with ``BENCH_TLS=1`` each also builds the
  verified TLS context an https destination needs (the SDK: a client for BILL's sandbox; the floor:
  ``AsyncClient()``'s default), which is most of a cold start's cost.
- ``paging-sdk``: ``async for`` over every vendor of the paged list; items/s and RSS growth.
- ``paging-raw``: the same pages with httpx + json.loads, following ``nextPage`` (the floor).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

VENDOR_ID = "00901ZQXBENCHVND0001"


def memory_kib() -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of this process, in KiB."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith(("VmRSS", "VmHWM")))
    return {name: int(value.split()[0]) for name, value in fields.items()}


def reset_peak() -> bool:
    """Make VmHWM restart from the current RSS (Linux >= 4.0); False if the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def first_call_sdk(base_url: str) -> dict[str, Any]:
    started = time.perf_counter()
    import asyncio

    from bill_sdk import AsyncBill

    imported = time.perf_counter()
    marks: dict[str, float] = {}

    async def main() -> None:
        async with AsyncBill(
            dev_key="k", username="u", password="p", organization_id="008x", base_url=base_url, env={}
        ) as bill:
            if os.environ.get("BENCH_TLS") == "1":
                async with AsyncBill(api_token="t", environment="sandbox", env={}):
                    pass
            marks["client"] = time.perf_counter()
            vendor = await bill.vendors.get(VENDOR_ID)
            marks["call"] = time.perf_counter()
            assert vendor.id == VENDOR_ID

    asyncio.run(main())
    return {
        "total_ms": (marks["call"] - started) * 1e3,
        "import_ms": (imported - started) * 1e3,
        "client_ms": (marks["client"] - imported) * 1e3,
        "call_ms": (marks["call"] - marks["client"]) * 1e3,
    }


def first_call_raw(base_url: str) -> dict[str, Any]:
    started = time.perf_counter()
    import asyncio
    import json

    import httpx

    imported = time.perf_counter()
    marks: dict[str, float] = {}

    async def main() -> None:
        verify = os.environ.get("BENCH_TLS") == "1"  # False: an unverified context, no CA bundle loaded
        async with httpx.AsyncClient(trust_env=False, verify=verify) as client:
            marks["client"] = time.perf_counter()
            response = await client.get(f"{base_url}/connect/v3/vendors/{VENDOR_ID}")
            vendor = json.loads(response.content)
            marks["call"] = time.perf_counter()
            assert vendor["id"] == VENDOR_ID

    asyncio.run(main())
    return {
        "total_ms": (marks["call"] - started) * 1e3,
        "import_ms": (imported - started) * 1e3,
        "client_ms": (marks["client"] - imported) * 1e3,
        "call_ms": (marks["call"] - marks["client"]) * 1e3,
    }


def paging_sdk(base_url: str) -> dict[str, Any]:
    import asyncio

    from bill_sdk import AsyncBill

    async def main() -> dict[str, Any]:
        async with AsyncBill(
            dev_key="k", username="u", password="p", organization_id="008x", base_url=base_url, env={}
        ) as bill:
            await bill.vendors.list(max=100)  # login and load the vendor modules before the baseline
            peak_reset = reset_peak()
            before = memory_kib()
            started = time.perf_counter()
            items = 0
            async for _vendor in bill.vendors.iter(page_size=100):
                items += 1
            elapsed = time.perf_counter() - started
            return _paging_result(items, elapsed, before, memory_kib(), peak_reset)

    return asyncio.run(main())


def paging_raw(base_url: str) -> dict[str, Any]:
    import asyncio
    import json

    import httpx

    async def main() -> dict[str, Any]:
        verify = os.environ.get("BENCH_TLS") == "1"  # False: an unverified context, no CA bundle loaded
        async with httpx.AsyncClient(trust_env=False, verify=verify) as client:
            url = f"{base_url}/connect/v3/vendors"
            json.loads((await client.get(url, params={"max": 100})).content)  # same warm-up as the SDK run
            peak_reset = reset_peak()
            before = memory_kib()
            started = time.perf_counter()
            items = 0
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"max": 100} if cursor is None else {"max": 100, "page": cursor}
                page = json.loads((await client.get(url, params=params)).content)
                for _vendor in page["results"]:
                    items += 1
                cursor = page.get("nextPage")
                if not cursor or not page["results"]:
                    break
            elapsed = time.perf_counter() - started
            return _paging_result(items, elapsed, before, memory_kib(), peak_reset)

    return asyncio.run(main())


def _paging_result(
    items: int, elapsed: float, before: dict[str, int], after: dict[str, int], peak_reset: bool
) -> dict[str, Any]:
    return {
        "items": items,
        "seconds": elapsed,
        "items_per_s": items / elapsed,
        "rss_before_kib": before["VmRSS"],
        "rss_after_kib": after["VmRSS"],
        "hwm_after_kib": after["VmHWM"],
        "peak_growth_mb": (after["VmHWM"] - before["VmRSS"]) * 1024 / 1e6,
        "rss_growth_mb": (after["VmRSS"] - before["VmRSS"]) * 1024 / 1e6,
        "peak_reset": peak_reset,
    }


class HideModules:
    """A meta path finder that makes the named top-level packages look uninstalled (``BENCH_HIDE=a,b``)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden by the benchmark)", name=fullname)


MODES = {
    "first-call-sdk": first_call_sdk,
    "first-call-raw": first_call_raw,
    "paging-sdk": paging_sdk,
    "paging-raw": paging_raw,
}

if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    hidden = {name for name in os.environ.get("BENCH_HIDE", "").split(",") if name}
    if hidden:
        sys.meta_path.insert(0, HideModules(hidden))
    result = MODES[mode](f"http://127.0.0.1:{port}")
    import json

    print(json.dumps(result))
