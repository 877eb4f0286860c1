"""examples/fastapi_app.py over real loopback HTTP: FakeBill and the example app each served by uvicorn.

The app's AsyncBill talks to FakeBill; FakeBill delivers signed notifications to the app's /bill/webhooks.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from bill_sdk import AsyncBill
from bill_sdk.models import (
    SubscriptionCreate,
    SubscriptionEventInput,
    SubscriptionStatusInput,
    Vendor,
    VendorCreate,
)
from bill_sdk.testing import FakeBill, ServerURL
from bill_sdk.testing.server import serve_app
from bill_sdk.testing.webhooks import Delivery
from bill_sdk.webhooks import SIGNATURE_HEADER, WebhookEvent, sign

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app.py"
WAIT = 5.0  # seconds; every wait below ends as soon as its condition holds


def _load_create_app() -> Callable[..., FastAPI]:
    spec = importlib.util.spec_from_file_location("fastapi_app_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    create: Callable[..., FastAPI] = module.create_app
    return create


create_app = _load_create_app()


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {WAIT}s")
        await asyncio.sleep(0.01)


class Recorder:
    """The app's ``on_event``: records the events it is given (it runs on the app server's thread)."""

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []
        self.attempts: list[str] = []
        self.failures_left = 0  # the next this many calls raise, as a handler whose database is down would

    async def __call__(self, event: WebhookEvent) -> None:
        self.attempts.append(event.event_id)
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("database down")
        self.events.append(event)

    async def wait_for(self, count: int) -> list[WebhookEvent]:
        await wait_until(lambda: len(self.events) >= count, f"{count} handled events")
        return list(self.events)


class Stack:
    """FakeBill and the example app, both served over loopback, plus an SDK client and an HTTP client."""

    def __init__(
        self,
        fake: FakeBill,
        app_origin: str,
        bill: AsyncBill,
        http: httpx.AsyncClient,
        keys: list[str],
        recorder: Recorder,
    ) -> None:
        self.fake = fake
        self.app_origin = app_origin
        self.webhook_url = f"{app_origin}/bill/webhooks"
        self.bill = bill
        self.http = http
        self.keys = keys  # the app reads them on every notification, so tests rotate without a restart
        self.recorder = recorder

    async def subscribe(self) -> tuple[str, str]:
        """A vendor.created subscription to the app; returns its id and security key."""
        sub = await self.bill.events.subscriptions.create(
            body=SubscriptionCreate(
                name="fastapi example",
                status=SubscriptionStatusInput(enabled=True),
                events=[SubscriptionEventInput(type_="vendor.created", version="1")],
                notification_url=self.webhook_url,
            )
        )
        assert isinstance(sub.id, str) and isinstance(sub.security_key, str)
        return sub.id, sub.security_key

    async def create_vendor(self, name: str) -> Vendor:
        # Whatever fields the spec requires, filled in by FakeBill: only the name matters here.
        return await self.bill.vendors.create(body=VendorCreate.from_dict(self.fake.example("createVendor", name=name)))

    async def delivery_for(self, vendor: Vendor, *, ok: bool = True) -> Delivery:
        """The first (successful, by default) delivery FakeBill recorded for the vendor's vendor.created."""

        def matching() -> list[Delivery]:
            return [
                d for d in self.fake.webhooks.deliveries if d.json()["vendor"]["id"] == vendor.id and (d.ok or not ok)
            ]

        await wait_until(lambda: bool(matching()), f"delivery for vendor {vendor.id}")
        return matching()[0]

    async def post(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        return await self.http.post(self.webhook_url, content=body, headers=headers)


def bill_client(url: ServerURL) -> AsyncBill:
    c = url.fake.credentials
    return AsyncBill(
        dev_key=c.dev_key,
        username=c.username,
        password=c.password,
        organization_id=c.organization_id,
        base_url=str(url),
        env={},
    )


@pytest_asyncio.fixture
async def stack() -> AsyncIterator[Stack]:
    # Quick retries, so a delivery the app refuses is retried within the test.
    fake = FakeBill(webhook_retry_delays=(0.2, 0.2, 0.2, 0.2), webhook_timeout=5.0)
    keys: list[str] = []
    recorder = Recorder()

    def current_keys() -> list[str]:
        return list(keys)

    with fake.serve() as url:
        app = create_app(bill_factory=lambda: bill_client(url), webhook_keys=current_keys, on_event=recorder)
        with serve_app(app) as origin:
            async with bill_client(url) as bill, httpx.AsyncClient(timeout=WAIT) as http:
                yield Stack(fake, origin, bill, http, keys, recorder)
                await fake.webhooks.drain()
    fake.close()
    fake.assert_no_violations()


def notification(event_id: str, vendor_id: str = "00901TEST") -> bytes:
    payload = {
        "metadata": {
            "eventId": event_id,
            "subscriptionId": "sub-test",
            "organizationId": "00801FAKEORG",
            "eventType": "vendor.created",
            "version": "1",
        },
        "vendor": {"id": vendor_id, "name": "Signed by the test"},
    }
    return json.dumps(payload, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- GET /vendors


async def test_get_vendors_lists_the_vendors_created_in_fakebill(stack: Stack) -> None:
    created = [await stack.create_vendor(name) for name in ("Acme Paper", "Bolt Hardware", "Cedar Cafe")]

    response = await stack.http.get(f"{stack.app_origin}/vendors")

    assert response.status_code == 200
    listed = {v["id"]: v for v in response.json()}
    assert {v.id: v.name for v in created} == {id_: v["name"] for id_, v in listed.items()}
    assert all(set(v) == {"id", "name", "balance"} for v in listed.values())
    limited = await stack.http.get(f"{stack.app_origin}/vendors", params={"limit": 2})
    assert limited.status_code == 200 and len(limited.json()) == 2
    # The app signed in once, at its first call, and reused the session for the next ones.
    assert stack.fake.login_count == 2  # the test's own client and the app's


async def test_get_vendors_rejects_a_bad_limit_before_calling_bill(stack: Stack) -> None:
    for limit in ("0", "101", "many"):
        response = await stack.http.get(f"{stack.app_origin}/vendors", params={"limit": limit})
        assert response.status_code == 422, limit
    assert stack.fake.calls("listVendors") == []


# --------------------------------------------------------------------------- POST /bill/webhooks


async def test_vendor_created_in_fakebill_reaches_the_app_as_a_verified_typed_event(stack: Stack) -> None:
    subscription_id, key = await stack.subscribe()
    stack.keys.append(key)

    vendor = await stack.create_vendor("Happy Music Supplies")

    delivery = await stack.delivery_for(vendor)
    assert delivery.status_code == 200 and delivery.attempt == 1
    assert delivery.url == stack.webhook_url
    (event,) = await stack.recorder.wait_for(1)
    assert isinstance(event, WebhookEvent)
    assert (event.event_id, event.event_type, event.subscription_id) == (
        delivery.event_id,
        "vendor.created",
        subscription_id,
    )
    typed = event.typed_entity()
    assert isinstance(typed, Vendor)
    assert (typed.id, typed.name) == (vendor.id, "Happy Music Supplies")


async def test_a_redelivered_event_gets_200_but_is_handled_once(stack: Stack) -> None:
    subscription_id, key = await stack.subscribe()
    stack.keys.append(key)
    vendor = await stack.create_vendor("Replayed Vendor")
    first = await stack.delivery_for(vendor)
    await stack.recorder.wait_for(1)

    # BILL re-sends by hand (resend endpoint) and on retries: the same eventId, body and signature.
    await stack.bill.events.notifications.resend(subscription_id, first.event_id)
    replay = await stack.post(first.body, first.signature)

    resent = [d for d in stack.fake.webhooks.deliveries if d.event_id == first.event_id]
    assert [d.status_code for d in resent] == [200, 200]
    assert replay.status_code == 200 and replay.json() == {"received": True, "duplicate": True}
    # A later event is handled; the replays were not (a handler run would have been scheduled before it).
    later = await stack.create_vendor("Later Vendor")
    events = await stack.recorder.wait_for(2)
    assert [e.entity["id"] for e in events] == [vendor.id, later.id]


async def test_an_event_whose_handler_failed_is_handled_when_bill_resends_it(stack: Stack) -> None:
    subscription_id, key = await stack.subscribe()
    stack.keys.append(key)
    stack.recorder.failures_left = 1
    vendor = await stack.create_vendor("Flaky Handler Vendor")
    first = await stack.delivery_for(vendor)
    await wait_until(lambda: stack.recorder.attempts == [first.event_id], "first handler attempt")
    assert stack.recorder.events == []  # BILL got its 200, the handler raised afterwards

    await stack.bill.events.notifications.resend(subscription_id, first.event_id)

    (event,) = await stack.recorder.wait_for(1)
    assert event.event_id == first.event_id and event.entity["id"] == vendor.id
    assert stack.recorder.attempts == [first.event_id, first.event_id]
    # Handled now: a further re-send is a duplicate and does not run the handler again.
    replay = await stack.post(first.body, first.signature)
    assert replay.status_code == 200 and replay.json() == {"received": True, "duplicate": True}
    assert stack.recorder.attempts == [first.event_id, first.event_id]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered body", 401),
        ("wrong key", 401),
        ("missing signature", 401),
        ("malformed JSON", 400),
        ("not a notification", 400),
    ],
)
async def test_bad_notifications_are_refused_and_not_handled(stack: Stack, case: str, expected: int) -> None:
    key = "the-subscription-key"
    stack.keys.append(key)
    body = notification("evt-1")
    body, signature = {
        "tampered body": (body.replace(b"Signed by the test", b"Signed by a forger"), sign(body, key)),
        "wrong key": (body, sign(body, "a-guessed-key")),
        "missing signature": (body, None),
        "malformed JSON": (b'{"metadata": ', sign(b'{"metadata": ', key)),
        "not a notification": (b'{"metadata": {}}', sign(b'{"metadata": {}}', key)),
    }[case]

    response = await stack.post(body, signature)

    assert response.status_code == expected
    assert key not in response.text
    # The same eventId, correctly signed, is still new: the refused request claimed nothing.
    valid = notification("evt-1")
    assert (await stack.post(valid, sign(valid, key))).json() == {"received": True}
    assert [e.event_id for e in await stack.recorder.wait_for(1)] == ["evt-1"]


async def test_security_key_rotation(stack: Stack) -> None:
    subscription_id, old_key = await stack.subscribe()
    stack.keys.append(old_key)
    before = await stack.create_vendor("Before Rotation")
    await stack.delivery_for(before)

    # Rotating at BILL takes effect at once: until the app knows the new key, deliveries are refused and
    # BILL retries them. Then the app accepts both keys while the rollout is in progress...
    rotated = await stack.bill.events.subscriptions.create_security_key(subscription_id)
    assert isinstance(rotated.security_key, str)
    new_key = rotated.security_key
    during = await stack.create_vendor("During Rotation")
    refused = await stack.delivery_for(during, ok=False)
    assert refused.status_code == 401
    stack.keys.append(new_key)
    assert (await stack.delivery_for(during)).attempt > 1  # the retry, signed with the new key, got its 200
    old_signed = notification("evt-old-key")
    assert (await stack.post(old_signed, sign(old_signed, old_key))).status_code == 200

    # ...and once every sender uses the new key, the old one is dropped and refused.
    stack.keys.remove(old_key)
    late = notification("evt-late-old-key")
    assert (await stack.post(late, sign(late, old_key))).status_code == 401
    after = await stack.create_vendor("After Rotation")
    assert (await stack.delivery_for(after)).attempt == 1

    events = await stack.recorder.wait_for(4)
    assert [e.entity["id"] for e in events] == [before.id, during.id, "00901TEST", after.id]
