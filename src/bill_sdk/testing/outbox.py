"""The outbox: what changed in the state, published by the resource service and read by the webhook deliverer.

The publisher does not know who reads; readers subscribe at wiring time (``FakeBill``). Readers run
synchronously, in publication order, inside the request that made the change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One object of `collection` in `scope` was ``created`` | ``updated`` | ``archived`` | ``restored``."""

    scope: str
    collection: str
    action: str
    data: dict[str, Any]  # the stored object (live: read it, do not keep it)


Reader = Callable[[Change], None]


class Outbox:
    def __init__(self) -> None:
        self._readers: list[Reader] = []
        self.published = 0

    def subscribe(self, reader: Reader) -> None:
        self._readers.append(reader)

    def publish(self, change: Change) -> None:
        self.published += 1
        for reader in self._readers:
            reader(change)
