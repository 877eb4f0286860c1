"""Where the SDK's extra time goes, compared with the floor: a wall-clock line sampler plus a cyclic-GC timer.

A sampler rather than cProfile: cProfile adds a fixed cost to every Python call, which inflates exactly the
many-small-functions code being compared. Every millisecond (SIGALRM) the sampler records the line of Python
that is running: the innermost frame, so time in C is charged to the line that called it, and time in the import
machinery to the ``import`` statement that triggered it. The GC is paused while sampling, so that its pauses are
not charged to whichever line happened to allocate, and is timed in a second pass instead.
"""

from __future__ import annotations

import gc
import linecache
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath
from types import FrameType
from typing import Any

INTERVAL = 0.001
_IMPORTLIB = "<frozen importlib."
# Samples on the benchmark's own loop lines (same code for both sides) are the call returning: mostly freeing
# the objects it returned when the loop drops them.
_HARNESS = str(PurePath(__file__).parent)
_HARNESS_LABEL = "freeing the returned objects (benchmark loop)"
Line = tuple[str, int]


@dataclass
class Capture:
    """Microseconds per unit of work spent on each line of Python, and in the cyclic GC."""

    lines: dict[Line, float]
    gc_us: float


@contextmanager
def _sampling(counts: Counter[Line]) -> Iterator[None]:
    def tick(signum: int, frame: FrameType | None) -> None:
        # The import machinery's own frames are charged to the statement that imported.
        while frame is not None and frame.f_back is not None and frame.f_code.co_filename.startswith(_IMPORTLIB):
            frame = frame.f_back
        if frame is not None:
            counts[(frame.f_code.co_filename, frame.f_lineno or 0)] += 1

    previous = signal.signal(signal.SIGALRM, tick)
    was_enabled = gc.isenabled()
    gc.disable()
    signal.setitimer(signal.ITIMER_REAL, INTERVAL, INTERVAL)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
        if was_enabled:
            gc.enable()


@contextmanager
def _gc_timing(total: list[float]) -> Iterator[None]:
    started = 0.0

    def callback(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            total[0] += time.perf_counter() - started

    gc.callbacks.append(callback)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)


Work = tuple[Callable[[], Any], int]  # a function and how many units of work one call of it does
AsyncWork = tuple[Callable[[], Awaitable[Any]], int]


@dataclass
class _Tally:
    counts: Counter[Line] = field(default_factory=Counter)
    seconds: float = 0.0
    units: int = 0
    gc_seconds: float = 0.0
    gc_units: int = 0

    def result(self) -> Capture:
        per_sample_us = self.seconds / (sum(self.counts.values()) or 1) / self.units * 1e6
        lines = {line: n * per_sample_us for line, n in self.counts.items()}
        return Capture(lines, self.gc_seconds / (self.gc_units or 1) * 1e6)


def _orders(rounds: int) -> Iterator[tuple[int, int]]:
    for number in range(rounds):
        yield (0, 1) if number % 2 == 0 else (1, 0)


def compare(sdk: Work, floor: Work, rounds: int = 4) -> tuple[Capture, Capture]:
    """Sample both workloads, alternating `rounds` times so that load from other processes hits both alike,
    then time the GC during one more call of each."""
    work, tallies = (sdk, floor), (_Tally(), _Tally())
    for order in _orders(rounds):
        for side in order:
            (run, units), tally = work[side], tallies[side]
            with _sampling(tally.counts):
                started = time.perf_counter()
                run()
                tally.seconds += time.perf_counter() - started
            tally.units += units
    for (run, units), tally in zip(work, tallies, strict=True):
        gc.collect()  # what piled up while the GC was paused is not this call's
        total = [0.0]
        with _gc_timing(total):
            run()
        tally.gc_seconds, tally.gc_units = total[0], units
    return tallies[0].result(), tallies[1].result()


async def compare_async(sdk: AsyncWork, floor: AsyncWork, rounds: int = 4) -> tuple[Capture, Capture]:
    """`compare` for coroutine functions, sampled inside the running event loop."""
    work, tallies = (sdk, floor), (_Tally(), _Tally())
    for order in _orders(rounds):
        for side in order:
            (run, units), tally = work[side], tallies[side]
            with _sampling(tally.counts):
                started = time.perf_counter()
                await run()
                tally.seconds += time.perf_counter() - started
            tally.units += units
    for (run, units), tally in zip(work, tallies, strict=True):
        gc.collect()
        total = [0.0]
        with _gc_timing(total):
            await run()
        tally.gc_seconds, tally.gc_units = total[0], units
    return tallies[0].result(), tallies[1].result()


def package_of(filename: str) -> str:
    if filename.startswith(_HARNESS):
        return _HARNESS_LABEL
    path = filename.replace("\\", "/")
    if "/bill_sdk/" in path:
        if "/_generated/models/" in path:
            return "bill_sdk models"
        return "bill_sdk generated api" if "/_generated/" in path else "bill_sdk runtime"
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0]
    if path.startswith("<attrs generated"):
        return "attrs-generated __init__"
    if path.startswith("<frozen "):
        return path.removeprefix("<frozen ").split(".", 1)[0].rstrip(">")
    if "/lib/python3" in path:
        return path.split("/lib/python3", 1)[1].split("/")[1].removesuffix(".py")
    return PurePath(path).name


def _source(line: Line) -> str:
    return linecache.getline(*line).strip() if line[1] else ""


def _label(line: Line) -> str:
    if line[0].startswith(_HARNESS):
        return _HARNESS_LABEL
    text = _source(line)
    text = text if len(text) <= 50 else text[:47] + "..."
    where = f"{PurePath(line[0]).name}:{line[1]}"
    return f"{where} `{text}`" if text else where


def _idle(line: Line) -> bool:
    # The event loop waiting in epoll/select for the server: neither side's work.
    return line[0].replace("\\", "/").endswith("/selectors.py")


def explain(sdk: Capture, floor: Capture, unit: str) -> str:
    """One sentence: what the SDK's extra time per unit over the floor is spent on, as shares of it.

    Shares rather than microseconds: the profiled runs are extra runs, and on a shared machine their absolute
    speed can differ from the timed ones; the split between SDK and floor, measured alternately, holds.
    """
    extra: dict[Line, float] = defaultdict(float)
    for line, us in sdk.lines.items():
        extra[line] += us
    for line, us in floor.lines.items():
        extra[line] -= us
    for line in [line for line in extra if _idle(line)]:
        del extra[line]
    packages: dict[str, float] = defaultdict(float)
    labels: dict[str, float] = defaultdict(float)
    for line, us in extra.items():
        packages[package_of(line[0])] += us
        labels[_label(line)] += us
    gc_extra = sdk.gc_us - floor.gc_us
    total = sum(extra.values()) + gc_extra
    if total <= 0:
        return f"sampling found no extra time per {unit} over the floor (the gap is within the noise)"
    imports = sum(us for line, us in extra.items() if _source(line).startswith(("from ", "import ")))

    def top(items: dict[str, float], count: int = 3) -> str:
        best = sorted(((key, us) for key, us in items.items() if us > 0), key=lambda item: -item[1])[:count]
        return ", ".join(f"{key} {us / total:.0%}" for key, us in best)

    parts = [
        f"sampled, shares of the extra time per {unit} over the floor: by package {top(packages)}",
        f"hottest lines {top(labels)}",
    ]
    if imports > 0.05 * total:
        parts.append(f"`import` statements run on every {unit} {imports / total:.0%}")
    if gc_extra > 0.05 * total:
        parts.append(f"cyclic GC {gc_extra / total:.0%}")
    return "; ".join(parts)
