"""JSON in and out: request floats parse as Decimal (exact money arithmetic); Decimals go out as numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """Minified UTF-8 JSON, as BILL sends it."""
    return json.dumps(plain(value), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
