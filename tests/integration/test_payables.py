"""The AP additions of issue #15 through the public SDK, over loopback HTTP against a FakeBill served by uvicorn:
bill approvals gate payments, GL classifications on bill lines, international payments need an exchange-rate
batch, vendor credits lower what a bill owes, recorded AP payments, bulk classification changes."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from bill_sdk import AsyncBill
from bill_sdk.errors import NotFoundError, ValidationError
from bill_sdk.models import (
    Address,
    AppliedVendorCredit,
    BankAccountCreate,
    BankAccountOwnerType,
    BankAccountType,
    BillApprovalAction,
    BillApprovalActionType,
    BillApprovalPolicyCreate,
    BillApprovalRuleCreate,
    BillApprovalRuleKey,
    BillApprovalRuleOperator,
    BillApprovalStatus,
    BillCreate,
    BillInvoice,
    BillLineItem,
    BillPaymentRecord,
    BillPaymentRecordItem,
    BillPaymentStatus,
    BillUpdate,
    ChartOfAccountAccount,
    ChartOfAccountCreate,
    ChartOfAccountType,
    ClassificationBulkUpdate,
    ClassificationCreate,
    Classifications,
    FundingAccountType,
    PaymentCreate,
    PaymentFundingAccount,
    PaymentProcessingOptions,
    VendorCreate,
    VendorCreditCreate,
    VendorCreditLineItem,
    VendorCreditStatus,
)
from bill_sdk.testing import ServerURL

pytestmark = pytest.mark.integration

TODAY = datetime.date.today()


async def new_vendor(bill: AsyncBill, name: str = "Happy Music Supplies", currency: str | None = None) -> str:
    body = VendorCreate(
        name=name,
        email="ap@happymusic.example",
        address=Address(line1="1 Rue de Rivoli", city="Paris", zip_or_postal_code="75001", country="FR")
        if currency
        else Address(line1="123 Main Street", city="San Jose", zip_or_postal_code="95002", country="US"),
    )
    if currency:
        body.bill_currency = currency
    vendor = await bill.vendors.create(body=body)
    assert isinstance(vendor.id, str)
    return vendor.id


async def new_bill(bill: AsyncBill, vendor_id: str, amount: str, *, lines: list[BillLineItem] | None = None) -> str:
    created = await bill.bills.create(
        body=BillCreate(
            vendor_id=vendor_id,
            due_date=TODAY + datetime.timedelta(days=30),
            invoice=BillInvoice(invoice_number=f"INV-{amount}", invoice_date=TODAY),
            bill_line_items=lines or [BillLineItem(amount=Decimal(amount), description="Drum sticks")],
            bill_approvals=True,
        )
    )
    assert isinstance(created.id, str)
    return created.id


async def new_bank_account(bill: AsyncBill) -> str:
    account = await bill.funding_accounts.create_bank_account(
        body=BankAccountCreate(
            name_on_account="FakeBill Organization",
            routing_number="074000010",
            account_number="111222333",
            type_=BankAccountType.CHECKING,
            owner_type=BankAccountOwnerType.BUSINESS,
            bank_name="Demo Bank",
        )
    )
    assert isinstance(account.id, str)
    return account.id


def payment(bill_id: str, amount: str, account_id: str, **extra: object) -> PaymentCreate:
    body = PaymentCreate(
        bill_id=bill_id,
        amount=Decimal(amount),
        funding_account=PaymentFundingAccount(type_=FundingAccountType.BANK_ACCOUNT, id=account_id),
        processing_options=PaymentProcessingOptions(),
        process_date=TODAY,
    )
    for name, value in extra.items():
        setattr(body, name, value)
    return body


async def test_approval_policy_then_approve_then_pay(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    approver = fake.credentials.user_id
    policy = await bill.bill_approvals.create_policy(
        body=BillApprovalPolicyCreate(
            policy_name="Bills of $1000 or more",
            rules=[
                BillApprovalRuleCreate(
                    key=BillApprovalRuleKey.BILL_AMOUNT, op=BillApprovalRuleOperator.GTE, values=["1000"]
                )
            ],
            approvers=[approver],
        )
    )
    assert policy.policy_name == "Bills of $1000 or more" and isinstance(policy.id, str)
    assert policy.approvers and [u.user_id for u in policy.approvers.users or []] == [approver]
    assert [p.id for p in await bill.bill_approvals.list_policies()] == [policy.id]

    vendor_id = await new_vendor(bill)
    small = await new_bill(bill, vendor_id, "99.00")
    big = await new_bill(bill, vendor_id, "1500.00")
    assert (await bill.bills.get(small)).approval_status is not BillApprovalStatus.ASSIGNED
    assigned = await bill.bills.get(big)
    assert assigned.approval_status == BillApprovalStatus.ASSIGNED
    assert [a.user_id for a in assigned.approvers or []] == [approver]
    pending = await bill.bill_approvals.list_pending()
    assert [p.bill_id for p in pending.bills or []] == [big]

    account = await new_bank_account(bill)
    with pytest.raises(ValidationError) as refused:
        await bill.payments.create(body=payment(big, "1500.00", account))
    assert refused.value.codes == ("BDC_1119",) and "approvals are not complete" in str(refused.value)
    assert fake.state.list("payments") == []
    await bill.payments.create(body=payment(small, "99.00", account))  # no policy applies: paid at once

    await bill.bill_approvals.approve_or_deny(
        body=[BillApprovalAction(bill_id=big, action=BillApprovalActionType.APPROVE, comment="OK to pay")]
    )
    approved = await bill.bills.get(big)
    assert approved.approval_status == BillApprovalStatus.APPROVED
    assert (await bill.bill_approvals.list_pending()).bills == []
    paid = await bill.payments.create(body=payment(big, "1500.00", account))
    assert paid.amount == Decimal("1500.00")
    assert (await bill.bills.get(big)).payment_status == BillPaymentStatus.PAID

    await bill.bill_approvals.delete_policy(policy.id)
    assert await bill.bill_approvals.list_policies() == []


async def test_denied_bill_stays_unpaid(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill = bill_server_client
    vendor_id = await new_vendor(bill)
    rule = BillApprovalRuleCreate(key=BillApprovalRuleKey.VENDOR_ID, op=BillApprovalRuleOperator.EQ, values=[vendor_id])
    policy = await bill.bill_approvals.create_policy(
        body=BillApprovalPolicyCreate(policy_name="This vendor", rules=[rule], approvers=["00601APPROVER0001"])
    )
    assert policy.rules and policy.rules[0].values and policy.rules[0].values[0].display_name == "Happy Music Supplies"
    bill_id = await new_bill(bill, vendor_id, "10.00")
    await bill.bill_approvals.approve_or_deny(
        body=[BillApprovalAction(bill_id=bill_id, action=BillApprovalActionType.DENY)]
    )
    assert (await bill.bills.get(bill_id)).approval_status == BillApprovalStatus.DENIED
    with pytest.raises(ValidationError):
        await bill.payments.create(body=payment(bill_id, "10.00", await new_bank_account(bill)))
    with pytest.raises(ValidationError):  # nothing is waiting any more
        await bill.bill_approvals.approve_or_deny(
            body=[BillApprovalAction(bill_id=bill_id, action=BillApprovalActionType.APPROVE)]
        )


async def test_classification_lookup_then_bill_line_item(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    account = await bill.classifications.chart_of_accounts.create(
        body=ChartOfAccountCreate(
            name="Prepaid Expenses",
            account=ChartOfAccountAccount(type_=ChartOfAccountType.EXPENSE, number="1-020"),
        )
    )
    assert isinstance(account.id, str) and account.id.startswith("0ca")
    departments = await bill.classifications.departments.bulk_create(
        body=[ClassificationCreate(name="Sales"), ClassificationCreate(name="Support")]
    )
    sales, support = departments.departments or []
    assert (sales.name, support.name) == ("Sales", "Support")

    found = [c async for c in bill.classifications.chart_of_accounts.iter()]
    assert [(c.id, c.account.number if c.account else None) for c in found] == [(account.id, "1-020")]
    assert isinstance(sales.id, str) and isinstance(support.id, str)
    vendor_id = await new_vendor(bill)
    line = BillLineItem(
        amount=Decimal("42.00"),
        description="Strings",
        classifications=Classifications(chart_of_account_id=account.id, department_id=sales.id),
    )
    bill_id = await new_bill(bill, vendor_id, "42.00", lines=[line])
    got = await bill.bills.get(bill_id)
    first = (got.bill_line_items or [])[0]
    assert first.classifications and first.classifications.chart_of_account_id == account.id

    # an archived classification cannot be set on a bill; restoring it makes it usable again
    archived = await bill.classifications.departments.bulk_archive(ids=f"{sales.id},{support.id}")
    assert [d.archived for d in archived.departments or []] == [True, True]
    assert [d async for d in bill.classifications.departments.iter()] == []
    with pytest.raises(ValidationError) as refused:
        await new_bill(bill, vendor_id, "1.00", lines=[line])
    assert "archived" in str(refused.value)
    assert (await bill.classifications.departments.restore(sales.id)).archived is False
    await new_bill(bill, vendor_id, "1.00", lines=[line])
    with pytest.raises(ValidationError):
        bogus = BillLineItem(amount=Decimal(1), classifications=Classifications(job_id="nope"))
        await new_bill(bill, vendor_id, "1.00", lines=[bogus])

    renamed = await bill.classifications.departments.bulk_update(
        body=[ClassificationBulkUpdate(id=sales.id, short_name="SLS")]
    )
    assert [(d.name, d.short_name) for d in renamed.departments or []] == [("Sales", "SLS")]
    with pytest.raises(NotFoundError):
        await bill.classifications.departments.bulk_update(body=[ClassificationBulkUpdate(id="nope", name="x")])
    assert fake.state.get("classifications/departments", sales.id)["shortName"] == "SLS"  # type: ignore[index]


async def test_international_vendor_exchange_rate_then_payment(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    vendor_id = await new_vendor(bill, "Musique Heureuse", currency="EUR")
    bill_id = await new_bill(bill, vendor_id, "1000.00")
    account = await new_bank_account(bill)

    with pytest.raises(ValidationError) as refused:
        await bill.payments.create(body=payment(bill_id, "1000.00", account))
    assert refused.value.codes == ("BDC_1108",) and "exchangeRateBatchId" in str(refused.value)
    with pytest.raises(ValidationError):
        await bill.payments.create(body=payment(bill_id, "1000.00", account, exchange_rate_batch_id=1))

    rate = await bill.payments.get_exchange_rate(vendor_id=vendor_id, amount=Decimal("1000.00"))
    assert rate.bill_currency == "EUR" and rate.base_currency == "USD"
    assert isinstance(rate.exchange_rate, Decimal) and rate.exchange_rate > 0
    assert isinstance(rate.exchange_rate_batch_id, int)
    paid = await bill.payments.create(
        body=payment(bill_id, "1000.00", account, exchange_rate_batch_id=rate.exchange_rate_batch_id)
    )
    assert paid.amount == Decimal("1000.00")
    assert fake.calls("getExchangeRate")[0].status == 200
    assert (await bill.bills.get(bill_id)).payment_status == BillPaymentStatus.PAID

    us_vendor = await new_vendor(bill, "Local Supplies")
    us_bill = await new_bill(bill, us_vendor, "5.00")
    await bill.payments.create(body=payment(us_bill, "5.00", account))  # USD vendor: no batch needed
    with pytest.raises(NotFoundError):
        await bill.payments.get_exchange_rate(vendor_id="00901NOSUCHVENDOR", amount=Decimal(1))


async def test_vendor_credit_lowers_what_the_bill_owes(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill = bill_server_client
    vendor_id = await new_vendor(bill)
    credit = await bill.vendor_credits.create(
        body=VendorCreditCreate(
            vendor_id=vendor_id,
            reference_number="VC-1",
            credit_date=TODAY,
            vendor_credit_line_items=[
                VendorCreditLineItem(amount=Decimal("14.99"), description="Returned drum sticks"),
                VendorCreditLineItem(amount=Decimal("50.00"), description="Returned guitar picks"),
            ],
        )
    )
    assert isinstance(credit.id, str) and credit.id.startswith("vcr")
    assert credit.amount == Decimal("64.99") and credit.status == VendorCreditStatus.NOT_APPLIED

    bill_id = await new_bill(bill, vendor_id, "100.00")
    updated = await bill.bills.update(
        bill_id, body=BillUpdate(vendor_credits=[AppliedVendorCredit(id=credit.id, amount=Decimal("40.00"))])
    )
    assert (updated.credit_amount, updated.due_amount) == (Decimal("40.00"), Decimal("60.00"))
    assert updated.payment_status == BillPaymentStatus.PARTIAL
    used = await bill.vendor_credits.get(credit.id)
    assert used.applied_amount == Decimal("40.00") and used.status == VendorCreditStatus.PARTIALLY_APPLIED
    assert [(u.bill_id, u.amount) for u in used.usage or []] == [(bill_id, Decimal("40.00"))]

    with pytest.raises(ValidationError):  # only 24.99 of the credit is left
        await bill.bills.update(
            bill_id, body=BillUpdate(vendor_credits=[AppliedVendorCredit(id=credit.id, amount=Decimal("65.00"))])
        )

    recorded = await bill.bills.record_payment(
        body=BillPaymentRecord(
            vendor_id=vendor_id,
            process_date=TODAY,
            to_print_check=False,
            payments=[
                BillPaymentRecordItem(
                    bill_id=bill_id,
                    amount=Decimal("35.01"),
                    vendor_credits=[AppliedVendorCredit(id=credit.id, amount=Decimal("24.99"))],
                )
            ],
        )
    )
    assert recorded.amount == Decimal("35.01") and recorded.vendor_id == vendor_id
    settled = await bill.bills.get(bill_id)
    assert (settled.credit_amount, settled.due_amount) == (Decimal("64.99"), Decimal("0"))
    assert settled.payment_status == BillPaymentStatus.PAID
    assert (await bill.vendor_credits.get(credit.id)).status == VendorCreditStatus.FULLY_APPLIED

    archived = await bill.vendor_credits.bulk_archive(ids=credit.id)
    assert [c.archived for c in archived.vendor_credits or []] == [True]
    assert [c async for c in bill.vendor_credits.iter()] == []
