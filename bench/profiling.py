"""Where the SDK's extra time goes, compared with the floor: a wall-clock line sampler plus a cyclic-GC timer.

A sampler rather than cProfile: cProfile adds a fixed cost to every Python call, which inflates exactly the
many-small-functions code being compared. Every millisecond (SIGALRM) the sampler records the line of Python
that is running (the innermost frame; time in C is charged to the line that called it). The GC is paused while
sampling, so its pauses are not charged to whichever line allocated last, and is timed in a second pass instead.
"""

from __future__ import annotations

import gc
import linecache
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from types import FrameType
from typing import Any

INTERVAL = 0.001
Line = tuple[str, int]


@dataclass
class Capture:
    """Microseconds per unit of work spent on each line of Python, and in the cyclic GC."""

    lines: dict[Line, float]
    gc_us: float


@contextmanager
def _sampling(counts: Counter[Line]) -> Iterator[None]:
    def tick(signum: int, frame: FrameType | None) -> None:
        if frame is not None:
            counts[(frame.f_code.co_filename, frame.f_lineno)] += 1

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


def _capture(counts: Counter[Line], seconds: float, gc_seconds: float, units: int) -> Capture:
    samples = sum(counts.values()) or 1
    per_sample_us = seconds / samples / units * 1e6
    return Capture({line: n * per_sample_us for line, n in counts.items()}, gc_seconds / units * 1e6)


def capture(run: Callable[[], Any], units: int) -> Capture:
    """Sample `run()` (which does `units` units of work), then time the GC during a second run."""
    counts: Counter[Line] = Counter()
    with _sampling(counts):
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
    gc_total = [0.0]
    with _gc_timing(gc_total):
        run()
    return _capture(counts, seconds, gc_total[0], units)


async def capture_async(run: Callable[[], Awaitable[Any]], units: int) -> Capture:
    """`capture` for a coroutine function, sampled inside the running event loop."""
    counts: Counter[Line] = Counter()
    with _sampling(counts):
        started = time.perf_counter()
        await run()
        seconds = time.perf_counter() - started
    gc_total = [0.0]
    with _gc_timing(gc_total):
        await run()
    return _capture(counts, seconds, gc_total[0], units)


def package_of(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "/bill_sdk/" in path:
        if "/_generated/models/" in path:
            return "bill_sdk models"
        return "bill_sdk generated api" if "/_generated/" in path else "bill_sdk runtime"
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0]
    if path.startswith("<frozen "):
        return path.removeprefix("<frozen ").split(".", 1)[0].rstrip(">")
    if "/lib/python3" in path:
        return path.split("/lib/python3", 1)[1].split("/")[1].removesuffix(".py")
    return PurePath(path).name


def _source(line: Line) -> str:
    return linecache.getline(*line).strip()


def _label(line: Line) -> str:
    text = _source(line)
    text = text if len(text) <= 60 else text[:57] + "..."
    where = f"{PurePath(line[0]).name}:{line[1]}"
    return f"{where} `{text}`" if text else where


def _idle(line: Line) -> bool:
    # The event loop waiting in epoll/select for the server: neither side's work.
    return line[0].replace("\\", "/").endswith("/selectors.py")


def explain(sdk: Capture, floor: Capture, unit: str) -> str:
    """One sentence: how much more time the SDK spends per unit than the floor, and on what."""
    extra: dict[Line, float] = defaultdict(float)
    for line, us in sdk.lines.items():
        extra[line] += us
    for line, us in floor.lines.items():
        extra[line] -= us
    for line in [line for line in extra if _idle(line)]:
        del extra[line]
    packages: dict[str, float] = defaultdict(float)
    for line, us in extra.items():
        packages[package_of(line[0])] += us
    gc_extra = sdk.gc_us - floor.gc_us
    total = sum(extra.values()) + gc_extra
    imports = sum(us for line, us in extra.items() if _source(line).startswith(("from ", "import ")))

    def top(items: dict[Any, float], name: Callable[[Any], str], count: int = 3) -> str:
        best = sorted(((key, us) for key, us in items.items() if us > 0), key=lambda item: -item[1])[:count]
        return ", ".join(f"{name(key)} +{us:,.0f} µs" for key, us in best)

    parts = [
        f"sampled: +{total:,.0f} µs/{unit} over the floor",
        f"by package {top(packages, str)}",
        f"hottest lines {top(extra, _label)}",
    ]
    if imports > 0.05 * total:
        parts.append(f"`import` statements run on every {unit}: +{imports:,.0f} µs")
    if gc_extra > 0.05 * total:
        parts.append(f"cyclic GC +{gc_extra:,.0f} µs")
    return "; ".join(parts)
