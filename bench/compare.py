"""bill-sdk against the HTTP clients and SDKs people use instead, on one page of 20 vendors from bench/server.py.

Run by bench/run.py as ``bench/.venv-compare/bin/python bench/compare.py PORT RUNS`` in the bench-only
environment that ``make bench`` builds from bench/requirements-compare.txt (openai, stripe, httpx2 and this
project; the test suite never installs them). Prints one JSON object: per client, the µs per call of each run
for sequential calls and the calls/s of each run with 50 in flight, next to raw httpx + json.loads measured in
the same run (the floor). A client whose package is missing is reported as missing, not left out silently.

What each client does for one call, all decoding the same 20-vendor JSON page into what it returns:
- raw httpx / httpx2: ``json.loads(response.content)`` (dicts);
- openai: ``AsyncOpenAI.get(path, cast_to=object)``, its generic request path (retries off, as for every row);
- stripe: ``StripeClient.raw_request_async`` + ``deserialize`` (StripeObject trees) over its httpx client;
- bill-sdk: ``AsyncBill.vendors.list(max=20)`` (attrs models, exact decimals), limit lifted to 100.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

PATH = "/connect/v3/vendors"
PAGE = 20
SEQUENTIAL = 300
CONCURRENT = 500
IN_FLIGHT = 50

Call = Callable[[], Awaitable[Any]]


async def clients(base: str, stack: Any) -> dict[str, Call | str]:
    """name -> one call, or the reason the client is not measured."""
    import httpx

    made: dict[str, Call | str] = {}
    url = f"{base}{PATH}?max={PAGE}"
    limits = httpx.Limits(max_connections=100)
    raw = await stack.enter_async_context(httpx.AsyncClient(trust_env=False, limits=limits))

    async def raw_call() -> Any:
        return json.loads((await raw.get(url)).content)

    made["raw httpx (floor)"] = raw_call

    if importlib.util.find_spec("httpx2") is None:
        made["httpx2"] = "not installed"
    else:
        import httpx2

        two = await stack.enter_async_context(httpx2.AsyncClient(trust_env=False))

        async def two_call() -> Any:
            return json.loads((await two.get(url)).content)

        made["httpx2"] = two_call

    from bill_sdk import AsyncBill

    bill = await stack.enter_async_context(
        AsyncBill(
            dev_key="k", username="u", password="p", organization_id="008x", base_url=base, env={}, max_concurrency=100
        )
    )

    async def bill_call() -> Any:
        return await bill.vendors.list(max=PAGE)

    made["bill-sdk"] = bill_call

    if importlib.util.find_spec("openai") is None:
        made["openai"] = "not installed"
    else:
        import openai

        ai = openai.AsyncOpenAI(api_key="k", base_url=f"{base}/connect", max_retries=0)
        stack.push_async_callback(ai.close)

        async def openai_call() -> Any:
            return await ai.get(f"{PATH.removeprefix('/connect')}?max={PAGE}", cast_to=object)

        made["openai"] = openai_call

    if importlib.util.find_spec("stripe") is None:
        made["stripe"] = "not installed"
    else:
        import stripe

        http_client = stripe.HTTPXClient(allow_sync_methods=False)
        client = stripe.StripeClient(
            "sk_test_bench", base_addresses={"api": base}, http_client=http_client, max_network_retries=0
        )

        async def stripe_call() -> Any:
            response = await client.raw_request_async("get", PATH, max=PAGE)
            return client.deserialize(response, api_mode="V1")

        made["stripe"] = stripe_call
    return made


async def sequential(call: Call) -> float:
    started = time.perf_counter()
    for _ in range(SEQUENTIAL):
        await call()
    return (time.perf_counter() - started) / SEQUENTIAL * 1e6


async def concurrent(call: Call) -> float:
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> Any:
        async with semaphore:
            return await call()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    return CONCURRENT / (time.perf_counter() - started)


async def main(port: int, runs: int) -> dict[str, Any]:
    from contextlib import AsyncExitStack

    base = f"http://127.0.0.1:{port}"
    async with AsyncExitStack() as stack:
        made = await clients(base, stack)
        live = {name: call for name, call in made.items() if not isinstance(call, str)}
        for name, call in live.items():  # warm up: connections, logins, lazy imports
            result = await call()
            assert result is not None, name
        seq: dict[str, list[float]] = {name: [] for name in live}
        for run in range(runs):
            order = list(live.items())
            if run % 2:
                order.reverse()  # alternate who goes first
            for name, call in order:
                seq[name].append(await sequential(call))
        # Each client as one block, after a first burst on its cold pool (see bench/README.md: an httpx pool left
        # idle for more than its 5 s keep-alive is slow until its extra connections expire).
        par: dict[str, list[float]] = {}
        for name, call in live.items():
            await concurrent(call)
            par[name] = [await concurrent(call) for _ in range(runs)]
    versions = {}
    for package in ("httpx", "httpx2", "openai", "stripe", "bill_sdk"):
        if importlib.util.find_spec(package) is not None:
            module = importlib.import_module(package)
            versions[package] = getattr(module, "__version__", getattr(module, "VERSION", "?"))
    return {
        "page_size": PAGE,
        "sequential_calls": SEQUENTIAL,
        "concurrent_calls": CONCURRENT,
        "in_flight": IN_FLIGHT,
        "missing": {name: why for name, why in made.items() if isinstance(why, str)},
        "sequential_us": seq,
        "concurrent_calls_per_s": par,
        "versions": versions,
        "median_sequential_us": {name: statistics.median(v) for name, v in seq.items()},
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))))
