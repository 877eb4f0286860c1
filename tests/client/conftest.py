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


# What BILL always returns on an object (the `required` fields of the response schemas: id, archived, name,
# vendorId, createdTime, ...); spread into a mocked response, `{**OBJ, "id": "0091"}`, so the model parses.
# Keys a schema does not declare land in additional_properties.
OBJ = {
    "archived": False,
    "name": "Happy Music",
    "vendorId": "00901V",
    "customerId": "0cu01C",
    "uuid": "0e0b9f0e-0000-4000-8000-000000000001",
    "createdTime": "2024-01-02T03:04:05.000+00:00",
    "updatedTime": "2024-01-02T03:04:05.000+00:00",
}
