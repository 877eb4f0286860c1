"""Faults survived: 1,000 mixed calls over real loopback HTTP against FakeBill, once per kind of fault.

For each fault (5xx, 429 + Retry-After, BDC_1322, BDC_1144, a connection dropped before / after BILL applied the
request, a connection refused before sending, a read timeout, session expiry mid-run) a seeded workload of GETs,
list pages, PATCHes, archive/restore pairs and creates of vendors, bills and payments runs through one AsyncBill
shared by 20 tasks, while FakeBill injects the fault into 5% of the API requests (2% for read timeouts).

What is checked, and printed in the run's summary:
* every call ends in success or a ``BillError`` subclass: no bare exception escapes;
* idempotent calls (GET, list, archive/restore) succeed after retries;
* no create is ever applied twice: the workload reconciles an ``OutcomeUnknownError`` the way a user should
  (look the object up, create again only if it is absent), and FakeBill's state then holds exactly one vendor,
  bill and payment per intended create; the SDK itself never re-sent a create that reached the wire;
* at most 3 requests are ever in flight from the client, and FakeBill (which counts what it serves) agrees.
"""

from __future__ import annotations

import datetime
import json
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest

from bill_sdk import AsyncBill, BillError, OutcomeUnknownError, where
from bill_sdk.models import (
    VendorUpdate,
)
from bill_sdk.testing import FakeBill
from tests import bodies

pytestmark = pytest.mark.integration

CALLS = 1_000
TASKS = 20
API = re.compile(r"^/connect/v3/(vendors|bills|payments)")  # faults hit the API, not login/logout
TIMEOUT = 0.5  # the client's timeout in the read-timeout scenario; FakeBill sleeps longer than this
TODAY = datetime.date(2026, 11, 25)


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: dict[str, Any] = field(default_factory=dict)  # a FakeBill fault, injected into `probability` of calls
    probability: float = 0.05
    refuse_connections: bool = False  # the client's own transport refuses `probability` of connections
    expire_sessions_at: tuple[int, ...] = ()  # job numbers at which BILL's clock jumps 36 minutes


SCENARIOS = [
    Scenario("5xx", {"kind": "server_error", "status": 503}),
    Scenario("429 + Retry-After", {"kind": "rate_limit", "retry_after": 0.01}),
    Scenario("BDC_1322 concurrency", {"kind": "concurrency_limit"}),
    Scenario("BDC_1144 hourly limit", {"kind": "hourly_limit", "status": 400}),
    Scenario("dropped before applying", {"kind": "drop_before"}),
    Scenario("dropped after applying", {"kind": "drop_after"}),
    Scenario("connection refused (not sent)", refuse_connections=True),
    Scenario("read timeout", {"kind": "latency", "seconds": TIMEOUT + 0.3}, probability=0.02),
    Scenario("session expiry mid-run", expire_sessions_at=(200, 400, 600, 800)),
]


class Wire(httpx.AsyncBaseTransport):
    """The client's real transport, counting what reaches the wire; optionally refusing some connections."""

    def __init__(self, refuse: float, rng: random.Random) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.refuse = refuse
        self.rng = rng
        self.in_flight = 0
        self.peak = 0
        self.refused = 0
        self.sent: list[tuple[str, str, bytes, int | None]] = []  # status None: no answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse and API.match(request.url.path) and self.rng.random() < self.refuse:
            self.refused += 1
            raise httpx.ConnectError("connection refused (injected)", request=request)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        status = None
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            status = response.status_code
            return response
        finally:
            self.in_flight -= 1
            self.sent.append((request.method, request.url.path, request.content, status))

    async def aclose(self) -> None:
        await self.inner.aclose()

    def creates(self, path: str) -> list[dict[str, Any]]:
        """Create bodies BILL may have applied: answered 2xx, or not answered at all. A definite refusal
        (4xx such as BDC_1109, replayed after a re-login) does not count."""
        return [
            json.loads(body)
            for method, p, body, status in self.sent
            if method == "POST" and p == path and (status is None or status < 300)
        ]


@dataclass
class Workload:
    bill: AsyncBill
    vendors: list[str]
    bills_to_pay: list[Any]
    bank_account: str
    outcomes: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    intended: dict[str, list[str]] = field(default_factory=lambda: {"vendor": [], "bill": [], "payment": []})
    attempts: Counter[str] = field(default_factory=Counter)
    idempotent_failures: list[str] = field(default_factory=list)
    settle: float = 0.0

    async def call(self, label: str, make: Callable[[], Awaitable[Any]], *, idempotent: bool) -> Any:
        try:
            result = await make()
        except BillError as exc:
            self.outcomes[f"{label}: {type(exc).__name__}"] += 1
            if idempotent:
                self.idempotent_failures.append(f"{label}: {exc!r}")
            raise
        except Exception as exc:
            self.untyped.append(f"{label}: {exc!r}")
            raise
        self.outcomes[f"{label}: ok"] += 1
        return result

    async def create_once(
        self, kind: str, key: str, make: Callable[[], Awaitable[Any]], find: Callable[[], Awaitable[bool]]
    ) -> None:
        """Create one object whatever happens, never two: what a careful user does with OutcomeUnknownError."""
        self.intended[kind].append(key)
        for _ in range(8):
            self.attempts[key] += 1
            try:
                await self.call(f"create {kind}", make, idempotent=False)
                return
            except OutcomeUnknownError:
                await anyio.sleep(self.settle)  # let a request that is still being served finish first
                for _ in range(8):
                    try:
                        found = await self.call(f"look up {kind}", find, idempotent=True)
                        break
                    except BillError:
                        continue
                else:
                    raise AssertionError(f"could not look up {kind} {key}") from None
                if found:
                    return
            except BillError:
                continue  # a definite refusal (e.g. 429): BILL did not apply it
        raise AssertionError(f"could not create {kind} {key}")

    # -- the jobs ------------------------------------------------------------------------------------

    async def get(self, rng: random.Random) -> None:
        vendor_id = rng.choice(self.vendors)
        await self.call("get vendor", lambda: self.bill.vendors.get(vendor_id), idempotent=True)

    async def list(self, rng: random.Random) -> None:
        await self.call("list vendors", lambda: self.bill.vendors.list(max=20), idempotent=True)

    async def patch(self, rng: random.Random) -> None:
        vendor_id = rng.choice(self.vendors)
        body = VendorUpdate(email=f"ap{rng.randrange(10_000)}@example.com")
        await self.call(
            "update vendor (PATCH)", lambda: self.bill.vendors.update(vendor_id, body=body), idempotent=False
        )

    async def archive_restore(self, rng: random.Random) -> None:
        vendor_id = rng.choice(self.vendors)
        await self.call("archive vendor", lambda: self.bill.vendors.archive(vendor_id), idempotent=True)
        await self.call("restore vendor", lambda: self.bill.vendors.restore(vendor_id), idempotent=True)

    async def create_vendor(self, rng: random.Random, n: int) -> None:
        name = f"Workload Vendor {n:04d}"
        body = bodies.vendor(name)

        async def find() -> bool:
            page = await self.bill.vendors.list(filters=where("name").eq(name))
            return bool(page.results)

        await self.create_once("vendor", name, lambda: self.bill.vendors.create(body=body), find)

    async def create_bill(self, rng: random.Random, n: int) -> None:
        number = f"WL-{n:04d}"
        body = bodies.bill(rng.choice(self.vendors), f"{n}.25", number, today=TODAY, description="workload")

        async def find() -> bool:
            # BILL filters bills by vendorId, not by invoice number: look through the vendor's bills.
            async for found in self.bill.bills.iter(filters=where("vendorId").eq(body.vendor_id)):
                if getattr(found.invoice, "invoice_number", None) == number:
                    return True
            return False

        await self.create_once("bill", number, lambda: self.bill.bills.create(body=body), find)

    async def create_payment(self, rng: random.Random, n: int) -> None:
        target = self.bills_to_pay.pop()
        body = bodies.payment(target.id, target.amount, self.bank_account, process_date=TODAY)

        async def find() -> bool:
            page = await self.bill.payments.list(filters=where("billId").eq(target.id))
            return bool(page.results)

        await self.create_once("payment", target.id, lambda: self.bill.payments.create(body=body), find)


def plan(rng: random.Random, payments: int) -> Iterator[tuple[str, int]]:
    """(job, calls it makes) until CALLS calls: a seeded mix of reads, writes and creates."""
    weights = {"get": 40, "list": 10, "patch": 15, "archive_restore": 10, "vendor": 10, "bill": 10, "payment": 5}
    total = 0
    while total < CALLS:
        job = rng.choices(list(weights), weights=list(weights.values()))[0]
        if job == "payment":
            if payments == 0:
                continue
            payments -= 1
        cost = 2 if job == "archive_restore" else 1
        total += cost
        yield job, cost


async def seed(bill: AsyncBill) -> tuple[list[str], list[Any], str]:
    vendors = []
    for i in range(20):
        body = bodies.vendor(f"Seed Vendor {i:02d}", address=bodies.main_street(city="SF"))
        vendors.append(str((await bill.vendors.create(body=body)).id))
    bills = []
    for i in range(60):
        body = bodies.bill(vendors[i % len(vendors)], f"{100 + i}.10", f"SEED-{i:03d}", today=TODAY)
        bills.append(await bill.bills.create(body=body))
    account = await bill.funding_accounts.create_bank_account(
        body=bodies.bank_account("Workload Org", "000111222333", "Loopback Bank")
    )
    return vendors, bills, str(account.id)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_a_thousand_mixed_calls_survive(scenario: Scenario, reliability_report: list[str]) -> None:
    skew = [0.0]  # seconds added to FakeBill's clock: a jump of 36 minutes expires every idle session
    fake = FakeBill(seed=11, clock=lambda: time.monotonic() + skew[0])
    rng = random.Random(11)
    wire = Wire(refuse=scenario.probability if scenario.refuse_connections else 0.0, rng=random.Random(12))
    # In the read-timeout scenario each attempt may wait TIMEOUT for data; the call's deadline leaves room for
    # the retries of idempotent calls.
    attempt_timeout = TIMEOUT if scenario.fault.get("kind") == "latency" else None
    c = fake.credentials
    with fake.serve() as url:
        async with (
            httpx.AsyncClient(transport=wire, trust_env=False) as http,
            AsyncBill(
                dev_key=c.dev_key,
                username=c.username,
                password=c.password,
                organization_id=c.organization_id,
                base_url=str(url),
                http_client=http,
                timeout=30.0,
                attempt_timeout=attempt_timeout,
                max_retries=6,
                env={},
            ) as bill,
        ):
            bill._retry.base_delay = 0.005  # keep backoff short; the policy itself is tested in tests/client
            bill._retry.max_delay = 0.05
            vendors, bills_to_pay, bank_account = await seed(bill)
            logins_before = fake.login_count
            workload = Workload(bill, vendors, bills_to_pay, bank_account)
            workload.settle = scenario.fault.get("seconds", 0.0)
            if scenario.fault:
                fault = fake.faults.add(API, count=None, probability=scenario.probability, **scenario.fault)

            jobs = list(plan(rng, payments=len(bills_to_pay)))
            cursor = iter(enumerate(jobs))

            async def worker(worker_rng: random.Random) -> None:
                for n, (job, _cost) in cursor:
                    if n in scenario.expire_sessions_at:
                        skew[0] += 36 * 60
                    try:
                        if job in ("vendor", "bill", "payment"):
                            await getattr(workload, f"create_{job}")(worker_rng, n)
                        else:
                            await getattr(workload, job)(worker_rng)
                    except BillError:
                        pass  # counted in outcomes

            async with anyio.create_task_group() as tg:
                for i in range(TASKS):
                    tg.start_soon(worker, random.Random(100 + i))

            fault_hits = fault.hits if scenario.fault else 0
            relogins = fake.login_count - logins_before

    injected = fault_hits or wire.refused or len(scenario.expire_sessions_at) * 10
    calls = sum(cost for _job, cost in jobs)

    served_peak = check_outcome(fake, workload, wire, scenario, injected, fault_hits, relogins)

    outcomes = Counter({k: v for k, v in workload.outcomes.items() if not k.endswith(": ok")})
    reliability_report.append(
        f"{scenario.name:32} {calls} calls, {sum(workload.outcomes.values())} SDK calls "
        f"({sum(v for k, v in workload.outcomes.items() if k.endswith(': ok'))} ok), "
        f"faults injected {fault_hits or wire.refused or f'{len(scenario.expire_sessions_at)} expiries'}, creates {sum(len(v) for v in workload.intended.values())} "
        f"applied once each, typed errors {dict(outcomes) or 'none'}, client peak {wire.peak}, "
        f"FakeBill peak {served_peak}, re-logins {relogins}"
    )


def check_outcome(
    fake: FakeBill, workload: Any, wire: Any, scenario: Scenario, injected: int, fault_hits: int, relogins: int
) -> int:
    """The checks every fault scenario must pass, for AsyncBill and Bill alike; returns FakeBill's peak in flight."""
    assert injected >= 10, "the fault hardly fired: the scenario proves nothing"
    # 1. Every call ended in success or a typed error.
    assert not workload.untyped, workload.untyped[:5]
    # 2. Idempotent calls succeeded (retries absorbed the faults).
    assert not workload.idempotent_failures, workload.idempotent_failures[:5]
    # 3. Exactly one object per intended create, and the SDK never re-sent a create BILL may have applied.
    state = {
        "vendor": Counter(v["name"] for v in fake.state.list("vendors") if v["name"].startswith("Workload")),
        "bill": Counter(
            b["invoice"]["invoiceNumber"]
            for b in fake.state.list("bills")
            if b["invoice"]["invoiceNumber"][:3] == "WL-"
        ),
        "payment": Counter(p["billId"] for p in fake.state.list("payments")),
    }
    for kind, keys in workload.intended.items():
        assert keys, f"the workload made no {kind}"
        assert state[kind] == Counter(keys), (
            f"{kind}: {state[kind] - Counter(keys)} extra, {Counter(keys) - state[kind]} missing"
        )
    sent = Counter(b["name"] for b in wire.creates("/connect/v3/vendors"))
    sent += Counter(b["invoice"]["invoiceNumber"] for b in wire.creates("/connect/v3/bills"))
    sent += Counter(b["billId"] for b in wire.creates("/connect/v3/payments"))
    over = {key: n for key, n in sent.items() if n > workload.attempts[key] and key in workload.attempts}
    assert not over, f"the SDK re-sent creates: {over}"
    # 4. The concurrency limit held on the client, and FakeBill saw no more than that.
    assert wire.peak <= 3
    served_peak = max(fake.peak_in_flight.values())
    if scenario.fault.get("kind") == "latency":
        # A timed-out request is still being served after the client freed its slot.
        assert served_peak <= 3 + fault_hits
    else:
        assert served_peak <= 3
    # 5. Sessions: one login per expiry, however many calls were in flight when it happened (single flight).
    assert relogins == len(scenario.expire_sessions_at)

    return served_peak
