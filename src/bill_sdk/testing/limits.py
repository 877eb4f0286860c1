"""Request accounting the way BILL counts: requests in flight per (developer key, organization) across every
connection (peak kept for tests), and budgets per key and clock hour.

* ``max_concurrent`` (``max_concurrent_per_org``): BILL allows 3 concurrent requests per developer key and
  organization; more answer ``BDC_1322`` (HTTP status configurable, 429 by default; BILL does not document it).
  FakeBill accepts one developer key, so the count is per organization (partner-level calls: ``"partner"``).
* ``hourly_limit`` (``hourly_request_limit``): requests per key per clock hour before ``BDC_1144``. The key is
  the credential a request is sent with: the developer key (org calls and ``/v3/login``), the app key (partner
  login and partner calls) or the API token (Spend). A refused request (any limit) spends nothing.
* ``hourly_login_limit``: logins (``login``, ``partnerLogin``, ``loginAsUser``) per key per clock hour (BILL: 200
  per developer key); beyond it ``BDC_1144`` as well (BILL does not document the code).
* ``latency``: seconds every request waits (asynchronously) while counted in flight. FakeBill's handlers are
  synchronous, so without it one request is finished before the next is read and nothing ever overlaps (the
  in-flight count is always 1); with it, concurrent requests are really concurrent, as at BILL.

The clock hour is ``clock() // 3600`` of the fake's clock. Attributes may be changed on a running fake
(``fake.limits.latency = 0.02``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from bill_sdk.testing.bdc import CONCURRENCY_LIMIT, HOURLY_LIMIT, ErrorReply

LOGIN_OPERATIONS = frozenset({"login", "partnerLogin", "loginAsUser"})
LOGIN_LIMIT = "Max number of allowed logins per hour reached."


class Limits:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        max_concurrent: int | None = None,
        concurrency_status: int = 429,
        hourly_limit: int | None = None,
        hourly_status: int = 429,
        hourly_login_limit: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.concurrency_status = concurrency_status
        self.hourly_limit = hourly_limit
        self.hourly_status = hourly_status
        self.hourly_login_limit = hourly_login_limit
        self.latency = latency
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        self.refused: dict[str, int] = {}  # BDC_1322 answers per organization
        self._hour: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def enter(self, org: str, key: str = "devKey", operation_id: str | None = None) -> None:
        """Count a request in (raises BDC_1322/BDC_1144 when over a configured limit; then not in flight).

        `org` is whose concurrency the request uses, `key` whose hourly budgets (the credential's header name).
        """
        with self._lock:
            current = self.in_flight.get(org, 0)
            if self.max_concurrent is not None and current >= self.max_concurrent:
                self.refused[org] = self.refused.get(org, 0) + 1
                raise ErrorReply(self.concurrency_status, "BDC_1322", CONCURRENCY_LIMIT)
            spent = [self._check(key, "requests", self.hourly_limit, HOURLY_LIMIT)]
            if operation_id in LOGIN_OPERATIONS:
                spent.append(self._check(key, "logins", self.hourly_login_limit, LOGIN_LIMIT))
            for budget, hour, count in spent:  # all checked first: a refused request spends nothing
                self._hour[(key, budget)] = (hour, count + 1)
            self.in_flight[org] = current + 1
            self.peak_in_flight[org] = max(self.peak_in_flight.get(org, 0), current + 1)

    async def work(self) -> None:
        """The request's time at "BILL" while it is counted in flight (see ``latency``)."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def leave(self, org: str) -> None:
        with self._lock:
            self.in_flight[org] = max(0, self.in_flight.get(org, 0) - 1)

    def budget_used(self, key: str, budget: str) -> int:
        """Requests (``"requests"``) or logins (``"logins"``) counted for `key` in the current clock hour."""
        with self._lock:
            hour, count = self._hour.get((key, budget), (-1, 0))
            return count if hour == int(self.clock() // 3600) else 0

    def _check(self, key: str, budget: str, limit: int | None, message: str) -> tuple[str, int, int]:
        hour = int(self.clock() // 3600)
        seen_hour, count = self._hour.get((key, budget), (hour, 0))
        count = count if seen_hour == hour else 0
        if limit is not None and count >= limit:
            raise ErrorReply(self.hourly_status, "BDC_1144", message)
        return budget, hour, count
