"""bill.changes() against answers BILL should never give (over respx): each is refused with a SyncError naming
the problem, or read exactly, never delivered wrong."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from bill_sdk import AsyncBill
from bill_sdk.changes import MemoryCheckpoint, SyncError
from bill_sdk.errors import ResponseDecodeError

from ..client.conftest import BASE

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(hours=1)
Answer = Callable[[list[dict[str, Any]], httpx.Request], list[dict[str, Any]]]


def vendor(index: int, ms: int, **extra: Any) -> dict[str, Any]:
    stamp = (T0 + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
    return {"id": f"00901V{index:04d}", "name": f"v{index}", "archived": False, "createdTime": stamp,
            "updatedTime": stamp, **extra}  # fmt: skip


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def serve(records: list[dict[str, Any]], tamper: Answer | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """BILL's search over `records` (the sync's own filters: updatedTime gte/lte, archived eq; sort asc), one
    page of `max`; `tamper` may change what a page holds before it is sent."""

    def answer(request: httpx.Request) -> httpx.Response:
        query = request.url.params
        found = list(records)
        for field, op, value in re.findall(r'(\w+):(\w+):("[^"]*"|[^,]*)', query.get("filters", "")):
            value = value.strip('"')
            if field == "archived":
                found = [r for r in found if r["archived"] == (value == "true")]
            elif op == "gte":
                found = [r for r in found if _instant(r["updatedTime"]) >= _instant(value)]
            elif op == "lte":
                found = [r for r in found if _instant(r["updatedTime"]) < _instant(value) + timedelta(milliseconds=1)]
        if "sort" in query:
            found.sort(key=lambda r: _instant(r["updatedTime"]))
        size = int(query["max"])
        start = int(query.get("page", "0"))
        page = found[start : start + size]
        if tamper is not None:
            page = tamper(page, request)
        body: dict[str, Any] = {"results": page}
        if start + size < len(found):
            body["nextPage"] = str(start + size)
        return httpx.Response(200, json=body)

    return answer


@pytest.fixture
async def bill() -> AsyncIterator[tuple[AsyncBill, respx.MockRouter]]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login").respond(200, json={"sessionId": "s", "organizationId": "o", "userId": "u"})
        router.post("/connect/v3/logout").respond(200, json={})
        async with AsyncBill(dev_key="d", username="u", password="p", organization_id="o", env={}) as client:
            yield client, router


async def sync(client: AsyncBill, page_size: int = 3) -> list[list[str]]:
    batches = []
    changes = client.changes("vendors", checkpoint=MemoryCheckpoint(), clock=lambda: NOW, page_size=page_size)
    async for batch in changes:
        async with batch:
            batches.append([r.name for r in batch.records])
    return batches


async def test_a_record_outside_the_window_is_refused(bill: tuple[AsyncBill, respx.MockRouter]) -> None:
    client, router = bill
    late = vendor(9, 0)
    late["updatedTime"] = NOW.isoformat(timespec="milliseconds")  # after the window's upper bound (now - lag)
    router.get("/connect/v3/vendors").mock(side_effect=serve([vendor(0, 1)], lambda page, _: [*page, late]))
    with pytest.raises(SyncError, match="outside the updatedTime filter"):
        await sync(client)


async def test_a_record_before_the_position_is_refused(bill: tuple[AsyncBill, respx.MockRouter]) -> None:
    client, router = bill
    records = [vendor(i, 10 + i) for i in range(6)]
    early = vendor(9, 0)  # stamped before the position the second page is read from

    def tamper(page: list[dict[str, Any]], request: httpx.Request) -> list[dict[str, Any]]:
        return [early, *page] if "gte" in request.url.params.get("filters", "") else page

    router.get("/connect/v3/vendors").mock(side_effect=serve(records, tamper))
    with pytest.raises(SyncError, match="outside the updatedTime filter"):
        await sync(client)


async def test_a_page_that_repeats_a_record_delivers_it_once(bill: tuple[AsyncBill, respx.MockRouter]) -> None:
    client, router = bill
    records = [vendor(i, 10 + i) for i in range(5)]
    router.get("/connect/v3/vendors").mock(side_effect=serve(records, lambda page, _: page[:1] + page))
    delivered = [name for batch in await sync(client) for name in batch]
    assert delivered == [f"v{i}" for i in range(5)]


async def test_a_record_in_both_the_live_and_the_archived_answers_is_delivered_once(
    bill: tuple[AsyncBill, respx.MockRouter],
) -> None:
    client, router = bill
    records = [vendor(i, 10 + i) for i in range(5)]
    twin = {**records[2], "archived": True}  # the same record, the same stamp, in the archived answer too

    def tamper(page: list[dict[str, Any]], request: httpx.Request) -> list[dict[str, Any]]:
        return [twin] if "archived:eq:true" in request.url.params.get("filters", "") else page

    router.get("/connect/v3/vendors").mock(side_effect=serve(records, tamper))
    delivered = [name for batch in await sync(client, page_size=10) for name in batch]
    assert sorted(delivered) == [f"v{i}" for i in range(5)]


async def test_times_without_an_offset_are_read_as_utc(bill: tuple[AsyncBill, respx.MockRouter]) -> None:
    client, router = bill
    records = [vendor(i, 10 + i) for i in range(7)]
    for record in records[::2]:  # some written without an offset, as a stranger's server might
        record["updatedTime"] = record["updatedTime"].removesuffix("+00:00")
    router.get("/connect/v3/vendors").mock(side_effect=serve(records))
    delivered = [name for batch in await sync(client) for name in batch]
    assert delivered == [f"v{i}" for i in range(7)]


async def test_microseconds_out_of_order_within_one_millisecond_are_in_order(
    bill: tuple[AsyncBill, respx.MockRouter],
) -> None:
    client, router = bill
    records = [vendor(0, 10), vendor(1, 10), vendor(2, 11)]
    base = records[0]["updatedTime"].removesuffix("+00:00")
    records[0]["updatedTime"] = base + "900+00:00"  # .010900: after .010100 as a datetime, the same millisecond
    records[1]["updatedTime"] = base + "100+00:00"
    # sorted by the millisecond only (BILL's precision), so the page keeps them in stored order: v0 before v1
    by_millisecond = serve(records, lambda page, _: sorted(page, key=records.index))
    router.get("/connect/v3/vendors").mock(side_effect=by_millisecond)
    delivered = [name for batch in await sync(client, page_size=5) for name in batch]
    assert delivered == ["v1", "v0", "v2"]  # in updatedTime order, microseconds included


async def test_a_drain_answer_from_another_millisecond_is_refused(bill: tuple[AsyncBill, respx.MockRouter]) -> None:
    client, router = bill
    records = [vendor(i, 10) for i in range(4)] + [vendor(9, 50)]  # a full page of one millisecond: drained

    def tamper(page: list[dict[str, Any]], request: httpx.Request) -> list[dict[str, Any]]:
        filters = request.url.params.get("filters", "")
        draining = "sort" not in request.url.params and "gte" in filters
        return [*page, records[-1]] if draining else page

    router.get("/connect/v3/vendors").mock(side_effect=serve(records, tamper))
    with pytest.raises(SyncError, match="outside the updatedTime filter"):
        await sync(client, page_size=2)


async def test_an_empty_page_that_says_there_is_more_is_followed_not_taken_as_the_end(
    bill: tuple[AsyncBill, respx.MockRouter],
) -> None:
    client, router = bill
    records = [vendor(i, 10 + i) for i in range(5)]
    answer = serve(records)

    def first_pages_empty(request: httpx.Request) -> httpx.Response:
        if "page" not in request.url.params and "archived:eq:false" in request.url.params.get("filters", ""):
            return httpx.Response(200, json={"results": [], "nextPage": "0"})  # nothing here, the rest at "0"
        return answer(request)

    router.get("/connect/v3/vendors").mock(side_effect=first_pages_empty)
    delivered = [name for batch in await sync(client) for name in batch]
    assert delivered == [f"v{i}" for i in range(5)]


async def test_a_page_with_a_cursor_but_no_results_stops_the_sync(bill: tuple[AsyncBill, respx.MockRouter]) -> None:
    client, router = bill
    router.get("/connect/v3/vendors").respond(200, json={"nextPage": "1"})
    with pytest.raises(ResponseDecodeError, match="missing required field 'results'"):
        await sync(client)
