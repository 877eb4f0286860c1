"""Fault injection: make matching requests slow, fail, or lose their connection.

    fake.faults.add("/connect/v3/vendors*", kind="concurrency_limit", count=2)
    fake.faults.add("*", method="POST", kind="drop_after")
    fake.faults.add(re.compile(r"^/connect/v3/vendors"), kind="server_error", count=None, probability=0.05)

A fault matches a request when `path_pattern` (fnmatch glob, or a compiled regex searched) matches the path as
sent (``/connect/v3/vendors``), the spec path (``/v3/vendors``), the spec template (``/v3/vendors/{vendorId}``)
or the operationId; and `method` (if given) matches. It fires `count` times (None: until removed), each
matching request with `probability` (drawn from FakeBill's seeded random generator, so runs repeat). Latency
faults delay a request and let it continue; of the other kinds the first matching one decides the answer.
"""

from __future__ import annotations

import enum
import fnmatch
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from bill_sdk.testing.bdc import CONCURRENCY_LIMIT, HOURLY_LIMIT, ErrorReply


class FaultKind(enum.StrEnum):
    LATENCY = "latency"  # sleep `seconds`, then handle normally
    CONCURRENCY_LIMIT = "concurrency_limit"  # BDC_1322, HTTP `status` (429)
    HOURLY_LIMIT = "hourly_limit"  # BDC_1144, HTTP `status` (429)
    RATE_LIMIT = "rate_limit"  # HTTP 429 with Retry-After: `retry_after` (1)
    SERVER_ERROR = "server_error"  # HTTP `status` (500; 502, 503, 520 ...), BILL array or raw `body`
    ERROR = "error"  # any `status` with `code`/`message` (or raw `body`)
    DROP_BEFORE = "drop_before"  # connection closed, request not applied
    DROP_AFTER = "drop_after"  # request applied, connection closed without a response
    SESSION_EXPIRED = "session_expired"  # the caller's session ends now: 401 BDC_1109


@dataclass
class Fault:
    kind: FaultKind
    path_pattern: str | re.Pattern[str] = "*"
    method: str | None = None
    count: int | None = 1
    seconds: float = 0.0
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    body: str | bytes | None = None
    content_type: str = "text/html"
    probability: float = 1.0
    hits: int = 0
    paths: list[str] = field(default_factory=list)  # request paths it fired on

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else max(0, self.count - self.hits)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def matches(self, method: str, candidates: tuple[str, ...]) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if isinstance(self.path_pattern, re.Pattern):
            return any(self.path_pattern.search(c) for c in candidates)
        return any(fnmatch.fnmatchcase(c, self.path_pattern) for c in candidates)

    def error(self) -> ErrorReply:
        """The answer of an error-kind fault."""
        kind = self.kind
        headers: dict[str, str] = {}
        if kind is FaultKind.CONCURRENCY_LIMIT:
            status, code, message = 429, "BDC_1322", CONCURRENCY_LIMIT
        elif kind is FaultKind.HOURLY_LIMIT:
            status, code, message = 429, "BDC_1144", HOURLY_LIMIT
        elif kind is FaultKind.RATE_LIMIT:
            status, code, message = 429, "BDC_1322", "Too many requests."
            headers["Retry-After"] = _seconds(1 if self.retry_after is None else self.retry_after)
        elif kind is FaultKind.SERVER_ERROR:
            status, code, message = 500, "BDC_1001", "System error"
        else:
            status, code, message = 400, "BDC_1002", "Unknown error"
        if self.retry_after is not None:
            headers["Retry-After"] = _seconds(self.retry_after)
        category = "SERVER" if (self.status or status) >= 500 else "REQUEST"
        return ErrorReply(
            self.status or status, self.code or code, self.message or message, category=category, headers=headers
        )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Faults:
    """The fault list of one FakeBill (thread-safe: a server thread and the test thread share it)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random()

    def add(
        self,
        path_pattern: str | re.Pattern[str] = "*",
        method: str | None = None,
        kind: FaultKind | str = FaultKind.SERVER_ERROR,
        count: int | None = 1,
        *,
        seconds: float = 0.0,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        body: str | bytes | None = None,
        content_type: str = "text/html",
        probability: float = 1.0,
    ) -> Fault:
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"probability must be in (0, 1], got {probability}")
        fault = Fault(
            FaultKind(kind),
            path_pattern,
            method,
            count,
            seconds,
            status,
            code,
            message,
            retry_after,
            body,
            content_type,
            probability,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __iter__(self) -> Any:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, method: str, candidates: tuple[str, ...]) -> tuple[list[Fault], Fault | None]:
        """Consume the faults for one request: (latency faults, the deciding fault or None)."""
        delays: list[Fault] = []
        decisive: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, candidates):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                if fault.kind is FaultKind.LATENCY:
                    delays.append(fault)
                elif decisive is None:
                    decisive = fault
                else:
                    continue
                fault.hits += 1
                fault.paths.append(candidates[0])
        return delays, decisive
