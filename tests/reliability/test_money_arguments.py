"""Bad money never leaves the machine (issue #12, item 15).

Every number field of a request body is checked before anything is sent: a float (``0.1 + 0.2`` would go out as
``0.30000000000000004``), NaN, sNaN, ±Infinity, ``bool``, and amounts with more fractional digits or a larger
magnitude than ``bill_sdk._runtime`` allows (the limits are there, with the reasons) raise ``ArgumentError``
naming the model and field, e.g. ``BillLineItem.amount``. The check runs when the request is built, so a value
assigned after construction is caught too; parsing BILL's responses is not checked (and not slowed down).

Checked for every number field of every model reachable from a generated operation's body (found by walking the
generated endpoint signatures and model type hints), and through ``AsyncBill`` over respx: nothing is sent.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
import respx

import bill_sdk._generated.api as api_package
from bill_sdk import AsyncBill, models
from bill_sdk._generated.types import UNSET, Operation, Unset
from bill_sdk._json import dumps_json
from bill_sdk.errors import ArgumentError

BAD_MONEY: list[tuple[str, Any]] = [
    ("NaN", Decimal("NaN")),
    ("sNaN", Decimal("sNaN")),
    ("-NaN", Decimal("-NaN")),
    ("Infinity", Decimal("Infinity")),
    ("-Infinity", Decimal("-Infinity")),
    ("float", 0.1 + 0.2),
    ("round float", 12.5),
    ("float nan", float("nan")),
    ("float inf", float("inf")),
    ("bool", True),
    ("binary float digits", Decimal(0.1)),  # noqa: RUF032 - the 55 digits of the float 0.1 are the point
    ("huge", Decimal("1E+15")),
    ("huge int", 10**15),
    ("huge negative", Decimal("-1000000000000000.00")),
    ("exponent", Decimal("1E+999999")),
    ("tiny exponent", Decimal("1E-999999")),
    ("zero with a huge exponent", Decimal("0E-999999")),
    ("not a number", "twelve"),
    ("object", object()),
]
GOOD_MONEY: list[Any] = [
    Decimal("0"),
    Decimal("0.01"),
    Decimal("228.99"),
    Decimal("-5.25"),
    Decimal("19.990"),  # three places: the most ISO 4217 currencies use (BHD, KWD, ...)
    Decimal("49.9750"),  # 2.50 x 19.99: trailing zeros do not count
    Decimal("999999999999999.999"),
    Decimal("1E+2"),
    7,
    -(10**15) + 1,
]


# --------------------------------------------------------------------------- every number field of a body


def _model_classes(annotation: Any) -> list[type]:
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union, list):
        return [c for a in typing.get_args(annotation) for c in _model_classes(a)]
    if isinstance(annotation, type) and attrs.has(annotation) and hasattr(annotation, "from_dict"):
        return [annotation]
    return []


def _is_number(annotation: Any) -> bool:
    if annotation is Decimal:
        return True
    return typing.get_origin(annotation) in (types.UnionType, typing.Union) and Decimal in typing.get_args(annotation)


def _blank(cls: type) -> Any:
    """An instance with every field UNSET (required ones too): the check must not depend on the rest."""
    instance = cls.__new__(cls)
    for field in attrs.fields(cls):
        object.__setattr__(instance, field.name, {} if field.name == "additional_properties" else UNSET)
    return instance


Route = tuple[tuple[str, bool, type], ...]  # (attribute, is a list, model) from the body down


def _number_fields(cls: type, route: Route = (), seen: frozenset[type] = frozenset()) -> Iterator[tuple[Route, str]]:
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        annotation = hints[field.name]
        if _is_number(annotation):
            yield route, field.name
        for nested in _model_classes(annotation):
            if nested not in seen:
                is_list = "list[" in str(annotation)
                yield from _number_fields(nested, (*route, (field.name, is_list, nested)), seen | {cls})


def _body_with(body_cls: type, route: Route, field: str, value: Any) -> tuple[Any, Any, type]:
    body = _blank(body_cls)
    holder, holder_cls = body, body_cls
    for attribute, is_list, nested in route:
        child = _blank(nested)
        object.__setattr__(holder, attribute, [child] if is_list else child)
        holder, holder_cls = child, nested
    object.__setattr__(holder, field, value)
    return body, holder, holder_cls


def _cases() -> list[Any]:
    cases, covered = [], set()
    for info in pkgutil.walk_packages(api_package.__path__, api_package.__name__ + "."):
        module = importlib.import_module(info.name)
        if not isinstance(getattr(module, "OPERATION", None), Operation):
            continue
        hints = typing.get_type_hints(module._get_kwargs)
        for body_cls in _model_classes(hints.get("body")):
            body_is_list = "list[" in str(hints["body"])
            for route, field in _number_fields(body_cls):
                owner = route[-1][2] if route else body_cls
                if (owner, field) in covered:
                    continue
                covered.add((owner, field))
                cases.append(pytest.param(module, body_cls, body_is_list, route, field, id=f"{owner.__name__}.{field}"))
    return cases


CASES = _cases()


def _get_kwargs(module: Any, body: Any) -> dict[str, Any]:
    function = module._get_kwargs
    args: dict[str, Any] = {"body": body}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            args[parameter.name] = "id1"
        elif parameter.name != "body" and parameter.default is inspect.Parameter.empty:
            args[parameter.name] = "x"
    return function(**args)  # type: ignore[no-any-return]


def test_every_money_field_of_a_request_body_is_found() -> None:
    names = {case.id for case in CASES}
    assert len(CASES) >= 35
    assert {"BillLineItem.amount", "PaymentCreate.amount", "BudgetCreate.limit", "CardUpdate.limit"} <= names
    assert {"ReceivablePaymentCreate.amount", "BulkPaymentItem.amount", "InvoiceLineItem.quantity"} <= names


@pytest.mark.parametrize(("module", "body_cls", "body_is_list", "route", "field"), CASES)
def test_bad_numbers_in_any_request_field_are_refused_naming_the_field(
    module: Any, body_cls: type, body_is_list: bool, route: Route, field: str
) -> None:
    owner = route[-1][2] if route else body_cls
    places = owner._number_fields[field][0].places  # type: ignore[attr-defined]
    one_place_too_many = Decimal(10) + Decimal(1).scaleb(-(places + 1))
    for label, value in [*BAD_MONEY, ("too many places", one_place_too_many)]:
        body, _holder, owner = _body_with(body_cls, route, field, value)
        with pytest.raises(ArgumentError) as caught:
            _get_kwargs(module, [body] if body_is_list else body)
        message = str(caught.value)
        assert f"{owner.__name__}.{field}" in message, (label, message)
        assert len(message) < 400, label


@pytest.mark.parametrize(("module", "body_cls", "body_is_list", "route", "field"), CASES)
def test_good_numbers_pass(module: Any, body_cls: type, body_is_list: bool, route: Route, field: str) -> None:
    from bill_sdk._runtime import check_request_body

    for value in GOOD_MONEY:
        body, _holder, _owner = _body_with(body_cls, route, field, value)
        check_request_body([body] if body_is_list else body)  # the check _get_kwargs runs; nothing refused


def test_good_amounts_are_sent_with_exactly_their_digits() -> None:
    from bill_sdk._generated.api.payments import create_payment
    from tests import bodies

    for value, text in [
        (Decimal("125.50"), "125.50"),
        (Decimal("19.990"), "19.990"),
        (7, "7"),
        (Decimal("1E+2"), "100"),
    ]:
        body = bodies.payment()
        body.amount = value
        kwargs = _get_kwargs(create_payment, body)
        assert f'"amount":{text},' in dumps_json(kwargs["json"].to_dict()).decode()  # the runtime encodes the model


def _float_line() -> models.BillLineItem:
    """A line given a float after construction (construction itself refuses it): what send time must catch."""
    line = models.BillLineItem()
    line.amount = 0.1 + 0.2  # type: ignore[assignment]
    return line


def test_a_float_is_refused_with_a_message_saying_what_to_use() -> None:
    from bill_sdk._generated.api.bills import create_bill

    body = models.BillCreate(
        vendor_id="009abc",
        due_date=__import__("datetime").date(2026, 1, 31),
        bill_line_items=[_float_line()],
        invoice=models.BillInvoice(invoice_number="1", invoice_date=__import__("datetime").date(2026, 1, 1)),
    )
    with pytest.raises(ArgumentError) as caught:
        _get_kwargs(create_bill, body)
    message = str(caught.value)
    assert "BillLineItem.amount" in message
    assert "float" in message and "Decimal" in message
    assert "bill_line_items[0]" in message  # where in the body


def test_amounts_take_three_places_and_unit_prices_more() -> None:
    from bill_sdk._runtime import check_request_body

    line = models.BillLineItem(amount=Decimal("10.005"), price=Decimal("0.1234"), quantity=Decimal("1.5"))
    check_request_body(line)  # three places (KWD, BHD...); a unit price of a fraction of a cent
    line.amount = Decimal("10.0001")
    with pytest.raises(ArgumentError, match=r"BillLineItem\.amount .*more than 3 decimal places"):
        check_request_body(line)


def test_a_value_assigned_after_construction_is_checked_too() -> None:
    from bill_sdk._generated.api.payments import create_payment
    from tests import bodies

    body = bodies.payment()
    _get_kwargs(create_payment, body)  # fine as built
    body.amount = Decimal("NaN")
    with pytest.raises(ArgumentError, match=r"PaymentCreate\.amount"):
        _get_kwargs(create_payment, body)


def test_a_numeric_string_is_accepted_where_bill_takes_a_string() -> None:
    # ReceivablePaymentCreate.amount is `number | string` in BILL's schema: a plain decimal string is sent as is,
    # anything else is refused like a bad number.
    from bill_sdk._runtime import check_request_body

    payment = _blank(models.ReceivablePaymentCreate)
    payment.amount = "200.00"
    check_request_body(payment)
    for bad in ["NaN", "1e5", "12.3456", "", " 1", "1" * 20]:
        payment.amount = bad
        with pytest.raises(ArgumentError, match=r"ReceivablePaymentCreate\.amount"):
            check_request_body(payment)


def test_a_numeric_string_is_refused_where_bill_takes_only_numbers() -> None:
    from bill_sdk._runtime import check_request_body

    with pytest.raises(ArgumentError, match=r"BillLineItem\.amount .*must be a Decimal or an int, got the str '12.50'"):
        line = models.BillLineItem()
        line.amount = "12.50"  # type: ignore[assignment]  # assigned later: construction would convert it
        check_request_body(line)


def test_a_float_in_an_unknown_field_is_refused_too() -> None:
    from bill_sdk._generated.api.payments import create_payment
    from tests import bodies

    body = bodies.payment()
    body["surcharge"] = 0.5
    with pytest.raises(ArgumentError, match=r"PaymentCreate\['surcharge'\]"):
        _get_kwargs(create_payment, body)


BILL_REQUIRED = {
    "id": "00n1",
    "archived": False,
    "vendorId": "009abc",
    "createdTime": "2026-01-02T03:04:05Z",
    "updatedTime": "2026-01-02T03:04:05Z",
}


def test_responses_are_parsed_leniently() -> None:
    # BILL's own numbers are never refused on the way in, whatever their digits.
    bill = models.Bill.from_dict({**BILL_REQUIRED, "amount": Decimal("0.123456789"), "exchangeRate": Decimal("1E+30")})
    assert bill.amount == Decimal("0.123456789")
    assert bill.exchange_rate == Decimal("1E+30")


# --------------------------------------------------------------------------- through the public client


@pytest.mark.parametrize(("label", "value"), BAD_MONEY[:13])
async def test_through_the_client_bad_money_sends_nothing(label: str, value: Any) -> None:
    from tests import bodies

    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as router:
        router.post("/connect/v3/login").respond(200, json={"sessionId": "s", "organizationId": "008X"})
        router.route().respond(200, json={})
        async with AsyncBill(
            dev_key="dk", username="u@example.com", password="pw", organization_id="008X", env={}
        ) as b:
            body = bodies.payment()
            body.amount = value
            with pytest.raises(ArgumentError, match=r"PaymentCreate\.amount"):
                await b.payments.create(body=body)
        assert [str(c.request.url) for c in router.calls] == [], label  # not even a login


async def test_through_the_client_a_float_line_amount_sends_nothing() -> None:
    import datetime

    with respx.mock(base_url="https://gateway.stage.bill.com", assert_all_called=False) as router:
        router.route().respond(200, json={"sessionId": "s"})
        async with AsyncBill(
            dev_key="dk", username="u@example.com", password="pw", organization_id="008X", env={}
        ) as b:
            body = models.BillCreate(
                vendor_id="009abc",
                due_date=datetime.date(2026, 1, 31),
                bill_line_items=[models.BillLineItem(amount=Decimal("10.00")), _float_line()],
                invoice=models.BillInvoice(invoice_number="1", invoice_date=datetime.date(2026, 1, 1)),
            )
            with pytest.raises(ArgumentError, match=r"BillLineItem\.amount.*bill_line_items\[1\]"):
                await b.bills.create(body=body)
        assert router.calls.call_count == 0


def test_unset_and_none_are_not_numbers_to_check() -> None:
    card = _blank(models.CardUpdate)
    card.limit = None  # JSON null: "no limit"
    assert isinstance(card.recurring_limit, Unset)
    from bill_sdk._runtime import check_request_body

    check_request_body(card)
