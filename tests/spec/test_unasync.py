"""codegen/unasync.py: the committed sync twin (src/bill_sdk/_blocking/) is what the async core gives, the check fails
on a stale twin, and the renames do what the script says."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "codegen"))

import unasync  # noqa: E402

TWINS = {name.removesuffix(".py") for name in unasync.SOURCES}


def copy_of_the_package(tmp_path: Path) -> Path:
    package = tmp_path / "bill_sdk"
    (package / unasync.TWIN).mkdir(parents=True)
    for name in unasync.SOURCES:
        shutil.copyfile(unasync.PACKAGE / name, package / name)
    for path in (unasync.PACKAGE / unasync.TWIN).glob("*.py"):
        shutil.copyfile(path, package / unasync.TWIN / path.name)
    return package


def test_the_committed_twin_is_up_to_date() -> None:
    assert unasync.check(unasync.PACKAGE) == []


def test_the_check_fails_on_a_stale_twin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = copy_of_the_package(tmp_path)
    assert unasync.main(["--check", "--package", str(package)]) == 0

    twin = package / unasync.TWIN / "_transport.py"
    good = twin.read_text()
    twin.write_text(good.replace("Backend.sleep(delay)", "pass  # edited by hand"))
    assert unasync.main(["--check", "--package", str(package)]) == 1
    assert "differs: _blocking/_transport.py" in capsys.readouterr().err

    twin.write_text(good)
    source = package / "_transport.py"
    source.write_text(
        source.read_text().replace("await AsyncBackend.sleep(delay)", "await AsyncBackend.sleep(delay * 2)")
    )
    assert unasync.main(["--check", "--package", str(package)]) == 1  # the async core changed, the twin did not

    assert unasync.main(["--package", str(package)]) == 0  # regenerating fixes it
    assert unasync.main(["--check", "--package", str(package)]) == 0
    assert "Backend.sleep(delay * 2)" in twin.read_text()

    (package / unasync.TWIN / "_extra.py").write_text("x = 1\n")
    (package / unasync.TWIN / "_auth.py").unlink()
    assert unasync.main(["--check", "--package", str(package)]) == 1
    err = capsys.readouterr().err
    assert "not made by unasync: _blocking/_extra.py" in err and "missing: _blocking/_auth.py" in err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    async def send(self) -> None:", "    def send(self) -> None:"),
        ("        response = await self._http.send(request)", "        response = self._http.send(request)"),
        ("        async with self._limiter.slot(op, deadline):", "        with self._limiter.slot(op, deadline):"),
        ("            async for chunk in response.aiter_bytes():", "            for chunk in response.iter_bytes():"),
        ("    http: httpx.AsyncClient,", "    http: httpx.Client,"),
        ("    async def __aenter__(self) -> AsyncBill:", "    def __enter__(self) -> Bill:"),
        ("LoginFunction = Callable[[], Awaitable[Session]]", "LoginFunction = Callable[[], Session]"),
        ("    fetch: Callable[[str | None], Awaitable[P]],", "    fetch: Callable[[str | None], P],"),
        (
            "class AsyncPaginator(AsyncPageCall[PageT], Generic[PageT, T]):",
            "class SyncPaginator(PageCall[PageT], Generic[PageT, T]):",
        ),
        ("from ._primitives import AsyncBackend, DeadlinePassed", "from .._primitives import Backend, DeadlinePassed"),
        ("from ._auth import HeaderAuth", "from ._auth import HeaderAuth"),  # a module with a twin: its twin
        ("        from ._generated.api.auth import logout", "        from .._generated.api.auth import logout"),
        (
            '    """Use `async with AsyncBill() as bill:` or `await bill.aclose()`"""',
            '    """Use `with Bill() as bill:` or `bill.close()`"""',
        ),
        ("class AsyncBill(AsyncExtras, Resources):", "class Bill(Extras, SyncResources):"),
        ("AsyncBillish = 1", "AsyncBillish = 1"),  # word-bounded
    ],
)
def test_renames(line: str, expected: str) -> None:
    assert unasync.unasync_line(line, TWINS) == expected


def test_async_code_left_after_the_renames_is_refused() -> None:
    with pytest.raises(SystemExit, match="still async"):
        unasync.unasync_source("import anyio\n", "_x.py")
