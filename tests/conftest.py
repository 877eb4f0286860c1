"""Suite-wide: the reliability summary printed at the end of a run (counts from tests/reliability)."""

from __future__ import annotations

import pytest

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
