"""The one request path against servers that misbehave: deadlines, body caps, lost answers, closed clients,
second event loops. Each test is named for what a user can rely on (issue #12, items 2, 4-7, 9, 16)."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
import respx

from bill_sdk import (
    AsyncBill,
    BillTimeoutError,
    ClientStateError,
    OutcomeUnknownError,
    ResponseDecodeError,
    ServerError,
)
from bill_sdk.errors import APIError
from tests import bodies
from tests.client.conftest import OBJ

from .hostile import CREDENTIALS, LOGIN, HostileServer, RawRequest, Reply

BILL_404 = [{"code": "BDC_1120", "message": "Object not found"}]


def client(server: HostileServer, **options: Any) -> AsyncBill:
    bill = AsyncBill(base_url=server.base_url, env={}, **CREDENTIALS, **options)
    bill._retry.base_delay = 0.001
    return bill


async def login_or(request: RawRequest, reply: Reply) -> bool:
    if request.path.endswith("/v3/login") or request.path.endswith("/v3/logout"):
        await reply.respond(200, LOGIN if request.path.endswith("login") else {})
        return True
    return False


# ------------------------------------------------------------------ item 5: timeout= is a deadline


async def test_a_body_trickling_one_byte_at_a_time_stops_at_the_deadline() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.trickle(200, chunks=60, interval=0.1)  # 6 s in all; each byte well inside a read timeout

    async with HostileServer(handler) as server, client(server) as bill:
        started = time.monotonic()
        with pytest.raises(BillTimeoutError, match="deadline"):
            await bill.vendors.get("00901A", timeout=1.0)
        assert time.monotonic() - started < 3.0


async def test_a_create_whose_answer_trickles_past_the_deadline_is_outcome_unknown() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.trickle(200, chunks=60, interval=0.1)

    async with HostileServer(handler) as server, client(server) as bill:
        with pytest.raises(OutcomeUnknownError, match="deadline"):
            await bill.payments.create(body=bodies.payment(), timeout=1.0)
        assert server.paths().count("/connect/v3/payments") == 1


async def test_the_deadline_covers_waiting_for_a_concurrency_slot() -> None:
    release = asyncio.Event()

    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.stall(release, seconds=10)
            await reply.respond(200, {**OBJ, "id": "00901A"})

    async with HostileServer(handler) as server, client(server, max_concurrency=1) as bill:
        first = asyncio.create_task(bill.vendors.get("00901A"))
        while not any(p.startswith("/connect/v3/vendors") for p in server.paths()):
            await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(BillTimeoutError, match="before the request was sent"):
            await bill.payments.create(body=bodies.payment(), timeout=0.5)
        assert time.monotonic() - started < 3.0
        assert "/connect/v3/payments" not in server.paths()
        release.set()
        await first


async def test_a_retry_after_longer_than_the_deadline_is_not_slept() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.respond(503, [{"code": "X", "message": "busy"}], {"Retry-After": "20"})

    async with HostileServer(handler) as server, client(server) as bill:
        started = time.monotonic()
        with pytest.raises(ServerError) as caught:
            await bill.vendors.get("00901A", timeout=2.0)
        assert caught.value.retry_after == 20
        assert time.monotonic() - started < 2.5


async def test_caller_cancellation_after_a_create_was_sent_is_outcome_unknown_not_cancelled() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.stall(seconds=5)

    async with HostileServer(handler) as server, client(server) as bill:
        with pytest.raises(OutcomeUnknownError, match="cancelled"):
            async with asyncio.timeout(0.5):
                await bill.payments.create(body=bodies.payment())


async def test_caller_cancellation_of_a_sent_create_is_outcome_unknown_without_a_deadline_too() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.stall(seconds=5)

    async with HostileServer(handler) as server, client(server, timeout=None) as bill:
        with pytest.raises(OutcomeUnknownError, match="cancelled"):
            async with asyncio.timeout(0.5):
                await bill.payments.create(body=bodies.payment())


async def test_a_backoff_that_would_pass_the_deadline_raises_the_real_error_at_once() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.respond(503, [{"code": "X", "message": "busy"}])

    async with HostileServer(handler) as server, client(server) as bill:
        bill._retry.base_delay = bill._retry.max_delay = 30.0
        bill._retry.delay = lambda attempt, retry_after: 30.0  # type: ignore[method-assign]
        started = time.monotonic()
        with pytest.raises(ServerError):
            await bill.vendors.get("00901A", timeout=2.0)
        assert time.monotonic() - started < 1.5


async def test_caller_cancellation_of_a_read_stays_a_cancellation() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.stall(seconds=5)

    async with HostileServer(handler) as server, client(server) as bill:
        with pytest.raises(TimeoutError):  # asyncio.timeout turns the cancellation into its TimeoutError
            async with asyncio.timeout(0.5):
                await bill.vendors.get("00901A")
        with anyio.move_on_after(0.5) as scope:
            await bill.vendors.get("00901A")
        assert scope.cancelled_caught


# ------------------------------------------------------------------ item 6: a stalled login starves nobody


async def test_a_stalled_login_blocks_neither_spend_calls_nor_the_concurrency_slots() -> None:
    release_login = asyncio.Event()

    async def handler(request: RawRequest, reply: Reply) -> None:
        if request.path.endswith("/v3/login"):
            await reply.stall(release_login, seconds=10)
            await reply.respond(200, LOGIN)
        elif request.path.startswith("/connect/v3/spend"):
            await reply.respond(200, {"results": [], "nextPage": None})
        else:
            await reply.respond(200, {**OBJ, "id": "00901A"} if "vendors" in request.path else {})

    # BILL's 3 slots; the login request itself holds one while it is out, the three calls waiting for it none.
    async with HostileServer(handler) as server, client(server, max_concurrency=3) as bill:
        waiting = [asyncio.create_task(bill.vendors.get("00901A")) for _ in range(3)]
        while "/connect/v3/login" not in server.paths():
            await asyncio.sleep(0.01)
        with anyio.fail_after(3):  # Spend signs in with apiToken: no reason to wait for a Connect login
            await bill.spend.budgets.list()
        release_login.set()
        await asyncio.gather(*waiting)
        assert server.paths().count("/connect/v3/login") == 1


# ------------------------------------------------------------------ item 7: aclose() is bounded


async def test_aclose_is_bounded_when_logout_never_answers() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if request.path.endswith("/v3/logout"):
            await reply.trickle(200, chunks=200, interval=0.1)  # 20 s of trickle
        elif not await login_or(request, reply):
            await reply.respond(200, {**OBJ, "id": "00901A"})

    async with HostileServer(handler) as server:
        bill = client(server)
        await bill.vendors.get("00901A")
        started = time.monotonic()
        await bill.aclose()
        assert time.monotonic() - started < 8.0
        assert bill._http.is_closed


async def test_aclose_honours_the_callers_cancel_scope() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if request.path.endswith("/v3/logout"):
            await reply.stall(seconds=20)
        elif not await login_or(request, reply):
            await reply.respond(200, {**OBJ, "id": "00901A"})

    async with HostileServer(handler) as server:
        bill = client(server)
        await bill.vendors.get("00901A")
        started = time.monotonic()
        with anyio.move_on_after(0.5):
            await bill.aclose()
        assert time.monotonic() - started < 2.0
        assert bill._http.is_closed


# ------------------------------------------------------------------ item 9: bodies are capped


async def test_a_success_body_beyond_the_cap_is_a_decode_error_without_downloading_it() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.stream(200, total=200 * 1024 * 1024)

    async with HostileServer(handler) as server, client(server, max_response_bytes=1024 * 1024) as bill:
        with pytest.raises(ResponseDecodeError, match="larger than"):
            await bill.vendors.get("00901A")
        assert server.bytes_sent < 32 * 1024 * 1024


async def test_error_bodies_are_read_only_as_far_as_the_error_parser_needs_on_every_retry() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.stream(500, total=64 * 1024 * 1024)

    async with HostileServer(handler) as server, client(server, max_retries=2) as bill:
        with pytest.raises(ServerError):
            await bill.vendors.get("00901A")
        assert server.paths().count("/connect/v3/vendors/00901A") == 3
        assert server.bytes_sent < 3 * 8 * 1024 * 1024  # far below 3 x 64 MiB


async def test_a_gzip_bomb_is_capped_after_decoding() -> None:
    bomb = gzip.compress(b'"' + b"x" * (64 * 1024 * 1024) + b'"')

    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.respond(200, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})

    async with HostileServer(handler) as server, client(server, max_response_bytes=1024 * 1024) as bill:
        with pytest.raises(ResponseDecodeError, match="larger than"):
            await bill.vendors.get("00901A")


# ------------------------------------------------------------------ item 16: failures named for what happened


async def test_a_2xx_with_a_corrupt_gzip_body_is_a_decode_error_that_says_the_work_was_done() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            body = b"\x1f\x8b\x08\x00not really gzip at all"
            await reply.respond(200, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})

    async with HostileServer(handler) as server, client(server) as bill:
        with pytest.raises(ResponseDecodeError, match="was done"):
            await bill.payments.create(body=bodies.payment())
        with pytest.raises(ResponseDecodeError) as caught:
            await bill.vendors.get("00901A")
        assert "connection failed" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"<html>maintenance</html>", {"Content-Type": "text/html"}),
        (b'{"results": null, "nextPage": null}', {"Content-Type": "application/json"}),
    ],
    ids=["html-page", "results-null"],
)
async def test_a_2xx_body_of_the_wrong_shape_is_a_decode_error(body: bytes, headers: dict[str, str]) -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.respond(200, body, headers)

    async with HostileServer(handler) as server, client(server) as bill:
        with pytest.raises(ResponseDecodeError):
            await bill.vendors.list()


async def test_a_redirect_is_a_typed_error_that_names_it() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        if not await login_or(request, reply):
            await reply.respond(302, b"", {"Location": "https://elsewhere.example/v3/vendors"})

    async with HostileServer(handler) as server, client(server) as bill:
        with pytest.raises(APIError, match=r"redirect.*elsewhere\.example") as caught:
            await bill.vendors.get("00901A")
        assert caught.value.status_code == 302
        assert server.paths().count("/connect/v3/vendors/00901A") == 1


# ------------------------------------------------------------------ item 4: a retried DELETE that worked


async def test_a_retried_delete_whose_first_answer_was_lost_and_that_finds_nothing_succeeded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deletes = 0

    async def handler(request: RawRequest, reply: Reply) -> None:
        nonlocal deletes
        if request.method == "DELETE":
            deletes += 1
            if deletes == 1:
                reply.drop()  # BILL deleted it, the answer never arrived
            else:
                await reply.respond(404, BILL_404)
        else:
            await reply.respond(200, {})

    async with HostileServer(handler) as server, client(server) as bill:
        caplog.set_level("INFO", logger="bill_sdk")
        assert await bill.spend.budgets.delete("bud1") is None
        assert deletes == 2
        assert "already gone" in caplog.text


async def test_a_delete_that_finds_nothing_on_its_first_attempt_is_still_not_found() -> None:
    async def handler(request: RawRequest, reply: Reply) -> None:
        await reply.respond(404, BILL_404)

    async with HostileServer(handler) as server, client(server) as bill:
        from bill_sdk import NotFoundError

        with pytest.raises(NotFoundError):
            await bill.spend.budgets.delete("bud1")


# ------------------------------------------------------------------ item 2: one client, one event loop


def _mocked_login(router: respx.MockRouter) -> None:
    router.post("/connect/v3/login").respond(200, json=LOGIN)
    router.post("/connect/v3/logout").respond(200, json={})


def test_a_client_used_from_a_second_event_loop_refuses_before_sending() -> None:
    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as router:
        _mocked_login(router)
        create = router.post("/connect/v3/payments").respond(200, json={**OBJ, "id": "stp1"})
        bill = AsyncBill(env={}, **CREDENTIALS)
        router.get("/connect/v3/vendors").respond(200, json={"results": [], "nextPage": None})
        asyncio.run(bill.vendors.list())
        with pytest.raises(ClientStateError, match="event loop"):
            asyncio.run(bill.payments.create(body=bodies.payment()))
        assert create.call_count == 0


def test_a_client_used_from_another_thread_refuses_before_sending() -> None:
    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as router:
        _mocked_login(router)
        router.get("/connect/v3/vendors").respond(200, json={"results": [], "nextPage": None})
        create = router.post("/connect/v3/payments").respond(200, json={**OBJ, "id": "stp1"})
        bill = AsyncBill(env={}, **CREDENTIALS)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(bill.vendors.list())
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                asyncio.run(bill.payments.create(body=bodies.payment()))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(10)
        loop.run_until_complete(bill.aclose())
        loop.close()
        assert len(errors) == 1 and isinstance(errors[0], ClientStateError), errors
        assert "thread" in str(errors[0])
        assert create.call_count == 0


async def test_a_closed_client_with_the_callers_http_client_never_signs_in_again() -> None:
    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as router:
        login = router.post("/connect/v3/login").respond(200, json=LOGIN)
        router.post("/connect/v3/logout").respond(200, json={})
        vendors = router.get("/connect/v3/vendors").respond(200, json={"results": [], "nextPage": None})
        async with httpx.AsyncClient() as http:
            bill = AsyncBill(env={}, http_client=http, **CREDENTIALS)
            await bill.vendors.list()
            await bill.aclose()
            with pytest.raises(ClientStateError, match="closed"):
                await bill.vendors.list()
        assert login.call_count == 1
        assert vendors.call_count == 1


async def test_children_of_a_closed_partner_client_refuse_and_are_not_kept_alive() -> None:
    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as router:
        router.post("/connect/v3/partner/login").respond(200, json={"sessionId": "partner-session-1"})
        router.post("/connect/v3/partner/login-as-user").respond(200, json=LOGIN)
        router.post("/connect/v3/logout").respond(200, json={})
        router.get("/connect/v3/vendors").respond(200, json={"results": [], "nextPage": None})
        partner = AsyncBill(env={}, **CREDENTIALS)
        child = await partner.login_as_user("00801ORG", "00601USER")
        other = await partner.login_as_user("00801ORG", "00601USER")
        await other.aclose()
        assert other not in partner._children
        await partner.aclose()
        with pytest.raises(ClientStateError, match="closed"):
            await child.vendors.list()
        with pytest.raises(ClientStateError, match="closed"):
            await partner.login_as_user("00801ORG", "00601USER")
