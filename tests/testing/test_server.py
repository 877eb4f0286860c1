"""Serving over loopback (thread and event-loop variants), the CLI, and the pytest plugin as users enable it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from bill_sdk.testing import FakeBill

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_serve_in_a_thread_with_a_sync_client() -> None:
    fake = FakeBill()
    with fake.serve() as url:
        assert url.startswith("http://127.0.0.1:") and url.port > 0
        assert url.connect_url == f"{url}/connect" and url.fake is fake
        with httpx.Client(base_url=url.connect_url) as http:
            session = http.post("/v3/login", json=fake.login_body()).json()["sessionId"]
            headers = {"devKey": fake.credentials.dev_key, "sessionId": session}
            created = http.post("/v3/vendors", headers=headers, json=fake.example("createVendor", name="Wire"))
            assert created.status_code == 201
            assert http.get(f"/v3/vendors/{created.json()['id']}", headers=headers).json()["name"] == "Wire"
        with httpx.Client(base_url=url.events_url) as http:
            assert http.get("/v3/health").status_code == 200
    assert [r.operation_id for r in fake.requests] == ["login", "createVendor", "getVendor", "checkEventsHealth"]
    fake.assert_no_violations()


async def test_serve_in_the_running_loop() -> None:
    fake = FakeBill()
    async with fake.serve_async() as url, httpx.AsyncClient(base_url=url.connect_url) as http:
        assert (await http.get("/v3/vendors", headers=fake.headers())).status_code == 200
        assert (await http.get("/v3/vendors")).status_code == 401


async def test_fixture_serves_on_a_free_port(fake_bill_server) -> None:
    async with httpx.AsyncClient(base_url=fake_bill_server.url) as http:
        response = await http.get("/connect/v3/spend/users/current", headers=fake_bill_server.fake.headers("spend"))
        assert response.status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_command_line_server() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bill_sdk.testing", "serve", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/connect/v3/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "FakeBill CLI did not start"
            time.sleep(0.05)
        login = httpx.post(f"http://127.0.0.1:{port}/connect/v3/login", json=FakeBill().login_body(), timeout=5)
        assert login.status_code == 200
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/connect" in output
    assert "export BILL_DEV_KEY=fake-dev-key" in output and "export BILL_API_TOKEN=fake-api-token" in output


def test_pytest_plugin_as_users_enable_it(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["bill_sdk.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import httpx
            import pytest

            @pytest.mark.fake_bill(organization_id="00801MINE")
            def test_in_process(fake_bill):
                assert fake_bill.credentials.organization_id == "00801MINE"

            def test_server(fake_bill_server):
                response = httpx.post(fake_bill_server.connect_url + "/v3/login", json=fake_bill_server.fake.login_body())
                assert response.status_code == 200

            def test_violation_fails_the_test(fake_bill_server):
                fake = fake_bill_server.fake
                vendor = fake.state.put("vendors", {"name": 1})
                response = httpx.get(fake_bill_server.connect_url + "/v3/vendors/" + vendor["id"], headers=fake.headers())
                assert response.status_code == 500 and "violates the spec" in response.text
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore", str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert "3 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "FakeBill sent responses its spec does not allow" in result.stdout
