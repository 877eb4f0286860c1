"""Async iteration over BILL's paged lists, one page in memory at a time.

Three cursor styles exist (see spec `x-pagination`): Connect sends the previous response's `nextPage` back as
the `page` query parameter, Spend & Expense as a `nextPage` query parameter, and webhook lists are forward-only.
The generated resources pick the parameter; iteration itself is the same for all three: follow `nextPage` until
it is absent, or until a page comes back empty (BILL may return a cursor with an empty last page).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

T_co = TypeVar("T_co", covariant=True)
P = TypeVar("P", bound="Page[Any]")


class Page(Protocol[T_co]):
    """What a generated page model offers: its items and the cursor to the next page (None on the last)."""

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
