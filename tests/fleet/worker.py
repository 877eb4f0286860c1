"""One worker process of a fleet test: ``python tests/fleet/worker.py '<json>'``.

It creates its client, prints ``ready``, waits for a line on stdin (so every worker starts at once), runs
``tasks`` concurrent tasks of ``calls`` calls each, and prints one JSON line with what happened. Mode ``hold``
takes ``tasks`` concurrency slots and keeps them until the process is killed (prints ``holding``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any


async def main(config: dict[str, Any]) -> None:
    from bill_sdk import AsyncBill, RateLimitError
    from bill_sdk.fleet import Budget, FleetOptions

    options = None
    if config.get("redis_url"):
        budgets = {
            name: Budget(*config[name]) if config.get(name) else None
            for name in ("hourly_requests", "hourly_logins", "text_messages")
        }
        options = FleetOptions(key_prefix=config["prefix"], lease_seconds=config.get("lease_seconds", 10.0), **budgets)
    bill = AsyncBill(
        dev_key="fake-dev-key",
        username="fakeuser",
        password="fake-password",
        organization_id="00801FAKEORG",
        base_url=config["base_url"],
        env={},
        timeout=config.get("timeout", 30.0),
        max_retries=config.get("max_retries", 0),
        redis_url=config.get("redis_url"),
        fleet=options,
    )
    outcomes: Counter[str] = Counter()
    retry_after: list[float] = []
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    if config.get("mode") == "hold":
        from bill_sdk._generated.api.organizations import get_organization

        async def hold() -> None:
            async with bill._limiter.slot(get_organization.OPERATION, None):
                outcomes["holding"] += 1
                if outcomes["holding"] == config["tasks"]:
                    print("holding", flush=True)
                await asyncio.sleep(3600)

        await asyncio.gather(*(hold() for _ in range(config["tasks"])))
        return

    async def task() -> None:
        for _ in range(config["calls"]):
            try:
                await bill.organizations.get("00801FAKEORG")
                outcomes["ok"] += 1
            except RateLimitError as exc:
                outcomes["BDC_1322" if "BDC_1322" in exc.codes else "rate_limited"] += 1
                if exc.retry_after is not None and not exc.codes:
                    retry_after.append(exc.retry_after)
            except Exception as exc:
                outcomes[type(exc).__name__] += 1

    async with bill:
        await asyncio.gather(*(task() for _ in range(config["tasks"])))
        logins = bill.login_count
    print(json.dumps({"outcomes": dict(outcomes), "logins": logins, "retry_after": retry_after}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
