"""Every ```python block of README.md works as written.

How each block is treated:

* ``<!-- needs: bill-account -->`` on the line before the fence: the block needs a real BILL account (real keys,
  a phone for MFA, ...). It is type-checked with ``mypy --strict`` instead, as the body of
  ``async def _block(bill: AsyncBill) -> None`` (so it may use ``await``/``async with``/``async for`` and
  a ``bill`` client as the other snippets do).
* A block whose first line is ``# <file name>`` (``# conftest.py``, also a ``toml`` block ``# pyproject.toml``)
  is a file of a small user project: all such files are written to a temporary folder and that project's
  tests run with pytest in a subprocess, against FakeBill, exactly as a user would run them.
* Every other block runs against FakeBill over loopback, with ``BILL_*`` variables pointing at it, each in a
  fresh namespace (blocks do not share variables; each imports what it uses). The namespace holds ``bill``, an
  open ``AsyncBill()`` made from those variables, as if the block were inside ``async with AsyncBill() as
  bill:``. A block may use top-level ``await`` (run as a coroutine); a block without it runs in a worker
  thread, so a complete script ending in ``asyncio.run(main())`` works as it would on its own.

Blocks that need a feature still being built are listed in :data:`EXPECTED_TO_FAIL` (strict xfail: when the
feature lands the test fails until the entry is removed).
"""

from __future__ import annotations

import asyncio
import builtins
import os
import re
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bill_sdk import AsyncBill
from bill_sdk.testing import FakeBill
from bill_sdk.testing.__main__ import PARTNER_ORGANIZATION_ID

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
NEEDS_ACCOUNT = "<!-- needs: bill-account -->"
FILE_HEADER = re.compile(r"^# ([\w.-]+\.(?:py|toml))\s*$")

# block id -> the feature it waits for. Remove an entry when its feature lands (the xfail is strict).
EXPECTED_TO_FAIL: dict[str, str] = {}


@dataclass(frozen=True)
class Block:
    id: str  # "<section heading>#<n>", n counting python blocks within that section from 1
    line: int
    lang: str
    code: str
    needs_account: bool

    @property
    def file_name(self) -> str | None:
        first = self.code.splitlines()[0] if self.code else ""
        match = FILE_HEADER.match(first)
        return match.group(1) if match else None


def readme_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    section, counts = "top", {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        fence = re.match(r"^```(\w+)\s*$", line)
        if fence:
            lang, start = fence.group(1), i
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            previous = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            if lang in ("python", "toml"):
                counts[section] = counts.get(section, 0) + (lang == "python")
                n = counts[section]
                ident = f"{section}#{n}" if lang == "python" else f"{section}#toml"
                blocks.append(Block(ident, start + 1, lang, "\n".join(body) + "\n", previous == NEEDS_ACCOUNT))
        i += 1
    return blocks


BLOCKS = readme_blocks(README.read_text())
RUNNABLE = [b for b in BLOCKS if b.lang == "python" and not b.needs_account and b.file_name is None]
ACCOUNT = [b for b in BLOCKS if b.lang == "python" and b.needs_account]
PROJECT_FILES = [b for b in BLOCKS if b.file_name is not None and not b.needs_account]


def _param(block: Block) -> object:
    marks = []
    if block.id in EXPECTED_TO_FAIL:
        marks.append(pytest.mark.xfail(reason=f"until {EXPECTED_TO_FAIL[block.id]} lands", strict=True))
    return pytest.param(block, id=block.id, marks=marks)


@pytest.fixture(scope="module")
def fake_env() -> Iterator[dict[str, str]]:
    fake = FakeBill(partner_organization_id=PARTNER_ORGANIZATION_ID)  # what `serve` seeds
    with fake.serve() as url:
        yield {**fake.credentials.environment(str(url)), "BILL_WEBHOOK_KEYS": "readme-key"}
    fake.close()


# --------------------------------------------------------------------------- the README's shape


def test_readme_has_the_sections_users_look_for() -> None:
    text = README.read_text()
    assert re.search(r"^## Install", text, re.MULTILINE)
    for words in ("pip install bill-sdk", "bill-sdk[fastapi]", "bill-sdk[testing]", "get_bill", "asyncio_mode"):
        assert words in text, words
    assert BLOCKS and RUNNABLE and ACCOUNT and PROJECT_FILES


def test_expected_failures_name_real_blocks() -> None:
    assert set(EXPECTED_TO_FAIL) <= {b.id for b in BLOCKS}


# --------------------------------------------------------------------------- runnable blocks


@pytest.mark.parametrize("block", [_param(b) for b in RUNNABLE])
async def test_block_runs_against_fakebill(
    block: Block, fake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # a block may write files (a sync checkpoint)
    for name in [n for n in os.environ if n.startswith("BILL_")]:
        monkeypatch.delenv(name)
    for name, value in fake_env.items():
        monkeypatch.setenv(name, value)
    code = compile(block.code, f"README.md:{block.line} ({block.id})", "exec", flags=_TOP_LEVEL_AWAIT)
    async with AsyncBill() as bill:
        namespace: dict[str, object] = {"__name__": "readme_block", "__builtins__": builtins, "bill": bill}
        if code.co_flags & _CO_COROUTINE:
            await asyncio.wait_for(types.FunctionType(code, namespace)(), 60)
        else:
            await asyncio.wait_for(asyncio.to_thread(exec, code, namespace), 60)


_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE


# --------------------------------------------------------------------------- blocks that need BILL: mypy


def test_account_blocks_type_check(tmp_path: Path) -> None:
    for n, block in enumerate(ACCOUNT):
        module = "from bill_sdk import AsyncBill\n\n\nasync def _block(bill: AsyncBill) -> None:\n"
        module += textwrap.indent(block.code, "    ") + "    return None\n"
        (tmp_path / f"block_{n}.py").write_text(f"# README.md:{block.line} ({block.id})\n" + module)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            *sorted(str(p) for p in tmp_path.glob("block_*.py")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "MYPYPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- the user project (pytest example)


def test_pytest_example_project_passes(tmp_path: Path) -> None:
    names = [b.file_name for b in PROJECT_FILES]
    assert "pyproject.toml" in names and "conftest.py" in names, names
    for block in PROJECT_FILES:
        assert block.file_name is not None
        (tmp_path / block.file_name).write_text(block.code)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT / "src")])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout
