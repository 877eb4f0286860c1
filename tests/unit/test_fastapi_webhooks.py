"""Behaviour of the FastAPI integration: webhook receiver and the app-wide client."""

# No ``from __future__ import annotations``: FastAPI must resolve the
# annotations of routes defined inside tests, whose dependencies are locals.

import json
from typing import Annotated, Any, ClassVar, Self

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

import bill_sdk._client
from bill_sdk.errors import ConfigurationError
from bill_sdk.fastapi import (
    DeliveredEvent,
    WebhookVerifier,
    bill_lifespan,
    get_bill,
    webhook_router,
)
from bill_sdk.webhooks import SIGNATURE_HEADER, WebhookEvent, sign

KEY = "current-security-key"
OLD_KEY = "previous-security-key"
PATH = "/bill/events"


def notification(event_id: str = "evt-1", event_type: str = "bill.created", entity_key: str = "bill") -> bytes:
    payload = {
        "metadata": {
            "eventId": event_id,
            "subscriptionId": "sub-1",
            "organizationId": "00801ABC",
            "eventType": event_type,
            "version": "1",
        },
        entity_key: {"id": "00n01"},
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def post(client: TestClient, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    response = client.post(PATH, content=body, headers=headers)
    return response.status_code, response.json()


class Receiver:
    """An app with the webhook router and a handler that records its calls."""

    def __init__(self, keys: Any = KEY, **router_options: Any) -> None:
        self.events: list[WebhookEvent] = []
        app = FastAPI()
        app.include_router(webhook_router(PATH, keys, self.handle, **router_options))
        self.client = TestClient(app)

    async def handle(self, event: WebhookEvent) -> None:
        self.events.append(event)


# --------------------------------------------------------------------------- webhook_router


def test_signed_notification_gets_200_and_the_handler_runs_once() -> None:
    receiver = Receiver()
    body = notification()
    assert post(receiver.client, body, sign(body, KEY)) == (200, {"received": True})
    assert [e.event_id for e in receiver.events] == ["evt-1"]
    assert receiver.events[0].entity == {"id": "00n01"}


def test_tampered_body_gets_401_and_no_handler_call() -> None:
    receiver = Receiver()
    body = notification()
    tampered = body.replace(b"00n01", b"00n02")
    status, _ = post(receiver.client, tampered, sign(body, KEY))
    assert status == 401
    assert receiver.events == []


def test_wrong_key_gets_401() -> None:
    receiver = Receiver()
    body = notification()
    status, content = post(receiver.client, body, sign(body, "attacker"))
    assert status == 401
    assert KEY not in json.dumps(content)
    assert receiver.events == []


def test_missing_signature_header_gets_401() -> None:
    receiver = Receiver()
    assert post(receiver.client, notification(), None)[0] == 401
    assert receiver.events == []


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b'{"metadata":{}}'])
def test_signed_but_malformed_body_gets_400(body: bytes) -> None:
    receiver = Receiver()
    assert post(receiver.client, body, sign(body, KEY))[0] == 400
    assert receiver.events == []


def test_replayed_event_id_gets_200_duplicate_and_no_second_handler_call() -> None:
    receiver = Receiver()
    body = notification()
    post(receiver.client, body, sign(body, KEY))
    assert post(receiver.client, body, sign(body, KEY)) == (
        200,
        {"received": True, "duplicate": True},
    )
    assert len(receiver.events) == 1


def test_without_dedupe_a_replay_is_handled_again() -> None:
    receiver = Receiver(dedupe=None)
    body = notification()
    post(receiver.client, body, sign(body, KEY))
    assert post(receiver.client, body, sign(body, KEY)) == (200, {"received": True})
    assert len(receiver.events) == 2


def test_old_and_new_keys_are_both_accepted_during_rotation() -> None:
    receiver = Receiver(keys=[OLD_KEY, KEY])
    first, second = notification("evt-old"), notification("evt-new")
    assert post(receiver.client, first, sign(first, OLD_KEY))[0] == 200
    assert post(receiver.client, second, sign(second, KEY))[0] == 200
    assert [e.event_id for e in receiver.events] == ["evt-old", "evt-new"]


def test_keys_callable_picks_up_a_rotation_without_restart() -> None:
    current = [OLD_KEY]
    receiver = Receiver(keys=lambda: list(current))
    first, second = notification("evt-1"), notification("evt-2")
    assert post(receiver.client, first, sign(first, OLD_KEY))[0] == 200
    current[:] = [KEY]
    assert post(receiver.client, second, sign(second, OLD_KEY))[0] == 401
    assert post(receiver.client, second, sign(second, KEY))[0] == 200


def test_hyphenated_bank_account_entity_reaches_the_handler() -> None:
    receiver = Receiver()
    body = notification(event_type="bank-account.updated", entity_key="bank-account")
    assert post(receiver.client, body, sign(body, KEY))[0] == 200
    (event,) = receiver.events
    assert event.entity_type == "bank-account"
    assert event.entity == {"id": "00n01"}


def test_double_encoded_body_is_accepted() -> None:
    receiver = Receiver()
    body = json.dumps(notification().decode()).encode()
    assert post(receiver.client, body, sign(body, KEY))[0] == 200
    assert receiver.events[0].event_type == "bill.created"


def test_sync_handler_is_called_too() -> None:
    seen: list[str] = []
    app = FastAPI()
    app.include_router(webhook_router(PATH, KEY, lambda e: seen.append(e.event_id)))
    body = notification()
    assert post(TestClient(app), body, sign(body, KEY))[0] == 200
    assert seen == ["evt-1"]


def test_failed_handler_releases_the_event_so_a_resend_is_handled() -> None:
    calls: list[str] = []

    async def flaky(event: WebhookEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise RuntimeError("database down")

    app = FastAPI()
    app.include_router(webhook_router(PATH, KEY, flaky))
    client = TestClient(app, raise_server_exceptions=False)
    body = notification()
    assert post(client, body, sign(body, KEY)) == (200, {"received": True})
    assert post(client, body, sign(body, KEY)) == (200, {"received": True})
    assert calls == ["evt-1", "evt-1"]


def test_each_router_has_its_own_dedupe_store_by_default() -> None:
    first, second = Receiver(), Receiver()
    body = notification()
    post(first.client, body, sign(body, KEY))
    assert post(second.client, body, sign(body, KEY)) == (200, {"received": True})


# --------------------------------------------------------------------------- WebhookVerifier


def test_verifier_dependency_returns_the_event_and_a_duplicate_marker() -> None:
    verifier = WebhookVerifier(KEY)
    app = FastAPI()

    @app.post(PATH)
    async def receive(
        delivered: Annotated[DeliveredEvent, Depends(verifier)],
    ) -> dict[str, Any]:
        return {"id": delivered.event.event_id, "duplicate": delivered.duplicate}

    client = TestClient(app)
    body = notification()
    assert post(client, body, sign(body, KEY)) == (
        200,
        {"id": "evt-1", "duplicate": False},
    )
    assert post(client, body, sign(body, KEY)) == (
        200,
        {"id": "evt-1", "duplicate": True},
    )
    assert post(client, body, sign(body, OLD_KEY))[0] == 401


def test_the_route_can_still_read_the_raw_body_after_the_verifier() -> None:
    verifier = WebhookVerifier(KEY)
    app = FastAPI()

    @app.post(PATH)
    async def receive(delivered: Annotated[DeliveredEvent, Depends(verifier)], request: Request) -> dict[str, Any]:
        return {"same": await request.body() == notification(), "id": delivered.event.event_id}

    body = notification()
    assert post(TestClient(app), body, sign(body, KEY)) == (200, {"same": True, "id": "evt-1"})


def test_verifier_repr_shows_no_key() -> None:
    verifier = WebhookVerifier([OLD_KEY, KEY], max_body_bytes=1000)
    assert KEY not in repr(verifier) and OLD_KEY not in repr(verifier)
    assert "2 webhook security keys" in repr(verifier)
    assert "max_body_bytes=1000" in repr(verifier)


def test_router_refuses_an_unknown_acknowledge_mode() -> None:
    with pytest.raises(ConfigurationError, match="acknowledge"):
        webhook_router(PATH, KEY, lambda e: None, acknowledge="later")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- lifespan


class StandInBill:
    """Stands in for AsyncBill: an async context manager with aclose()."""

    instances: ClassVar[list["StandInBill"]] = []

    def __init__(self) -> None:
        self.open = False
        self.closed = False
        StandInBill.instances.append(self)

    async def __aenter__(self) -> Self:
        self.open = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.closed = True


def _app_with_client_route(factory: Any = None) -> FastAPI:
    app = FastAPI(lifespan=bill_lifespan(factory))

    @app.get("/client-id")
    async def client_id(bill: Annotated[Any, Depends(get_bill)]) -> dict[str, int]:
        return {"id": id(bill)}

    return app


def test_lifespan_opens_one_client_for_the_app_and_closes_it_on_shutdown() -> None:
    StandInBill.instances.clear()
    app = _app_with_client_route(StandInBill)
    with TestClient(app) as client:
        (bill,) = StandInBill.instances
        assert bill.open and not bill.closed
        ids = {client.get("/client-id").json()["id"] for _ in range(3)}
        assert ids == {id(bill)}
    assert bill.closed
    assert len(StandInBill.instances) == 1
    assert not hasattr(app.state, "bill")


def test_default_factory_builds_async_bill_from_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    StandInBill.instances.clear()
    monkeypatch.setattr(bill_sdk._client, "AsyncBill", StandInBill)
    with TestClient(_app_with_client_route()) as client:
        assert client.get("/client-id").json()["id"] == id(StandInBill.instances[0])
    assert StandInBill.instances[0].closed


def test_get_bill_without_the_lifespan_explains_how_to_fix_it() -> None:
    app = FastAPI()

    @app.get("/client-id")
    async def client_id(bill: Annotated[Any, Depends(get_bill)]) -> dict[str, str]:
        return {}

    with pytest.raises(ConfigurationError, match="bill_lifespan"):
        TestClient(app).get("/client-id")
