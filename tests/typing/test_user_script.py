"""The obvious user code type-checks under ``mypy --strict`` and pyright's strict mode with no casts
(tests/typing/user_script.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("user_script.py")


def test_user_script_passes_mypy_strict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(SCRIPT.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "MYPYPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_user_script_passes_pyright_strict() -> None:
    """pyright is what VS Code (Pylance) users see; the script opts into strict mode with ``# pyright: strict``.
    basedpyright (requirements-dev.txt) is pyright with Node.js bundled; its extra rules only warn."""
    pyright = shutil.which("basedpyright", path=str(Path(sys.executable).parent))
    assert pyright is not None, "basedpyright is installed by requirements-dev.txt (make test)"
    result = subprocess.run(
        [pyright, "--pythonpath", sys.executable, "--level", "error", str(SCRIPT.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout, result.stdout
