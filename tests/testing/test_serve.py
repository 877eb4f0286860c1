"""`python -m bill_sdk.testing serve`: prints `export BILL_...=` lines that work as they are, including a
partner organization with a user for `login_as_user`. Run in a subprocess on a free port, always stopped."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import pytest

from bill_sdk import AsyncBill

SRC = Path(__file__).resolve().parents[2] / "src"
EXPECTED = {
    "BILL_BASE_URL",
    "BILL_DEV_KEY",
    "BILL_USERNAME",
    "BILL_PASSWORD",
    "BILL_ORGANIZATION_ID",
    "BILL_USER_ID",
    "BILL_APP_KEY",
    "BILL_API_TOKEN",
}
EXPORT = re.compile(r"^export (BILL_[A-Z_]+)=(\S+)$")
STARTUP_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"FakeBill did not listen on {port} within {STARTUP_SECONDS} s")


@pytest.fixture
def served() -> Iterator[tuple[dict[str, str], str]]:
    """The `export` lines of a running `serve` as a dict, and its whole banner."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("BILL_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bill_sdk.testing", "serve", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        lines: list[str] = []
        found: dict[str, str] = {}
        # A thread reads the pipe (select() cannot see lines already in the file object's buffer).
        queue: Queue[str] = Queue()
        threading.Thread(target=lambda: [queue.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        while not found.keys() >= EXPECTED or "Ctrl-C" not in "".join(lines):
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, "serve ended or stalled:\n" + "".join(lines)
            try:
                line = queue.get(timeout=min(remaining, 1.0))
            except Empty:
                continue
            lines.append(line)
            match = EXPORT.match(line.strip())
            if match:
                found[match.group(1)] = match.group(2)
        _wait_for_port(port, deadline)
        yield found, "".join(lines)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def test_serve_prints_lines_to_paste_and_they_work(served: tuple[dict[str, str], str]) -> None:
    values, banner = served
    assert values.keys() >= EXPECTED, banner
    assert values["BILL_BASE_URL"].startswith("http://127.0.0.1:")
    env = values  # exactly what was printed: the SDK ignores the variables it does not read (BILL_USER_ID, ...)

    async with AsyncBill(env=env) as bill:  # Connect AP/AR with the printed organization
        assert (await bill.vendors.list()).results == []

    async with AsyncBill(env=env) as spend:  # Spend & Expense with the printed token
        await spend.spend.budgets.list()

    async with AsyncBill(env=env) as partner:  # Partner: the seeded organization and its user
        orgs = (await partner.partner.organizations.list()).results
        assert [o.id for o in orgs] == [values["BILL_PARTNER_ORGANIZATION_ID"]]
        assert isinstance(orgs[0].id, str)
        users = (await partner.partner.users.list(organization_id=orgs[0].id)).results
        assert [u.id for u in users] == [values["BILL_PARTNER_USER_ID"]]
        assert isinstance(users[0].id, str)
        child = await partner.login_as_user(organization_id=orgs[0].id, user_id=users[0].id)
        assert (await child.vendors.list()).results == []
        # The printed user id signs the partner into the printed organization too.
        own_org = await partner.login_as_user(
            organization_id=values["BILL_ORGANIZATION_ID"], user_id=values["BILL_USER_ID"]
        )
        await own_org.vendors.list()
