"""Request bodies the tests send again and again, built one way: a vendor, a bill, a bank account, a payment.

Each builder takes what a test varies and fills in the rest with values BILL accepts, so a test states only
what matters to it. Bodies built to break a rule (a float amount, a missing field) stay in their tests.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from bill_sdk.models import (
    Address,
    BankAccountCreate,
    BankAccountOwnerType,
    BankAccountType,
    BillCreate,
    BillInvoice,
    BillLineItem,
    FundingAccountType,
    PaymentCreate,
    PaymentFundingAccount,
    PaymentProcessingOptions,
    VendorCreate,
)

ROUTING_NUMBER = "074000010"  # a routing number BILL's sandbox accepts


def main_street(city: str = "San Jose") -> Address:
    """1 Main St, San Jose (or `city`), US."""
    return Address(line1="1 Main St", city=city, country="US")


def vendor(name: str = "Happy Music", *, address: Address | None = None, **fields: Any) -> VendorCreate:
    """A vendor at :func:`main_street` unless `address` says otherwise."""
    return VendorCreate(name=name, address=address if address is not None else main_street(), **fields)


def bill(
    vendor_id: str,
    amount: str | Decimal,
    invoice_number: str,
    *,
    today: datetime.date,
    description: str | None = None,
    due_in_days: int = 30,
) -> BillCreate:
    """A bill of one line item, invoiced `today` and due `due_in_days` later."""
    return BillCreate(
        vendor_id=vendor_id,
        due_date=today + datetime.timedelta(days=due_in_days),
        invoice=BillInvoice(invoice_number=invoice_number, invoice_date=today),
        bill_line_items=[BillLineItem(amount=Decimal(amount), description=description)],
    )


def bank_account(name_on_account: str, account_number: str, bank_name: str) -> BankAccountCreate:
    """A business checking account (the organization's funding account)."""
    return BankAccountCreate(
        name_on_account=name_on_account,
        routing_number=ROUTING_NUMBER,
        account_number=account_number,
        type_=BankAccountType.CHECKING,
        owner_type=BankAccountOwnerType.BUSINESS,
        bank_name=bank_name,
    )


def payment(
    bill_id: str = "00n1",
    amount: str | Decimal = "125.50",
    account_id: str = "bac1",
    *,
    process_date: datetime.date | None = None,
) -> PaymentCreate:
    """A payment of a bill from a bank account, with BILL's required fields."""
    return PaymentCreate(
        bill_id=bill_id,
        amount=Decimal(amount),
        funding_account=PaymentFundingAccount(type_=FundingAccountType.BANK_ACCOUNT, id=account_id),
        processing_options=PaymentProcessingOptions(),
        process_date=process_date,
    )
