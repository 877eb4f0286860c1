"""Iteration over BILL's paged lists, one page in memory at a time (the sync twin, ``bill_sdk._blocking._pagination``,
is made from this module by ``codegen/unasync.py``).

Three cursor styles exist (see spec `x-pagination`): Connect sends the previous response's `nextPage` back as
the `page` query parameter, Spend & Expense as a `nextPage` query parameter, and webhook lists are forward-only.
The generated resources pick the parameter; iteration itself is the same for all three: follow `nextPage` until
a page comes without one.

Iteration never loops forever and never truncates silently. It raises `PaginationError` naming the operation when
BILL's pages stop moving forward:

* a page returns a cursor already seen (the one it was fetched with, or one of an earlier page: a cycle);
* a page has a cursor but no `results` (a page with neither is an empty last page);
* a page's items were all yielded before (every item has an `id` and every id was seen on an earlier page): a
  server that ignores the cursor. A page that only partly repeats items is followed: BILL's list shifts when
  records are created while paging. Items without an `id` are not checked;
* more than `max_empty_pages` empty pages in a row still have a cursor. Empty pages with a new cursor are
  followed otherwise (BILL sends those).

Cost: one entry per page for the cursors seen, and the `hash()` of each item id yielded (a Python int in a set:
about 80 bytes and half a microsecond an item on CPython, some 8 MB for a 100,000-record listing; a false
"only repeats" needs every id of a page to collide in 64 bits). Pages themselves are not kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from ._primitives import AsyncPageCall
from .errors import ArgumentError, PaginationError

T_co = TypeVar("T_co", covariant=True)
P = TypeVar("P", bound="Page[Any]")

MAX_EMPTY_PAGES = 10
"""Empty pages in a row that still have a cursor which are followed; one more raises PaginationError."""


class Page(Protocol[T_co]):
    """What a generated page model offers: its items and the cursor to the next page (None on the last)."""

    @property
    def results(self) -> Sequence[T_co] | Any: ...

    @property
    def next_page(self) -> str | Any: ...


def iterate_pages(
    fetch: Callable[[str | None], Awaitable[P]],
    *,
    operation_id: str | None = None,
    max_empty_pages: int = MAX_EMPTY_PAGES,
) -> AsyncIterator[P]:
    """Yield pages from `fetch(cursor)`, starting with no cursor; raise PaginationError when they stop moving.

    `operation_id` names the operation in errors (the generated resources pass their list operation's id).
    """
    if max_empty_pages < 0:
        raise ArgumentError(f"max_empty_pages must be 0 or more, got {max_empty_pages}")
    return _iterate_pages(fetch, operation_id, max_empty_pages)


async def _iterate_pages(
    fetch: Callable[[str | None], Awaitable[P]], operation_id: str | None, max_empty_pages: int
) -> AsyncIterator[P]:
    cursor: str | None = None
    cursors: dict[str, int] = {}  # cursor -> number of the page that returned it
    item_ids: set[int] = set()  # hash() of every item id yielded so far
    empty_in_a_row = 0
    number = 0
    while True:
        number += 1
        page = await fetch(cursor)
        operation = operation_id
        next_cursor = page.next_page if isinstance(page.next_page, str) and page.next_page else None
        results = page.results
        if not isinstance(results, Sequence) or isinstance(results, str | bytes):
            if next_cursor is None:
                yield page  # neither results nor a cursor: an empty last page
                return
            raise PaginationError(
                f"page {number} has a cursor to a next page but no results; the listing cannot be read completely",
                operation_id=operation,
            )
        if results:
            empty_in_a_row = 0
            if _only_repeats(results, item_ids):
                raise PaginationError(
                    f"page {number} only repeats items already yielded ({len(results)} items): BILL is not moving "
                    "forward through the list",
                    operation_id=operation,
                )
        yield page
        if next_cursor is None:
            return
        if next_cursor == cursor:
            raise PaginationError(
                f"page {number} returned the cursor it was fetched with; following it would loop forever",
                operation_id=operation,
            )
        if next_cursor in cursors:
            raise PaginationError(
                f"page {number} returned the cursor page {cursors[next_cursor]} already returned (a cursor cycle); "
                "following it would loop forever",
                operation_id=operation,
            )
        if not results:
            empty_in_a_row += 1
            if empty_in_a_row > max_empty_pages:
                raise PaginationError(
                    f"{empty_in_a_row} empty pages in a row, each with a cursor to another page (at most "
                    f"{max_empty_pages} are followed)",
                    operation_id=operation,
                )
        cursors[next_cursor] = number
        cursor = next_cursor


def _only_repeats(results: Sequence[Any], seen: set[int]) -> bool:
    """Whether every item has a string id already in `seen` (hashes of ids); adds this page's ids to `seen`."""
    ids = [getattr(item, "id", None) for item in results]
    hashes = [hash(item_id) for item_id in ids if type(item_id) is str and item_id]
    repeats = len(hashes) == len(results) and seen.issuperset(hashes)
    seen.update(hashes)
    return repeats


async def iterate_items(pages: AsyncIterator[Page[T_co]]) -> AsyncIterator[T_co]:
    """Yield every item of every page."""
    async for page in pages:
        if isinstance(page.results, Sequence):
            for item in page.results:
                yield item


# The item type of a list, and the page type (a generated page model) it comes in.
T = TypeVar("T")
PageT = TypeVar("PageT", bound="Page[Any]")


class AsyncPaginator(AsyncPageCall[PageT], Generic[PageT, T]):
    """What a list method returns: one page as the call was given (what that is, and how to get it, is
    ``AsyncPageCall``'s in ``_primitives``), and iterated, every item across pages.

    Nothing is sent until it is used. Each iteration starts again from the first page (or from the
    ``page``/``next_page`` cursor the list was given); iterating without ``max`` asks BILL for its largest page, so a
    listing takes as few requests as possible. ``pages()`` gives the pages instead of the items.
    """

    __slots__ = ("_fetch", "_max_page_size", "_operation_id", "_page_size")

    def __init__(
        self,
        fetch: Callable[[str | None, int | None], Awaitable[PageT]],
        *,
        page_size: int | None,
        max_page_size: int,
        operation_id: str | None = None,
    ) -> None:
        super().__init__()
        # fetch(cursor, size): the page at `cursor` (None: where the list starts) holding at most `size` items
        # (None: the size the call was given, possibly none).
        self._fetch = fetch
        self._page_size = page_size
        self._max_page_size = max_page_size
        self._operation_id = operation_id  # named in a PaginationError

    async def _first(self) -> PageT:
        return await self._fetch(None, None)

    def pages(self) -> AsyncIterator[PageT]:
        """Every page from the first on, fetched one at a time as you iterate."""
        size = self._page_size if self._page_size is not None else self._max_page_size
        fetch = self._fetch

        def page_at(cursor: str | None) -> Awaitable[PageT]:
            return fetch(cursor, size)

        return iterate_pages(page_at, operation_id=self._operation_id)

    def __aiter__(self) -> AsyncIterator[T]:
        items: AsyncIterator[T] = iterate_items(self.pages())
        return items
