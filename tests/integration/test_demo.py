"""`make demo` runs in CI: the quickstart walks the whole AP/AR + Spend + webhook flow against FakeBill."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_completes_every_step_against_fakebill() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILL_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all steps passed" in result.stdout
    assert "FAIL" not in result.stdout
    for step in (
        "login",
        "create bills",
        "async for over bills across pages",
        "pay a bill",
        "list Spend budgets",
        "receive and verify a signed event",
    ):
        assert f"ok    {step}" in result.stdout, result.stdout
    # Credentials FakeBill hands out must not leak into what the demo prints.
    assert "fake-password" not in result.stdout and "fake-dev-key" not in result.stdout
