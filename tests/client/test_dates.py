"""Dates and date-times in documents: tolerant where BILL is inconsistent, an error naming the field otherwise."""

from __future__ import annotations

import datetime

import httpx
import pytest
import respx

from bill_sdk import AsyncBill
from bill_sdk._generated.models.bill import Bill
from bill_sdk._generated.models.bill_invoice import BillInvoice
from bill_sdk.errors import ResponseDecodeError

from .conftest import OBJ

BILL = {**OBJ, "id": "00n01B", "amount": 10}


def test_a_date_field_written_as_a_date_time_gives_its_calendar_date() -> None:
    # BILL's bill.created webhook prints bill.invoice.invoiceDate so; the bills API prints "2026-12-15".
    bill = Bill.from_dict({**BILL, "invoice": {"invoiceNumber": "7", "invoiceDate": "2026-12-15T00:00:00.000Z"}})
    assert bill.invoice is not None
    assert bill.invoice.invoice_date == datetime.date(2026, 12, 15)
    assert type(bill.invoice.invoice_date) is datetime.date


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-31", datetime.date(2026, 12, 31)),
        ("2026-12-31T23:30:00-08:00", datetime.date(2026, 12, 31)),  # the date as written, not converted to UTC
        ("2026-12-31T00:00:00Z", datetime.date(2026, 12, 31)),
        ("2026-12-31T00:00:00.000+00:00", datetime.date(2026, 12, 31)),
    ],
)
def test_date_spellings(text: str, day: datetime.date) -> None:
    assert BillInvoice.from_dict({"invoiceDate": text}).invoice_date == day


@pytest.mark.parametrize("value", ["12/15/2026", "2026-13-01", "tomorrow", "", 20261215, ["2026-12-15"]])
def test_anything_else_is_a_decode_error_naming_the_field(value: object) -> None:
    with pytest.raises(ResponseDecodeError, match="invoiceDate") as caught:
        BillInvoice.from_dict({"invoiceDate": value})
    assert "BillInvoice" in str(caught.value)


def test_a_long_bad_value_is_cut_in_the_message() -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        BillInvoice.from_dict({"invoiceDate": "x" * 500})
    assert "x" * 41 not in str(caught.value)


@pytest.mark.parametrize("value", ["02/01/2024 03:04", "soon", 1704164645])
def test_a_bad_date_time_is_a_decode_error_naming_the_field(value: object) -> None:
    with pytest.raises(ResponseDecodeError, match="createdTime"):
        Bill.from_dict({**BILL, "createdTime": value})


async def test_through_a_call_the_error_names_field_and_operation(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/bills/00n01B").mock(
        return_value=httpx.Response(200, json={**BILL, "dueDate": "31.12.2026"})
    )
    with pytest.raises(ResponseDecodeError) as caught:
        await bill.bills.get("00n01B")
    text = str(caught.value)
    assert "dueDate" in text and "getBill" in text
