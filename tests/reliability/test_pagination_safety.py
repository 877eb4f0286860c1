"""Pagination never loops forever and never truncates silently (issue #12 item 8).

BILL's pages are served here by respx through the public client (``AsyncBill(...).vendors.iter()`` / ``.pages()``,
a Spend list and a Connect Events list), and by any server of a few cursors drawn by Hypothesis. Whatever the
server does with its cursors, iteration either yields every item or raises a typed ``PaginationError`` naming the
operation:

* a cursor already seen (the same one again, or a cycle of two) raises instead of looping or stopping early;
* a page with a cursor but no ``results`` raises (a page with neither is an empty last page);
* a page whose items were all yielded before (a server that ignores the cursor) raises; a page that only partly
  repeats items (BILL's list shifts when records are created during paging) does not;
* an empty page with a new cursor is followed (BILL sends those), at most ``MAX_EMPTY_PAGES`` in a row.

Every scenario is bounded: the respx side effect refuses to answer more than ``GUARD`` requests, so a regression
that loops fails here instead of hanging CI, and each test runs under a time limit.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from bill_sdk import AsyncBill
from bill_sdk._pagination import MAX_EMPTY_PAGES, iterate_items, iterate_pages
from bill_sdk.errors import ArgumentError, BillError, PaginationError, ResponseDecodeError
from tests.client.conftest import OBJ

BASE = "https://gateway.stage.bill.com"
CREDENTIALS = {
    "dev_key": "paging-dev-key",
    "username": "ap@example.com",
    "password": "paging-password",
    "organization_id": "00801ORG",
}
GUARD = 60  # requests: far more than any scenario needs
TIME_LIMIT = 20  # seconds per scenario

Body = dict[str, Any]


class Runaway(AssertionError):
    """The iteration asked for more pages than any scenario has: it would have looped forever."""


@dataclass
class Server:
    """A respx side effect serving pages by the cursor the client sent (``None`` for the first request)."""

    param: str
    answer: Callable[[str | None, int], Body]
    calls: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls > GUARD:
            raise Runaway(f"more than {GUARD} page requests")
        return httpx.Response(200, json=self.answer(request.url.params.get(self.param), self.calls))


def by_cursor(pages: dict[str | None, Body]) -> Callable[[str | None, int], Body]:
    return lambda cursor, _: pages[cursor]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.post("/connect/v3/login").respond(
            200, json={"sessionId": "paging-session", "organizationId": "00801ORG", "userId": "00601USER"}
        )
        mock.post("/connect/v3/logout").respond(200, json={})
        yield mock


@pytest.fixture
async def bill(router: respx.MockRouter) -> AsyncIterator[AsyncBill]:
    async with AsyncBill(**CREDENTIALS, env={}, max_retries=0) as client:
        yield client


def vendors(router: respx.MockRouter, answer: Callable[[str | None, int], Body]) -> Server:
    server = Server("page", answer)
    router.get("/connect/v3/vendors").mock(side_effect=server)
    return server


def items(*ids: str) -> list[Body]:
    return [{**OBJ, "id": i, "name": f"vendor {i}"} for i in ids]


async def collect(iterator: AsyncIterator[Any]) -> tuple[list[Any], BaseException | None]:
    """Everything the iterator yields, and the exception that ended it (None when it ended normally)."""
    got: list[Any] = []
    with anyio.fail_after(TIME_LIMIT):
        try:
            async for value in iterator:
                got.append(value)
        except BillError as exc:
            return got, exc
    return got, None


def ids(values: list[Any]) -> list[str]:
    return [v.id for v in values]


# --------------------------------------------------------------------------- cursors that do not move forward


async def test_a_page_returning_the_cursor_it_was_fetched_with_raises(
    bill: AsyncBill, router: respx.MockRouter
) -> None:
    server = vendors(
        router,
        by_cursor({None: {"results": items("1"), "nextPage": "c1"}, "c1": {"results": items("2"), "nextPage": "c1"}}),
    )
    got, error = await collect(bill.vendors.iter())
    assert ids(got) == ["1", "2"]  # what BILL did send is yielded, then the iteration says it cannot go on
    assert isinstance(error, PaginationError), repr(error)
    assert error.operation_id == "listVendors"
    assert "listVendors" in str(error)
    assert "page 2 returned the cursor it was fetched with" in str(error)
    assert server.calls == 2


async def test_a_two_cursor_cycle_raises(bill: AsyncBill, router: respx.MockRouter) -> None:
    server = vendors(
        router,
        by_cursor(
            {
                None: {"results": items("1"), "nextPage": "A"},
                "A": {"results": items("2"), "nextPage": "B"},
                "B": {"results": items("3"), "nextPage": "A"},
            }
        ),
    )
    got, error = await collect(bill.vendors.iter())
    assert ids(got) == ["1", "2", "3"]
    assert isinstance(error, PaginationError), repr(error)
    assert error.operation_id == "listVendors"
    assert "page 3 returned the cursor page 1 already returned (a cursor cycle)" in str(error)
    assert server.calls == 3


async def test_a_repeated_next_page_cursor_on_a_spend_list_raises(router: respx.MockRouter) -> None:
    server = Server(
        "nextPage",
        by_cursor({None: {"results": [{"id": "b1"}], "nextPage": "n1"}, "n1": {"results": [], "nextPage": "n1"}}),
    )
    router.get("/connect/v3/spend/budgets").mock(side_effect=server)
    async with AsyncBill(api_token="paging-token", env={}) as bill:
        got, error = await collect(bill.spend.budgets.iter(page_size=1))
    assert ids(got) == ["b1"]
    assert isinstance(error, PaginationError), repr(error)
    assert error.operation_id == "listBudgets"
    assert server.calls == 2


async def test_a_cursor_cycle_on_a_connect_events_list_raises(router: respx.MockRouter) -> None:
    server = Server(
        "page",
        by_cursor(
            {
                None: {"results": [{"id": "s1"}], "nextPage": "A"},
                "A": {"results": [{"id": "s2"}], "nextPage": "B"},
                "B": {"results": [{"id": "s3"}], "nextPage": "A"},
            }
        ),
    )
    router.get("/connect-events/v3/subscriptions").mock(side_effect=server)
    async with AsyncBill(**CREDENTIALS, env={}) as bill:
        got, error = await collect(bill.events.subscriptions.iter())
    assert ids(got) == ["s1", "s2", "s3"]
    assert isinstance(error, PaginationError), repr(error)
    assert error.operation_id == "listSubscriptions"
    assert server.calls == 3


async def test_pages_raises_too_after_yielding_the_page_with_the_repeated_cursor(
    bill: AsyncBill, router: respx.MockRouter
) -> None:
    vendors(
        router,
        by_cursor({None: {"results": items("1"), "nextPage": "c1"}, "c1": {"results": items("2"), "nextPage": "c1"}}),
    )
    pages, error = await collect(bill.vendors.pages())
    assert [ids(p.results) for p in pages] == [["1"], ["2"]]
    assert isinstance(error, PaginationError)


# --------------------------------------------------------------------------- pages without results


async def test_a_page_with_a_cursor_but_no_results_key_raises(router: respx.MockRouter) -> None:
    """Connect Events pages may leave `results` out (BILL's own examples are `{}`), so the page model allows it:
    pagination refuses a page that has a cursor but no results."""
    server = Server(
        "page",
        by_cursor({None: {"results": [{"id": "s1"}], "nextPage": "c1"}, "c1": {"nextPage": "c2"}, "c2": {}}),
    )
    router.get("/connect-events/v3/subscriptions").mock(side_effect=server)
    async with AsyncBill(**CREDENTIALS, env={}) as bill:
        got, error = await collect(bill.events.subscriptions.iter())
    assert ids(got) == ["s1"]
    assert isinstance(error, PaginationError), repr(error)
    assert error.operation_id == "listSubscriptions"
    assert "page 2 has a cursor to a next page but no results" in str(error)
    assert server.calls == 2


async def test_a_vendor_page_without_results_is_a_decode_error_naming_the_field(
    bill: AsyncBill, router: respx.MockRouter
) -> None:
    """A vendor page always has `results` (BILL's examples all do), so its absence is a typed decode error naming
    the field and the operation, never an empty listing."""
    server = vendors(router, by_cursor({None: {"results": items("1"), "nextPage": "c1"}, "c1": {"nextPage": "c2"}}))
    got, error = await collect(bill.vendors.iter())
    assert ids(got) == ["1"]
    assert isinstance(error, ResponseDecodeError), repr(error)
    assert error.operation_id == "listVendors" and "'results'" in str(error)
    assert server.calls == 2


async def test_a_page_with_a_cursor_and_null_results_is_a_typed_error(
    bill: AsyncBill, router: respx.MockRouter
) -> None:
    """``results: null`` does not fit the page model at all: the model refuses it (ResponseDecodeError naming the
    call) before pagination sees the page; either way the iteration ends with a typed error, never a loop."""
    server = vendors(router, by_cursor({None: {"results": None, "nextPage": "c1"}}))
    got, error = await collect(bill.vendors.iter())
    assert got == []
    assert isinstance(error, ResponseDecodeError), repr(error)
    assert error.operation_id == "listVendors"
    assert server.calls == 1


async def test_a_last_page_without_results_or_cursor_is_an_empty_last_page(router: respx.MockRouter) -> None:
    server = Server("page", by_cursor({None: {"results": [{"id": "s1"}], "nextPage": "c1"}, "c1": {}}))
    router.get("/connect-events/v3/subscriptions").mock(side_effect=server)
    async with AsyncBill(**CREDENTIALS, env={}) as bill:
        got, error = await collect(bill.events.subscriptions.iter())
    assert (ids(got), error, server.calls) == (["s1"], None, 2)


# --------------------------------------------------------------------------- pages that only repeat items


async def test_pages_repeating_the_same_items_with_new_cursors_raise(bill: AsyncBill, router: respx.MockRouter) -> None:
    """A server that ignores the cursor: the first page again and again, each time with a fresh cursor."""
    server = vendors(router, lambda cursor, n: {"results": items("1", "2"), "nextPage": f"fresh-{n}"})
    got, error = await collect(bill.vendors.iter())
    assert ids(got) == ["1", "2"]  # yielded once, not again
    assert isinstance(error, PaginationError), repr(error)
    assert error.operation_id == "listVendors"
    assert "page 2 only repeats items already yielded (2 items)" in str(error)
    assert server.calls == 2


async def test_two_pages_alternating_with_new_cursors_raise(bill: AsyncBill, router: respx.MockRouter) -> None:
    server = vendors(
        router, lambda cursor, n: {"results": items(*(("1", "2") if n % 2 else ("3", "4"))), "nextPage": f"x{n}"}
    )
    got, error = await collect(bill.vendors.iter())
    assert ids(got) == ["1", "2", "3", "4"]
    assert isinstance(error, PaginationError), repr(error)
    assert "page 3 only repeats items already yielded" in str(error)
    assert server.calls == 3


async def test_a_last_page_that_only_repeats_items_raises_too(bill: AsyncBill, router: respx.MockRouter) -> None:
    """The server ignored the cursor and then stopped: the listing would be page 1 only, silently."""
    vendors(
        router, by_cursor({None: {"results": items("1", "2"), "nextPage": "c1"}, "c1": {"results": items("1", "2")}})
    )
    got, error = await collect(bill.vendors.iter())
    assert ids(got) == ["1", "2"]
    assert isinstance(error, PaginationError), repr(error)


async def test_a_page_that_partly_repeats_items_is_followed(bill: AsyncBill, router: respx.MockRouter) -> None:
    """BILL's list shifts when records are created while paging: a page may start with items already seen."""
    server = vendors(
        router,
        by_cursor(
            {
                None: {"results": items("1", "2", "3"), "nextPage": "c1"},
                "c1": {"results": items("3", "4", "5"), "nextPage": "c2"},
                "c2": {"results": items("5", "6")},
            }
        ),
    )
    got, error = await collect(bill.vendors.iter())
    assert error is None
    assert ids(got) == ["1", "2", "3", "3", "4", "5", "5", "6"]
    assert server.calls == 3


async def test_items_without_ids_are_not_checked_for_repeats() -> None:
    same = [FakePage([], None)]  # any object without an `id` attribute
    pages = [FakePage(same, "c1"), FakePage(same, "c2"), FakePage(same)]
    got, error = await collect(iterate_items(iterate_pages(fake_fetch(pages))))
    assert (len(got), error) == (3, None)


# --------------------------------------------------------------------------- empty pages


async def test_an_empty_page_with_a_new_cursor_is_followed(bill: AsyncBill, router: respx.MockRouter) -> None:
    server = vendors(
        router,
        by_cursor(
            {
                None: {"results": items("1"), "nextPage": "c1"},
                "c1": {"results": [], "nextPage": "c2"},
                "c2": {"results": items("2", "3")},
            }
        ),
    )
    got, error = await collect(bill.vendors.iter())
    assert (ids(got), error, server.calls) == (["1", "2", "3"], None, 3)


async def test_an_empty_first_page_with_a_cursor_is_followed(bill: AsyncBill, router: respx.MockRouter) -> None:
    vendors(router, by_cursor({None: {"results": [], "nextPage": "c1"}, "c1": {"results": items("1")}}))
    got, error = await collect(bill.vendors.iter())
    assert (ids(got), error) == (["1"], None)


async def test_max_empty_pages_in_a_row_are_followed(bill: AsyncBill, router: respx.MockRouter) -> None:
    def answer(cursor: str | None, n: int) -> Body:
        if n <= MAX_EMPTY_PAGES:
            return {"results": [], "nextPage": f"empty-{n}"}
        return {"results": items("1", "2")}

    server = vendors(router, answer)
    pages, error = await collect(bill.vendors.pages())
    assert error is None
    assert [len(p.results) for p in pages] == [0] * MAX_EMPTY_PAGES + [2]
    assert server.calls == MAX_EMPTY_PAGES + 1


async def test_one_empty_page_too_many_raises(bill: AsyncBill, router: respx.MockRouter) -> None:
    server = vendors(router, lambda cursor, n: {"results": [], "nextPage": f"empty-{n}"})
    got, error = await collect(bill.vendors.iter())
    assert got == []
    assert isinstance(error, PaginationError), repr(error)
    assert error.operation_id == "listVendors"
    assert f"{MAX_EMPTY_PAGES + 1} empty pages in a row" in str(error)
    assert server.calls == MAX_EMPTY_PAGES + 1


async def test_empty_pages_between_items_count_only_in_a_row(bill: AsyncBill, router: respx.MockRouter) -> None:
    """Items reset the count: twice MAX_EMPTY_PAGES empty pages in all, never more than MAX_EMPTY_PAGES in a row."""

    def answer(cursor: str | None, n: int) -> Body:
        if n == 2 * MAX_EMPTY_PAGES + 2:
            return {"results": items("last")}
        if n == MAX_EMPTY_PAGES + 1:
            return {"results": items("middle"), "nextPage": f"c{n}"}
        return {"results": [], "nextPage": f"c{n}"}

    vendors(router, answer)
    got, error = await collect(bill.vendors.iter())
    assert (ids(got), error) == (["middle", "last"], None)


async def test_an_empty_page_without_a_cursor_ends_the_listing(bill: AsyncBill, router: respx.MockRouter) -> None:
    server = vendors(router, by_cursor({None: {"results": items("1"), "nextPage": "c1"}, "c1": {"results": []}}))
    got, error = await collect(bill.vendors.iter())
    assert (ids(got), error, server.calls) == (["1"], None, 2)


def test_the_operation_is_named_under_trio_and_while_other_calls_run_between_pages() -> None:
    """The operation comes from what the page fetch sent: calls made by the loop body in between do not count."""

    async def main() -> tuple[list[str], BaseException | None]:
        with respx.mock(base_url=BASE, assert_all_called=False) as router:
            router.post("/connect/v3/login").respond(200, json={"sessionId": "paging-session"})
            router.post("/connect/v3/logout").respond(200, json={})
            router.get("/connect/v3/bills/00n1").respond(200, json={**OBJ, "id": "00n1"})
            pages = {None: {"results": items("1"), "nextPage": "A"}, "A": {"results": items("2"), "nextPage": "A"}}
            router.get("/connect/v3/vendors").mock(side_effect=Server("page", by_cursor(pages)))
            got: list[str] = []
            async with AsyncBill(**CREDENTIALS, env={}) as bill:
                try:
                    async for vendor in bill.vendors.iter():
                        got.append(vendor.id)
                        await bill.bills.get("00n1")
                except PaginationError as exc:
                    return got, exc
            return got, None

    got, error = anyio.run(main, backend="trio")
    assert got == ["1", "2"]
    assert isinstance(error, PaginationError)
    assert error.operation_id == "listVendors"


# --------------------------------------------------------------------------- iterate_pages itself


@dataclass
class FakePage:
    results: Any
    next_page: Any = None


@dataclass
class Item:
    id: Any


def fake_fetch(pages: list[FakePage]) -> Callable[[str | None], Any]:
    calls: list[str | None] = []

    async def fetch(cursor: str | None) -> FakePage:
        calls.append(cursor)
        if len(calls) > GUARD:
            raise Runaway(f"more than {GUARD} page requests")
        return pages[min(len(calls), len(pages)) - 1]

    return fetch


async def test_the_bound_on_empty_pages_is_configurable() -> None:
    pages = [FakePage([], f"c{i}") for i in range(5)] + [FakePage([Item("1")])]
    got, error = await collect(iterate_items(iterate_pages(fake_fetch(pages), max_empty_pages=5)))
    assert (got, error) == ([Item("1")], None)
    got, error = await collect(iterate_items(iterate_pages(fake_fetch(pages), max_empty_pages=4, operation_id="op")))
    assert isinstance(error, PaginationError)
    assert error.operation_id == "op"
    assert "5 empty pages in a row" in str(error) and "(op)" in str(error)


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ArgumentError, match="max_empty_pages"):
        iterate_pages(fake_fetch([]), max_empty_pages=-1)


async def test_ids_that_are_not_strings_or_missing_are_not_checked() -> None:
    same = [Item(None), Item(7)]
    pages = [FakePage(same, "c1"), FakePage(same, "c2"), FakePage(same)]
    got, error = await collect(iterate_items(iterate_pages(fake_fetch(pages))))
    assert (len(got), error) == (6, None)


async def test_a_hundred_thousand_items_cost_a_bounded_set_of_id_hashes() -> None:
    """One hash per item id is kept (not the ids, not the pages): about 80 bytes an item on CPython."""
    page_count, size = 1000, 100

    async def fetch(cursor: str | None) -> FakePage:
        n = 0 if cursor is None else int(cursor)
        results = [Item(f"00901{n:04d}{i:03d}ABCDEFGH") for i in range(size)]
        return FakePage(results, str(n + 1) if n + 1 < page_count else None)

    tracemalloc.start()
    try:
        count = 0
        async for _ in iterate_items(iterate_pages(fetch)):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == page_count * size
    assert peak < 16 * 1024 * 1024, peak


# --------------------------------------------------------------------------- any server: a property

CURSORS = ["a", "b", "c", "d", "e"]
ITEM_IDS = ["1", "2", "3", "4", "5", "6"]
server_pages = st.dictionaries(
    st.sampled_from([None, *CURSORS]),
    st.tuples(st.none() | st.lists(st.sampled_from(ITEM_IDS), max_size=3), st.none() | st.sampled_from(CURSORS)),
)


@given(pages=server_pages, max_empty=st.integers(min_value=0, max_value=3))
def test_any_server_gives_every_item_or_a_pagination_error_within_bounded_requests(
    pages: dict[str | None, tuple[list[str] | None, str | None]], max_empty: int
) -> None:
    """Whatever a server answers for each cursor (a missing cursor is an empty last page), iteration sends at most
    one request per distinct cursor, and either yields every item of the walk from the first page to a page without
    a cursor, or raises PaginationError; a walk that runs into a cursor it already followed always raises."""
    requests: list[str | None] = []

    async def fetch(cursor: str | None) -> FakePage:
        requests.append(cursor)
        if len(requests) > GUARD:
            raise Runaway(f"more than {GUARD} page requests")
        results, next_page = pages.get(cursor, ([], None))
        return FakePage(None if results is None else [Item(i) for i in results], next_page)

    walk: list[str | None] = [None]  # the cursors a faithful client follows, until no cursor or a repeat
    while (nxt := pages.get(walk[-1], ([], None))[1]) is not None and nxt not in walk:
        walk.append(nxt)
    cycles = nxt is not None

    got, error = anyio.run(collect, iterate_items(iterate_pages(fetch, max_empty_pages=max_empty, operation_id="op")))
    assert len(requests) <= len(walk)
    assert requests == walk[: len(requests)]
    if error is None:
        assert not cycles
        assert [item.id for item in got] == [i for c in walk for i in (pages.get(c, ([], None))[0] or [])]
    else:
        assert isinstance(error, PaginationError) and error.operation_id == "op", repr(error)
