"""What a handler gives back: :class:`Reply` (status, JSON-able body or raw bytes, headers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


@dataclass
class Reply:
    status: int
    body: Any = NO_BODY  # JSON-able value, bytes (sent as is), or NO_BODY
    headers: dict[str, str] = field(default_factory=dict)
    validate: bool = True  # False for deliberately off-spec bodies (fault injection)
