"""Serving an ASGI app (a FakeBill's, a webhook receiver) over loopback with uvicorn: in a background thread,
or as a task of the running loop. ``FakeBill.serve()`` / ``serve_async()`` wrap these with a ``ServerURL``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import uvicorn

STARTUP_TIMEOUT = 10.0
Lifespan = Literal["auto", "on", "off"]


class _Server(uvicorn.Server):
    """uvicorn without signal handlers (they belong to the test runner or the host program)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP,
    # and without it Nagle + delayed ACK add ~40 ms to every response uvicorn writes in two parts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _server(app: Any, log_level: str = "warning", lifespan: Lifespan = "off") -> _Server:
    config = uvicorn.Config(
        app, lifespan=lifespan, log_level=log_level, access_log=False, timeout_graceful_shutdown=1, loop="asyncio"
    )
    return _Server(config)


@contextlib.contextmanager
def serve_app(app: Any, *, port: int = 0, host: str = "127.0.0.1", lifespan: Lifespan = "auto") -> Iterator[str]:
    """Run any ASGI app (a webhook receiver, a FastAPI service) under uvicorn in a thread; yields its origin URL.

    The app's lifespan runs (``lifespan="auto"``), so startup hooks such as ``bill_sdk.fastapi.bill_lifespan``
    are in effect while the block runs.
    """
    sock = _bind(host, port)
    server = _server(app, lifespan=lifespan)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fakebill-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


@contextlib.asynccontextmanager
async def serve_app_in_loop(app: Any, *, port: int = 0, host: str = "127.0.0.1") -> AsyncIterator[tuple[str, int]]:
    """Run `app` under uvicorn as a task of the running loop; yields its origin URL and port."""
    sock = _bind(host, port)
    server = _server(app)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            sock.close()
            if task.done() and task.exception():
                raise RuntimeError("FakeBill server did not start") from task.exception()
            raise RuntimeError("FakeBill server did not start")
        await asyncio.sleep(0.005)
    actual = sock.getsockname()[1]
    try:
        yield f"http://{host}:{actual}", actual
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


def run_forever(app: Any, *, port: int, host: str = "127.0.0.1", log_level: str = "info") -> None:
    """Serve `app` in the foreground until interrupted (``python -m bill_sdk.testing serve``)."""
    config = uvicorn.Config(app, host=host, port=port, lifespan="off", log_level=log_level, loop="asyncio")
    uvicorn.Server(config).run()
