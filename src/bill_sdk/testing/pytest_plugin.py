"""pytest fixtures for FakeBill. Enable with ``pytest_plugins = ["bill_sdk.testing.pytest_plugin"]``.

* ``fake_bill``: a fresh :class:`FakeBill` for in-process use (``fake_bill.transport()``).
* ``fake_bill_server``: a fresh FakeBill served by uvicorn on a free loopback port; yields a
  :class:`~bill_sdk.testing.fake.ServerURL` (``.url``, ``.connect_url``, ``.events_url``, ``.fake``).
* ``bill_client``: an :class:`~bill_sdk.AsyncBill` talking to ``fake_bill`` in process (no sockets; its
  ``base_url`` is ``http://fakebill``), with every FakeBill credential: Connect, Partner, Spend and Connect
  Events calls all work, signing in lazily on first use.
* ``bill_server_client``: the same against ``fake_bill_server`` over real loopback HTTP.
* ``bill_sync_client`` and ``bill_sync_server_client``: the same two with :class:`~bill_sdk.Bill`, the
  synchronous client (plain fixtures: no pytest-asyncio needed).

Both clients get ``env={}``, so your real ``BILL_*`` environment variables never reach a test, and are closed
(sessions signed out) at teardown. They are async fixtures and need pytest-asyncio (the two FakeBill fixtures
do not); use ``fake_bill`` / ``fake_bill_server.fake`` alongside them to seed state and inspect requests.

Configure the fake per test with ``@pytest.mark.fake_bill(max_concurrent_per_org=3, ...)`` (FakeBill keyword
arguments). A test whose fake sent a response the spec does not allow fails at teardown, even if the
violation was swallowed by a server or a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - depends on the environment
    pytest_asyncio = None  # type: ignore[assignment]

from bill_sdk.testing.fake import FakeBill, ServerURL

if TYPE_CHECKING:
    from bill_sdk import AsyncBill, Bill


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
# SDK clients against the fakes. pytest-asyncio is optional for the plugin: without it the FakeBill fixtures
# above still work and these two fail with a message saying what to install.


def _client_options(fake: FakeBill) -> dict[str, Any]:
    c = fake.credentials
    return {
        "dev_key": c.dev_key,
        "username": c.username,
        "password": c.password,
        "organization_id": c.organization_id,
        "app_key": c.app_key,
        "api_token": c.api_token,
        "env": {},  # never the user's real BILL_* variables
    }


def _async_fixture(function: Callable[..., AsyncIterator[AsyncBill]]) -> Any:
    if pytest_asyncio is None:
        name = function.__name__

        @pytest.fixture(name=name)
        def unavailable() -> None:
            pytest.fail(f"the {name} fixture needs pytest-asyncio: pip install pytest-asyncio", pytrace=False)

        return unavailable
    return pytest_asyncio.fixture(function)


IN_PROCESS_ORIGIN = "http://fakebill"


@_async_fixture
async def bill_client(fake_bill: FakeBill) -> AsyncIterator[AsyncBill]:
    """An :class:`~bill_sdk.AsyncBill` against the ``fake_bill`` fixture, in process (closed at teardown)."""
    from bill_sdk import AsyncBill

    async with httpx.AsyncClient(transport=fake_bill.transport()) as http:
        bill = AsyncBill(base_url=IN_PROCESS_ORIGIN, http_client=http, **_client_options(fake_bill))
        try:
            yield bill
        finally:
            await bill.aclose()


@_async_fixture
async def bill_server_client(fake_bill_server: ServerURL) -> AsyncIterator[AsyncBill]:
    """An :class:`~bill_sdk.AsyncBill` against the ``fake_bill_server`` fixture, over loopback HTTP."""
    from bill_sdk import AsyncBill

    bill = AsyncBill(base_url=fake_bill_server.url, **_client_options(fake_bill_server.fake))
    try:
        yield bill
    finally:
        await bill.aclose()


@pytest.fixture
def bill_sync_client(fake_bill: FakeBill) -> Iterator[Bill]:
    """A :class:`~bill_sdk.Bill` (synchronous) against the ``fake_bill`` fixture, in process (closed at teardown)."""
    from bill_sdk import Bill

    with httpx.Client(transport=fake_bill.sync_transport()) as http:
        bill = Bill(base_url=IN_PROCESS_ORIGIN, http_client=http, **_client_options(fake_bill))
        try:
            yield bill
        finally:
            bill.close()


@pytest.fixture
def bill_sync_server_client(fake_bill_server: ServerURL) -> Iterator[Bill]:
    """A :class:`~bill_sdk.Bill` (synchronous) against the ``fake_bill_server`` fixture, over loopback HTTP."""
    from bill_sdk import Bill

    bill = Bill(base_url=fake_bill_server.url, **_client_options(fake_bill_server.fake))
    try:
        yield bill
    finally:
        bill.close()
