"""What async and sync code do differently, under one name each (the model: httpcore's ``_synchronization.py``).

The hand-written core (``_client``, ``_auth``, ``_transport``, ``_pagination``) is written once, for
``AsyncBill``, against the ``Async*`` names here; ``codegen/unasync.py`` turns it into ``bill_sdk._blocking`` (the
core of :class:`bill_sdk.Bill`) by renames only, ``AsyncBackend`` -> ``Backend`` and so on. So every place where
the two genuinely differ is a name in this module, with an async and a sync implementation side by side:

==========================  =========================================  ==========================================
name                        async (anyio)                              sync (threads)
==========================  =========================================  ==========================================
``Backend.deadline_scope``  an ``anyio.CancelScope`` on the deadline:  the deadline in a context variable: every
                            whatever runs inside is cancelled at the   wait below (a lock, a slot) and every
                            deadline; its end raises DeadlinePassed    attempt's httpx timeouts are bounded by
                                                                       what is left of it, nested calls (a login
                                                                       inside a call) by the outer deadline too
``Backend.now``/``sleep``   ``anyio.current_time``/``anyio.sleep``     ``time.monotonic``/``time.sleep``
``Backend.owner``           the running event loop (a client and the   the process: one ``Bill`` and its limiters
                            limiters belong to one)                    serve every thread
``Backend.cancellation``    anyio's cancellation exception (a          nothing (a thread is not cancelled)
                            caller's timeout or task cancel)
``Backend.shielded``        a shielded cancel scope with a time limit  nothing to shield
``Lock``                    ``anyio.Lock``                             ``threading.Lock``, waits bounded by the
                                                                       call's deadline
``CapacityLimiter``         ``anyio.CapacityLimiter``                  a counting semaphore with the same
                                                                       ``borrowed_tokens``, waits bounded by the
                                                                       call's deadline
==========================  =========================================  ==========================================

A wait that the deadline cuts short raises :class:`DeadlinePassed`, which the request path
(``_transport.RequestSender.send``) turns into ``BillTimeoutError`` or ``OutcomeUnknownError``, the same in both.
"""

from __future__ import annotations

import collections
import contextlib
import math
import threading
import time
from collections.abc import Coroutine, Generator
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel

PageT = TypeVar("PageT")


class DeadlinePassed(Exception):
    """Internal: the call's deadline ended what was running (never reaches a user)."""


# --------------------------------------------------------------------------- async (AsyncBill)
class _AsyncDeadlineScope:
    __slots__ = ("_deadline", "_scope")

    def __init__(self, deadline: float | None) -> None:
        self._deadline = deadline
        self._scope = anyio.CancelScope(deadline=math.inf if deadline is None else deadline)

    def __enter__(self) -> float | None:
        self._scope.__enter__()
        return self._deadline

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._scope.__exit__(exc_type, exc, tb)
        if self._scope.cancelled_caught:  # (trio's __exit__ returns True without an exception: not a signal)
            raise DeadlinePassed  # the scope cancelled what ran inside it: its own deadline, nobody else's


class AsyncBackend:
    """The time, waits and cancellation of ``AsyncBill`` (anyio: asyncio or trio)."""

    @staticmethod
    def now() -> float:
        return anyio.current_time()

    @staticmethod
    async def sleep(seconds: float) -> None:
        await anyio.sleep(seconds)

    @staticmethod
    def deadline_scope(deadline: float | None) -> _AsyncDeadlineScope:
        """``with ... as deadline:``: cancels the block at `deadline` (then raises DeadlinePassed)."""
        return _AsyncDeadlineScope(deadline)

    @staticmethod
    def cancellation() -> type[BaseException] | tuple[type[BaseException], ...]:
        """What a caller's cancellation raises inside a call."""
        return anyio.get_cancelled_exc_class()

    @staticmethod
    def shielded(seconds: float) -> anyio.CancelScope:
        """A block that a caller's cancellation does not interrupt, for at most `seconds` (closing a pool)."""
        return anyio.CancelScope(shield=True, deadline=anyio.current_time() + seconds)

    @staticmethod
    def owner() -> object:
        """What a client and the process-wide limiters belong to: the running event loop."""
        import asyncio

        try:
            return asyncio.get_running_loop()
        except RuntimeError:  # trio (or another anyio backend)
            return anyio.lowlevel.current_token().native_token

    @staticmethod
    def limiter(total_tokens: int) -> AsyncCapacityLimiter:
        return anyio.CapacityLimiter(total_tokens)


AsyncLock = anyio.Lock
AsyncCapacityLimiter = anyio.CapacityLimiter


class AsyncPageCall(Coroutine[Any, Any, PageT]):
    """A list call before it is iterated (the base of ``AsyncPaginator``): ``await`` it for one page.

        page = await bill.vendors.list(max=50)          # one page, as BILL sent it (page.results, page.next_page)
        async for vendor in bill.vendors.list():        # every vendor across pages, one page in memory at a time
            ...
        async for page in bill.vendors.list().pages():  # every page

    Awaiting sends exactly the arguments given and, like a coroutine, works once (``asyncio.run``,
    ``asyncio.create_task`` and ``gather`` take it too).
    """

    __slots__ = ("_coro",)

    def __init__(self) -> None:
        self._coro: Coroutine[Any, Any, PageT] | None = None

    async def _first(self) -> PageT:
        raise NotImplementedError  # pragma: no cover - AsyncPaginator's

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

    def __repr__(self) -> str:
        return "<AsyncPaginator: await it for one page, async for over it for every item>"


# --------------------------------------------------------------------------- sync (Bill)
# The deadline of the call running in this thread (the innermost, already the earliest of the nested ones).
_DEADLINE: ContextVar[float | None] = ContextVar("bill_sdk_deadline", default=None)


def _left() -> float | None:
    """Seconds left of the current call's deadline (None: no deadline); DeadlinePassed when none are."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed
    return left


class _DeadlineScope:
    __slots__ = ("_deadline", "_token")

    def __init__(self, deadline: float | None) -> None:
        outer = _DEADLINE.get()
        if outer is not None and (deadline is None or outer < deadline):
            deadline = outer  # a call inside a call (a login) ends at the outer call's deadline at the latest
        self._deadline = deadline
        self._token: Any = None

    def __enter__(self) -> float | None:
        self._token = _DEADLINE.set(self._deadline)
        return self._deadline

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _DEADLINE.reset(self._token)


class _Process:
    """The owner of ``Bill``'s limiters: the whole process (every thread shares them)."""


_PROCESS = _Process()


class Backend:
    """The time, waits and cancellation of ``Bill`` (threads). Sync code has no cancel scope: each wait and each
    attempt is given what is left of the call's deadline instead (see the module docs)."""

    @staticmethod
    def now() -> float:
        return time.monotonic()

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)

    @staticmethod
    def deadline_scope(deadline: float | None) -> _DeadlineScope:
        return _DeadlineScope(deadline)

    @staticmethod
    def cancellation() -> type[BaseException] | tuple[type[BaseException], ...]:
        return ()  # catches nothing: a thread is not cancelled from outside

    @staticmethod
    def shielded(seconds: float) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    @staticmethod
    def owner() -> object:
        return _PROCESS

    @staticmethod
    def limiter(total_tokens: int) -> CapacityLimiter:
        return CapacityLimiter(total_tokens)


class PageCall(Generic[PageT]):
    """A list call before it is iterated (the base of ``SyncPaginator``): the first page, fetched on first use.

        listing = bill.vendors.list(max=50)
        listing.page                     # the page model as BILL sent it (a VendorPage), fetched once
        listing.results, listing.next_page   # its fields, read through (untyped: use .page for the types)
        for vendor in bill.vendors.list():   # every vendor across pages, one page in memory at a time
            ...
        for page in bill.vendors.list().pages():
            ...

    The page is fetched with exactly the arguments given, once, when ``page`` or one of its fields is first read;
    iterating does not use it (it starts again from the first page, at BILL's largest page size without ``max``).
    """

    __slots__ = ("_page",)

    def __init__(self) -> None:
        self._page: tuple[PageT] | None = None

    def _first(self) -> PageT:
        raise NotImplementedError  # pragma: no cover - SyncPaginator's

    @property
    def page(self) -> PageT:
        """The page as the call was given (sent on first use; the answer is kept)."""
        if self._page is None:
            self._page = (self._first(),)
        return self._page[0]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.page, name)

    def __repr__(self) -> str:
        return "<SyncPaginator: .page (or its fields) for one page, for over it for every item>"


class Lock:
    """``threading.Lock`` for ``with``; a wait ends at the current call's deadline (DeadlinePassed)."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        left = _left()
        if not self._lock.acquire(timeout=-1 if left is None else left):
            raise DeadlinePassed

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


class CapacityLimiter:
    """At most `total_tokens` holders at a time, across threads; ``borrowed_tokens`` is how many hold one now.

    First come, first served (as ``anyio.CapacityLimiter``): a freed slot goes to the thread that has waited
    longest, so with twenty threads on three slots none waits for ever (a plain semaphore lets a thread lose
    every race, and its call then outlives its session). A wait ends at the current call's deadline
    (DeadlinePassed).
    """

    __slots__ = ("_borrowed", "_lock", "_waiters", "total_tokens")

    def __init__(self, total_tokens: int) -> None:
        self.total_tokens = total_tokens
        self._borrowed = 0
        self._lock = threading.Lock()
        self._waiters: collections.deque[threading.Event] = collections.deque()

    @property
    def borrowed_tokens(self) -> int:
        return self._borrowed

    def __enter__(self) -> None:
        left = _left()
        with self._lock:
            if self._borrowed < self.total_tokens and not self._waiters:
                self._borrowed += 1
                return
            waiter = threading.Event()
            self._waiters.append(waiter)
        try:
            if waiter.wait(left):
                return  # the slot was handed over by __exit__ (borrowed_tokens already counts it)
        except BaseException:  # KeyboardInterrupt in the wait: never leave a slot with a waiter that is gone
            with self._lock:
                if waiter.is_set():
                    self._release()
                else:
                    self._waiters.remove(waiter)
            raise
        with self._lock:
            if waiter.is_set():
                return  # handed over just as the wait ended
            self._waiters.remove(waiter)
        raise DeadlinePassed

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._release()

    def _release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # the slot passes to the longest waiter
        else:
            self._borrowed -= 1

    def __repr__(self) -> str:
        return f"CapacityLimiter(total_tokens={self.total_tokens}, borrowed_tokens={self._borrowed})"
