"""The fault matrix of test_faults.py for ``Bill``, the synchronous client: the same scenarios (5xx, 429 +
Retry-After, BDC_1322, BDC_1144, connections dropped before / after BILL applied the request, refused
connections, read timeouts, session expiry mid-run), the same seeded workload of 1,000 mixed calls over real
loopback HTTP, run by 20 threads sharing one ``Bill``.

What is checked is what test_faults.py checks: only typed errors; idempotent calls succeed; every create is
applied exactly once (at most once by the SDK, reconciled by the workload) and the SDK never re-sent a create that
reached the wire; at most 3 requests in flight from the client and at FakeBill; one re-login per expiry.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bill_sdk import Bill, BillError, OutcomeUnknownError, where
from bill_sdk.models import VendorUpdate
from bill_sdk.testing import FakeBill
from tests import bodies

from .test_faults import API, SCENARIOS, TASKS, TIMEOUT, TODAY, Scenario, check_outcome, plan

pytestmark = pytest.mark.integration


class Wire(httpx.BaseTransport):
    """Bill's real transport, counting what reaches the wire (across threads); optionally refusing connections."""

    def __init__(self, refuse: float, rng: random.Random) -> None:
        self.inner = httpx.HTTPTransport()
        self.refuse = refuse
        self.rng = rng
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.refused = 0
        self.sent: list[tuple[str, str, bytes, int | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            refuse = self.refuse and API.match(request.url.path) and self.rng.random() < self.refuse
            if refuse:
                self.refused += 1
            else:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
        if refuse:
            raise httpx.ConnectError("connection refused (injected)", request=request)
        status = None
        try:
            response = self.inner.handle_request(request)
            response.read()
            status = response.status_code
            return response
        finally:
            with self.lock:
                self.in_flight -= 1
                self.sent.append((request.method, request.url.path, request.content, status))

    def close(self) -> None:
        self.inner.close()

    def creates(self, path: str) -> list[dict[str, Any]]:
        return [
            json.loads(body)
            for method, p, body, status in self.sent
            if method == "POST" and p == path and (status is None or status < 300)
        ]


@dataclass
class Workload:
    bill: Bill
    vendors: list[str]
    bills_to_pay: list[Any]
    bank_account: str
    outcomes: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    intended: dict[str, list[str]] = field(default_factory=lambda: {"vendor": [], "bill": [], "payment": []})
    attempts: Counter[str] = field(default_factory=Counter)
    idempotent_failures: list[str] = field(default_factory=list)
    settle: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, label: str, make: Callable[[], Any], *, idempotent: bool) -> Any:
        try:
            result = make()
        except BillError as exc:
            with self.lock:
                self.outcomes[f"{label}: {type(exc).__name__}"] += 1
                if idempotent:
                    self.idempotent_failures.append(f"{label}: {exc!r}")
            raise
        except Exception as exc:
            self.untyped.append(f"{label}: {exc!r}")
            raise
        with self.lock:
            self.outcomes[f"{label}: ok"] += 1
        return result

    def create_once(self, kind: str, key: str, make: Callable[[], Any], find: Callable[[], bool]) -> None:
        """Create one object whatever happens, never two: what a careful user does with OutcomeUnknownError."""
        with self.lock:
            self.intended[kind].append(key)
        for _ in range(8):
            with self.lock:
                self.attempts[key] += 1
            try:
                self.call(f"create {kind}", make, idempotent=False)
                return
            except OutcomeUnknownError:
                time.sleep(self.settle)  # let a request that is still being served finish first
                for _ in range(8):
                    try:
                        found = self.call(f"look up {kind}", find, idempotent=True)
                        break
                    except BillError:
                        continue
                else:
                    raise AssertionError(f"could not look up {kind} {key}") from None
                if found:
                    return
            except BillError:
                continue
        raise AssertionError(f"could not create {kind} {key}")

    # -- the jobs (test_faults.py's, without await) -----------------------------------------------------

    def get(self, rng: random.Random) -> None:
        vendor_id = rng.choice(self.vendors)
        self.call("get vendor", lambda: self.bill.vendors.get(vendor_id), idempotent=True)

    def list(self, rng: random.Random) -> None:
        self.call("list vendors", lambda: self.bill.vendors.list(max=20).page, idempotent=True)

    def patch(self, rng: random.Random) -> None:
        vendor_id = rng.choice(self.vendors)
        body = VendorUpdate(email=f"ap{rng.randrange(10_000)}@example.com")
        self.call("update vendor (PATCH)", lambda: self.bill.vendors.update(vendor_id, body=body), idempotent=False)

    def archive_restore(self, rng: random.Random) -> None:
        vendor_id = rng.choice(self.vendors)
        self.call("archive vendor", lambda: self.bill.vendors.archive(vendor_id), idempotent=True)
        self.call("restore vendor", lambda: self.bill.vendors.restore(vendor_id), idempotent=True)

    def create_vendor(self, rng: random.Random, n: int) -> None:
        name = f"Workload Vendor {n:04d}"
        body = bodies.vendor(name)

        def find() -> bool:
            return bool(self.bill.vendors.list(filters=where("name").eq(name)).page.results)

        self.create_once("vendor", name, lambda: self.bill.vendors.create(body=body), find)

    def create_bill(self, rng: random.Random, n: int) -> None:
        number = f"WL-{n:04d}"
        body = bodies.bill(rng.choice(self.vendors), f"{n}.25", number, today=TODAY, description="workload")

        def find() -> bool:
            found = self.bill.bills.iter(filters=where("vendorId").eq(body.vendor_id))
            return any(getattr(b.invoice, "invoice_number", None) == number for b in found)

        self.create_once("bill", number, lambda: self.bill.bills.create(body=body), find)

    def create_payment(self, rng: random.Random, n: int) -> None:
        target = self.bills_to_pay.pop()
        body = bodies.payment(target.id, target.amount, self.bank_account, process_date=TODAY)

        def find() -> bool:
            return bool(self.bill.payments.list(filters=where("billId").eq(target.id)).page.results)

        self.create_once("payment", target.id, lambda: self.bill.payments.create(body=body), find)


def seed(bill: Bill) -> tuple[list[str], list[Any], str]:
    vendors = []
    for i in range(20):
        body = bodies.vendor(f"Seed Vendor {i:02d}", address=bodies.main_street(city="SF"))
        vendors.append(str(bill.vendors.create(body=body).id))
    bills = [
        bill.bills.create(body=bodies.bill(vendors[i % len(vendors)], f"{100 + i}.10", f"SEED-{i:03d}", today=TODAY))
        for i in range(60)
    ]
    account = bill.funding_accounts.create_bank_account(
        body=bodies.bank_account("Workload Org", "000111222333", "Loopback Bank")
    )
    return vendors, bills, str(account.id)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_thousand_mixed_calls_from_twenty_threads_survive(scenario: Scenario, reliability_report: list[str]) -> None:
    skew = [0.0]
    fake = FakeBill(seed=11, clock=lambda: time.monotonic() + skew[0])
    rng = random.Random(11)
    wire = Wire(refuse=scenario.probability if scenario.refuse_connections else 0.0, rng=random.Random(12))
    attempt_timeout = TIMEOUT if scenario.fault.get("kind") == "latency" else None
    c = fake.credentials
    fault = None
    with (
        fake.serve() as url,
        httpx.Client(transport=wire, trust_env=False) as http,
        Bill(
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
        bill._retry.base_delay = 0.005
        bill._retry.max_delay = 0.05
        vendors, bills_to_pay, bank_account = seed(bill)
        logins_before = fake.login_count
        workload = Workload(bill, vendors, bills_to_pay, bank_account)
        workload.settle = scenario.fault.get("seconds", 0.0)
        if scenario.fault:
            fault = fake.faults.add(API, count=None, probability=scenario.probability, **scenario.fault)
        jobs = list(plan(rng, payments=len(bills_to_pay)))
        cursor = iter(enumerate(jobs))

        def worker(worker_rng: random.Random) -> None:
            for n, (job, _cost) in cursor:
                if n in scenario.expire_sessions_at:
                    skew[0] += 36 * 60
                try:
                    if job in ("vendor", "bill", "payment"):
                        getattr(workload, f"create_{job}")(worker_rng, n)
                    else:
                        getattr(workload, job)(worker_rng)
                except BillError:
                    pass

        threads = [threading.Thread(target=worker, args=(random.Random(100 + i),)) for i in range(TASKS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        fault_hits = fault.hits if fault is not None else 0
        relogins = fake.login_count - logins_before

    injected = fault_hits or wire.refused or len(scenario.expire_sessions_at) * 10
    served_peak = check_outcome(fake, workload, wire, scenario, injected, fault_hits, relogins)
    outcomes = Counter({k: v for k, v in workload.outcomes.items() if not k.endswith(": ok")})
    reliability_report.append(
        f"sync {scenario.name:27} {sum(cost for _job, cost in jobs)} calls from {TASKS} threads, creates "
        f"{sum(len(v) for v in workload.intended.values())} applied once each, typed errors {dict(outcomes) or 'none'}, "
        f"client peak {wire.peak}, FakeBill peak {served_peak}, re-logins {relogins}"
    )
