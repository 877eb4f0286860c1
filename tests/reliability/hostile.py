"""A small scriptable HTTP/1.1 server on loopback that misbehaves on purpose (raw asyncio, no framework).

FakeBill answers like BILL; this one answers like a broken proxy or a hostile server: it trickles bodies,
stalls, drops connections after reading the request, or streams bodies far larger than any BILL page. Each
test gives it a handler ``async (request, reply) -> None`` that decides, per request, what to do. Everything
is bounded: trickles have a byte count, stalls wait on an event or a maximum time, and the server closes all
connections when the ``async with`` block ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

MAX_STALL = 30.0  # no test may keep a connection open longer than this, whatever the handler asks


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What a handler can do with one request's connection."""

    writer: asyncio.StreamWriter
    server: HostileServer
    closed: bool = False

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        self.server.bytes_sent += len(data)
        await self.writer.drain()

    async def respond(
        self, status: int, body: bytes | Any = b"", headers: dict[str, str] | None = None, *, reason: str = "X"
    ) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        await self.send(head(status, {"Content-Length": str(len(body)), **(headers or {})}, reason=reason) + body)

    async def trickle(self, status: int, chunks: int, interval: float, headers: dict[str, str] | None = None) -> None:
        """A JSON body announced with its full length and sent one byte every `interval` seconds."""
        body = b"{" + b" " * (chunks - 2) + b"}"
        await self.send(
            head(status, {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})})
        )
        for byte in body:
            await asyncio.sleep(interval)
            await self.send(bytes([byte]))

    async def stream(self, status: int, total: int, chunk: int = 65536, headers: dict[str, str] | None = None) -> None:
        """A body of `total` bytes (a JSON string full of 'x'), written as fast as the client reads it."""
        await self.send(
            head(status, {"Content-Type": "application/json", "Content-Length": str(total), **(headers or {})})
        )
        await self.send(b'"')
        sent = 1
        filler = b"x" * chunk
        while sent < total - 1:
            part = filler[: min(chunk, total - 1 - sent)]
            await self.send(part)
            sent += len(part)
        await self.send(b'"')

    async def stall(self, until: asyncio.Event | None = None, seconds: float = MAX_STALL) -> None:
        """Send nothing until `until` is set (or `seconds` pass)."""
        try:
            await asyncio.wait_for((until or asyncio.Event()).wait(), min(seconds, MAX_STALL))
        except TimeoutError:
            pass

    def drop(self) -> None:
        """Close the connection without answering (the request was read: BILL may have applied it)."""
        self.closed = True
        self.writer.close()


Handler = Callable[[RawRequest, Reply], Awaitable[None]]


def head(status: int, headers: dict[str, str], *, reason: str = "X") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


@dataclass
class HostileServer:
    handler: Handler
    requests: list[RawRequest] = field(default_factory=list)
    bytes_sent: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def __aenter__(self) -> HostileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    raw_head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = RawRequest(method, path, headers, body)
                self.requests.append(request)
                reply = Reply(writer, self)
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                try:
                    await self.handler(request, reply)
                finally:
                    self.in_flight -= 1
                if reply.closed:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # the server is shutting down under a handler that stalls
            return
        finally:
            self._writers.discard(writer)
            writer.close()


LOGIN = {"sessionId": "hostile-session-0001", "organizationId": "00801ORG", "userId": "00601USER"}
CREDENTIALS = {
    "dev_key": "DEVKEY-7d1f0c55",
    "username": "ap@example.com",
    "password": "PASSWORD-93b2e611",
    "organization_id": "00801ORG",
    "api_token": "APITOKEN-4c8e2a90",
    "app_key": "APPKEY-b61d3f27",
}
SECRETS = ("DEVKEY-7d1f0c55", "PASSWORD-93b2e611", "APITOKEN-4c8e2a90", "APPKEY-b61d3f27", "hostile-session-0001")
