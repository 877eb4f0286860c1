"""A minimal BILL-shaped HTTP/1.1 server on loopback for the benchmarks: fixed, precomputed JSON bytes.

Run as ``python bench/server.py``: binds 127.0.0.1 on a free port, prints the port on stdout and serves until its
stdin closes (so it dies with the benchmark process) or it receives SIGTERM/SIGINT. It is a bare asyncio
protocol rather than a web framework so that the server's share of each request stays small and constant:
every answer is a prebuilt byte string, and list pages are one precomputed body with the page number and cursor
spliced in.

Routes (everything BILL-like that the benchmarks call):
- ``POST /connect/v3/login`` and ``POST /connect/v3/logout``
- ``GET /connect/v3/vendors/{id}``: one vendor
- ``GET /connect/v3/vendors?max=100[&page=N]``: page N (0 without ``page``) of PAGES pages of 100 vendors;
  ``nextPage`` is N+1, absent on the last page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from typing import Any

PAGES = 1_000
PAGE_SIZE = 100
VENDOR_ID = "00901ZQXBENCHVND0001"
LOGIN = {"sessionId": "s", "organizationId": "008x", "userId": "006x", "trusted": False}


def vendor(index: int = 1) -> dict[str, Any]:
    """One realistic vendor, shaped like ``Vendor`` in the v3 spec (nested objects, decimal amounts)."""
    return {
        "id": f"00901ZQXBENCHVND{index:04d}",
        "archived": False,
        "name": f"Acme Office Supplies {index}, Inc.",
        "shortName": f"Acme {index}",
        "accountNumber": f"ACME-{88000 + index}",
        "accountType": "BUSINESS",
        "email": "ap@acme-supplies.example.com",
        "phone": "+1 415 555 0134",
        "address": {
            "line1": "1 Market Street",
            "line2": "Suite 300",
            "city": "San Francisco",
            "stateOrProvince": "CA",
            "zipOrPostalCode": "94105",
            "country": "US",
            "countryName": "United States",
        },
        "paymentInformation": {
            "payeeName": f"Acme Office Supplies {index}, Inc.",
            "email": "remit@acme-supplies.example.com",
            "lastPaymentDate": "2024-05-01",
            "payByType": "OFFLINE",
            "payBySubType": "LOCAL",
            "bankAccount": {
                "nameOnAccount": "Acme Office Supplies Inc",
                "accountNumber": "xxxxxx6789",
                "routingNumber": "121000358",
                "type": "CHECKING",
                "ownerType": "BUSINESS",
                "paymentCurrency": "USD",
            },
            "virtualCard": {
                "status": "UNDEFINED",
                "remitEmail": "cards@acme-supplies.example.com",
                "enrollDate": "2023-11-02T17:20:31.000+00:00",
                "alternatePayByType": "OFFLINE",
            },
            "paymentPurpose": {"text": "Office supplies", "code": {"name": "Goods", "value": "GDDS"}},
        },
        "additionalInfo": {
            "taxId": "12-3456789",
            "taxIdType": "EIN",
            "track1099": True,
            "leadTimeInDays": 3,
            "combinePayments": False,
            "paymentTermId": "0ptBENCHTERM0001",
            "companyName": f"Acme Office Supplies {index}, Inc.",
        },
        "bankAccountStatus": "UNDEFINED",
        "recurringPayments": False,
        "billCurrency": "USD",
        "createdTime": "2023-11-02T17:20:31.000+00:00",
        "updatedTime": "2024-05-01T09:12:44.000+00:00",
        "balance": {"amount": 12345.67, "lastUpdatedDate": "2024-05-01T09:12:44.000+00:00"},
        "autoPay": {
            "enabled": True,
            "bankAccountId": "bac01BENCHBANK0001",
            "createdBy": "006x",
            "maxAmount": 5000.00,
            "daysBeforeDueDate": 2,
        },
        "networkStatus": "NOT_CONNECTED",
    }


def page_results() -> list[dict[str, Any]]:
    return [vendor(i + 1) for i in range(PAGE_SIZE)]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _response(body: bytes, status: bytes = b"200 OK") -> bytes:
    head = b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (status, len(body))
    return head + body


_MARK = "@@CURSOR@@"
# Each page holds other vendors (ids carry the page number): the SDK refuses pages that only repeat items already
# yielded, as a server ignoring its cursor would send.
_PAGE_MARK = "@@PAGE@@"
_results = [{**item, "id": f"009{_PAGE_MARK}V{n:04d}"} for n, item in enumerate(page_results(), 1)]
_PAGE_PARTS = _dumps({"results": _results, "nextPage": _MARK}).split(_PAGE_MARK.encode())
_LAST_PAGE_PARTS = _dumps({"results": _results}).split(_PAGE_MARK.encode())

LOGIN_RESPONSE = _response(_dumps(LOGIN))
LOGOUT_RESPONSE = _response(b"{}")
VENDOR_RESPONSE = _response(_dumps(vendor()))
NOT_FOUND = _response(_dumps([{"code": "BDC_1001", "message": "Not found"}]), b"404 Not Found")
VENDORS_PATH = b"/connect/v3/vendors"
# `?max=20`: one 20-vendor page with no nextPage, the page the SDK comparison (compare.py) fetches.
SMALL_PAGE = 20
SMALL_PAGE_RESPONSE = _response(_dumps({"results": page_results()[:SMALL_PAGE]}))


def page_body(number: int) -> bytes:
    """Page `number` (0-based) of the vendor list: 100 vendors of their own, ``nextPage`` = number + 1."""
    page = b"%05d" % number
    if number >= PAGES - 1:
        return page.join(_LAST_PAGE_PARTS)
    return page.join(_PAGE_PARTS).replace(_MARK.encode(), b"%d" % (number + 1), 1)


def page_response(number: int) -> bytes:
    return _response(page_body(number))


def route(method: bytes, target: bytes) -> bytes:
    path, _, query = target.partition(b"?")
    if method == b"GET":
        if path == VENDORS_PATH:
            number = 0
            for pair in query.split(b"&"):
                key, _, value = pair.partition(b"=")
                if key == b"page" and value.isdigit():
                    number = int(value)
                if key == b"max" and value == b"%d" % SMALL_PAGE:
                    return SMALL_PAGE_RESPONSE
            return page_response(number)
        if path.startswith(VENDORS_PATH + b"/"):
            return VENDOR_RESPONSE
    elif method == b"POST":
        if path == b"/connect/v3/login":
            return LOGIN_RESPONSE
        if path == b"/connect/v3/logout":
            return LOGOUT_RESPONSE
    return NOT_FOUND


class BenchProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive: enough of it for httpx (Content-Length bodies, no chunked requests). Answers with
    `router(method, target)`: this module's :func:`route` unless given another (bench/changes.py's record list)."""

    def __init__(self, router: Any = None) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._route = router or route

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            length = 0
            at = head.lower().find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                return
            del buffer[:total]
            method, target, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
            assert self._transport is not None
            self._transport.write(self._route(method, target))


async def serve(router: Any = None, announce: Any = None) -> None:
    """Serve until stdin closes or a signal; print the port (or `announce(port)`) once listening."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: BenchProtocol(router), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    if announce is None:
        print(port, flush=True)
    else:
        announce(port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # stdin is a pipe from the benchmark process: it reaches EOF when that process exits, however it exits.
    stdin = sys.stdin.fileno()

    def on_stdin() -> None:
        if not os.read(stdin, 4096):
            loop.remove_reader(stdin)
            stop.set()

    loop.add_reader(stdin, on_stdin)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
