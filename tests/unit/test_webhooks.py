"""Behaviour of bill_sdk.webhooks: signatures, event parsing and redelivery dedupe."""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import sys
import types
from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from bill_sdk.errors import ArgumentError, BillError, ConfigurationError
from bill_sdk.webhooks import (
    SIGNATURE_HEADER,
    ClaimOutcome,
    InMemoryDedupeStore,
    WebhookError,
    WebhookEvent,
    WebhookPayloadError,
    WebhookSignatureError,
    construct_event,
    parse_event,
    sign,
    verify_signature,
)

KEY = "current-security-key"
OLD_KEY = "previous-security-key"


def notification(event_type: str, entity_key: str | None = None, **entity: Any) -> bytes:
    """A body shaped like BILL's notification payloads."""
    payload: dict[str, Any] = {
        "metadata": {
            "eventId": "625947c4-8e6b-48f0-ae72-ea9c9375ec27",
            "subscriptionId": "sub-1",
            "organizationId": "00801ABC",
            "eventType": event_type,
            "version": "1",
        }
    }
    if entity_key is not None:
        payload[entity_key] = entity
    return json.dumps(payload, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- signatures


def test_sign_matches_the_published_hmac_sha256_test_vector() -> None:
    # HMAC_SHA256("key", "The quick brown fox jumps over the lazy dog") =
    # f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8
    expected = base64.b64encode(
        bytes.fromhex("f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    ).decode()
    assert sign(b"The quick brown fox jumps over the lazy dog", "key") == expected
    assert sign(b"The quick brown fox jumps over the lazy dog", b"key") == expected


def test_correct_signature_is_accepted() -> None:
    body = notification("bill.created", "bill", id="00n01")
    verify_signature(body, sign(body, KEY), KEY)


def test_whitespace_around_the_header_value_is_tolerated() -> None:
    body = b'{"a":1}'
    verify_signature(body, f"  {sign(body, KEY)}\n", KEY)


def test_old_and_new_keys_are_both_accepted_during_rotation() -> None:
    body = b'{"a":1}'
    verify_signature(body, sign(body, OLD_KEY), [OLD_KEY, KEY])
    verify_signature(body, sign(body, KEY), [OLD_KEY, KEY.encode()])


def test_signature_made_with_another_key_is_rejected() -> None:
    body = b'{"a":1}'
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(body, sign(body, "attacker-key"), [OLD_KEY, KEY])


def test_tampered_body_is_rejected() -> None:
    body = notification("payment.updated", "payment", amount=10)
    signature = sign(body, KEY)
    tampered = body.replace(b'"amount":10', b'"amount":99')
    with pytest.raises(WebhookSignatureError):
        verify_signature(tampered, signature, KEY)


def test_reserialised_json_does_not_verify_so_raw_bytes_must_be_used() -> None:
    body = b'{"metadata": {"eventId": "e"}}'
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(WebhookSignatureError):
        verify_signature(reserialised, sign(body, KEY), KEY)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_signature_header_is_rejected(header: str | None) -> None:
    with pytest.raises(WebhookSignatureError, match="missing"):
        verify_signature(b"{}", header, KEY)


@pytest.mark.parametrize("header", ["not base64!!", "YWJ", "ключ"])
def test_malformed_base64_is_rejected(header: str) -> None:
    with pytest.raises(WebhookSignatureError, match="base64"):
        verify_signature(b"{}", header, KEY)


def test_base64_of_the_wrong_length_is_rejected() -> None:
    with pytest.raises(WebhookSignatureError, match="length"):
        verify_signature(b"{}", base64.b64encode(b"x" * 16).decode(), KEY)


def test_hex_signature_is_rejected() -> None:
    body = b"{}"
    hex_digest = base64.b64decode(sign(body, KEY)).hex()
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, hex_digest, KEY)


def test_error_messages_never_contain_a_key_or_the_expected_signature() -> None:
    body = b'{"a":1}'
    expected = sign(body, KEY)
    for header in (None, "bad!", sign(body, "other")):
        with pytest.raises(WebhookSignatureError) as caught:
            verify_signature(body, header, [OLD_KEY, KEY])
        text = f"{caught.value} {caught.value!r}"
        assert KEY not in text
        assert OLD_KEY not in text
        assert expected not in text


@pytest.mark.parametrize("keys", ["", b"", [], [KEY, ""]])
def test_empty_key_is_a_configuration_error_not_a_match(keys: Any) -> None:
    # An empty key (e.g. an unset env var) would let anyone sign.
    body = b"{}"
    with pytest.raises(ConfigurationError):
        verify_signature(body, sign(body, "x"), keys)


def test_webhook_errors_are_bill_errors() -> None:
    assert issubclass(WebhookSignatureError, WebhookError)
    assert issubclass(WebhookPayloadError, WebhookError)
    assert issubclass(WebhookError, BillError)


@given(body=st.binary(max_size=512), signature=st.text(max_size=100))
def test_random_signatures_are_never_accepted(body: bytes, signature: str) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, signature, [OLD_KEY, KEY])


@given(body=st.binary(max_size=512), key=st.text(min_size=1, max_size=40))
def test_signature_from_any_other_key_is_never_accepted(body: bytes, key: str) -> None:
    if key in (KEY, OLD_KEY):
        return
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, sign(body, key), [OLD_KEY, KEY])


@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_any_single_byte_change_is_detected(body: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(body)
    changed[index] ^= flip
    with pytest.raises(WebhookSignatureError):
        verify_signature(bytes(changed), sign(body, KEY), KEY)


# --------------------------------------------------------------------------- parsing


def test_bill_event_exposes_metadata_and_entity() -> None:
    event = parse_event(notification("bill.created", "bill", id="00n01", amount=5))
    assert event.event_id == "625947c4-8e6b-48f0-ae72-ea9c9375ec27"
    assert event.subscription_id == "sub-1"
    assert event.organization_id == "00801ABC"
    assert event.event_type == "bill.created"
    assert event.version == "1"
    assert event.entity_type == "bill"
    assert event.entity == {"id": "00n01", "amount": 5}
    assert event.raw["metadata"]["eventType"] == "bill.created"


@pytest.mark.parametrize("entity_key", ["bank-account", "card-account", "risk-verification"])
def test_hyphenated_entity_keys_are_found(entity_key: str) -> None:
    event = parse_event(notification(f"{entity_key}.updated", entity_key, id="x1"))
    assert event.entity_type == entity_key
    assert event.entity == {"id": "x1"}


@pytest.mark.parametrize(
    ("event_type", "entity_key"),
    [
        ("spend.transaction.updated", "transaction"),
        ("spend.reimbursement.deleted", "reimbursement"),
        ("spend.three-ds-challenge.created", "threeDsChallenge"),
    ],
)
def test_spend_events_use_their_short_entity_key(event_type: str, entity_key: str) -> None:
    event = parse_event(notification(event_type, entity_key, uuid="u1"))
    assert event.entity_type == entity_key
    assert event.entity == {"uuid": "u1"}


@pytest.mark.parametrize(
    ("event_type", "entity_key"),
    [
        ("bill.updated", "bill"),
        ("spend.transaction.updated", "transaction"),
        ("spend.three-ds-challenge.created", "threeDsChallenge"),
    ],
)
def test_entity_is_chosen_by_event_type_when_other_objects_are_present(event_type: str, entity_key: str) -> None:
    payload = json.loads(notification(event_type, entity_key, id="e1"))
    payload["createdBy"] = {"userId": "006u"}
    event = parse_event(json.dumps(payload))
    assert event.entity_type == entity_key
    assert event.entity == {"id": "e1"}


def test_unknown_event_type_with_one_object_uses_that_object() -> None:
    event = parse_event(notification("autopay.failed", "bill", id="00n9"))
    assert event.event_type == "autopay.failed"
    assert event.entity_type == "bill"
    assert event.entity == {"id": "00n9"}


def test_unknown_event_type_without_entity_still_parses() -> None:
    event = parse_event(notification("widget.exploded"))
    assert event.entity_type == "widget"
    assert event.entity == {}


def test_double_encoded_body_is_decoded_once_more() -> None:
    inner = notification("vendor.created", "vendor", id="009v")
    event = parse_event(json.dumps(inner.decode()).encode())
    assert event.entity_type == "vendor"
    assert event.entity == {"id": "009v"}


def test_body_given_as_str_is_accepted() -> None:
    event = parse_event(notification("invoice.updated", "invoice", id="i1").decode())
    assert event.entity == {"id": "i1"}


def test_numeric_version_is_read_as_text() -> None:
    payload = {"metadata": {"eventId": "e", "eventType": "bill.updated", "version": 1}}
    assert parse_event(json.dumps(payload)).version == "1"


def test_missing_optional_metadata_is_none() -> None:
    event = parse_event(b'{"metadata":{"eventId":"e","eventType":"bill.updated"}}')
    assert (event.subscription_id, event.organization_id, event.version) == (
        None,
        None,
        None,
    )


def test_event_repr_does_not_dump_business_data() -> None:
    event = parse_event(notification("bank-account.updated", "bank-account", nickname="Ops"))
    assert "Ops" not in repr(event)
    assert "bank-account.updated" in repr(event)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'"just text"', "not valid JSON"),
        (json.dumps(json.dumps([1])).encode(), "not a JSON object"),
        (b'{"bill": {}}', "no metadata"),
        (b'{"metadata": "x"}', "no metadata"),
        (b'{"metadata": {"eventType": "bill.created"}}', "no eventId"),
        (b'{"metadata": {"eventId": 5, "eventType": "bill.created"}}', "no eventId"),
        (b'{"metadata": {"eventId": "e"}}', "no eventType"),
        (b"[" * 50_000 + b"]" * 50_000, "not valid JSON"),
    ],
)
def test_bodies_that_are_not_notifications_raise_payload_error(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookPayloadError, match=reason):
        parse_event(body)


def test_construct_event_checks_the_signature_before_parsing() -> None:
    with pytest.raises(WebhookSignatureError):
        construct_event(b"{not json", sign(b"other", KEY), KEY)
    body = notification("vendor.updated", "vendor", id="v")
    assert construct_event(body, sign(body, KEY), KEY).entity == {"id": "v"}


def test_signature_header_name_is_bills() -> None:
    assert SIGNATURE_HEADER == "x-bill-sha-signature"


# --------------------------------------------------------------------------- typed entity


class FakeBill:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FakeBill:
        return cls(data)


def _bill_event() -> WebhookEvent:
    return parse_event(notification("bill.created", "bill", id="00n01"))


def test_typed_entity_is_the_raw_dict_while_models_are_not_generated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A None entry makes the import fail exactly as a missing module would.
    monkeypatch.setitem(sys.modules, "bill_sdk._generated.models", None)
    assert _bill_event().typed_entity() == {"id": "00n01"}


def test_typed_entity_builds_the_generated_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models = types.ModuleType("bill_sdk._generated.models")
    models.Bill = FakeBill  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bill_sdk._generated.models", models)
    typed = _bill_event().typed_entity()
    assert isinstance(typed, FakeBill)
    assert typed.data == {"id": "00n01"}


def test_typed_entity_maps_hyphenated_keys_to_model_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models = types.ModuleType("bill_sdk._generated.models")
    models.BankAccount = FakeBill  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bill_sdk._generated.models", models)
    event = parse_event(notification("bank-account.created", "bank-account", id="b"))
    assert isinstance(event.typed_entity(), FakeBill)


def test_typed_entity_is_raw_when_the_model_class_is_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "bill_sdk._generated.models", types.ModuleType("models"))
    assert _bill_event().typed_entity() == {"id": "00n01"}


def test_typed_entity_is_raw_for_entities_without_a_model() -> None:
    event = parse_event(notification("spend.transaction.updated", "transaction", uuid="u"))
    assert event.typed_entity() == {"uuid": "u"}


def test_a_broken_generated_package_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_import(name: str) -> types.ModuleType:
        raise ModuleNotFoundError("No module named 'dateutil'", name="dateutil")

    monkeypatch.setattr(importlib, "import_module", broken_import)
    with pytest.raises(ModuleNotFoundError):
        _bill_event().typed_entity()


# --------------------------------------------------------------------------- dedupe


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.asyncio
async def test_an_event_id_is_claimed_only_once() -> None:
    store = InMemoryDedupeStore()
    assert await store.claim("e1") is ClaimOutcome.CLAIMED
    assert await store.claim("e1") is ClaimOutcome.IN_PROGRESS
    assert await store.claim("e2") is ClaimOutcome.CLAIMED


@pytest.mark.asyncio
async def test_a_completed_event_id_is_reported_completed() -> None:
    store = InMemoryDedupeStore()
    await store.claim("e1")
    await store.complete("e1")
    assert await store.claim("e1") is ClaimOutcome.COMPLETED


@pytest.mark.asyncio
async def test_released_event_id_can_be_claimed_again() -> None:
    store = InMemoryDedupeStore()
    await store.claim("e1")
    await store.release("e1")
    assert await store.claim("e1") is ClaimOutcome.CLAIMED
    await store.release("never-claimed")  # no error


@pytest.mark.asyncio
async def test_claims_expire_after_the_claim_ttl() -> None:
    clock = FakeClock()
    store = InMemoryDedupeStore(claim_ttl_seconds=60, clock=clock)
    await store.claim("e1")
    clock.now += 59
    assert await store.claim("e1") is ClaimOutcome.IN_PROGRESS
    clock.now += 2
    assert await store.claim("e1") is ClaimOutcome.CLAIMED


@pytest.mark.asyncio
async def test_completions_expire_after_the_retention_period() -> None:
    clock = FakeClock()
    store = InMemoryDedupeStore(retention_seconds=600, claim_ttl_seconds=60, clock=clock)
    await store.claim("e1")
    await store.complete("e1")
    clock.now += 599
    assert await store.claim("e1") is ClaimOutcome.COMPLETED
    clock.now += 2
    assert await store.claim("e1") is ClaimOutcome.CLAIMED


@pytest.mark.asyncio
async def test_store_is_bounded_and_forgets_the_oldest_first() -> None:
    store = InMemoryDedupeStore(max_entries=2)
    for event_id in ("e1", "e2", "e3"):
        await store.claim(event_id)
    assert len(store) == 2
    assert await store.claim("e3") is ClaimOutcome.IN_PROGRESS
    assert await store.claim("e1") is ClaimOutcome.CLAIMED
    for event_id in ("e1", "e2", "e3"):
        await store.complete(event_id)
    assert await store.claim("e3") is ClaimOutcome.COMPLETED
    assert await store.claim("e1") is ClaimOutcome.CLAIMED


@pytest.mark.asyncio
async def test_concurrent_deliveries_of_one_event_get_exactly_one_claim() -> None:
    store = InMemoryDedupeStore()
    results = await asyncio.gather(*(store.claim("same") for _ in range(50)))
    assert results.count(ClaimOutcome.CLAIMED) == 1


def test_store_works_under_trio() -> None:
    store = InMemoryDedupeStore()
    results: list[ClaimOutcome] = []

    async def deliver() -> None:
        results.append(await store.claim("same"))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(deliver)

    trio.run(main)
    assert results.count(ClaimOutcome.CLAIMED) == 1
    assert len(results) == 20


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_entries": 0},
        {"retention_seconds": 0},
        {"retention_seconds": -1},
        {"claim_ttl_seconds": 0},
        {"claim_ttl_seconds": -1},
    ],
)
def test_store_rejects_meaningless_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ArgumentError):
        InMemoryDedupeStore(**kwargs)  # type: ignore[arg-type]


def test_claim_outcomes_are_their_string_values() -> None:
    # A store backed by Redis or SQL may return the plain strings.
    assert [ClaimOutcome(v) for v in ("claimed", "in_progress", "completed")] == list(ClaimOutcome)
