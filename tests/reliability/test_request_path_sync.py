"""Bill's deadline against a hostile server (tests/reliability/hostile.py, served from an event loop in a thread):
sync code has no cancel scope, so each attempt gets what is left of the deadline as its httpx timeouts and the
body is checked against it between chunks. A trickling body still ends the call near the deadline, and a create
whose answer trickles past it is OutcomeUnknownError, sent once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import pytest

from bill_sdk import Bill, BillTimeoutError, OutcomeUnknownError
from tests import bodies

from .hostile import CREDENTIALS, HostileServer, RawRequest, Reply
from .test_request_path import login_or

pytestmark = pytest.mark.integration


async def trickling(request: RawRequest, reply: Reply) -> None:
    if not await login_or(request, reply):
        await reply.trickle(200, chunks=60, interval=0.1)  # 6 s in all; each byte well inside a read timeout


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(HostileServer(trickling)) as running,
    ):
        yield running


def client(server: HostileServer, **options: Any) -> Bill:
    bill = Bill(base_url=server.base_url, env={}, **CREDENTIALS, **options)
    bill._retry.base_delay = 0.001
    return bill


def test_a_body_trickling_one_byte_at_a_time_stops_near_the_deadline(server: HostileServer) -> None:
    with client(server) as bill:
        started = time.monotonic()
        with pytest.raises(BillTimeoutError, match="deadline"):
            bill.vendors.get("00901A", timeout=1.0)
        assert time.monotonic() - started < 3.0


def test_a_create_whose_answer_trickles_past_the_deadline_is_outcome_unknown(server: HostileServer) -> None:
    with client(server) as bill, pytest.raises(OutcomeUnknownError, match="deadline"):
        bill.payments.create(body=bodies.payment(), timeout=1.0)
    assert server.paths().count("/connect/v3/payments") == 1
