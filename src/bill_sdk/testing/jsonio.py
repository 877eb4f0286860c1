"""JSON in and out: numbers parse as Decimal (exact money arithmetic) and go out with exactly their digits."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bill_sdk._json import dumps_json


def loads(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)


def dumps(value: Any) -> bytes:
    """Minified JSON, as BILL sends it; a Decimal keeps its digits (``250.00`` stays ``250.00``)."""
    return dumps_json(value)
