"""Suite-wide: FakeBill's pytest plugin (its fixtures, as users get them) and the reliability summary printed at
the end of a run (counts from tests/reliability)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import bill_sdk.testing  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# Registered once for the whole suite (pytest only honours `pytest_plugins` in the top-level conftest): the
# fake_bill, fake_bill_server, bill_client and bill_server_client fixtures and the fake_bill marker.
pytest_plugins = ["bill_sdk.testing.pytest_plugin"]

_REPORT: list[str] = []


@pytest.fixture
def reliability_report() -> list[str]:
    """Append one line per scenario; the lines are printed in the terminal summary."""
    return _REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _REPORT:
        terminalreporter.section("reliability summary")
        for line in _REPORT:
            terminalreporter.write_line(line)
