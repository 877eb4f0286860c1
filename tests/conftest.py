"""Suite-wide: FakeBill's pytest plugin, Hypothesis profiles, and the reliability summary printed at the end of a run.

FakeBill's pytest plugin (its fixtures and marker, as users get them) is registered here once for the whole suite:
pytest only honours ``pytest_plugins`` in the top-level conftest.

Hypothesis profiles (issue #12: ``make test`` gives the same verdict on every run):

* ``ci`` (the default, used by ``make test``): derandomized, so every property test draws the same examples on
  every run of the same command; no example database, so nothing a previous run left in ``.hypothesis/`` changes
  the verdict; no deadline and no too-slow health check, so a loaded machine cannot fail a test by timing;
  ``print_blob`` so a failure prints ``@reproduce_failure`` to replay it.
* ``explore`` (``make fuzz``): random seeds and ten times the examples (tests that set ``max_examples`` scale it
  with ``examples()`` in their module), failures kept in the local ``.hypothesis/`` database and replayed first
  on the next run. Select it with ``--hypothesis-profile=explore`` or ``HYPOTHESIS_PROFILE=explore``; replay a
  seed a failure printed with ``--hypothesis-profile=explore --hypothesis-seed=N`` (under ``ci`` the fixed
  derandomized seed wins over ``--hypothesis-seed``).

Under ``ci`` the examples drawn depend only on the test and on the modules imported before it (Hypothesis also
draws strings from constants in the SDK's source), so the same command gives the same examples on every run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

try:
    import bill_sdk.testing  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# The fake_bill, fake_bill_server, bill_client and bill_server_client fixtures and the fake_bill marker.
pytest_plugins = [
    "bill_sdk.testing.pytest_plugin",
    "tests.twins",
]  # tests.twins: the `twin` fixture (AsyncBill and Bill)

CI_EXAMPLES = 100  # Hypothesis' default
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    max_examples=CI_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    derandomize=False,
    deadline=None,
    print_blob=True,
    max_examples=10 * CI_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow],
)
# --hypothesis-profile (read by Hypothesis' pytest plugin after this file is loaded) wins over the variable.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
