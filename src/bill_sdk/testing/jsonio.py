"""The numbers FakeBill accepts in a JSON body.

FakeBill reads and writes JSON with the SDK's codec, :mod:`bill_sdk._json` (numbers parse as Decimal and go out
with exactly their digits, minified as BILL sends it): the codec is not what FakeBill checks the SDK on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# BILL's amounts are far below this; a number beyond it (1e5000 is valid JSON) is refused like BILL refuses a
# value of the wrong type, rather than stored and echoed with thousands of digits.
LARGEST = 10**18
MOST_DIGITS = 24


def out_of_range(value: Any, where: str = "") -> str | None:
    """The path of the first number in `value` that no BILL field can hold, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        if not number.is_finite() or abs(number) >= LARGEST or len(number.as_tuple().digits) > MOST_DIGITS:
            return where or "body"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = out_of_range(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = out_of_range(item, f"{where}[{i}]")
            if found:
                return found
    return None
