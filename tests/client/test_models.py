"""Every generated model against its spec schema: a full document round-trips field for field, and a malformed one
raises ResponseDecodeError (a BillError), never a bare KeyError/TypeError/ValueError.

Each synthesized document gives every field a value no other field has, so a model that put a value in the wrong
attribute (the generated from_dict builds objects positionally, for speed) fails the round trip.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
import respx

from bill_sdk import AsyncBill, models
from bill_sdk._spec import deref, load_bundled
from bill_sdk.errors import BillError, ResponseDecodeError

SPEC = load_bundled()
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
# What BILL always sends on a vendor (the `required` fields of the Vendor schema).
VENDOR = {
    "id": "00901X",
    "archived": False,
    "name": "Happy Music",
    "createdTime": "2024-01-02T03:04:05+00:00",
    "updatedTime": "2024-01-02T03:04:05+00:00",
}
OBJECT_MODELS = sorted(
    name
    for name, schema in SCHEMAS.items()
    if hasattr(models, name) and "enum" not in schema and schema.get("type", "object") == "object"
)


class Synthesizer:
    """A document for a schema where every leaf value is distinct (strings name their path, numbers count up)."""

    def __init__(self, *, nulls: bool = False) -> None:
        self.counter = itertools.count(1)
        self.nulls = nulls

    def value(self, schema: dict[str, Any], path: str, depth: int = 0) -> Any:
        schema = deref(SPEC, schema)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self.value(part, path, depth))
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.value(schema[key][0], path, depth)
        types = schema.get("type", "object")
        types = types if isinstance(types, list) else [types]
        if self.nulls and "null" in types:
            return None
        kind = next(t for t in types if t != "null")
        n = next(self.counter)
        if "enum" in schema:
            return schema["enum"][n % len(schema["enum"])]
        if kind == "object":
            props = schema.get("properties", {})
            if depth > 4:
                return {
                    name: self.value(props[name], f"{path}.{name}", depth + 1) for name in schema.get("required", [])
                }
            return {name: self.value(sub, f"{path}.{name}", depth + 1) for name, sub in props.items()}
        if kind == "array":
            return [self.value(schema.get("items", {}), f"{path}[0]", depth + 1)]
        if kind == "boolean":
            return n % 2 == 0
        if kind == "integer":
            return n
        if kind == "number":
            return Decimal(n) + Decimal("0.01")
        fmt = schema.get("format")
        if fmt == "date-time":
            return f"2024-01-{n % 28 + 1:02d}T{n % 24:02d}:{n % 60:02d}:07+00:00"
        if fmt == "date":
            return f"2024-02-{n % 28 + 1:02d}"
        return f"{path}#{n}"


def normalize(value: Any) -> Any:
    """to_dict() output in JSON terms (dates as the ISO strings they came from)."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@pytest.mark.parametrize("nulls", [False, True], ids=["values", "nulls"])
def test_every_model_round_trips_field_for_field(nulls: bool) -> None:
    assert len(OBJECT_MODELS) > 200
    failures = []
    for name in OBJECT_MODELS:
        document = Synthesizer(nulls=nulls).value(SCHEMAS[name], name)
        parsed = getattr(models, name).from_dict(document)
        if normalize(parsed.to_dict()) != document:
            back = normalize(parsed.to_dict())
            wrong = sorted(k for k in document.keys() | back.keys() if document.get(k) != back.get(k))
            failures.append(f"{name}: fields {wrong} differ")
    assert not failures, "\n".join(failures)


def test_unknown_fields_survive_and_distinct_values_land_in_their_own_attributes() -> None:
    document = Synthesizer().value(SCHEMAS["Vendor"], "Vendor")
    document["fieldBillAddsLater"] = {"x": 1}
    vendor = models.Vendor.from_dict(document)
    assert vendor.name == document["name"]
    assert vendor.short_name == document["shortName"]
    assert vendor.address.line2 == document["address"]["line2"]  # type: ignore[union-attr]
    assert vendor["fieldBillAddsLater"] == {"x": 1}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("not an object", "expected a JSON object, got str"),
        ([{"id": "x"}], "expected a JSON object, got list"),
        ({"address": "1 Main St"}, "expected a JSON object, got str"),
        ({"accountType": 5}, "5 is not a valid AccountType"),
        ({"accountType": ["BUSINESS"]}, "unhashable"),
        ({"balance": {"amount": "twelve"}}, "not a decimal number"),
        ({"balance": {"amount": True}}, "expected a number"),
        ({"createdTime": "yesterday"}, "createdTime: expected a date-time"),
        ({"createdTime": 17}, "createdTime: expected a date-time (ISO 8601), got int"),
    ],
)
def test_malformed_documents_raise_response_decode_error(document: Any, reason: str) -> None:
    if isinstance(document, dict):
        document = {**VENDOR, **document}
    with pytest.raises(ResponseDecodeError) as caught:
        models.Vendor.from_dict(document)
    assert isinstance(caught.value, BillError)
    assert not isinstance(caught.value, KeyError | TypeError | ValueError)
    assert reason in str(caught.value)


def test_a_missing_required_field_is_named() -> None:
    with_required = [name for name in OBJECT_MODELS if SCHEMAS[name].get("required")]
    assert len(with_required) > 20
    for name in with_required:
        field = SCHEMAS[name]["required"][0]
        document = Synthesizer().value(SCHEMAS[name], name)
        del document[field]
        expected = f"unexpected shape for {name}: missing required field '{field}'"
        with pytest.raises(ResponseDecodeError, match=expected):
            getattr(models, name).from_dict(document)


def test_an_unknown_enum_string_is_kept_not_refused() -> None:
    vendor = models.Vendor.from_dict({**VENDOR, "accountType": "TRUST"})
    assert vendor.account_type == "TRUST"
    assert vendor.to_dict() == {**VENDOR, "accountType": "TRUST"}


async def test_a_create_whose_answer_cannot_be_read_says_the_work_was_done(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    from tests import bodies

    route = bill_mock.post("/connect/v3/payments").respond(200, content=b"<html>gateway</html>")
    with pytest.raises(ResponseDecodeError) as caught:
        await bill.payments.create(body=bodies.payment())
    error = caught.value
    assert route.call_count == 1
    assert (error.status_code, error.method, error.path, error.operation_id) == (
        200,
        "POST",
        "/v3/payments",
        "createPayment",
    )
    assert "BILL accepted the request, so it was done" in str(error)


async def test_a_read_with_a_body_of_the_wrong_shape_names_the_model(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    bill_mock.get("/connect/v3/vendors/00901X").respond(200, json={**VENDOR, "address": ["not", "an", "object"]})
    with pytest.raises(ResponseDecodeError, match=r"GET /v3/vendors/\{vendorId\} .* answered 200 .* for Address"):
        await bill.vendors.get("00901X")
