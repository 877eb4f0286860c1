"""What a user can rely on when handling models (issue #14): missing response fields are None, always-present
ones are plain values, request models check their arguments at construction, JSON keeps exact decimals, and
repr() shows only what is set.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import attrs
import pytest
import respx

from bill_sdk import AsyncBill
from bill_sdk._runtime import UNSET, path_segment
from bill_sdk.errors import ArgumentError, ResponseDecodeError
from bill_sdk.models import (
    AccountType,
    Address,
    BankAccountType,
    BillCreate,
    BillInvoice,
    BillLineItem,
    BillUpdate,
    LoginRequest,
    Vendor,
    VendorBankAccount,
    VendorCreate,
    VendorPage,
)

VENDOR = {"id": "00901X", "archived": False, "name": "Happy Music", "createdTime": "2024-01-02T03:04:05+00:00"}
VENDOR_FULL = {**VENDOR, "updatedTime": "2024-01-02T03:04:05+00:00"}


def test_a_response_field_bill_left_out_is_none() -> None:
    vendor = Vendor.from_dict(VENDOR_FULL)
    assert vendor.short_name is None
    assert vendor.address is None
    assert vendor.account_type is None
    assert vendor.balance is None
    assert vendor.to_dict() == VENDOR_FULL


def test_always_present_fields_are_plain_required_attributes() -> None:
    fields = attrs.fields_dict(Vendor)
    for name in ("id", "archived", "name", "created_time", "updated_time"):
        assert fields[name].default is attrs.NOTHING, name
    assert attrs.fields_dict(VendorPage)["results"].default is attrs.NOTHING
    page = VendorPage.from_dict({"results": [VENDOR_FULL]})
    assert [v.name for v in page.results] == ["Happy Music"]
    assert page.next_page is None


def test_a_missing_always_present_field_is_a_decode_error_naming_it() -> None:
    with pytest.raises(ResponseDecodeError, match="Vendor: missing required field 'id'"):
        Vendor.from_dict({k: v for k, v in VENDOR_FULL.items() if k != "id"})
    with pytest.raises(ResponseDecodeError, match="VendorPage: missing required field 'results'"):
        VendorPage.from_dict({"nextPage": None})


async def test_a_missing_always_present_field_names_the_operation(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/00901X").respond(200, json={"name": "no id"})
    with pytest.raises(ResponseDecodeError, match=r"\(getVendor\).*missing required field 'id'"):
        await bill.vendors.get("00901X")


def test_unset_does_not_stringify_to_a_plausible_id() -> None:
    assert str(UNSET) not in ("UNSET", "", "None")
    with pytest.raises(ArgumentError):
        path_segment("vendorId", UNSET)
    with pytest.raises(ArgumentError, match="missing value"):
        path_segment("vendorId", str(UNSET))
    with pytest.raises(ArgumentError, match="missing value"):
        path_segment("vendorId", str(None))


def test_always_present_fields_type_check_as_plain_values() -> None:
    # mypy --strict checks this file: these annotations fail type checking if the fields were `T | None`.
    page = VendorPage.from_dict({"results": [VENDOR_FULL]})
    names: list[str] = [v.name for v in page.results]
    vendor_id: str = page.results[0].id
    created: datetime.datetime = page.results[0].created_time
    assert (names, vendor_id, created.year) == (["Happy Music"], "00901X", 2024)


def test_a_float_amount_is_refused_at_construction() -> None:
    with pytest.raises(ArgumentError, match=r"BillLineItem\.amount .*float"):
        BillLineItem(amount=0.1 + 0.2)  # type: ignore[arg-type]


def test_money_accepts_decimal_int_and_a_numeric_string() -> None:
    assert BillLineItem(amount=Decimal("12.50")).amount == Decimal("12.50")
    assert BillLineItem(amount=12).amount == 12
    assert BillLineItem(amount="12.50").amount == Decimal("12.50")
    with pytest.raises(ArgumentError, match=r"BillLineItem\.amount"):
        BillLineItem(amount="twelve")
    with pytest.raises(ArgumentError, match=r"BillLineItem\.amount"):
        BillLineItem(amount=True)


def test_a_wrong_type_in_a_request_is_refused_naming_the_field() -> None:
    with pytest.raises(TypeError, match=r"VendorCreate\.name must be a str, got int"):
        VendorCreate(name=1, address=Address())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"VendorCreate\.address must be an Address"):
        VendorCreate(name="x", address={"line1": "1 Main St"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"BillCreate\.bill_line_items\[0\] must be a BillLineItem"):
        BillCreate(
            vendor_id="00901X",
            due_date=datetime.date(2025, 1, 31),
            bill_line_items=[{"amount": 1}],  # type: ignore[list-item]
            invoice=BillInvoice(invoice_number="1", invoice_date=datetime.date(2025, 1, 1)),
        )


def test_a_string_due_date_is_refused_at_construction() -> None:
    with pytest.raises(TypeError, match=r"BillCreate\.due_date must be a datetime\.date, got str"):
        BillCreate(
            vendor_id="00901X",
            due_date="2025-01-31",  # type: ignore[arg-type]
            bill_line_items=[BillLineItem(amount=1)],
            invoice=BillInvoice(invoice_number="1", invoice_date=datetime.date(2025, 1, 1)),
        )


def test_an_enum_typo_in_a_request_is_refused() -> None:
    typo = AccountType("BUSINES")  # parsing stays lenient: an unknown value becomes a pseudo-member
    assert typo == "BUSINES"
    with pytest.raises(ArgumentError, match=r"VendorCreate\.account_type .*'BUSINES'.*BUSINESS"):
        VendorCreate(name="x", address=Address(), account_type=typo)
    with pytest.raises(ArgumentError, match=r"VendorCreate\.account_type"):
        VendorCreate(name="x", address=Address(), account_type="BUSINES")  # type: ignore[arg-type]
    assert VendorCreate(name="x", address=Address(), account_type=AccountType.PERSON).account_type == "PERSON"


def test_responses_stay_lenient() -> None:
    assert Vendor.from_dict({**VENDOR_FULL, "accountType": "TRUST"}).account_type == "TRUST"
    # a model used in requests and responses checks construction, never parsing
    assert VendorBankAccount.from_dict({"type": "MONEY_MARKET"}).type_ == "MONEY_MARKET"
    with pytest.raises(ArgumentError):
        VendorBankAccount(type_=BankAccountType("MONEY_MARKET"))


def test_patch_bodies_tell_not_set_from_null() -> None:
    assert BillUpdate().to_dict() == {}
    assert BillUpdate(description=None).to_dict() == {"description": None}
    assert BillUpdate(description="new").to_dict() == {"description": "new"}
    assert BillUpdate(description=UNSET).to_dict() == {}


def test_to_json_round_trips_exact_decimals() -> None:
    document = {**VENDOR_FULL, "balance": {"amount": Decimal("0.07")}}
    vendor = Vendor.from_dict(document)
    text = vendor.to_json()
    assert '"amount":0.07' in text
    assert Vendor.from_json(text) == vendor
    assert Vendor.from_json(text.encode()).balance.amount == Decimal("0.07")  # type: ignore[union-attr]
    assert BillLineItem(amount=Decimal("19.990")).to_json() == '{"amount":19.990}'


def test_repr_shows_only_set_fields() -> None:
    body = VendorCreate(name="Happy Music", address=Address(line1="1 Main St"))
    assert repr(body) == "VendorCreate(name='Happy Music', address=Address(line1='1 Main St'))"
    assert repr(BillUpdate(description=None)) == "BillUpdate(description=None)"
    vendor = Vendor.from_dict(VENDOR_FULL)
    assert "None" not in repr(vendor) and "UNSET" not in repr(vendor)
    assert len(repr(vendor)) < 300
    login = LoginRequest(username="u", organization_id="008", dev_key="dev-SECRET", password="pw-SECRET")
    assert "SECRET" not in repr(login) and "password='***'" in repr(login)


def test_equality_is_unchanged() -> None:
    assert Vendor.from_dict(VENDOR_FULL) == Vendor.from_dict(dict(VENDOR_FULL))
    assert Vendor.from_dict(VENDOR_FULL) != Vendor.from_dict({**VENDOR_FULL, "name": "other"})


# --------------------------------------------------------------------------- documents are read, not consumed


def test_from_dict_leaves_the_callers_document_as_it_was() -> None:
    """Responses are read in place (no copy per object); a document a caller passes is copied first."""
    import copy

    from bill_sdk._generated.models import Vendor, VendorPage

    document = {
        "results": [
            {
                "id": "00901A",
                "archived": False,
                "name": "Acme",
                "createdTime": "2024-01-02T03:04:05.000+00:00",
                "updatedTime": "2024-01-02T03:04:05.000+00:00",
                "address": {"line1": "1 Main St", "country": "US", "laterField": {"x": 1}},
                "paymentInformation": {"payeeName": "Acme", "bankAccount": {"accountNumber": "xxxx6789"}},
                "fieldBillAddsLater": [1, 2],
            }
        ],
        "nextPage": "c1",
    }
    before = copy.deepcopy(document)
    page = VendorPage.from_dict(document)
    assert document == before
    assert page.results[0].address is not None and page.results[0].address["laterField"] == {"x": 1}
    page.results[0]["fieldBillAddsLater"].append(3)  # the model's unknown fields are its own
    assert document == before
    assert Vendor.from_dict(document["results"][0]).to_dict() == page.results[0].to_dict() | {
        "fieldBillAddsLater": [1, 2]
    }


def test_objects_inside_a_callers_tuple_are_left_as_they_were_too() -> None:
    from bill_sdk._generated.models import VendorPage

    vendor = {
        "id": "00901A",
        "archived": False,
        "name": "Acme",
        "createdTime": "2024-01-02T03:04:05.000+00:00",
        "updatedTime": "2024-01-02T03:04:05.000+00:00",
    }
    page = VendorPage.from_dict({"results": (vendor,)})
    assert page.results[0].id == "00901A"
    assert vendor["id"] == "00901A" and len(vendor) == 5


def test_a_union_variant_that_fails_leaves_the_document_for_the_next() -> None:
    from bill_sdk._generated.models import ErrorItem, ErrorParamMap

    # params as an object: the list variant is tried first and must not have consumed anything of it
    item = ErrorItem.from_dict({"code": "BDC_1", "message": "x", "params": {"field": "amount", "max": 10}})
    assert isinstance(item.params, ErrorParamMap)
    assert item.params.to_dict() == {"field": "amount", "max": 10}
