"""Fixtures of the integration tests: FakeBill and the SDK client from the pytest plugin, as users get them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import bill_sdk.testing  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from bill_sdk.testing import pytest_plugin as _plugin

# The plugin's fixtures (users enable them with `pytest_plugins`, which only a top-level conftest may set).
fake_bill = _plugin.fake_bill
fake_bill_server = _plugin.fake_bill_server
bill_client = _plugin.bill_client
bill_server_client = _plugin.bill_server_client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fake_bill(**options): keyword arguments for the FakeBill of fake_bill fixtures")
