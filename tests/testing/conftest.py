"""Shared fixtures for the FakeBill tests: plain httpx clients against FakeBill (``fake_bill`` and the SDK clients
come from the plugin, registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from bill_sdk.testing import FakeBill

ORIGIN = "http://fakebill"


@pytest_asyncio.fixture
async def client(fake_bill: FakeBill) -> AsyncIterator[httpx.AsyncClient]:
    """Connect/Partner/Spend base URL, in process."""
    async with httpx.AsyncClient(transport=fake_bill.transport(), base_url=f"{ORIGIN}/connect") as c:
        yield c


@pytest_asyncio.fixture
async def events(fake_bill: FakeBill) -> AsyncIterator[httpx.AsyncClient]:
    """Connect Events base URL, in process."""
    async with httpx.AsyncClient(transport=fake_bill.transport(), base_url=f"{ORIGIN}/connect-events") as c:
        yield c


class Helpers:
    """Helpers shared by the FakeBill tests (a fixture, so no test module imports another)."""

    origin = ORIGIN

    def __init__(self, fake: FakeBill) -> None:
        self.fake = fake

    async def login(self, client: httpx.AsyncClient, fake: FakeBill | None = None, **extra: str) -> dict[str, str]:
        """Log in through the API; return org headers."""
        fake = fake or self.fake
        response = await client.post("/v3/login", json=fake.login_body(**extra))
        assert response.status_code == 200, response.text
        return {"devKey": fake.credentials.dev_key, "sessionId": response.json()["sessionId"]}

    @staticmethod
    def codes(response: httpx.Response) -> list[str]:
        """The BDC codes of an error answer, checking the BILL error-array shape."""
        body = response.json()
        assert isinstance(body, list), body
        for item in body:
            assert set(item) >= {"timestamp", "code", "severity", "category", "message"}, item
            assert item["severity"] == "ERROR"
        return [item["code"] for item in body]


@pytest.fixture
def helpers(fake_bill: FakeBill) -> Helpers:
    return Helpers(fake_bill)


@pytest_asyncio.fixture
async def org(client: httpx.AsyncClient, helpers: Helpers) -> dict[str, str]:
    return await helpers.login(client)
