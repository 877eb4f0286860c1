"""Instructions the client executes per list request, counted by valgrind: a plain page request (``page=`` cursor)
and a filtered, sorted one (the incremental sync's kind), against an in-process transport answering an empty
page, so that only the SDK's and httpx's own work is counted.

Not part of ``make test``. By hand::

    .venv/bin/python bench/request_cost.py            # needs valgrind; prints JSON

Each kind runs in a fresh interpreter under cachegrind twice, with 200 and with 1,200 requests: the difference
over 1,000 is the cost of one request, start-up (imports, client, sign-in) cancelled out.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
CURSOR = "MTAwfHZlbmRvcnN8MjAyNi0xMi0wMVQxNTowMDowMC4wMDBa"  # an opaque cursor of a typical length
COUNTS = (200, 1_200)


def requests(kind: str, count: int) -> None:
    """`count` list requests of `kind` ("cursor" or "filtered") after a first one that signs in."""
    import httpx

    from bill_sdk import AsyncBill
    from bill_sdk._filters import all_of, asc, where

    empty_page = json.dumps({"results": [], "nextPage": "x"}).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/login"):
            return httpx.Response(200, json={"sessionId": "s", "organizationId": "o", "userId": "u"})
        return httpx.Response(200, content=empty_page, headers={"content-type": "application/json"})

    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        options = {"dev_key": "d", "username": "u", "password": "p", "organization_id": "o"}
        async with AsyncBill(base_url="http://bill.test", env={}, http_client=http, **options) as bill:
            await bill.vendors.list(max=100)
            field, live = where("updatedTime"), where("archived").eq(False)
            hi = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
            for i in range(count):
                if kind == "filtered":  # as a sync writes it: a moving lower bound, the window's end, the stream
                    lo = hi - timedelta(minutes=30, milliseconds=i)
                    filters = all_of(field.gte(lo), field.lte(hi), live)
                    await bill.vendors.list(filters=filters, sort=asc("updatedTime"), max=100)
                else:
                    await bill.vendors.list(page=f"{CURSOR}{i}", max=100)
        await http.aclose()

    asyncio.run(main())


def count(kind: str, requests_made: int) -> int:
    """Instructions of a fresh interpreter making `requests_made` requests of `kind` (cachegrind's total)."""
    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cachegrind.out"
        command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}"]
        command += [sys.executable, str(Path(__file__)), "requests", kind, str(requests_made)]
        subprocess.run(command, check=True, capture_output=True, env=env)
        for line in out.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("cachegrind wrote no summary")


def main() -> None:
    if sys.argv[1:2] == ["requests"]:  # requests KIND COUNT (under valgrind)
        requests(sys.argv[2], int(sys.argv[3]))
        return
    low, high = COUNTS
    result = {kind: (count(kind, high) - count(kind, low)) / (high - low) for kind in ("cursor", "filtered")}
    print(json.dumps({"instructions_per_request": result}, indent=1))


if __name__ == "__main__":
    main()
