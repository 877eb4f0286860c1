"""pytest fixtures for FakeBill. Enable with ``pytest_plugins = ["bill_sdk.testing.pytest_plugin"]``.

* ``fake_bill``: a fresh :class:`FakeBill` for in-process use (``fake_bill.transport()``).
* ``fake_bill_server``: a fresh FakeBill served by uvicorn on a free loopback port; yields a
  :class:`~bill_sdk.testing.server.ServerURL` (``.url``, ``.connect_url``, ``.events_url``, ``.fake``).

Configure the fake per test with ``@pytest.mark.fake_bill(max_concurrent_per_org=3, ...)`` (FakeBill keyword
arguments). A test whose fake sent a response the spec does not allow fails at teardown, even if the
violation was swallowed by a server or a client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bill_sdk.testing.fake import FakeBill
from bill_sdk.testing.server import ServerURL


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fake_bill(**options): keyword arguments for the FakeBill of fake_bill fixtures")


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("fake_bill"))):
        options.update(marker.kwargs)
    return options


def _check(fake: FakeBill) -> None:
    if fake.response_violations:
        lines = "\n".join(f"  {v}" for v in fake.response_violations)
        pytest.fail(f"FakeBill sent responses its spec does not allow:\n{lines}", pytrace=False)


@pytest.fixture
def fake_bill(request: pytest.FixtureRequest) -> Iterator[FakeBill]:
    fake = FakeBill(**_options(request))
    yield fake
    fake.close()
    _check(fake)


@pytest.fixture
def fake_bill_server(request: pytest.FixtureRequest) -> Iterator[ServerURL]:
    fake = FakeBill(**_options(request))
    with fake.serve() as url:
        yield url
    fake.close()
    _check(fake)


# ---------------------------------------------------------------------------------------------------------
# bill_client: reserved for the lead. Once `AsyncBill` exists, add here a fixture that builds the SDK client
# against `fake_bill` (in process: transport=fake_bill.transport(), base URLs "http://fakebill/connect" and
# "http://fakebill/connect-events", credentials from fake_bill.credentials) and closes it at teardown.
# ---------------------------------------------------------------------------------------------------------
