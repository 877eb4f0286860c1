"""BILL's documented webhook payloads parse into the SDK's typed entities with the documented values.

Each payload below is BILL's sample as its notification-payload page shows it (URL in the comment above it),
signed here with a test key and received through ``construct_event`` (signature check, then parsing) the way a
webhook endpoint receives it. ``typed_entity()`` must give the generated model (Bill, Invoice, Payment, Vendor),
with amounts as exact Decimals and dates and times as ``datetime.date`` / ``datetime.datetime``.

Where BILL's sample differs from the spec (a field the spec lacked, a type it did not allow) the spec was changed;
what stays different is marked at the test.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from bill_sdk.models import (
    Bill,
    BillPaymentStatus,
    FundingAccountType,
    Invoice,
    InvoiceStatus,
    NetworkStatus,
    PayByType,
    Payment,
    PaymentBillingType,
    TaxIdType,
    Vendor,
    VirtualCardStatus,
)
from bill_sdk.webhooks import WebhookEvent, construct_event, sign

KEY = "documented-payload-test-key"
UTC = datetime.UTC


def receive(payload: str) -> WebhookEvent:
    """The payload as BILL posts it: raw bytes plus the x-bill-sha-signature of exactly those bytes."""
    body = payload.encode()
    return construct_event(body, sign(body, KEY), KEY)


# https://developer.bill.com/docs/bill-webhook-notification-payloads ("Sample bill.created payload"; the .md
# rendering is updatedAt 2026-03-16; the same sample is on https://developer.bill.com/hc/docs/bill-webhook-notification-payloads)
BILL_CREATED = """
{
    "metadata": {
        "eventId": "625947c4-8e6b-48f0-ae72-ea9c9375ec27",
        "subscriptionId": "f6d06930-e3e2-4509-be37-4dbda29efc6i",
        "organizationId": "00802DEVKGROHKDIY4zyx",
        "eventType": "bill.created",
        "version": "1"
    },
    "bill": {
        "id": "00n02JZNIEYMNPY99iz9",
        "vendorId": "00902BILKFECNEV2oji1",
        "invoice": {
            "invoiceNumber": "202601",
            "invoiceDate": "2026-12-15T00:00:00.000Z"
        },
        "amount": 228.99,
        "createdTime": "2026-12-15T23:15:23.127+00:00",
        "updatedTime": "2026-12-15T23:15:23.127+00:00",
        "createdBy": "00602NNWYXSZQYLTa41g",
        "archived": false,
        "description": "Happy Music Supplies Dec Bill",
        "dueDate": "2026-12-31",
        "paymentStatus": "UNPAID",
        "payFromChartOfAccountId": "0ca02GRSNLIBIMWStq9t",
        "classifications":{
            "chartOfAccountId": "0ca02WKKWLSRRCFItdlc",
            "accountingClassId": "cls02MAWJVVFXUGRcomq",
            "departmentId": "0de02KKZIBYGPDVTewla",
            "locationId": "loc02GTGYTKLKDINc1qa"
        },
        "purchaseOrderNumber": "po-123"
    }
}
"""

# https://developer.bill.com/docs/invoice-webhook-notification-payloads ("Sample invoice.created payload").
# BILL's sample sends metadata.version as the number 1 here (a string "1" everywhere else).
INVOICE_CREATED = """
{
  "metadata": {
    "eventId": "{event_id}",
    "subscriptionId": "{subscription_id}",
    "organizationId": "{organization_id}",
    "eventType": "invoice.created",
    "version": 1
  },
  "invoice": {
    "id": "{invoice_id}",
    "customerId": "{customer_id}",
    "archived": false,
    "invoiceNumber": "202601",
    "invoiceDate": "2026-12-20",
    "dueDate": "2026-12-20",
    "totalAmount": 120.00,
    "dueAmount": 120.00,
    "createdTime": "2026-12-15T23:15:23.127+00:00",
    "updatedTime": "2026-12-15T23:15:23.127+00:00",
    "status": "OPEN",
    "scheduledAmount": 0.00,
    "creditAmount": 0.00,
    "salesTaxTotal": 0.00,
    "salesTaxPercentage": 0
  }
}
"""

# https://developer.bill.com/docs/vendor-created-notification-payloads ("Sample vendor.created payload"; the same
# page's other rendering adds "shortName": "Happy" after name). accountNumber is a JSON number in BILL's sample, so
# Vendor.accountNumber accepts a number as well as a string. The e-mail addresses read "[email protected]" in
# the copy of the page this was taken from (the page's e-mail obfuscation), kept as they are: the spec types email
# as a plain string.
VENDOR_CREATED = """
{
    "metadata": {
        "eventId": "{event_id}",
        "subscriptionId": "{subscription_id}",
        "organizationId": "{organization_id}",
        "eventType": "vendor.created",
        "version": "1"
    },
    "vendor": {
        "id": "{vendor_id}",
        "name": "Happy Music Supplies",
        "archived": false,
        "email": "[email protected]",
        "phone": "9876543210",
        "networkStatus": "NOT_CONNECTED",
        "accountNumber": 987000654,
        "address": {
            "line1": "123 Main St",
            "line2": "Suite 200",
            "city": "San Jose",
            "stateOrProvince": "CA",
            "zipOrPostalCode": "95002",
            "country": "US"
        },
        "paymentInformation": {
            "payeeName": "Happy Music Supplies",
            "email": "[email protected]",
            "payByType": "CHECK",
            "virtualCard": {
                "status": "UNKNOWN"
            }
        },
        "additionalInfo": {
            "taxId": "9998887777",
            "taxIdType": "SSN",
            "track1099": true,
            "leadTimeInDays": 10,
            "combinePayments": true,
            "companyName": "Happy Music Supplies"
        },
        "recurringPayments": false,
        "billCurrency": "USD",
        "balance": {
            "amount": 0
        },
        "autoPay": {
            "enabled": false
        },
        "createdTime": "2025-12-15T22:53:15.127+00:00",
        "updatedTime": "2025-12-15T22:53:15.127+00:00" 
    }
}
"""

# https://developer.bill.com/docs/payment-webhook-notification-payloads ("Sample payment.updated payloads", "Before
# money movement"). Verbatim from BILL's sample: metadata and payment.id to payment.createdTime. The copy of the page
# available here breaks off inside updatedTime ("2026-12-17T23:56:5"); updatedTime is completed with createdTime's
# seconds, and the fields after it are filled in from the page's field table (processDate; funding for
# BANK_ACCOUNT: id, type, name, accountNumber; disbursement before money movement: arrivesByDate and an empty
# disbursementAccount; vendor: id and name; billingType) with values made up here. Only the verbatim part is
# asserted as BILL's documented values.
PAYMENT_UPDATED = """
{
"metadata": {
"eventId": "{event_id}",
"subscriptionId": "{subscription_id}",
"organizationId": "{organization_id}",
"eventType": "payment.updated",
"version": "1"
},
"payment": {
"id": "{payment_id}",
"billIds": [
"{bill_id}"
],
"transactionNumber": "{transaction_id}",
"status": "SCHEDULED",
"createdBy": "{user_id}",
"createdTime": "2026-12-16T23:56:52.127+00:00",
"updatedTime": "2026-12-17T23:56:52.127+00:00",
"processDate": "2026-12-18",
"funding": {"id": "{bank_account_id}", "type": "BANK_ACCOUNT", "name": "{bank_name}", "accountNumber": "xxxx6789"},
"disbursement": {"arrivesByDate": "2026-12-22", "disbursementAccount": {}},
"vendor": {"id": "{vendor_id}", "name": "Happy Music Supplies"},
"billingType": "BDC"
}
}
"""


# --------------------------------------------------------------------------- bill.created


def test_bill_created_as_documented_is_received_with_its_metadata() -> None:
    event = receive(BILL_CREATED)
    assert (event.event_type, event.entity_type) == ("bill.created", "bill")
    assert event.event_id == "625947c4-8e6b-48f0-ae72-ea9c9375ec27"
    assert event.subscription_id == "f6d06930-e3e2-4509-be37-4dbda29efc6i"
    assert event.organization_id == "00802DEVKGROHKDIY4zyx"
    assert event.version == "1"
    assert event.entity["id"] == "00n02JZNIEYMNPY99iz9"
    assert event.entity["amount"] == Decimal("228.99")  # the exact digits BILL sent, before any model


def test_bill_created_as_documented_parses_into_a_bill() -> None:
    # BILL's sample sends invoice.invoiceDate as "2026-12-15T00:00:00.000Z" where the API (and the spec) has
    # format: date: the date field takes the date it was written with (tolerant dates, bill_sdk._runtime).
    _assert_documented_bill(receive(BILL_CREATED).typed_entity(Bill))


def test_bill_created_with_a_plain_invoice_date_parses_alike() -> None:
    # The same bill with invoice.invoiceDate in the API's yyyy-MM-dd form (what bill responses send).
    payload = BILL_CREATED.replace('"2026-12-15T00:00:00.000Z"', '"2026-12-15"')
    assert payload != BILL_CREATED
    _assert_documented_bill(receive(payload).typed_entity())


def _assert_documented_bill(bill: object) -> None:
    assert isinstance(bill, Bill)
    assert bill.id == "00n02JZNIEYMNPY99iz9"
    assert bill.vendor_id == "00902BILKFECNEV2oji1"
    assert bill.archived is False
    assert bill.amount == Decimal("228.99") and isinstance(bill.amount, Decimal)
    assert bill.invoice is not None
    assert bill.invoice.invoice_number == "202601"
    assert bill.invoice.invoice_date == datetime.date(2026, 12, 15)
    assert bill.created_time == datetime.datetime(2026, 12, 15, 23, 15, 23, 127000, tzinfo=UTC)
    assert bill.updated_time == bill.created_time
    assert bill.created_by == "00602NNWYXSZQYLTa41g"
    assert bill.description == "Happy Music Supplies Dec Bill"
    assert bill.due_date == datetime.date(2026, 12, 31)
    assert bill.payment_status == BillPaymentStatus.UNPAID
    assert bill.pay_from_chart_of_account_id == "0ca02GRSNLIBIMWStq9t"
    assert bill.classifications is not None
    assert bill.classifications.chart_of_account_id == "0ca02WKKWLSRRCFItdlc"
    assert bill.classifications.accounting_class_id == "cls02MAWJVVFXUGRcomq"
    assert bill.classifications.department_id == "0de02KKZIBYGPDVTewla"
    assert bill.classifications.location_id == "loc02GTGYTKLKDINc1qa"
    assert bill.purchase_order_number == "po-123"
    assert bill.additional_properties == {}  # every documented field is in the spec


# --------------------------------------------------------------------------- invoice.created


def test_invoice_created_as_documented_parses_into_an_invoice() -> None:
    event = receive(INVOICE_CREATED)
    assert (event.event_type, event.entity_type, event.event_id) == ("invoice.created", "invoice", "{event_id}")
    assert event.version == "1"  # sent as the number 1
    invoice = event.typed_entity()
    assert isinstance(invoice, Invoice)
    assert invoice.id == "{invoice_id}"
    assert invoice.customer_id == "{customer_id}"
    assert invoice.archived is False
    assert invoice.invoice_number == "202601"
    assert invoice.invoice_date == datetime.date(2026, 12, 20)
    assert invoice.due_date == datetime.date(2026, 12, 20)
    # 120.00 keeps both decimal places: exact Decimals, never floats.
    assert str(invoice.total_amount) == "120.00" and str(invoice.due_amount) == "120.00"
    assert invoice.scheduled_amount == Decimal("0.00") and isinstance(invoice.scheduled_amount, Decimal)
    assert invoice.credit_amount == Decimal("0.00")
    assert invoice.sales_tax_total == Decimal("0.00")
    assert invoice.sales_tax_percentage == 0
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.created_time == datetime.datetime(2026, 12, 15, 23, 15, 23, 127000, tzinfo=UTC)
    assert invoice.updated_time == invoice.created_time
    assert invoice.additional_properties == {}


# --------------------------------------------------------------------------- vendor.created


def test_vendor_created_as_documented_parses_into_a_vendor() -> None:
    event = receive(VENDOR_CREATED)
    assert (event.event_type, event.entity_type, event.event_id) == ("vendor.created", "vendor", "{event_id}")
    vendor = event.typed_entity()
    assert isinstance(vendor, Vendor)
    assert vendor.id == "{vendor_id}"
    assert vendor.name == "Happy Music Supplies"
    assert vendor.archived is False
    assert vendor.phone == "9876543210"
    assert vendor.network_status == NetworkStatus.NOT_CONNECTED
    assert vendor.account_number == 987000654  # a number in BILL's sample; strings are accepted too
    assert vendor.address is not None
    assert (vendor.address.line1, vendor.address.line2, vendor.address.city) == ("123 Main St", "Suite 200", "San Jose")
    assert (vendor.address.state_or_province, vendor.address.zip_or_postal_code) == ("CA", "95002")
    assert vendor.address.country == "US"
    info = vendor.payment_information
    assert info is not None
    assert info.payee_name == "Happy Music Supplies"
    assert info.pay_by_type == PayByType.CHECK
    assert info.virtual_card is not None and info.virtual_card.status == VirtualCardStatus.UNKNOWN
    extra = vendor.additional_info
    assert extra is not None
    assert (extra.tax_id, extra.tax_id_type) == ("9998887777", TaxIdType.SSN)
    assert extra.track1099 is True and extra.combine_payments is True
    assert extra.lead_time_in_days == 10
    assert extra.company_name == "Happy Music Supplies"
    assert vendor.recurring_payments is False
    assert vendor.bill_currency == "USD"
    assert vendor.balance is not None and vendor.balance.amount == 0
    assert vendor.auto_pay is not None and vendor.auto_pay.enabled is False
    assert vendor.created_time == datetime.datetime(2025, 12, 15, 22, 53, 15, 127000, tzinfo=UTC)
    assert vendor.updated_time == vendor.created_time
    assert vendor.additional_properties == {}


# --------------------------------------------------------------------------- payment.updated


def test_payment_updated_as_documented_parses_into_a_payment() -> None:
    event = receive(PAYMENT_UPDATED)
    assert (event.event_type, event.entity_type, event.event_id) == ("payment.updated", "payment", "{event_id}")
    payment = event.typed_entity()
    assert isinstance(payment, Payment)
    # BILL's documented values
    assert payment.id == "{payment_id}"
    assert payment.bill_ids == ["{bill_id}"]
    assert payment.transaction_number == "{transaction_id}"
    assert payment.status == "SCHEDULED"
    assert payment.created_by == "{user_id}"
    assert payment.created_time == datetime.datetime(2026, 12, 16, 23, 56, 52, 127000, tzinfo=UTC)
    # the fields of the page's field table are typed too (values made up above)
    assert payment.funding is not None and payment.funding.type_ == FundingAccountType.BANK_ACCOUNT
    assert payment.disbursement is not None and payment.disbursement.arrives_by_date == "2026-12-22"
    assert payment.vendor is not None and payment.vendor.name == "Happy Music Supplies"
    assert payment.billing_type == PaymentBillingType.BDC
    assert payment.process_date == datetime.date(2026, 12, 18)
    assert payment.additional_properties == {}
