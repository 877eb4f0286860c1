"""``X-Idempotent-Key`` for the operations that declare it (webhook subscription create, security-key rotation).

* missing key -> 400 ``BDC_1108``; not a UUID4 -> 400 ``BDC_1129``;
* the same key again after a success -> the first response, replayed (kept 24 h by the fake's clock);
* the same key while the first request is still running -> 429 (code ``BDC_1322``: BILL documents the status
  but no code; the concurrency code makes clients back off and retry, which then gets the replay);
* a key whose first request failed is released, so a corrected retry can use it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bill_sdk.testing.bdc import ErrorReply, invalid_value, missing
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.spec import SpecOperation

TTL_SECONDS = 24 * 3600


@dataclass
class _Entry:
    reply: Reply | None  # None while in flight
    at: float


@dataclass(frozen=True)
class Claim:
    slot: tuple[str, str, str, str]


def is_uuid4(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value.lower()


class IdempotencyStore:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._entries: dict[tuple[str, str, str, str], _Entry] = {}

    def begin(self, scope: str, op: SpecOperation, path: str, headers: Mapping[str, str]) -> Claim | Reply | None:
        """None: not an idempotent operation. Reply: answer with it (replay). Claim: go ahead, then finish()."""
        param = op.idempotency_param
        if param is None:
            return None
        key = headers.get(param.name)
        if not key:
            raise missing(param.name)
        if not is_uuid4(key):
            raise invalid_value(param.name, key)
        slot = (scope, op.method, path, key.lower())
        entry = self._entries.get(slot)
        if entry is not None and self.clock() - entry.at > TTL_SECONDS:
            del self._entries[slot]
            entry = None
        if entry is not None:
            if entry.reply is None:
                raise ErrorReply(429, "BDC_1322", f"A request with this {param.name} is still in progress.")
            return copy.deepcopy(entry.reply)
        self._entries[slot] = _Entry(None, self.clock())
        return Claim(slot)

    def finish(self, claim: Claim, reply: Reply | None) -> None:
        """Keep a successful reply for replays; release the key after a failure (reply None or not 2xx)."""
        if reply is not None and 200 <= reply.status < 300:
            self._entries[claim.slot] = _Entry(copy.deepcopy(reply), self.clock())
        else:
            self._entries.pop(claim.slot, None)
