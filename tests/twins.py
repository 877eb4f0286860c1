"""One test body for both clients: ``AsyncBill`` and ``Bill`` (the synchronous twin), driven from a sync test.

A test takes the ``twin`` fixture (parametrized ``async`` / ``sync``) and passes it what to do with a client,
written once: ``twin.run(lambda bill: bill.vendors.get(id))`` returns the vendor from either client (the async
one's coroutine is awaited on an event loop in a thread of its own, a blocking portal, where the client lives
for the whole test). ``twin.items`` collects an iteration (``async for`` or ``for``), ``twin.page`` the one page a
``list()`` call is (``await`` it, or ``.page``), ``twin.parallel`` runs calls concurrently (tasks or threads).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import anyio.from_thread
import pytest

from bill_sdk import AsyncBill, Bill


class Twin:
    def __init__(self, kind: str, portal: anyio.from_thread.BlockingPortal | None) -> None:
        self.kind = kind
        self.is_async = kind == "async"
        self._portal = portal

    @property
    def client_class(self) -> type[Any]:
        return AsyncBill if self.is_async else Bill

    def make(self, **options: Any) -> Any:
        """A client of this kind (AsyncBill or Bill) with `options`."""
        return self.client_class(**options)

    def run(self, call: Callable[[], Any]) -> Any:
        """`call()` is a coroutine for AsyncBill (called and awaited on the portal's loop), a value for Bill."""
        if not self.is_async:
            return call()
        assert self._portal is not None

        async def wait() -> Any:
            result = call()
            return await result if inspect.isawaitable(result) else result

        return self._portal.call(wait)

    def items(self, iterable: Callable[[], Any]) -> list[Any]:
        """Every item of `iterable()` (an async iterator for AsyncBill, an iterator for Bill)."""
        if not self.is_async:
            return list(iterable())
        assert self._portal is not None

        async def collect() -> list[Any]:
            return [item async for item in iterable()]

        return self._portal.call(collect)

    def page(self, listing: Callable[[], Any]) -> Any:
        """The one page a list() call is: awaited (AsyncBill) or `.page` (Bill)."""
        return self.run(self.page_call(listing))

    def page_call(self, listing: Callable[[], Any]) -> Callable[[], Any]:
        """`listing` as a call for :meth:`run` that gives its one page."""
        return listing if self.is_async else lambda: listing().page

    def close(self, bill: Any) -> None:
        self.run(bill.aclose if self.is_async else bill.close)

    @contextlib.contextmanager
    def client(self, **options: Any) -> Iterator[Any]:
        bill = self.make(**options)
        try:
            yield bill
        finally:
            self.close(bill)

    def parallel(self, count: int, call: Callable[[], Any]) -> list[Any]:
        """`count` calls at once: tasks of one task group (AsyncBill) or threads of a pool (Bill). Results in
        order of completion; the first exception is raised."""
        if not self.is_async:
            with ThreadPoolExecutor(max_workers=count) as pool:
                return [future.result() for future in [pool.submit(call) for _ in range(count)]]
        assert self._portal is not None
        results: list[Any] = []

        async def one() -> None:
            results.append(await call())

        async def all_of_them() -> None:
            async with anyio.create_task_group() as group:
                for _ in range(count):
                    group.start_soon(one)

        self._portal.call(all_of_them)
        return results

    def __repr__(self) -> str:
        return f"Twin({self.kind})"


@pytest.fixture(params=["async", "sync"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    if request.param == "sync":
        yield Twin("sync", None)
        return
    with anyio.from_thread.start_blocking_portal() as portal:
        yield Twin("async", portal)
