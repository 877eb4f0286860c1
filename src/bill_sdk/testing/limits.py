"""Request accounting per organization: requests in flight (peak kept for tests), optional limits.

* ``max_concurrent_per_org``: BILL allows 3 concurrent requests per developer key and organization; more
  answer ``BDC_1322`` (HTTP status configurable, 429 by default; BILL does not document it).
* ``hourly_request_limit``: requests per organization per clock hour before ``BDC_1144``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bill_sdk.testing.bdc import CONCURRENCY_LIMIT, HOURLY_LIMIT, ErrorReply


class Limits:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        max_concurrent: int | None = None,
        concurrency_status: int = 429,
        hourly_limit: int | None = None,
        hourly_status: int = 429,
    ) -> None:
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.concurrency_status = concurrency_status
        self.hourly_limit = hourly_limit
        self.hourly_status = hourly_status
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        self._hour: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def enter(self, org: str) -> None:
        """Count a request in (raises BDC_1322/BDC_1144 when over a configured limit; then not counted)."""
        with self._lock:
            current = self.in_flight.get(org, 0)
            if self.max_concurrent is not None and current >= self.max_concurrent:
                raise ErrorReply(self.concurrency_status, "BDC_1322", CONCURRENCY_LIMIT)
            if self.hourly_limit is not None:
                hour = int(self.clock() // 3600)
                seen_hour, count = self._hour.get(org, (hour, 0))
                count = count if seen_hour == hour else 0
                if count >= self.hourly_limit:
                    raise ErrorReply(self.hourly_status, "BDC_1144", HOURLY_LIMIT)
                self._hour[org] = (hour, count + 1)
            self.in_flight[org] = current + 1
            self.peak_in_flight[org] = max(self.peak_in_flight.get(org, 0), current + 1)

    def leave(self, org: str) -> None:
        with self._lock:
            self.in_flight[org] = max(0, self.in_flight.get(org, 0) - 1)
