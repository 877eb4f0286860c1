"""Async iteration over BILL's paged lists, one page in memory at a time.

Three cursor styles exist (see spec `x-pagination`): Connect sends the previous response's `nextPage` back as
the `page` query parameter, Spend & Expense as a `nextPage` query parameter, and webhook lists are forward-only.
The generated resources pick the parameter; iteration itself is the same for all three: follow `nextPage` until
it is absent, or until a page comes back empty (BILL may return a cursor with an empty last page).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Sequence
from typing import Any, Generic, Protocol, TypeVar

T_co = TypeVar("T_co", covariant=True)
P = TypeVar("P", bound="Page[Any]")


class Page(Protocol[T_co]):
    """What a generated page model offers: its items and the cursor to the next page (or UNSET)."""

    @property
    def results(self) -> Sequence[T_co] | Any: ...

    @property
    def next_page(self) -> str | Any: ...


async def iterate_pages(fetch: Callable[[str | None], Awaitable[P]]) -> AsyncIterator[P]:
    """Yield pages from `fetch(cursor)`, starting with no cursor."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await fetch(cursor)
        yield page
        results = page.results if isinstance(page.results, Sequence) else ()
        next_cursor = page.next_page if isinstance(page.next_page, str) else None
        if not next_cursor or not results:
            return
        if next_cursor in seen:
            # A cursor BILL already gave us: following it again would loop forever.
            return
        seen.add(next_cursor)
        cursor = next_cursor


async def iterate_items(pages: AsyncIterator[Page[T_co]]) -> AsyncIterator[T_co]:
    """Yield every item of every page."""
    async for page in pages:
        if isinstance(page.results, Sequence):
            for item in page.results:
                yield item


# The item type of a list, and the page type (a generated page model) it comes in.
T = TypeVar("T")
PageT = TypeVar("PageT", bound="Page[Any]")


class AsyncPaginator(Coroutine[Any, Any, PageT], Generic[PageT, T]):
    """What a list method returns: ``await`` it for one page, ``async for`` over it for every item.

        page = await bill.vendors.list(max=50)          # one page, as BILL sent it (page.results, page.next_page)
        async for vendor in bill.vendors.list():        # every vendor across pages, one page in memory at a time
            ...
        async for page in bill.vendors.list().pages():  # every page

    Nothing is sent until it is awaited or iterated. Awaiting sends exactly the arguments given and, like a
    coroutine, works once (``asyncio.run``, ``asyncio.create_task`` and ``gather`` take it too). Each ``async
    for`` starts again from the first page (or from the ``page``/``next_page`` cursor the list was given);
    iterating without ``max`` asks BILL for its largest page, so a listing takes as few requests as possible.
    """

    __slots__ = ("_coro", "_fetch", "_max_page_size", "_page_size")

    def __init__(
        self,
        fetch: Callable[[str | None, int | None], Awaitable[PageT]],
        *,
        page_size: int | None,
        max_page_size: int,
    ) -> None:
        # fetch(cursor, size): the page at `cursor` (None: where the list starts) holding at most `size` items
        # (None: the size the call was given, possibly none).
        self._fetch = fetch
        self._page_size = page_size
        self._max_page_size = max_page_size
        self._coro: Coroutine[Any, Any, PageT] | None = None

    async def _first(self) -> PageT:
        return await self._fetch(None, None)

    def _started(self) -> Coroutine[Any, Any, PageT]:
        if self._coro is None:
            self._coro = self._first()
        return self._coro

    # A coroutine (the one fetching the first page), for `await` and for whatever expects a coroutine object.
    def __await__(self) -> Generator[Any, None, PageT]:
        return self._started().__await__()

    def send(self, value: Any) -> Any:
        return self._started().send(value)

    def throw(self, *args: Any) -> Any:
        return self._started().throw(*args)

    def close(self) -> None:
        if self._coro is not None:
            self._coro.close()

    def pages(self) -> AsyncIterator[PageT]:
        """Every page from the first on, fetched one at a time as you iterate."""
        size = self._page_size if self._page_size is not None else self._max_page_size
        fetch = self._fetch

        def page_at(cursor: str | None) -> Awaitable[PageT]:
            return fetch(cursor, size)

        return iterate_pages(page_at)

    def __aiter__(self) -> AsyncIterator[T]:
        items: AsyncIterator[T] = iterate_items(self.pages())
        return items

    def __repr__(self) -> str:
        return "<AsyncPaginator: await it for one page, async for over it for every item>"
