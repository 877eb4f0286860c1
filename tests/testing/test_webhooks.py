"""Webhook subscriptions: idempotency keys, the one-time securityKey, signed deliveries, history, test events."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bill_sdk.testing import DELIVERY_SIGNATURE_HEADER, FakeBill
from bill_sdk.testing.server import serve_app


def verify(body: bytes, signature: str, key: str) -> bool:
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


class Receiver:
    """A small webhook receiver (Starlette) that records what it gets."""

    def __init__(self, delay: float = 0.0, status: int = 200) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.delay = delay
        self.status = status
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        await asyncio.sleep(self.delay)
        self.got.append((dict(request.headers), body))
        return Response(status_code=self.status)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver(delay=0.5)
    with serve_app(hook.app) as origin:
        yield hook, f"{origin}/hook"


def subscription(fake: FakeBill, url: str, *types: str, name: str = "hooks") -> dict[str, Any]:
    return fake.example(
        "createSubscription",
        name=name,
        notificationUrl=url,
        status={"enabled": True},
        events=[{"type": t, "version": "1"} for t in types],
    )


async def test_create_subscription_idempotency(
    events: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str], helpers
) -> None:
    body = subscription(fake_bill, "https://hooks.example/bill", "bill.created")
    missing = await events.post("/v3/subscriptions", headers=org, json=body)
    assert missing.status_code == 400 and "X-Idempotent-Key" in missing.json()[0]["message"]
    for bad in ("not-a-uuid", str(uuid.uuid1())):
        invalid = await events.post("/v3/subscriptions", headers={**org, "X-Idempotent-Key": bad}, json=body)
        assert invalid.status_code == 400, bad

    key = str(uuid.uuid4())
    first = await events.post("/v3/subscriptions", headers={**org, "X-Idempotent-Key": key}, json=body)
    assert first.status_code == 200, first.text
    created = first.json()
    assert created["securityKey"] and created["organizationId"] == fake_bill.credentials.organization_id
    again = await events.post("/v3/subscriptions", headers={**org, "X-Idempotent-Key": key}, json=body)
    assert again.json() == created  # the first response, replayed
    assert fake_bill.state.counts()["subscriptions"] == 1

    shown = (await events.get(f"/v3/subscriptions/{created['id']}", headers=org)).json()
    assert "securityKey" not in shown and shown["name"] == "hooks"
    listed = (await events.get("/v3/subscriptions", headers=org)).json()["results"]
    assert [s["id"] for s in listed] == [created["id"]] and "securityKey" not in listed[0]

    # The same key while the first request is still running: 429.
    fake_bill.faults.add("createSubscription", kind="latency", seconds=0.3)
    slow_key = str(uuid.uuid4())
    other = subscription(fake_bill, "https://hooks.example/other", "bill.created")
    answers = await asyncio.gather(
        events.post("/v3/subscriptions", headers={**org, "X-Idempotent-Key": slow_key}, json=other),
        events.post("/v3/subscriptions", headers={**org, "X-Idempotent-Key": slow_key}, json=other),
    )
    assert sorted(a.status_code for a in answers) == [200, 429]
    # Duplicates (same URL and events) are refused.
    duplicate = await events.post(
        "/v3/subscriptions", headers={**org, "X-Idempotent-Key": str(uuid.uuid4())}, json=body
    )
    assert duplicate.status_code == 400


async def test_signed_notification_reaches_a_local_receiver(
    events: httpx.AsyncClient,
    client: httpx.AsyncClient,
    fake_bill: FakeBill,
    org: dict[str, str],
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    created = await events.post(
        "/v3/subscriptions",
        headers={**org, "X-Idempotent-Key": str(uuid.uuid4())},
        json=subscription(fake_bill, url, "vendor.created", "vendor.updated"),
    )
    sub = created.json()

    started = time.perf_counter()
    vendor = await client.post("/v3/vendors", headers=org, json=fake_bill.example("createVendor", name="Hooked"))
    assert vendor.status_code == 201
    assert time.perf_counter() - started < 0.4  # the receiver takes 0.5 s: delivery does not block the API
    assert hook.got == []
    await fake_bill.webhooks.drain()

    assert len(hook.got) == 1
    headers, body = hook.got[0]
    assert verify(body, headers[DELIVERY_SIGNATURE_HEADER], sub["securityKey"])
    payload = json.loads(body)
    metadata = payload["metadata"]
    assert metadata["eventType"] == "vendor.created" and metadata["version"] == "1"
    assert (
        metadata["subscriptionId"] == sub["id"] and metadata["organizationId"] == fake_bill.credentials.organization_id
    )
    assert payload["vendor"]["id"] == vendor.json()["id"] and payload["vendor"]["name"] == "Hooked"
    assert fake_bill.webhooks.deliveries[0].ok

    # Archive is not subscribed to; an update is. A rotated key signs from then on.
    rotated = await events.post(
        f"/v3/subscriptions/{sub['id']}/security_key", headers={**org, "X-Idempotent-Key": str(uuid.uuid4())}
    )
    assert rotated.status_code == 200
    new_key = rotated.json()["securityKey"]
    await client.post(f"/v3/vendors/{vendor.json()['id']}/archive", headers=org)
    await client.patch(f"/v3/vendors/{vendor.json()['id']}", headers=org, json={"name": "Renamed"})
    await fake_bill.webhooks.drain()
    assert len(hook.got) == 2
    headers, body = hook.got[1]
    assert json.loads(body)["metadata"]["eventType"] == "vendor.updated"
    assert verify(body, headers[DELIVERY_SIGNATURE_HEADER], new_key) and not verify(
        body, headers[DELIVERY_SIGNATURE_HEADER], sub["securityKey"]
    )

    history = await events.get(f"/v3/events/subscription/{sub['id']}", headers=org, params={"max": 1})
    assert history.status_code == 200
    page = history.json()
    assert len(page["results"]) == 1 and "nextPage" in page and "prevPage" not in page
    first_event = page["results"][0]
    assert first_event["type"] == "vendor.created" and json.loads(first_event["payload"])["vendor"]["name"] == "Hooked"
    assert first_event["statusCode"] == 200

    resent = await events.post(f"/v3/events/subscription/{sub['id']}/event/{first_event['id']}", headers=org)
    assert resent.status_code == 200
    assert len(hook.got) == 3 and hook.got[2][1] == hook.got[0][1]


async def test_test_event_and_injected_transport(helpers) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    fake = FakeBill(webhook_transport=httpx.MockTransport(handler))
    async with httpx.AsyncClient(transport=fake.transport(), base_url=f"{helpers.origin}/connect-events") as events:
        headers = {**fake.headers("spend"), "X-Idempotent-Key": str(uuid.uuid4())}
        sub = (
            await events.post(
                "/v3/subscriptions", headers=headers, json=subscription(fake, "https://receiver.test/x", "bill.updated")
            )
        ).json()
        body = fake.example(
            "sendTestSubscriptionEvent", eventType="bill.updated", version="1", bill={"id": "00n01TEST", "amount": 12.5}
        )
        answer = await events.post(f"/v3/subscriptions/{sub['id']}/test", headers=fake.headers("spend"), json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["statusCode"] == 200
    assert len(seen) == 1
    request = seen[0]
    assert str(request.url) == "https://receiver.test/x"
    assert verify(request.content, request.headers[DELIVERY_SIGNATURE_HEADER], sub["securityKey"])
    sent = json.loads(request.content)
    assert sent["bill"] == {"id": "00n01TEST", "amount": 12.5} and sent["metadata"]["eventType"] == "bill.updated"
    fake.assert_no_violations()


async def test_failing_receiver_is_retried_then_disabled(helpers) -> None:
    attempts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(time.monotonic())
        return httpx.Response(500)

    fake = FakeBill(webhook_transport=httpx.MockTransport(handler), webhook_retry_delays=(0.01, 0.02))
    async with httpx.AsyncClient(transport=fake.transport(), base_url=f"{helpers.origin}") as http:
        org = fake.headers()
        created = await http.post(
            "/connect-events/v3/subscriptions",
            headers={**org, "X-Idempotent-Key": str(uuid.uuid4())},
            json=subscription(fake, "https://down.test/", "bill.created", "vendor.created"),
        )
        sub_id = created.json()["id"]
        await http.post("/connect/v3/vendors", headers=org, json=fake.example("createVendor", name="V"))
        await fake.webhooks.drain()
        assert len(attempts) == 3 and [d.status_code for d in fake.webhooks.deliveries] == [500, 500, 500]
        status = (await http.get(f"/connect-events/v3/subscriptions/{sub_id}", headers=org)).json()["status"]
        assert status["enabled"] is False
        await http.post("/connect/v3/vendors", headers=org, json=fake.example("createVendor", name="W"))
        await fake.webhooks.drain()
        assert len(attempts) == 3  # a disabled subscription gets nothing


async def test_subscription_limit_per_organization(
    events: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    for i in range(10):
        created = await events.post(
            "/v3/subscriptions",
            headers={**org, "X-Idempotent-Key": str(uuid.uuid4())},
            json=subscription(fake_bill, f"https://hooks.example/{i}", "bill.created"),
        )
        assert created.status_code == 200
    over = await events.post(
        "/v3/subscriptions",
        headers={**org, "X-Idempotent-Key": str(uuid.uuid4())},
        json=subscription(fake_bill, "https://hooks.example/11", "bill.created"),
    )
    assert over.status_code == 400


def test_notifications_from_a_served_fake(fake_bill_server, receiver: tuple[Receiver, str]) -> None:
    """FakeBill under uvicorn (its own thread and loop) delivers to a receiver under uvicorn."""
    hook, url = receiver
    fake = fake_bill_server.fake
    org = fake.headers()
    with httpx.Client(base_url=fake_bill_server.url) as http:
        sub = http.post(
            "/connect-events/v3/subscriptions",
            headers={**org, "X-Idempotent-Key": str(uuid.uuid4())},
            json=subscription(fake, url, "bill.created"),
        ).json()
        vendor = fake.state.put("vendors", {"name": "V"})
        bill = fake.example("createBill", vendorId=vendor["id"], dueDate="2025-05-01", billLineItems=[{"amount": 7}])
        assert http.post("/connect/v3/bills", headers=org, json=bill).status_code == 201
    fake.webhooks.drain_sync()
    assert len(hook.got) == 1
    headers, body = hook.got[0]
    assert verify(body, headers[DELIVERY_SIGNATURE_HEADER], sub["securityKey"])
    assert json.loads(body)["bill"]["amount"] == 7
