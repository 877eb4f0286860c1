"""The published wheel: one version, a LICENSE, py.typed, classifiers and URLs, and extras without dev tools."""

from __future__ import annotations

import email.parser
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

import bill_sdk

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    pytest.importorskip("hatchling", reason="the dev requirements install hatchling (the build backend)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            str(out),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("bill_sdk-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def _metadata(wheel: zipfile.ZipFile) -> Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.parser.Parser().parsestr(wheel.read(name).decode())


def test_version_is_single_sourced(wheel: zipfile.ZipFile) -> None:
    assert _metadata(wheel)["Version"] == bill_sdk.__version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^version\s*=", pyproject, re.MULTILINE) is None, "version must live only in bill_sdk"
    assert 'dynamic = ["version"]' in pyproject


def test_extras_hold_no_dev_tools(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"testing", "fastapi"} <= extras
    assert "dev" not in extras
    requires = meta.get_all("Requires-Dist") or []
    assert not [r for r in requires if r.lower().startswith("mypy")], requires
    specs = [r.split(";")[0] for r in requires]
    assert not [r for r in specs if "==" in r], f"published requirements pin exact versions: {requires}"
    testing = [r.split(";")[0].strip() for r in requires if re.search(r"extra == ['\"]testing['\"]", r)]
    assert any(r.startswith("pytest-asyncio") for r in testing), testing


def test_license_classifiers_and_urls(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names[-10:]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    meta = _metadata(wheel)
    classifiers = meta.get_all("Classifier") or []
    assert "License :: OSI Approved :: MIT License" in classifiers or meta["License-Expression"] == "MIT"
    assert "Typing :: Typed" in classifiers
    assert "Framework :: AsyncIO" in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Repository", "Issues"} <= urls.keys(), urls


def test_package_files_ship(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "bill_sdk/py.typed" in names
    assert "bill_sdk/_spec/bill-v3.json" in names
    assert not [n for n in names if n.startswith("tests/")]


def test_makefile_installs_the_dev_tools() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dev = ROOT / "requirements-dev.txt"
    assert dev.is_file()
    assert "requirements-dev.txt" in makefile
    assert "mypy==" in dev.read_text() and "hatchling" in dev.read_text()
