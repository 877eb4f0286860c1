"""`python -m bill_sdk sync/export` end to end against FakeBill over loopback: output files, checkpoint, exit codes,
silence when piped, and Ctrl-C leaving a checkpoint the next run resumes from."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bill_sdk.testing import FakeBill
from bill_sdk.testing.fake import ServerURL

pytestmark = pytest.mark.integration

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def server() -> Iterator[ServerURL]:
    fake = FakeBill()
    past = datetime.now(UTC) - timedelta(hours=1)
    for i in range(25):
        stamp = (past + timedelta(milliseconds=i * 3)).isoformat(timespec="milliseconds")
        fake.state.put("vendors", {"name": f"Vendor {i}", "archived": i % 9 == 4, "updatedTime": stamp})
    with fake.serve() as url:
        yield url


def cli(server: ServerURL, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bill_sdk", *args], env=_env(server, **env), capture_output=True, text=True, timeout=60
    )


def _env(server: ServerURL, **extra: str) -> dict[str, str]:
    c = server.fake.credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILL_")}
    env.update(
        PYTHONPATH=SRC,
        BILL_BASE_URL=server.url,
        BILL_DEV_KEY=c.dev_key,
        BILL_USERNAME=c.username,
        BILL_PASSWORD=c.password,
        BILL_ORGANIZATION_ID=c.organization_id,
        BILL_API_TOKEN=c.api_token,
    )
    env.update(extra)
    return env


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sync_then_export_end_to_end(server: ServerURL, tmp_path: Path) -> None:
    state, out = tmp_path / "vendors.state.json", tmp_path / "vendors.jsonl"
    first = cli(server, "sync", "vendors", "--state", str(state), "--out", str(out), "--page-size", "10")
    assert first.returncode == 0, first.stderr
    assert first.stderr == "" and first.stdout == ""  # piped: no progress bar, no chatter
    written = lines(out)
    expected = {d["id"] for d in server.fake.state.list("vendors")}
    assert {w["id"] for w in written} == expected and len(written) == 25
    assert all(w["change"] == "upsert" and w["resource"] == "vendors" for w in written)
    assert sum(w["record"]["archived"] for w in written) == 3
    checkpoint = json.loads(state.read_text())["resources"]["vendors"]
    assert checkpoint["window"] is None and checkpoint["completed_to"] and checkpoint["organization_id"]

    changed = server.fake.state.list("vendors")[7]
    changed.update(name="Renamed", updatedTime=datetime.now(UTC).isoformat(timespec="milliseconds"))
    second = cli(server, "sync", "vendors", "--state", str(state), "--out", str(out), "--lag", "0")
    assert second.returncode == 0, second.stderr
    assert [(w["id"], w["record"]["name"]) for w in lines(out)[25:]] == [(changed["id"], "Renamed")]

    csv_out, jsonl_out = tmp_path / "vendors.csv", tmp_path / "all.jsonl"
    assert cli(server, "export", "vendors", "--out", str(csv_out)).returncode == 0
    rows = csv_out.read_text().splitlines()
    assert rows[0].startswith("id,") or "id" in rows[0].split(",")
    assert len(rows) == 1 + 22  # the plain list leaves archived vendors out, as BILL's does by default
    exported = cli(server, "export", "vendors", "--out", str(jsonl_out), "--filters", "archived:eq:true")
    assert exported.returncode == 0, exported.stderr
    assert len(lines(jsonl_out)) == 3
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_exit_codes_scripts_can_rely_on(server: ServerURL, tmp_path: Path) -> None:
    state, out = tmp_path / "s.json", tmp_path / "o.jsonl"
    args = ("sync", "vendors", "--state", str(state), "--out", str(out))
    assert cli(server, "sync", "nonsense", "--state", str(state), "--out", str(out)).returncode == 2
    assert cli(server, "sync", "vendors").returncode == 2  # argparse: --state/--out missing
    assert cli(server, *args, BILL_PASSWORD="wrong").returncode == 3
    assert cli(server, *args, BILL_DEV_KEY="").returncode == 3  # a missing credential
    assert cli(server, *args).returncode == 0
    data = json.loads(state.read_text())
    data["resources"]["vendors"]["organization_id"] = "00801SOMEONEELSE"
    state.write_text(json.dumps(data))
    refused = cli(server, *args)
    assert refused.returncode == 4 and "organization" in refused.stderr
    assert cli(server, "export", "vendors", "--out", str(tmp_path / "x.txt")).returncode == 2
    server.fake.faults.add("/v3/vendors", kind="server_error", count=None, status=503)
    assert cli(server, "export", "vendors", "--out", str(tmp_path / "x.csv")).returncode == 5


def test_ctrl_c_leaves_a_checkpoint_the_next_run_resumes(server: ServerURL, tmp_path: Path) -> None:
    state, out = tmp_path / "s.json", tmp_path / "o.jsonl"
    args = ["sync", "vendors", "--state", str(state), "--out", str(out), "--page-size", "2"]
    server.fake.faults.add("/v3/vendors", kind="latency", count=None, seconds=0.15)
    process = subprocess.Popen(
        [sys.executable, "-m", "bill_sdk", *args],
        env=_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 4):
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "resume" in stderr
    before = lines(out)
    assert 4 <= len(before) < 25
    server.fake.faults.clear()
    finished = subprocess.run(
        [sys.executable, "-m", "bill_sdk", *args], env=_env(server), capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr
    after = lines(out)
    ids = [w["id"] for w in after]
    assert set(ids) == {d["id"] for d in server.fake.state.list("vendors")}
    assert len(ids) - len(set(ids)) <= 2  # at most the one batch that was written but not acknowledged


def test_the_progress_bar_draws_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import io

    from bill_sdk.__main__ import _Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    args = argparse.Namespace(no_progress=False, expect=500)
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with _Progress("sync bills", args) as progress:
        progress.update(records=120, pages=2)
        progress.update(records=80, pages=3)
    drawn = screen.getvalue()
    assert "sync bills" in drawn and "200/500" in drawn and "3 pages" in drawn

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with _Progress("sync bills", args) as progress:
        progress.update(records=1, pages=1)
        progress.done("finished")
    assert piped.getvalue() == "" and progress.records == 1
