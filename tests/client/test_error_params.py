"""BILL's error items carry `params` sometimes as a list of {name, value} items and sometimes as one object.

Both forms must reach the caller through the typed error (``ErrorDetail.params``) and parse with the generated
``ErrorItem`` model (``list[ErrorParam] | ErrorParamMap``).
"""

from __future__ import annotations

from typing import Any

import pytest
import respx

from bill_sdk import AsyncBill
from bill_sdk.errors import ValidationError
from bill_sdk.models import ErrorItem, ErrorParam, ErrorParamMap
from tests import bodies

AS_LIST: list[dict[str, Any]] = [{"name": "field", "value": "email"}, {"name": "value", "value": "not-an-email"}]
AS_OBJECT: dict[str, Any] = {"field": "email", "value": "not-an-email"}


def error_body(params: object) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": "2026-12-01T10:00:00.000+00:00",
            "code": "BDC_1119",
            "severity": "ERROR",
            "category": "REQUEST",
            "message": "Invalid field,value: email",
            "params": params,
        }
    ]


@pytest.mark.parametrize("params", [AS_LIST, AS_OBJECT], ids=["array", "object"])
async def test_params_reach_the_typed_error_in_either_form(
    bill: AsyncBill, bill_mock: respx.MockRouter, params: object
) -> None:
    bill_mock.post("/connect/v3/vendors").respond(400, json=error_body(params))
    with pytest.raises(ValidationError) as info:
        await bill.vendors.create(body=bodies.vendor("Acme"))
    error = info.value
    assert error.status_code == 400 and error.codes == ("BDC_1119",)
    (detail,) = error.details
    assert detail.params == params
    assert detail.extra["params"] == params  # the raw item keeps it too


def test_params_of_another_type_are_not_offered_as_params() -> None:
    from bill_sdk.errors import ErrorDetail

    assert ErrorDetail(code="BDC_1", extra={"params": "text"}).params is None
    assert ErrorDetail(code="BDC_1").params is None


def test_generated_error_item_parses_params_as_a_list() -> None:
    item = ErrorItem.from_dict(error_body(AS_LIST)[0])
    assert isinstance(item.params, list)
    assert all(isinstance(p, ErrorParam) for p in item.params)
    assert [(p.name, p.value) for p in item.params] == [("field", "email"), ("value", "not-an-email")]
    assert item.to_dict()["params"] == AS_LIST


def test_generated_error_item_parses_params_as_an_object() -> None:
    item = ErrorItem.from_dict(error_body(AS_OBJECT)[0])
    assert isinstance(item.params, ErrorParamMap)
    assert item.params.additional_properties == AS_OBJECT
    assert item.to_dict()["params"] == AS_OBJECT
