"""Receiving BILL webhook notifications: signature check, parsing, redelivery dedupe.

What BILL does (Connect Events docs, cross-cutting §7):

* Every notification carries ``x-bill-sha-signature``: base64 of HMAC-SHA256
  keyed with the subscription's ``securityKey``. The signing input is the body
  as sent, so verification uses the raw request bytes, never re-serialised JSON.
* The body is ``{"metadata": {eventId, subscriptionId, organizationId,
  eventType, version}, "<entity>": {...}}``. The entity key is the event-type
  prefix and may be hyphenated (``bank-account``); Spend events use the short
  camelCase name instead (``spend.transaction.updated`` -> ``transaction``,
  ``spend.three-ds-challenge.created`` -> ``threeDsChallenge``).
* BILL calls the payload "JSON-escaped ... presented as a string"; whether a
  POST body can be a JSON string holding JSON is unclear, so both are accepted.
* A delivery without HTTP 200 within 10 s is retried (2, 4, 8, 16 s), and
  events can be re-sent by hand, so the same ``eventId`` can arrive more than
  once: :class:`DedupeStore` lets a receiver do the work only once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from bill_sdk.errors import ArgumentError, BillError, ConfigurationError

__all__ = [
    "SIGNATURE_HEADER",
    "DedupeStore",
    "InMemoryDedupeStore",
    "WebhookError",
    "WebhookEvent",
    "WebhookKeys",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "construct_event",
    "parse_event",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "x-bill-sha-signature"

WebhookKeys = str | bytes | Sequence[str | bytes]
"""One security key, or several while a rotation is in progress."""

_DIGEST_SIZE = hashlib.sha256().digest_size


class WebhookError(BillError):
    """Base class of the errors raised while receiving a webhook notification."""


class WebhookSignatureError(WebhookError):
    """Raised when the signature header is missing, malformed, or matches no key."""


class WebhookPayloadError(WebhookError):
    """Raised when a (correctly signed) body is not a BILL notification."""


# --------------------------------------------------------------------------- signature


def sign(body: bytes, key: str | bytes) -> str:
    """Return the ``x-bill-sha-signature`` value BILL would send for ``body``."""
    return base64.b64encode(_digest(body, _key_bytes(key))).decode("ascii")


def verify_signature(body: bytes, signature: str | None, keys: WebhookKeys) -> None:
    """Check ``signature`` against the raw ``body``; raise :class:`WebhookSignatureError` if bad.

    Every key in ``keys`` is tried, so the old and the new key both work while
    a ``securityKey`` rotation is rolled out. An empty key is a configuration
    error (it would let anyone sign), not a signature failure.
    """
    key_list = _key_list(keys)
    if signature is None or not signature.strip():
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header")
    try:
        received = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} is not valid base64") from None
    if len(received) != _DIGEST_SIZE:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} has the wrong length for HMAC-SHA256")
    # Compare against every key without stopping early, so timing does not
    # reveal which key (if any) matched.
    matches = [hmac.compare_digest(received, _digest(body, key)) for key in key_list]
    if not any(matches):
        raise WebhookSignatureError("webhook signature does not match any configured key")


def _digest(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def _key_bytes(key: str | bytes) -> bytes:
    # BILL hands out the securityKey as a string; its UTF-8 bytes are the HMAC key.
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise ConfigurationError("empty webhook security key")
    return raw


def _key_list(keys: WebhookKeys) -> list[bytes]:
    items = [keys] if isinstance(keys, (str, bytes)) else list(keys)
    if not items:
        raise ConfigurationError("no webhook security key configured")
    return [_key_bytes(k) for k in items]


# --------------------------------------------------------------------------- events

# Entity key in the payload -> model class name in the generated package.
_MODEL_NAMES = {
    "bill": "Bill",
    "vendor": "Vendor",
    "payment": "Payment",
    "invoice": "Invoice",
    "bank-account": "BankAccount",
    "card-account": "CardAccount",
    "risk-verification": "RiskVerification",
}
_MODELS_MODULE = "bill_sdk._generated.models"


@attrs.frozen
class WebhookEvent:
    """One BILL notification; ``entity`` is the object it is about, as BILL sent it."""

    event_id: str
    event_type: str
    entity_type: str
    subscription_id: str | None = None
    organization_id: str | None = None
    version: str | None = None
    # Payloads carry business data (amounts, names, bank details): kept out of repr.
    entity: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    def typed_entity(self) -> Any:
        """The entity as a generated model (e.g. ``Bill``), or the raw dict if there is none."""
        model = _model_for(self.entity_type)
        return model.from_dict(self.entity) if model is not None else self.entity


def _model_for(entity_type: str) -> Any | None:
    """The generated model class for an entity key, or None.

    The only place that knows where generated models live; returns None while
    the generated package (or the class) does not exist.
    """
    name = _MODEL_NAMES.get(entity_type)
    if name is None:
        return None
    try:
        module = importlib.import_module(_MODELS_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name not in (_MODELS_MODULE, _MODELS_MODULE.rpartition(".")[0]):
            raise  # a broken generated package must not look like a missing one
        return None
    return getattr(module, name, None)


def parse_event(body: bytes | str) -> WebhookEvent:
    """Parse a notification body; raise :class:`WebhookPayloadError` if it is not one.

    Unknown event types parse too (BILL's catalog grows); their entity is
    found as described in the module docstring, else left empty.
    """
    payload = _load_json(body)
    if isinstance(payload, str):  # double-encoded: a JSON string holding the JSON
        payload = _load_json(payload)
    if not isinstance(payload, dict):
        raise WebhookPayloadError("webhook body is not a JSON object")
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict):
        raise WebhookPayloadError("webhook body has no metadata object")
    event_id = metadata.get("eventId")
    event_type = metadata.get("eventType")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookPayloadError("webhook metadata has no eventId")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookPayloadError("webhook metadata has no eventType")
    entity_type, entity = _find_entity(event_type, payload)
    return WebhookEvent(
        event_id=event_id,
        event_type=event_type,
        entity_type=entity_type,
        subscription_id=_optional_text(metadata.get("subscriptionId")),
        organization_id=_optional_text(metadata.get("organizationId")),
        version=_optional_text(metadata.get("version")),
        entity=entity,
        raw=payload,
    )


def construct_event(body: bytes, signature: str | None, keys: WebhookKeys) -> WebhookEvent:
    """Verify the signature of ``body``, then parse it."""
    verify_signature(body, signature, keys)
    return parse_event(body)


def _load_json(body: bytes | str) -> Any:
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return json.loads(text)
    except UnicodeDecodeError:
        raise WebhookPayloadError("webhook body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise WebhookPayloadError("webhook body is not valid JSON") from None


def _find_entity(event_type: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    prefix = event_type.rpartition(".")[0] or event_type
    short = prefix.rpartition(".")[2]
    for key in (prefix, short, _camel_case(short)):
        value = payload.get(key)
        if key != "metadata" and isinstance(value, dict):
            return key, value
    objects = [(k, v) for k, v in payload.items() if k != "metadata" and isinstance(v, dict)]
    if len(objects) == 1:
        return objects[0]
    return prefix, {}


def _camel_case(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _optional_text(value: object) -> str | None:
    # version is documented as a string ("1"); accept a bare number as well.
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


# --------------------------------------------------------------------------- dedupe


class DedupeStore(Protocol):
    """Remembers which event ids were already handled, so redeliveries are skipped."""

    async def claim(self, event_id: str) -> bool:
        """Return True the first time ``event_id`` is claimed, False afterwards."""
        ...

    async def release(self, event_id: str) -> None:
        """Forget ``event_id`` (its handler failed), so a later delivery is handled again."""
        ...


class InMemoryDedupeStore:
    """A per-process :class:`DedupeStore`, bounded in size and age.

    Entries expire after ``ttl_seconds`` (default 7 days: BILL's automatic
    retries end within a minute; a manual re-send after that is intentional)
    and the oldest are dropped beyond ``max_entries``. The methods never await
    while touching state, so they are safe under asyncio and trio alike. Use a
    shared store (e.g. Redis ``SET NX``) when several processes receive events.
    """

    def __init__(
        self,
        max_entries: int = 100_000,
        ttl_seconds: float = 7 * 24 * 3600,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ArgumentError("max_entries must be at least 1")
        if ttl_seconds <= 0:
            raise ArgumentError("ttl_seconds must be positive")
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()  # oldest claim first

    async def claim(self, event_id: str) -> bool:
        """Return True the first time ``event_id`` is claimed (within the TTL), False afterwards."""
        now = self._clock()
        self._drop_expired(now)
        if event_id in self._expiry:
            return False
        self._expiry[event_id] = now + self._ttl
        while len(self._expiry) > self._max_entries:
            self._expiry.popitem(last=False)
        return True

    async def release(self, event_id: str) -> None:
        """Forget ``event_id`` so the next delivery of it is handled again."""
        self._expiry.pop(event_id, None)

    def __len__(self) -> int:
        return len(self._expiry)

    def _drop_expired(self, now: float) -> None:
        # Claims are appended in time order with one TTL, so expired ones are at the front.
        while self._expiry:
            oldest_id, expires_at = next(iter(self._expiry.items()))
            if expires_at > now:
                break
            del self._expiry[oldest_id]
