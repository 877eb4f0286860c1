"""Connect Events: webhook subscriptions, signed notification delivery, event history, test and resend.

When a vendor, bill, payment, invoice or customer is created, updated, archived or restored, every enabled
subscription of that organization (and every partner subscription, for organizations the partner created)
whose ``events`` include ``<entity>.<action>`` gets a POST to its ``notificationUrl``:

* body (minified JSON): ``{"metadata": {"eventId", "subscriptionId", "organizationId", "eventType",
  "version": "1"}, "<entity>": {...the object as the API shows it...}}``
* header ``x-bill-sha-signature``: base64(HMAC-SHA256(securityKey as UTF-8, raw body bytes)).

:class:`Webhooks` reads the :class:`~.outbox.Outbox` the resource service publishes changes to; its HTTP
handlers are ``handlers/webhooks.py`` and subscriptions are kept by :class:`~.subscriptions.Subscriptions`.
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
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bill_sdk._json import dumps_json, loads_json
from bill_sdk.testing.outbox import Change
from bill_sdk.testing.schemas import now_iso
from bill_sdk.testing.state import PARTNER_SCOPE, Record, State

# Independent of bill_sdk.webhooks on purpose: FakeBill signs deliveries the way BILL documents it, so the SDK's
# SIGNATURE_HEADER / sign() / verify_signature() are checked against a second implementation, not against
# themselves. Named apart from the SDK's so that a reader never takes one for the other.
DELIVERY_SIGNATURE_HEADER = "x-bill-sha-signature"
SUBSCRIPTIONS = "subscriptions"
EVENTS = "events/subscription"
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


def delivery_signature(body: bytes, security_key: str) -> str:
    """The header value BILL sends: base64(HMAC-SHA256(securityKey as UTF-8, body)) (independent, see above)."""
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
        return loads_json(self.body)


# present(collection, data): an object as the API shows it (the webhook payload)
Presenter = Callable[[str, dict[str, Any]], Any]


class Webhooks:
    """Event history and signed deliveries: reads changes (:meth:`notify`), writes events into `state`."""

    def __init__(
        self,
        state: State,
        present: Presenter,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delays: Sequence[float] = (2, 4, 8, 16),
        timeout: float = 10.0,
    ) -> None:
        self.state = state
        self.present = present
        self.transport = transport
        self.client: httpx.AsyncClient | None = None  # used as is (not closed) when set
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    # -- emitting ------------------------------------------------------------------------------------

    def notify(self, change: Change) -> None:
        """Notify the subscribers of a change (an outbox reader: every create/update/archive/restore)."""
        entity = ENTITIES.get(change.collection)
        if entity is None:
            return
        event_type = f"{entity}.{change.action}"
        payload = self.present(change.collection, change.data)
        entity_id = str(change.data.get("id", ""))
        for sub_scope, record in self._subscribers(change.scope, event_type):
            event = self.record_event(sub_scope, record, event_type, entity, payload, change.scope, entity_id)
            self._spawn(self._deliver_with_retries(sub_scope, record, event))

    def _subscribers(self, scope: str, event_type: str) -> list[tuple[str, Record]]:
        state = self.state
        scopes = [scope]
        if scope in state.partner_orgs:
            scopes.append(PARTNER_SCOPE)
        out = []
        for sub_scope in scopes:
            for record in state.records(sub_scope, SUBSCRIPTIONS):
                status = record.data.get("status")
                if isinstance(status, dict) and status.get("enabled") is False:
                    continue
                if event_type in event_types(record.data.get("events")):
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
        state = self.state
        event_id = state.new_id(EVENTS)
        org = organization_id if organization_id != PARTNER_SCOPE else (subscription.data.get("organizationId") or "")
        body = dumps_json(
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

    def record_test_event(
        self, scope: str, subscription: Record, fields: Mapping[str, Any], organization_id: str
    ) -> Record:
        """A test event for `subscription`: ``eventType`` (default: its first event type), ``version``, and the
        entity as ``fields[<entity key>]`` (default: the other fields)."""
        default_type = next(iter(sorted(event_types(subscription.data.get("events")))), "bill.updated")
        event_type = str(fields.get("eventType") or default_type)
        key = entity_key(event_type)
        payload = fields.get(key)
        if payload is None:
            payload = {k: v for k, v in fields.items() if k not in ("eventType", "version")} or {}
        entity_id = str(payload.get("id", "")) if isinstance(payload, dict) else ""
        version = str(fields.get("version") or "1")
        return self.record_event(scope, subscription, event_type, key, payload, organization_id, entity_id, version)

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
        signature = delivery_signature(body, subscription.meta.get("security_key", ""))
        headers = {"content-type": "application/json", DELIVERY_SIGNATURE_HEADER: signature}
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


def event_types(events: Any) -> set[str]:
    """The event types a subscription's ``events`` name (strings, or objects with a type/name)."""
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
