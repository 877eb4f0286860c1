"""Connect Events: webhook subscriptions, signed notification delivery, event history, test and resend.

When a vendor, bill, payment, invoice or customer is created, updated, archived or restored, every enabled
subscription of that organization (and every partner subscription, for organizations the partner created)
whose ``events`` include ``<entity>.<action>`` gets a POST to its ``notificationUrl``:

* body (minified JSON): ``{"metadata": {"eventId", "subscriptionId", "organizationId", "eventType",
  "version": "1"}, "<entity>": {...the object as the API shows it...}}``
* header ``x-bill-sha-signature``: base64(HMAC-SHA256(securityKey as UTF-8, raw body bytes)).

Delivery runs in a background task (the API answer never waits for it) through ``httpx.AsyncClient``; tests
inject a transport (``FakeBill(webhook_transport=...)``) or a client (``fake.webhooks.client``). A delivery
that does not get HTTP 200 within ``timeout`` is retried after each of ``retry_delays`` (BILL: 2, 4, 8, 16 s);
when they are exhausted the subscription is disabled (``status.enabled = false``), as BILL does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from bill_sdk.testing import jsonio
from bill_sdk.testing.bdc import ApiError
from bill_sdk.testing.calls import Call, Reply
from bill_sdk.testing.schemas import now_iso
from bill_sdk.testing.state import PARTNER_SCOPE, Record

if TYPE_CHECKING:
    from bill_sdk.testing.fake import FakeBill

SIGNATURE_HEADER = "x-bill-sha-signature"
SUBSCRIPTIONS = "subscriptions"
EVENTS = "events/subscription"
MAX_SUBSCRIPTIONS = 10
# Collections whose changes are notified, and the payload key of their events.
ENTITIES = {"vendors": "vendor", "bills": "bill", "payments": "payment", "invoices": "invoice", "customers": "customer"}
# BILL's event catalog (cross-cutting facts §7). FakeBill also emits customer.* and payment.created etc.;
# subscriptions may name any event type.
CATALOG = (
    "vendor.created", "vendor.updated", "vendor.archived", "vendor.restored", "autopay.failed",
    "bill.created", "bill.updated", "bill.archived", "bill.restored", "payment.updated", "payment.failed",
    "bank-account.created", "bank-account.updated", "card-account.created", "card-account.updated",
    "invoice.created", "invoice.updated", "invoice.archived", "invoice.restored", "risk-verification.updated",
    "spend.transaction.updated", "spend.reimbursement.created", "spend.reimbursement.updated",
    "spend.reimbursement.deleted", "spend.three-ds-challenge.created",
)  # fmt: skip


def sign(body: bytes, security_key: str) -> str:
    return base64.b64encode(hmac.new(security_key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def entity_key(event_type: str) -> str:
    """``bill.updated`` -> ``bill``; ``spend.three-ds-challenge.created`` -> ``threeDsChallenge``."""
    parts = event_type.split(".")
    if parts[0] == "spend" and len(parts) > 2:
        words = parts[1].split("-")
        return words[0] + "".join(w.capitalize() for w in words[1:])
    return parts[0]


@dataclass
class Delivery:
    """One attempt to deliver a notification."""

    url: str
    subscription_id: str
    event_id: str
    event_type: str
    attempt: int
    body: bytes
    signature: str
    status_code: int | None
    error: str | None
    at: float

    @property
    def ok(self) -> bool:
        return self.status_code == 200

    def json(self) -> Any:
        return json.loads(self.body)


class Webhooks:
    def __init__(
        self,
        fake: FakeBill,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delays: Sequence[float] = (2, 4, 8, 16),
        timeout: float = 10.0,
    ) -> None:
        self.fake = fake
        self.transport = transport
        self.client: httpx.AsyncClient | None = None  # used as is (not closed) when set
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    # -- emitting ------------------------------------------------------------------------------------

    def emit(self, scope: str, collection: str, action: str, data: dict[str, Any]) -> None:
        """Notify subscribers of a change (called by the engine after every create/update/archive/restore)."""
        entity = ENTITIES.get(collection)
        if entity is None:
            return
        event_type = f"{entity}.{action}"
        payload = self.fake.engine.present(collection, data)
        for sub_scope, record in self._subscribers(scope, event_type):
            event = self.record_event(sub_scope, record, event_type, entity, payload, scope, str(data.get("id", "")))
            self._spawn(self._deliver_with_retries(sub_scope, record, event))

    def _subscribers(self, scope: str, event_type: str) -> list[tuple[str, Record]]:
        state = self.fake.state
        scopes = [scope]
        if scope in state.partner_orgs:
            scopes.append(PARTNER_SCOPE)
        out = []
        for sub_scope in scopes:
            for record in state.records(sub_scope, SUBSCRIPTIONS):
                status = record.data.get("status")
                if isinstance(status, dict) and status.get("enabled") is False:
                    continue
                if event_type in _event_types(record.data.get("events")):
                    out.append((sub_scope, record))
        return out

    def record_event(
        self,
        sub_scope: str,
        subscription: Record,
        event_type: str,
        key: str,
        payload: Any,
        organization_id: str,
        entity_id: str = "",
        version: str = "1",
    ) -> Record:
        state = self.fake.state
        event_id = state.new_id(EVENTS)
        org = organization_id if organization_id != PARTNER_SCOPE else (subscription.data.get("organizationId") or "")
        body = jsonio.dumps(
            {
                "metadata": {
                    "eventId": event_id,
                    "subscriptionId": subscription.id,
                    "organizationId": org,
                    "eventType": event_type,
                    "version": version,
                },
                key: payload,
            }
        )
        now = now_iso()
        data = {
            "id": event_id,
            "eventId": event_id,
            "type": event_type,
            "eventType": event_type,
            "version": version,
            "subscriptionId": subscription.id,
            "entityId": entity_id,
            "payload": body.decode("utf-8"),
            "createdTime": now,
            "updatedTime": now,
        }
        return state.add(sub_scope, EVENTS, data, parents={"subscriptionId": subscription.id}, meta={"body": body})

    # -- delivering ----------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            return
        task = loop.create_task(coro)
        with self._lock:
            self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with self._lock:
            self._tasks.discard(task)

    async def deliver(self, subscription: Record, event: Record, attempt: int = 1) -> Delivery:
        """POST one notification now; record and return the attempt."""
        body: bytes = event.meta.get("body") or str(event.data.get("payload") or "{}").encode("utf-8")
        url = str(subscription.data.get("notificationUrl", ""))
        signature = sign(body, subscription.meta.get("security_key", ""))
        headers = {"content-type": "application/json", SIGNATURE_HEADER: signature}
        status_code: int | None = None
        error: str | None = None
        try:
            if self.client is not None:
                response = await self.client.post(url, content=body, headers=headers, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
                    response = await client.post(url, content=body, headers=headers)
            status_code = response.status_code
        except (httpx.HTTPError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery = Delivery(
            url,
            subscription.id,
            event.id,
            event.data["type"],
            attempt,
            body,
            signature,
            status_code,
            error,
            time.time(),
        )
        self.deliveries.append(delivery)
        if status_code is not None:
            event.data["statusCode"] = status_code
        return delivery

    async def _deliver_with_retries(self, sub_scope: str, subscription: Record, event: Record) -> None:
        for attempt, delay in enumerate((*self.retry_delays, None), start=1):
            delivery = await self.deliver(subscription, event, attempt)
            if delivery.ok:
                return
            if delay is None:
                break
            await asyncio.sleep(delay)
        status = subscription.data.get("status")
        if isinstance(status, dict):
            status["enabled"] = False

    def _pending(self) -> list[asyncio.Task[None]]:
        with self._lock:
            return [t for t in self._tasks if not t.done()]

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until background deliveries (retries included) have finished, in this loop or a server's."""
        deadline = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        while pending := self._pending():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(pending)} webhook deliveries still pending after {timeout}s")
            own = [t for t in pending if t.get_loop() is loop]
            if own:
                await asyncio.wait(own, timeout=left)
            else:  # tasks of a server thread's loop: poll
                await asyncio.sleep(0.01)

    def drain_sync(self, timeout: float = 10.0) -> None:
        """:meth:`drain` for synchronous tests of a FakeBill served in a thread (``fake.serve()``)."""
        deadline = time.monotonic() + timeout
        while pending := self._pending():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(pending)} webhook deliveries still pending after {timeout}s")
            time.sleep(0.01)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Wait (from any loop or thread) until at least `count` delivery attempts are recorded."""
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(self.deliveries)} of {count} webhook deliveries after {timeout}s")
            await asyncio.sleep(0.01)
        return list(self.deliveries)

    def cancel(self) -> None:
        with self._lock:
            tasks = list(self._tasks)
            self._tasks.clear()
        for task in tasks:
            try:
                task.get_loop().call_soon_threadsafe(task.cancel)
            except RuntimeError:  # its loop is closed already
                pass


def _event_types(events: Any) -> set[str]:
    out = set()
    for item in events or []:
        if isinstance(item, str):
            out.add(item)
        elif isinstance(item, dict):
            for key in ("type", "value", "eventType", "name"):
                if isinstance(item.get(key), str):
                    out.add(item[key])
                    break
    return out


# -- operations ------------------------------------------------------------------------------------------


def _org_of(call: Call) -> str:
    return call.scope if call.scope != PARTNER_SCOPE else ""


async def create_subscription(call: Call) -> Reply:
    fake = call.fake
    body = dict(call.body) if isinstance(call.body, dict) else {}
    body.pop("securityKey", None)
    url = str(body.get("notificationUrl", ""))
    parts = urlsplit(url)
    allowed = ("https",) if fake.require_https_webhooks else ("https", "http")
    if parts.scheme not in allowed or not parts.netloc:
        raise ApiError(400, "BDC_1119", f"Invalid field,value: notificationUrl,{url}")
    existing = fake.state.records(call.scope, SUBSCRIPTIONS)
    if len(existing) >= MAX_SUBSCRIPTIONS:
        raise ApiError(400, "BDC_1119", f"At most {MAX_SUBSCRIPTIONS} subscriptions are allowed per organization.")
    wanted = _event_types(body.get("events"))
    for record in existing:
        if record.data.get("notificationUrl") == url and _event_types(record.data.get("events")) == wanted:
            raise ApiError(400, "BDC_1119", "A subscription with the same events and notificationUrl exists.")
    if isinstance(body.get("status"), dict):
        body["status"] = {"enabled": True, **body["status"]}
    if _org_of(call):
        body.setdefault("organizationId", _org_of(call))
    record = fake.engine.create(call, body, SUBSCRIPTIONS)
    key = secrets.token_urlsafe(32)
    record.meta["security_key"] = key
    return fake.engine.respond(call, {**record.data, "securityKey": key})


def hide_security_key(call: Call, data: dict[str, Any], action: str) -> None:
    """Subscriptions never keep a client-sent securityKey in what GET/list show."""
    data.pop("securityKey", None)


async def rotate_security_key(call: Call) -> Reply:
    _, record = call.fake.engine.require(call, SUBSCRIPTIONS, call.path_params.get("subscriptionId"))
    key = secrets.token_urlsafe(32)
    record.meta["security_key"] = key
    return call.fake.engine.respond(call, {"securityKey": key})


async def send_test_event(call: Call) -> Reply:
    fake = call.fake
    _, subscription = fake.engine.require(call, SUBSCRIPTIONS, call.path_params.get("subscriptionId"))
    body = call.body if isinstance(call.body, dict) else {}
    event_type = str(
        body.get("eventType") or next(iter(sorted(_event_types(subscription.data.get("events")))), "bill.updated")
    )
    key = entity_key(event_type)
    payload = body.get(key)
    if payload is None:
        payload = {k: v for k, v in body.items() if k not in ("eventType", "version")} or {}
    entity_id = str(payload.get("id", "")) if isinstance(payload, dict) else ""
    event = fake.webhooks.record_event(
        call.scope, subscription, event_type, key, payload, _org_of(call) or call.scope, entity_id,
        str(body.get("version") or "1"),
    )  # fmt: skip
    await fake.webhooks.deliver(subscription, event)
    return fake.engine.respond(call, event.data)


async def resend_event(call: Call) -> Reply:
    fake = call.fake
    _, subscription = fake.engine.require(call, SUBSCRIPTIONS, call.path_params.get("subscriptionId"))
    event = fake.state.record(call.scope, EVENTS, call.path_params.get("eventId", ""))
    if event is None or event.parents.get("subscriptionId") != subscription.id:
        raise ApiError(404, "BDC_1120", f"No data found: eventId {call.path_params.get('eventId')}")
    await fake.webhooks.deliver(subscription, event)
    return fake.engine.respond(call, event.data)


async def event_catalog(call: Call) -> Reply:
    return call.fake.engine.respond(call, [{"type": name, "versions": ["1"]} for name in CATALOG])


HANDLERS = {
    "createSubscription": create_subscription,
    "createSubscriptionSecurityKey": rotate_security_key,
    "sendTestSubscriptionEvent": send_test_event,
    "resendEventNotification": resend_event,
    "getEventCatalog": event_catalog,
}
HOOKS = {SUBSCRIPTIONS: [hide_security_key]}
