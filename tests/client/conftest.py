"""Shared set-up for AsyncBill tests over respx (no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import respx

from bill_sdk import AsyncBill

BASE = "https://gateway.stage.bill.com"
CREDENTIALS = {
    "dev_key": "dev-key-SECRET-1",
    "username": "ap@example.com",
    "password": "pw-SECRET-2",
    "organization_id": "00801ORG",
    "api_token": "token-SECRET-3",
    "app_key": "app-key-SECRET-4",
}
SESSION = "session-SECRET-5"


@pytest.fixture
def bill_mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login", name="login").respond(
            200, json={"sessionId": SESSION, "organizationId": "00801ORG", "userId": "00601USER", "trusted": False}
        )
        router.post("/connect/v3/logout", name="logout").respond(200, json={})
        yield router


@pytest.fixture
async def bill(bill_mock: respx.MockRouter) -> AsyncIterator[AsyncBill]:
    async with AsyncBill(**CREDENTIALS, env={}, max_retries=2) as client:
        client._retry.base_delay = 0.001  # keep backoff short in tests; the policy itself is tested separately
        yield client
