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
  once: :class:`DedupeStore` lets a receiver do the work once, counting an
  event as handled only after its work succeeded.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import hmac
import importlib
import operator
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import attrs

from bill_sdk._json import JSONDecodeError, loads_json
from bill_sdk.errors import ArgumentError, BillError, ConfigurationError

__all__ = [
    "SIGNATURE_HEADER",
    "ClaimOutcome",
    "DedupeStore",
    "InMemoryDedupeStore",
    "WebhookError",
    "WebhookEvent",
    "WebhookKey",
    "WebhookKeys",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "construct_event",
    "parse_event",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "x-bill-sha-signature"

WebhookKey = str | bytes | bytearray | memoryview
"""One security key: BILL's ``securityKey`` string (its UTF-8 bytes are the HMAC key), or those bytes."""

WebhookKeys = WebhookKey | Sequence[WebhookKey]
"""One security key, or several while a rotation is in progress (every one listed is accepted)."""

_DIGEST_SIZE = hashlib.sha256().digest_size


class WebhookError(BillError):
    """Base class of the errors raised while receiving a webhook notification."""


class WebhookSignatureError(WebhookError):
    """Raised when the signature header is missing, malformed, or matches no key."""


class WebhookPayloadError(WebhookError):
    """Raised when a (correctly signed) body is not a BILL notification."""


# --------------------------------------------------------------------------- signature


def sign(body: bytes, key: WebhookKey) -> str:
    """Return the ``x-bill-sha-signature`` value BILL would send for ``body``."""
    return base64.b64encode(_digest(body, _key_bytes(key))).decode("ascii")


def verify_signature(body: bytes, signature: str | None, keys: WebhookKeys) -> None:
    """Check ``signature`` against the raw ``body``; raise :class:`WebhookSignatureError` if bad.

    Every key in ``keys`` is tried, so the old and the new key both work while
    a ``securityKey`` rotation is rolled out. A key may be ``str`` (its UTF-8
    bytes), ``bytes``, ``bytearray`` or ``memoryview``: the same key in any form.
    No key, an empty key (it would let anyone sign) or a key of another type is
    a :class:`ConfigurationError` naming its position, not a signature failure.
    """
    _verify(body, signature, _normalize_keys(keys))


def _verify(body: bytes, signature: str | None, keys: Sequence[bytes]) -> None:
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
    matches = [hmac.compare_digest(received, _digest(body, key)) for key in keys]
    if not any(matches):
        raise WebhookSignatureError("webhook signature does not match any configured key")


def _digest(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


_KEY_TYPES = (str, bytes, bytearray, memoryview)


def _key_bytes(key: object, position: int | None = None) -> bytes:
    """One key as HMAC key bytes; errors name the key's position and type, never its value."""
    where = "webhook security key" if position is None else f"webhook security key at position {position}"
    if isinstance(key, str):
        # BILL hands out the securityKey as a string; its UTF-8 bytes are the HMAC key.
        try:
            raw = key.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigurationError(f"{where} is not valid Unicode text") from None
    elif isinstance(key, bytes | bytearray):
        raw = bytes(key)
    elif isinstance(key, memoryview):
        raw = key.tobytes()
    else:
        raise ConfigurationError(f"{where} is a {type(key).__name__}; expected str, bytes, bytearray or memoryview")
    if not raw:
        raise ConfigurationError(f"{where} is empty (an empty key would let anyone sign)")
    return raw


def _normalize_keys(keys: object) -> tuple[bytes, ...]:
    """Every configured key as bytes, checked: the one place keys are turned into HMAC keys."""
    if isinstance(keys, _KEY_TYPES):
        return (_key_bytes(keys),)
    if not isinstance(keys, Iterable) or isinstance(keys, dict):
        raise ConfigurationError(
            f"webhook security keys are a {type(keys).__name__}; expected a key (str, bytes, bytearray or "
            "memoryview) or a list of keys"
        )
    items = tuple(_key_bytes(key, position) for position, key in enumerate(keys))
    if not items:
        raise ConfigurationError("no webhook security key configured")
    return items


class _KeyRing:
    """Checked keys, kept out of reprs (they are secrets): ``repr`` tells only how many there are."""

    __slots__ = ("keys",)

    def __init__(self, keys: WebhookKeys) -> None:
        self.keys = _normalize_keys(keys)

    def __repr__(self) -> str:
        return f"<{len(self.keys)} webhook security key{'s' if len(self.keys) != 1 else ''}>"


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

if TYPE_CHECKING:
    from bill_sdk._generated.models import (
        BankAccount,
        Bill,
        CardAccount,
        Invoice,
        Payment,
        RiskVerification,
        Vendor,
    )

    # What typed_entity() can return (the models of _MODEL_NAMES): narrow it with isinstance() or match, or ask
    # for one: typed_entity(Bill).
    WebhookEntity = Bill | Vendor | Payment | Invoice | BankAccount | CardAccount | RiskVerification

M = TypeVar("M")


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

    @overload
    def typed_entity(self) -> WebhookEntity | dict[str, Any]: ...

    @overload
    def typed_entity(self, model: type[M]) -> M: ...

    def typed_entity(self, model: type[Any] | None = None) -> Any:
        """The entity as a generated model, typed.

        ``typed_entity()``: the model for the event's entity (``Bill`` for ``bill.created``, ...; see
        ``WebhookEntity``), or the raw dict for an entity the SDK has no model for.
        ``typed_entity(Bill)``: that model, or :class:`WebhookPayloadError` if the event is about something else,
        so a handler gets the type it expects or a clear error, never an object of another kind.
        """
        found = _model_for(self.entity_type)
        if model is not None and found is not model:
            wanted = getattr(model, "__name__", repr(model))
            raise WebhookPayloadError(
                f"a {self.event_type} event is about a {self.entity_type!r} entity, not a {wanted}"
            )
        return found.from_dict(self.entity) if found is not None else self.entity


def __getattr__(name: str) -> Any:
    if name == "WebhookEntity":  # at run time too (isinstance(x, WebhookEntity)); importing it loads the models
        models = importlib.import_module(_MODELS_MODULE)
        return functools.reduce(
            operator.or_, (getattr(models, model) for model in dict.fromkeys(_MODEL_NAMES.values()))
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    Every non-integer number is a :class:`decimal.Decimal` with the digits BILL
    sent (``100.10`` stays ``Decimal("100.10")``). Unknown event types parse too (BILL's catalog grows); their entity is
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
    # The SDK's exact-decimal loader: 100.10 stays Decimal("100.10"), a 16-digit amount keeps every digit.
    try:
        text = bytes(body).decode("utf-8") if not isinstance(body, str) else body
    except UnicodeDecodeError:
        raise WebhookPayloadError("webhook body is not UTF-8") from None
    try:
        return loads_json(text)
    except JSONDecodeError:
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


class ClaimOutcome(enum.StrEnum):
    """What :meth:`DedupeStore.claim` found; a store may return these or their string values."""

    CLAIMED = "claimed"
    """The event was neither completed nor claimed: the caller now holds a claim and must do the work."""
    IN_PROGRESS = "in_progress"
    """Another delivery holds an unexpired claim: its work may still fail, so this one must not be answered 200."""
    COMPLETED = "completed"
    """The work for the event already succeeded: answer 200 and do nothing."""


class DedupeStore(Protocol):
    """Which eventIds are being handled or were handled, so each event's work runs once and is never lost.

    An eventId is in one of three states: *new*, *claimed* (a delivery is doing
    its work) or *completed* (the work succeeded). A receiver calls ``claim``
    when a verified delivery arrives; if it got the claim it does the work,
    then calls ``complete`` on success or ``release`` on failure. A claim
    expires after the store's *claim TTL*, so a delivery that never finished
    (the process died) does not block the event forever; choose a claim TTL
    longer than the work takes. A completion is remembered for the store's
    *retention* period (and may be dropped earlier only to bound the store's
    size); after that a re-send of the event runs again.

    The receivers in :mod:`bill_sdk.fastapi` answer ``IN_PROGRESS`` with 409
    (BILL retries it) and ``COMPLETED`` with 200. To share one store between
    processes, implement the three methods on a shared database, e.g. Redis:
    ``claim`` = ``SET evt:<id> claimed NX PX <claim TTL>`` (if that fails,
    ``GET`` tells ``completed`` from ``claimed``), ``complete`` = ``SET evt:<id>
    completed PX <retention>``, ``release`` = delete the key only while it still
    holds ``claimed`` (a small Lua script). On a SQL table keyed by eventId:
    ``claim`` is an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE state = 'claimed'
    AND claim_expires_at < now()`` whose row count says whether it won.
    """

    async def claim(self, event_id: str) -> ClaimOutcome:
        """Atomically take a claim on ``event_id`` if it is neither completed nor claimed.

        Returns ``COMPLETED`` if the event was completed within the retention
        period, ``IN_PROGRESS`` if another claim on it has not expired yet, and
        otherwise records a claim that expires after the claim TTL and returns
        ``CLAIMED``. Of concurrent calls for one event (in any process sharing
        the store) at most one gets ``CLAIMED``.
        """
        ...

    async def complete(self, event_id: str) -> None:
        """Mark ``event_id`` handled (its work succeeded) and drop its claim.

        Later claims return ``COMPLETED`` for at least the retention period,
        unless the store must drop old completions to stay within its size.
        """
        ...

    async def release(self, event_id: str) -> None:
        """Drop the claim on ``event_id`` (its work failed), so the next delivery of it runs.

        Never forgets a completion; releasing an event that is not claimed does nothing.
        """
        ...


class InMemoryDedupeStore:
    """A per-process :class:`DedupeStore`, bounded in size and age.

    A claim expires after ``claim_ttl_seconds`` (default 15 minutes: longer
    than any handler should run, so a slow one is not run twice at once). A
    completion is remembered for ``retention_seconds`` (default 7 days: BILL's
    automatic retries end within minutes; a manual re-send after that is
    intentional), and at most ``max_entries`` completions (and as many claims)
    are kept, the oldest dropped first. The methods never await while touching
    state, so they are atomic under asyncio and trio alike. ``clock`` (seconds,
    monotonic) is injectable for tests. Use a shared store when several
    processes receive events (see :class:`DedupeStore`).
    """

    def __init__(
        self,
        max_entries: int = 100_000,
        retention_seconds: float = 7 * 24 * 3600,
        *,
        claim_ttl_seconds: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ArgumentError("max_entries must be at least 1")
        if retention_seconds <= 0:
            raise ArgumentError("retention_seconds must be positive")
        if claim_ttl_seconds <= 0:
            raise ArgumentError("claim_ttl_seconds must be positive")
        self._max_entries = max_entries
        self._retention = retention_seconds
        self._claim_ttl = claim_ttl_seconds
        self._clock = clock
        # eventId -> when the entry expires; both in expiry order (one TTL each, appended in time order).
        self._claims: OrderedDict[str, float] = OrderedDict()
        self._completed: OrderedDict[str, float] = OrderedDict()

    async def claim(self, event_id: str) -> ClaimOutcome:
        """``COMPLETED``, ``IN_PROGRESS``, or a new claim (``CLAIMED``); see :meth:`DedupeStore.claim`."""
        now = self._clock()
        _drop_expired(self._completed, now)
        _drop_expired(self._claims, now)
        if event_id in self._completed:
            return ClaimOutcome.COMPLETED
        if event_id in self._claims:
            return ClaimOutcome.IN_PROGRESS
        self._claims[event_id] = now + self._claim_ttl
        while len(self._claims) > self._max_entries:
            self._claims.popitem(last=False)
        return ClaimOutcome.CLAIMED

    async def complete(self, event_id: str) -> None:
        """Remember ``event_id`` as handled for the retention period; drops its claim."""
        self._claims.pop(event_id, None)
        self._completed.pop(event_id, None)
        self._completed[event_id] = self._clock() + self._retention
        while len(self._completed) > self._max_entries:
            self._completed.popitem(last=False)

    async def release(self, event_id: str) -> None:
        """Drop the claim on ``event_id`` so the next delivery of it runs; a completion stays."""
        self._claims.pop(event_id, None)

    def __len__(self) -> int:
        return len(self._claims) + len(self._completed)

    def __repr__(self) -> str:
        return f"InMemoryDedupeStore(claimed={len(self._claims)}, completed={len(self._completed)})"


def _drop_expired(entries: OrderedDict[str, float], now: float) -> None:
    # Entries are appended in time order with one TTL, so expired ones are at the front.
    while entries:
        oldest_id, expires_at = next(iter(entries.items()))
        if expires_at > now:
            break
        del entries[oldest_id]
