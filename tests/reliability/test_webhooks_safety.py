"""Webhooks lose nothing and accept no forgery (issue #12, item 3).

What a receiver built on ``bill_sdk.webhooks`` / ``bill_sdk.fastapi`` can rely on:

* an eventId counts as handled only after the work for it finished; a delivery whose work failed runs again when
  BILL re-sends it, and a duplicate arriving while the first delivery still runs is refused (non-2xx, so BILL
  retries) instead of being answered 200 and dropped;
* a security key means the same whether it is given as ``str``, ``bytes``, ``bytearray`` or ``memoryview``; an
  empty or mistyped key is refused when the receiver is created, naming its position and never its value;
* the body is capped before it is verified: over the cap the answer is 413 and the rest is not read;
* entity amounts are ``Decimal`` with every digit.

Every app here is a real FastAPI app driven over ASGI (httpx ``ASGITransport``); nothing waits on a timer.
"""

# No ``from __future__ import annotations``: FastAPI must resolve the annotations of routes defined inside tests,
# whose dependencies are locals.

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any

import httpx
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI

from bill_sdk import fastapi as bill_fastapi
from bill_sdk import webhooks
from bill_sdk.errors import ConfigurationError
from bill_sdk.models import Bill, Vendor

KEY = "current-security-key-0123456789"
OLD_KEY = "previous-security-key-9876543210"
PATH = "/bill/webhooks"


def notification(event_id: str = "evt-1", *, amount: str = "100.10", extra: bytes = b"") -> bytes:
    """A bill.created body as BILL sends it; ``amount`` is written into the JSON verbatim."""
    metadata = (
        f'"metadata":{{"eventId":"{event_id}","subscriptionId":"sub-1","organizationId":"00801ABC",'
        '"eventType":"bill.created","version":"1"}'
    )
    entity = (
        f'"bill":{{"id":"00n01","archived":false,"vendorId":"00901","amount":{amount},"dueAmount":{amount},'
        '"createdTime":"2026-01-02T03:04:05Z","updatedTime":"2026-01-02T03:04:05Z"}'
    )
    return f"{{{metadata},{entity}}}".encode() + extra


def signed_headers(body: bytes, key: str | bytes = KEY) -> dict[str, str]:
    return {"content-type": "application/json", webhooks.SIGNATURE_HEADER: webhooks.sign(body, key)}


def client_for(app: FastAPI) -> httpx.AsyncClient:
    # raise_app_exceptions=False: an exception in the app becomes the 500 a server would answer.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://receiver.test")


async def deliver(client: httpx.AsyncClient, body: bytes, key: str | bytes = KEY) -> httpx.Response:
    return await client.post(PATH, content=body, headers=signed_headers(body, key))


class Work:
    """The route's or handler's work: records each run; fails the runs listed in ``fail_on`` (1-based)."""

    def __init__(self, fail_on: tuple[int, ...] = ()) -> None:
        self.runs: list[str] = []
        self.done: list[str] = []
        self.fail_on = fail_on
        self.started = asyncio.Event()
        self.proceed: asyncio.Event | None = None  # set: every run waits for it

    async def __call__(self, event: webhooks.WebhookEvent) -> None:
        self.runs.append(event.event_id)
        self.started.set()
        if self.proceed is not None:
            await self.proceed.wait()
        if len(self.runs) in self.fail_on:
            raise RuntimeError("database down")
        self.done.append(event.event_id)


def verifier_app(
    work: Callable[[webhooks.WebhookEvent], Awaitable[None]], *, in_background: bool = False, **options: Any
) -> FastAPI:
    """A hand-written route on ``WebhookVerifier``: the work runs in the route, or as a background task."""
    verifier = bill_fastapi.WebhookVerifier(KEY, **options)
    app = FastAPI()

    @app.post(PATH)
    async def receive(
        delivered: Annotated[bill_fastapi.DeliveredEvent, Depends(verifier)], tasks: BackgroundTasks
    ) -> dict[str, Any]:
        if not delivered.duplicate:
            if in_background:
                tasks.add_task(work, delivered.event)
            else:
                await work(delivered.event)
        return {"received": True, "duplicate": delivered.duplicate}

    return app


def router_app(work: Callable[[webhooks.WebhookEvent], Awaitable[None]], **options: Any) -> FastAPI:
    app = FastAPI()
    app.include_router(bill_fastapi.webhook_router(PATH, KEY, work, **options))
    return app


# --------------------------------------------------------------------------- an eventId is handled once its work succeeded


async def test_a_delivery_whose_route_failed_runs_again_when_bill_resends() -> None:
    work = Work(fail_on=(1,))
    async with client_for(verifier_app(work)) as client:
        body = notification()
        first = await deliver(client, body)
        again = await deliver(client, body)  # BILL retries anything not answered 200

    assert first.status_code == 500
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": False}
    assert work.runs == ["evt-1", "evt-1"] and work.done == ["evt-1"]


async def test_a_delivery_whose_background_work_failed_runs_again_when_resent() -> None:
    work = Work(fail_on=(1,))
    async with client_for(verifier_app(work, in_background=True)) as client:
        body = notification()
        await deliver(client, body)  # 200 already sent when the background work fails
        resent = await deliver(client, body)  # a re-send (BILL's resend endpoint, or by hand)

    assert resent.json() == {"received": True, "duplicate": False}
    assert work.runs == ["evt-1", "evt-1"] and work.done == ["evt-1"]


async def test_a_router_handler_that_failed_runs_again_when_resent() -> None:
    work = Work(fail_on=(1,))
    async with client_for(router_app(work)) as client:
        body = notification()
        assert (await deliver(client, body)).json() == {"received": True}
        assert (await deliver(client, body)).json() == {"received": True}
        assert (await deliver(client, body)).json() == {"received": True, "duplicate": True}
    assert work.runs == ["evt-1", "evt-1"] and work.done == ["evt-1"]


async def test_a_router_acknowledging_after_the_handler_answers_500_for_a_failed_handler_so_bill_retries() -> None:
    work = Work(fail_on=(1,))
    async with client_for(router_app(work, acknowledge="after_handler")) as client:
        body = notification()
        first = await deliver(client, body)
        retried = await deliver(client, body)
        duplicate = await deliver(client, body)

    assert first.status_code == 500
    assert retried.status_code == 200 and retried.json() == {"received": True}
    assert duplicate.status_code == 200 and duplicate.json() == {"received": True, "duplicate": True}
    assert work.runs == ["evt-1", "evt-1"] and work.done == ["evt-1"]


@pytest.mark.parametrize("receiver", ["verifier route", "verifier background task", "router", "router after handler"])
async def test_a_duplicate_arriving_while_the_first_delivery_runs_is_refused_so_bill_retries(receiver: str) -> None:
    work = Work()
    work.proceed = asyncio.Event()
    app = {
        "verifier route": lambda: verifier_app(work),
        "verifier background task": lambda: verifier_app(work, in_background=True),
        "router": lambda: router_app(work),
        "router after handler": lambda: router_app(work, acknowledge="after_handler"),
    }[receiver]()
    async with client_for(app) as client:
        body = notification()
        first = asyncio.create_task(deliver(client, body))
        await work.started.wait()

        concurrent = await deliver(client, body)

        work.proceed.set()
        assert (await first).status_code == 200
        later = await deliver(client, body)

    # Not 200: BILL would count that as delivered while the first delivery's work may still fail.
    assert concurrent.status_code == 409
    assert concurrent.headers["retry-after"].isdigit()
    assert later.status_code == 200 and later.json()["duplicate"] is True
    assert work.runs == ["evt-1"]


async def test_a_duplicate_refused_while_the_first_delivery_ran_is_handled_when_that_delivery_failed() -> None:
    work = Work(fail_on=(1,))
    work.proceed = asyncio.Event()
    async with client_for(verifier_app(work)) as client:
        body = notification()
        first = asyncio.create_task(deliver(client, body))
        await work.started.wait()
        concurrent = await deliver(client, body)
        work.proceed.set()
        failed = await first
        retried = await deliver(client, body)  # BILL's retry of the refused duplicate

    assert (concurrent.status_code, failed.status_code, retried.status_code) == (409, 500, 200)
    assert work.runs == ["evt-1", "evt-1"] and work.done == ["evt-1"]


async def test_a_delivery_cancelled_while_its_work_ran_runs_again_when_resent() -> None:
    work = Work()
    work.proceed = asyncio.Event()
    async with client_for(verifier_app(work)) as client:
        body = notification()
        first = asyncio.create_task(deliver(client, body))
        await work.started.wait()
        first.cancel()  # e.g. the server shutting down mid-request
        with pytest.raises(asyncio.CancelledError):
            await first
        work.proceed.set()
        again = await deliver(client, body)
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": False}
    assert work.runs == ["evt-1", "evt-1"] and work.done == ["evt-1"]


async def test_a_completed_event_redelivered_gets_200_and_does_not_run_again() -> None:
    work = Work()
    async with client_for(verifier_app(work)) as client:
        body = notification()
        answers = [await deliver(client, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    assert work.runs == ["evt-1"]


async def test_a_refused_request_claims_nothing() -> None:
    work = Work()
    async with client_for(verifier_app(work)) as client:
        body = notification()
        forged = await client.post(PATH, content=body, headers=signed_headers(body, "a-guessed-key"))
        real = await deliver(client, body)
    assert forged.status_code == 401
    assert real.json() == {"received": True, "duplicate": False}
    assert work.runs == ["evt-1"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_two_concurrent_claims_of_one_event_let_only_one_delivery_run() -> None:
    store = webhooks.InMemoryDedupeStore()
    outcomes = await asyncio.gather(*(store.claim("evt-1") for _ in range(10)))
    assert outcomes.count(webhooks.ClaimOutcome.CLAIMED) == 1
    assert set(outcomes) == {webhooks.ClaimOutcome.CLAIMED, webhooks.ClaimOutcome.IN_PROGRESS}


async def test_a_claim_left_by_a_delivery_that_never_finished_expires_so_a_redelivery_runs() -> None:
    clock = Clock()
    store = webhooks.InMemoryDedupeStore(claim_ttl_seconds=60, clock=clock)
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.CLAIMED
    clock.now += 59
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.IN_PROGRESS
    clock.now += 2
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.CLAIMED


async def test_a_completed_event_is_remembered_for_the_retention_period_then_forgotten() -> None:
    clock = Clock()
    store = webhooks.InMemoryDedupeStore(claim_ttl_seconds=60, retention_seconds=3_600, clock=clock)
    await store.claim("evt-1")
    await store.complete("evt-1")
    clock.now += 3_599  # far past the claim TTL: completion does not expire with the claim
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.COMPLETED
    await store.release("evt-1")  # a release never forgets a completion
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.COMPLETED
    clock.now += 2
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.CLAIMED


async def test_the_in_memory_store_is_bounded() -> None:
    store = webhooks.InMemoryDedupeStore(max_entries=3)
    for i in range(10):
        await store.claim(f"evt-{i}")
        await store.complete(f"evt-{i}")
    assert len(store) == 3
    assert await store.claim("evt-9") == webhooks.ClaimOutcome.COMPLETED
    assert await store.claim("evt-0") == webhooks.ClaimOutcome.CLAIMED  # the oldest were dropped


async def test_a_released_claim_lets_the_next_delivery_run() -> None:
    store = webhooks.InMemoryDedupeStore()
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.CLAIMED
    await store.release("evt-1")
    assert await store.claim("evt-1") == webhooks.ClaimOutcome.CLAIMED
    await store.release("never-claimed")  # no error


def test_the_dedupe_protocol_documents_claim_complete_and_release() -> None:
    doc = webhooks.DedupeStore.__doc__ or ""
    for method in ("claim", "complete", "release"):
        assert getattr(webhooks.DedupeStore, method).__doc__, method
        assert method in doc
    assert "expire" in doc


# --------------------------------------------------------------------------- keys


KEY_FORMS = {
    "str": KEY,
    "bytes": KEY.encode(),
    "bytearray": bytearray(KEY.encode()),
    "memoryview": memoryview(KEY.encode()),
}


@pytest.mark.parametrize("form", list(KEY_FORMS))
def test_keys_given_as_str_bytes_bytearray_or_memoryview_are_the_same_key(form: str) -> None:
    key = KEY_FORMS[form]
    body = notification()
    assert webhooks.sign(body, key) == webhooks.sign(body, KEY)
    webhooks.verify_signature(body, webhooks.sign(body, KEY), key)
    webhooks.verify_signature(body, webhooks.sign(body, KEY), [OLD_KEY, key])
    with pytest.raises(webhooks.WebhookSignatureError):
        webhooks.verify_signature(body, webhooks.sign(body, OLD_KEY), key)


@pytest.mark.parametrize("form", ["bytearray", "memoryview"])
@pytest.mark.parametrize("forged_with", [b"\x00", b"\x00" * 64, b""])
def test_a_body_signed_with_zero_bytes_does_not_verify_against_a_bytearray_or_memoryview_key(
    form: str, forged_with: bytes
) -> None:
    key = KEY_FORMS[form]
    body = notification()
    forged = hmac.new(forged_with, body, hashlib.sha256).digest()
    signature = base64.b64encode(forged).decode()
    for keys in (key, [key], [OLD_KEY, key]):
        with pytest.raises(webhooks.WebhookSignatureError):
            webhooks.verify_signature(body, signature, keys)


@pytest.mark.parametrize("in_a_list", [False, True])
@pytest.mark.parametrize("form", list(KEY_FORMS))
async def test_a_receiver_accepts_each_key_form_and_refuses_a_zero_key_forgery(form: str, in_a_list: bool) -> None:
    verifier = bill_fastapi.WebhookVerifier([OLD_KEY, KEY_FORMS[form]] if in_a_list else KEY_FORMS[form])
    app = FastAPI()

    @app.post(PATH)
    async def receive(delivered: Annotated[bill_fastapi.DeliveredEvent, Depends(verifier)]) -> dict[str, str]:
        return {"id": delivered.event.event_id}

    async with client_for(app) as client:
        good = await deliver(client, notification("evt-good"))
        forged = await deliver(client, notification("evt-forged"), key=b"\x00")
    assert (good.status_code, forged.status_code) == (200, 401)


@pytest.mark.parametrize(
    ("keys", "position"),
    [
        (["", KEY], "0"),
        ([KEY, ""], "1"),
        ([KEY, OLD_KEY, b""], "2"),
        ([KEY, bytearray()], "1"),
        ([memoryview(b"")], "0"),
    ],
)
@pytest.mark.parametrize("receiver", ["verifier", "router"])
def test_an_empty_key_in_a_rotation_list_is_refused_when_the_receiver_is_created(
    keys: list[Any], position: str, receiver: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"\b{position}\b") as caught:
        if receiver == "verifier":
            bill_fastapi.WebhookVerifier(keys)
        else:
            bill_fastapi.webhook_router(PATH, keys, Work())
    assert "empty" in str(caught.value)


@pytest.mark.parametrize("keys", ["", b"", bytearray(), memoryview(b""), []])
@pytest.mark.parametrize("receiver", ["verifier", "router"])
def test_no_key_or_a_single_empty_key_is_refused_when_the_receiver_is_created(keys: Any, receiver: str) -> None:
    with pytest.raises(ConfigurationError):
        if receiver == "verifier":
            bill_fastapi.WebhookVerifier(keys)
        else:
            bill_fastapi.webhook_router(PATH, keys, Work())


@pytest.mark.parametrize(
    ("keys", "type_name"),
    [(12345, "int"), ([KEY, 7], "int"), ([KEY, None], "NoneType"), ([KEY, [OLD_KEY]], "list"), (3.5, "float")],
)
def test_a_key_of_another_type_is_refused_naming_the_type_never_the_value(keys: Any, type_name: str) -> None:
    for create in (lambda: bill_fastapi.WebhookVerifier(keys), lambda: webhooks.verify_signature(b"{}", "x", keys)):
        with pytest.raises(ConfigurationError, match=type_name) as caught:
            create()
        text = f"{caught.value} {caught.value!r}"
        assert KEY not in text and OLD_KEY not in text


async def test_a_key_source_callable_with_an_empty_key_is_a_configuration_error_naming_its_position() -> None:
    verifier = bill_fastapi.WebhookVerifier(lambda: [KEY, ""])
    app = FastAPI()

    @app.post(PATH)
    async def receive(delivered: Annotated[bill_fastapi.DeliveredEvent, Depends(verifier)]) -> dict[str, str]:
        return {"id": delivered.event.event_id}

    transport = httpx.ASGITransport(app=app)  # app exceptions raised here, as the server would log them
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
        with pytest.raises(ConfigurationError, match=r"\b1\b") as caught:
            await deliver(client, notification())
    assert KEY not in str(caught.value)


async def test_security_keys_never_appear_in_reprs_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    verifier = bill_fastapi.WebhookVerifier([OLD_KEY, KEY.encode()])
    router = bill_fastapi.webhook_router(PATH, [OLD_KEY, bytearray(KEY.encode())], Work())
    texts = [repr(verifier), str(verifier), repr(vars(verifier)), repr(router.routes)]
    for bad in ([KEY, ""], [KEY, 5], [OLD_KEY, KEY, None]):
        with pytest.raises(ConfigurationError) as caught:
            bill_fastapi.WebhookVerifier(bad)
        texts.append(f"{caught.value} {caught.value!r}")
    app = FastAPI()
    app.include_router(router)
    async with client_for(app) as client:
        body = notification()
        for key in ("a-guessed-key", KEY):
            response = await deliver(client, body, key=key)
            texts.append(response.text)
    texts.extend(record.getMessage() for record in caplog.records)
    joined = "\n".join(texts)
    assert KEY not in joined and OLD_KEY not in joined
    assert KEY.encode().hex() not in joined


# --------------------------------------------------------------------------- body cap


class ChunkedBody:
    """An ASGI receive() sending ``chunks`` chunks of ``size`` bytes; counts how many the app read."""

    def __init__(self, chunks: int, size: int = 64 * 1024) -> None:
        self.chunks = chunks
        self.size = size
        self.read = 0

    async def __call__(self) -> dict[str, Any]:
        if self.read >= self.chunks:
            await asyncio.Event().wait()  # the client sent everything; only a disconnect would follow
        self.read += 1
        return {"type": "http.request", "body": b" " * self.size, "more_body": self.read < self.chunks}


async def call_asgi(app: FastAPI, receive: Callable[[], Awaitable[dict[str, Any]]], headers: dict[str, str]) -> int:
    """One POST to ``PATH`` straight through ASGI; returns the response status."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("receiver.test", 80),
        "state": {},
    }
    await app(scope, receive, send)
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    status: int = start["status"]
    return status


@pytest.mark.parametrize("receiver", ["verifier", "router"])
async def test_a_chunked_body_over_the_default_cap_gets_413_without_reading_the_rest(receiver: str) -> None:
    work = Work()
    app = verifier_app(work) if receiver == "verifier" else router_app(work)
    body = ChunkedBody(chunks=400)  # 25 MiB, no Content-Length
    status = await call_asgi(app, body, {"content-type": "application/json", webhooks.SIGNATURE_HEADER: "x"})
    assert status == 413
    assert body.read * body.size <= 16 * 1024 * 1024  # stopped at the cap, well before the end
    assert work.runs == []


@pytest.mark.parametrize("receiver", ["verifier", "router"])
async def test_a_content_length_over_the_cap_gets_413_before_any_body_is_read(receiver: str) -> None:
    work = Work()
    app = verifier_app(work, max_body_bytes=1_000) if receiver == "verifier" else router_app(work, max_body_bytes=1_000)
    body = ChunkedBody(chunks=1, size=1_001)
    status = await call_asgi(
        app, body, {"content-type": "application/json", "content-length": "1001", webhooks.SIGNATURE_HEADER: "x"}
    )
    assert status == 413
    assert body.read == 0
    assert work.runs == []


async def test_the_body_cap_is_configurable_and_a_body_at_the_cap_is_accepted() -> None:
    work = Work()
    at_cap = notification("evt-at-cap")
    app = verifier_app(work, max_body_bytes=len(at_cap))
    async with client_for(app) as client:
        accepted = await deliver(client, at_cap)
        over = await deliver(client, notification("evt-over-c", extra=b" "))  # one byte over
    assert (accepted.status_code, over.status_code) == (200, 413)
    assert work.runs == ["evt-at-cap"]


def test_the_default_cap_is_a_few_mib() -> None:
    assert 1024 * 1024 <= bill_fastapi.DEFAULT_MAX_BODY_BYTES <= 16 * 1024 * 1024


@pytest.mark.parametrize("value", [0, -1])
def test_a_cap_that_is_not_positive_is_refused(value: int) -> None:
    with pytest.raises(ConfigurationError, match="max_body_bytes"):
        bill_fastapi.WebhookVerifier(KEY, max_body_bytes=value)


async def test_a_request_whose_content_length_is_not_a_number_gets_400() -> None:
    app = verifier_app(Work())
    status = await call_asgi(
        app,
        ChunkedBody(chunks=1, size=10),
        {"content-type": "application/json", "content-length": "ten", webhooks.SIGNATURE_HEADER: "x"},
    )
    assert status == 400


# --------------------------------------------------------------------------- exact amounts


@pytest.mark.parametrize("amount", ["100.10", "1234567890123456.78", "0.07", "19.990", "12345678901234567890.1"])
def test_entity_amounts_are_decimals_with_every_digit(amount: str) -> None:
    event = webhooks.parse_event(notification(amount=amount))
    assert event.entity["amount"] == Decimal(amount)
    assert isinstance(event.entity["amount"], Decimal)
    assert str(event.entity["amount"]) == amount
    assert event.raw["bill"]["dueAmount"] == Decimal(amount)


def test_a_double_encoded_body_keeps_every_digit_too() -> None:
    event = webhooks.parse_event(json.dumps(notification(amount="100.10").decode()).encode())
    assert str(event.entity["amount"]) == "100.10"


def test_the_typed_entity_is_the_generated_model_with_exact_amounts() -> None:
    typed = webhooks.parse_event(notification(amount="1234567890123456.78")).typed_entity()
    assert isinstance(typed, Bill)
    assert typed.amount == Decimal("1234567890123456.78") and str(typed.amount) == "1234567890123456.78"
    assert typed.to_dict()["amount"] == Decimal("1234567890123456.78")


def test_asking_for_the_model_gives_it_typed_or_refuses_another_kind() -> None:
    event = webhooks.parse_event(notification())
    bill = event.typed_entity(Bill)
    assert isinstance(bill, Bill) and bill.vendor_id == "00901"
    with pytest.raises(
        webhooks.WebhookPayloadError, match=r"bill.created event is about a 'bill' entity, not a Vendor"
    ):
        event.typed_entity(Vendor)


def test_webhook_entity_is_the_union_of_the_entity_models_at_run_time_too() -> None:
    assert isinstance(webhooks.parse_event(notification()).typed_entity(), webhooks.WebhookEntity)
    assert not isinstance({"id": "x"}, webhooks.WebhookEntity)
    with pytest.raises(AttributeError):
        webhooks.NoSuchThing  # noqa: B018


async def test_the_handler_receives_exact_amounts() -> None:
    seen: list[Any] = []

    async def handler(event: webhooks.WebhookEvent) -> None:
        seen.append(event.entity["amount"])

    async with client_for(router_app(handler)) as client:
        assert (await deliver(client, notification(amount="100.10"))).status_code == 200
    assert [str(a) for a in seen] == ["100.10"]
