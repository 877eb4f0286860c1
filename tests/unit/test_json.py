"""The SDK's JSON decoding: exact numbers, and refusal of what is not strict JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bill_sdk._json import JSONDecodeError, dumps_json, loads_json


def test_non_integers_are_exact_decimals_and_integers_exact_ints() -> None:
    doc = loads_json(b'{"a": 0.07, "b": 19.990, "c": 1e2, "d": 123456789012345678901234567890, "e": -0.0}')
    assert doc == {
        "a": Decimal("0.07"),
        "b": Decimal("19.990"),
        "c": Decimal("1E+2"),
        "d": 123456789012345678901234567890,
        "e": Decimal("-0.0"),
    }
    assert str(doc["b"]) == "19.990"  # the digits BILL sent, trailing zero included
    assert type(doc["d"]) is int


def test_str_and_bytes_decode_alike() -> None:
    text = '{"name": "Café Olé", "amount": 12.30}'
    assert loads_json(text) == loads_json(text.encode()) == {"name": "Café Olé", "amount": Decimal("12.30")}


@pytest.mark.parametrize(
    "body",
    [
        b"NaN",
        b'{"amount": NaN}',
        b'{"amount": Infinity}',
        b'{"amount": -Infinity}',
        b'{"name": "\\ud800"}',  # a lone surrogate: not text
        b'{"name": "\xff"}',  # not UTF-8
        b'{"a": 1} trailing',
        b"{",
        b"",
    ],
)
def test_what_json_loads_would_accept_or_garble_is_refused(body: bytes) -> None:
    with pytest.raises(JSONDecodeError, match="not valid JSON"):
        loads_json(body)


def test_deep_nesting_is_a_decode_error_not_a_crash() -> None:
    with pytest.raises(JSONDecodeError):
        loads_json(b"[" * 100_000 + b"]" * 100_000)


def test_a_non_text_argument_is_a_type_error_not_a_decode_error() -> None:
    with pytest.raises(TypeError):
        loads_json(5)  # type: ignore[arg-type]


def test_duplicate_keys_keep_the_last_value_as_json_loads_does() -> None:
    assert loads_json(b'{"a": 1, "a": 2}') == json.loads(b'{"a": 1, "a": 2}') == {"a": 2}


def test_round_trip_keeps_every_digit() -> None:
    body = b'{"amount":1234567890.123456789,"items":[0.10,2.500],"count":3}'
    assert dumps_json(loads_json(body)) == body
