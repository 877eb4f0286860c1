"""Credit memos, charging customers, recurring invoices, card freezes and receipts through the public SDK, over
loopback HTTP against a FakeBill served by uvicorn (the `bill_server_client` fixture of the pytest plugin)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from bill_sdk import AsyncBill
from bill_sdk.errors import NotFoundError, ValidationError
from bill_sdk.models import (
    Address,
    BankAccountCreate,
    BankAccountOwnerType,
    BankAccountType,
    BillCreate,
    BillInvoice,
    BillLineItem,
    BillPaymentStatus,
    BulkPaymentItem,
    CardStatus,
    CreditMemoCreate,
    CreditMemoLineItem,
    CreditMemoStatus,
    CustomerBankAccountCreate,
    CustomerCharge,
    CustomerChargeAuthorization,
    CustomerChargeInvoicePayment,
    CustomerCreate,
    FundingAccountType,
    InvoiceCreate,
    InvoiceCustomer,
    InvoiceLineItem,
    InvoicePaymentLinkRequest,
    InvoiceStatus,
    InvoiceUpdate,
    MassPaymentBatchStatus,
    MassPaymentCreate,
    PaymentFundingAccount,
    ReceivablePaymentCreate,
    ReceivablePaymentInvoiceAmount,
    ReceivablePaymentType,
    ReceivedPaymentAccount,
    RecurrencePeriod,
    RecurringInvoiceCreate,
    RecurringInvoiceLineItem,
    RecurringInvoiceSchedule,
    SpendReceiptInput,
    ThreeDsChallengeAction,
    ThreeDsChallengeAnswer,
    ThreeDsChallengeStatus,
    TransactionReceiptInput,
    TransactionReceiptStatus,
    VendorCreate,
    VendorExchangeRateQuery,
)
from bill_sdk.testing import ServerURL

pytestmark = pytest.mark.integration

TODAY = datetime.date.today()
ADDRESS = Address(line1="1 Market Street", city="San Francisco", zip_or_postal_code="94105", country="US")


async def new_customer(bill: AsyncBill, *, address: bool = True) -> str:
    customer = await bill.customers.create(
        body=CustomerCreate(
            name="Acme Stores", email="ar@acme.example", **({"billing_address": ADDRESS} if address else {})
        )
    )
    assert isinstance(customer.id, str)
    return customer.id


async def new_invoice(bill: AsyncBill, customer_id: str, price: str, quantity: int = 1, **extra: object) -> str:
    invoice = await bill.invoices.create(
        body=InvoiceCreate(
            customer=InvoiceCustomer(id=customer_id),
            invoice_number=f"INV-{price}",
            invoice_date=TODAY,
            due_date=TODAY + datetime.timedelta(days=30),
            invoice_line_items=[
                InvoiceLineItem(description="Drum sticks", quantity=Decimal(quantity), price=Decimal(price))
            ],
            **extra,  # type: ignore[arg-type]
        )
    )
    assert isinstance(invoice.id, str)
    return invoice.id


def memo(customer_id: str, number: str, *lines: CreditMemoLineItem) -> CreditMemoCreate:
    return CreditMemoCreate(
        customer_id=customer_id, reference_number=number, credit_date=TODAY, credit_memo_line_items=list(lines)
    )


# -- credit memos ---------------------------------------------------------------------------------------------


async def test_a_credit_memo_applied_to_an_invoice_lowers_its_amount_due(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill = bill_server_client
    customer_id = await new_customer(bill)
    invoice_id = await new_invoice(bill, customer_id, "50.00", quantity=2)
    assert (await bill.invoices.get(invoice_id)).due_amount == Decimal("100.00")

    credit = await bill.credit_memos.create(
        body=memo(
            customer_id,
            "CM-1",
            CreditMemoLineItem(description="Returned sticks", quantity=Decimal(2), price=Decimal("25.00")),
            CreditMemoLineItem(description="10% goodwill", rate_percent=Decimal(-10)),
        )
    )
    assert credit.amount == Decimal("45.00") and credit.applied_amount == Decimal(0)
    assert credit.status == CreditMemoStatus.NOT_APPLIED

    await bill.invoices.update(invoice_id, body=InvoiceUpdate(credit_amount=Decimal("30.00")))
    invoice = await bill.invoices.get(invoice_id)
    assert invoice.due_amount == Decimal("70.00") and invoice.credit_amount == Decimal("30.00")
    applied = await bill.credit_memos.get(str(credit.id))
    assert applied.applied_amount == Decimal("30.00") and applied.status == CreditMemoStatus.PARTIALLY_APPLIED
    assert [(u.invoice_id, u.amount) for u in applied.usage or []] == [(invoice_id, Decimal("30.00"))]

    with pytest.raises(ValidationError):  # only 15.00 of credit is left
        await bill.invoices.update(invoice_id, body=InvoiceUpdate(credit_amount=Decimal("50.00")))
    assert (await bill.invoices.get(invoice_id)).due_amount == Decimal("70.00")  # nothing changed

    await bill.invoices.update(invoice_id, body=InvoiceUpdate(credit_amount=Decimal("45.00")))
    assert (await bill.credit_memos.get(str(credit.id))).status == CreditMemoStatus.FULLY_APPLIED
    assert (await bill.invoices.get(invoice_id)).due_amount == Decimal("55.00")

    replaced = await bill.credit_memos.replace(  # what was applied survives a replace
        str(credit.id),
        body=memo(
            customer_id, "CM-1b", CreditMemoLineItem(description="Returned", quantity=Decimal(1), price=Decimal(45))
        ),
    )
    assert replaced.applied_amount == Decimal("45.00") and replaced.reference_number == "CM-1b"

    await bill.invoices.update(invoice_id, body=InvoiceUpdate(credit_amount=Decimal("10.00")))  # credit given back
    released = await bill.credit_memos.get(str(credit.id))
    assert released.applied_amount == Decimal("10.00") and released.status == CreditMemoStatus.PARTIALLY_APPLIED
    assert (await bill.invoices.get(invoice_id)).due_amount == Decimal("90.00")


async def test_credit_on_a_new_invoice_and_credit_memos_in_bulk(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill = bill_server_client
    customer_id = await new_customer(bill)
    created = await bill.credit_memos.bulk_create(
        body=[
            memo(customer_id, "CM-A", CreditMemoLineItem(description="A", quantity=Decimal(1), price=Decimal("20"))),
            memo(customer_id, "CM-B", CreditMemoLineItem(description="B", quantity=Decimal(1), price=Decimal("5"))),
        ]
    )
    ids = [str(m.id) for m in created.credit_memos or []]
    assert len(ids) == 2

    invoice_id = await new_invoice(bill, customer_id, "25.00", credit_amount=Decimal("25.00"))
    invoice = await bill.invoices.get(invoice_id)
    assert invoice.due_amount == Decimal(0) and invoice.status == InvoiceStatus.PAID_IN_FULL
    statuses = {m.status async for m in bill.credit_memos.iter()}
    assert statuses == {CreditMemoStatus.FULLY_APPLIED}

    archived = await bill.credit_memos.bulk_archive(ids=",".join(ids))
    assert all(m.archived for m in archived.credit_memos or [])
    assert [m async for m in bill.credit_memos.iter()] == []
    await bill.credit_memos.bulk_restore(ids=",".join(ids))
    assert len([m async for m in bill.credit_memos.iter()]) == 2


# -- charging a customer --------------------------------------------------------------------------------------


async def test_charge_authorization_then_customer_bank_account_then_charge(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    account_body = CustomerBankAccountCreate(
        name_on_account="Acme Stores",
        nickname="Acme operating",
        routing_number="074000010",
        account_number="9876543210",
        type_=BankAccountType.CHECKING,
        owner_type=BankAccountOwnerType.BUSINESS,
    )
    no_address = await new_customer(bill, address=False)
    with pytest.raises(ValidationError):  # BILL: the customer needs a billingAddress first
        await bill.customers.bank_accounts.create(no_address, body=account_body)

    customer_id = await new_customer(bill)
    account = await bill.customers.bank_accounts.create(customer_id, body=account_body)
    assert isinstance(account.id, str) and "9876543210" not in repr(account)
    assert [a.id async for a in bill.customers.bank_accounts.iter(customer_id)] == [account.id]
    invoice_id = await new_invoice(bill, customer_id, "80.00")

    charge = CustomerCharge(
        customer_id=customer_id,
        funding_account=ReceivedPaymentAccount(id=account.id, type_=FundingAccountType.BANK_ACCOUNT),
        description="April invoice",
        payment_date=TODAY,
        invoice_payments=[CustomerChargeInvoicePayment(invoice_id=invoice_id, amount=Decimal("30.00"))],
    )
    with pytest.raises(ValidationError) as refused:  # not authorized by default
        await bill.receivable_payments.charge_customer(body=charge)
    assert "authorizedToCharge" in str(refused.value)
    assert fake.state.list("receivable-payments") == []

    answer = await bill.customers.set_charge_authorization(
        customer_id, body=CustomerChargeAuthorization(authorized_to_charge=True)
    )
    assert answer.authorized_to_charge is True
    payment = await bill.receivable_payments.charge_customer(body=charge)
    assert payment.amount == Decimal("30.00") and isinstance(payment.id, str) and payment.id.startswith("0rp")
    invoice = await bill.invoices.get(invoice_id)
    assert invoice.due_amount == Decimal("50.00") and invoice.status == InvoiceStatus.PARTIAL_PAYMENT
    assert (await bill.receivable_payments.get(payment.id)).customer_id == customer_id
    assert [p.id async for p in bill.receivable_payments.iter()] == [payment.id]

    recorded = await bill.invoices.record_payment(
        body=ReceivablePaymentCreate(
            customer_id=customer_id,
            payment_date=TODAY,
            payment_type=ReceivablePaymentType.CHECK,
            amount=Decimal("50.00"),
            invoices=[ReceivablePaymentInvoiceAmount(id=invoice_id, amount=Decimal("50.00"))],
        )
    )
    assert (await bill.invoices.get(invoice_id)).status == InvoiceStatus.PAID_IN_FULL
    listed = {p.id: p async for p in bill.receivable_payments.iter()}  # charged and recorded payments alike
    assert set(listed) == {payment.id, recorded.id}
    assert [(i.invoice_id, i.amount) for i in listed[str(recorded.id)].invoice_payments or []] == [
        (invoice_id, Decimal("50.00"))
    ]

    await bill.customers.bank_accounts.archive(customer_id, account.id)
    with pytest.raises(ValidationError):  # an archived account cannot be charged
        await bill.receivable_payments.charge_customer(body=charge)


# -- recurring invoices ---------------------------------------------------------------------------------------


async def test_recurring_invoices_list_get_archive_restore(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill = bill_server_client
    customer_id = await new_customer(bill)
    created = await bill.recurring_invoices.create(
        body=RecurringInvoiceCreate(
            customer_id=customer_id,
            schedule=RecurringInvoiceSchedule(
                period=RecurrencePeriod.MONTHLY, frequency=1, next_due_date=TODAY, days_in_advance=5
            ),
            recurring_invoice_line_items=[
                RecurringInvoiceLineItem(
                    description="Monthly subscription", quantity=Decimal(1), amount=Decimal("19.99")
                )
            ],
        )
    )
    assert isinstance(created.id, str)
    got = await bill.recurring_invoices.get(created.id)
    assert got.schedule and got.schedule.period == RecurrencePeriod.MONTHLY
    assert [r.id async for r in bill.recurring_invoices.iter()] == [created.id]
    assert (await bill.recurring_invoices.archive(created.id)).archived is True
    assert [r.id async for r in bill.recurring_invoices.iter()] == []
    await bill.recurring_invoices.restore(created.id)
    assert [r.id async for r in bill.recurring_invoices.iter()] == [created.id]


# -- Spend & Expense ------------------------------------------------------------------------------------------


async def test_a_frozen_card_can_be_unfrozen(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    card = fake.state.put("spend/cards", {"name": "Travel card", "status": "ACTIVATED", "uuid": "card-uuid-1"})
    assert (await bill.spend.cards.freeze(card["id"])).status == CardStatus.FROZEN
    assert (await bill.spend.cards.freeze("card-uuid-1")).status == CardStatus.FROZEN  # by uuid, idempotent
    assert (await bill.spend.cards.get(card["id"])).status == CardStatus.FROZEN
    assert (await bill.spend.cards.unfreeze(card["id"])).status == CardStatus.ACTIVATED
    with pytest.raises(NotFoundError):
        await bill.spend.cards.freeze("no-such-card")


async def test_a_receipt_uploads_to_a_transaction_like_an_attachment(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    tx = fake.state.put("spend/transactions", {"merchantName": "Coffee Shop", "receiptStatus": "NOT_ATTACHED"})
    upload = await bill.spend.transactions.create_receipt_upload_url()
    assert isinstance(upload.url, str) and upload.url in fake.spend_actions.uploads

    receipt = await bill.spend.transactions.add_receipt(
        tx["id"], body=TransactionReceiptInput(url=upload.url, filename="coffee.jpg")
    )
    assert receipt.filename == "coffee.jpg" and isinstance(receipt.uuid, str)
    got = await bill.spend.transactions.get(tx["id"])
    assert [(r.uuid, r.url) for r in got.receipts or []] == [(receipt.uuid, upload.url)]
    assert got.receipt_status == TransactionReceiptStatus.ATTACHED

    await bill.spend.transactions.delete_receipt(tx["id"], receipt.uuid)
    cleared = await bill.spend.transactions.get(tx["id"])
    assert not cleared.receipts and cleared.receipt_status == TransactionReceiptStatus.NOT_ATTACHED
    with pytest.raises(NotFoundError):
        await bill.spend.transactions.delete_receipt(tx["id"], receipt.uuid)


async def test_a_3ds_challenge_is_answered(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill = bill_server_client
    rejected = await bill.spend.transactions.answer_3ds_challenge(
        "acs-1", body=ThreeDsChallengeAnswer(action=ThreeDsChallengeAction.REJECT)
    )
    assert rejected.id == "acs-1" and rejected.status == ThreeDsChallengeStatus.REJECTED


async def test_reimbursement_receipts_are_added_and_deleted(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    reimbursement = fake.state.put("spend/reimbursements", {"merchantName": "Taxi", "receipts": []})
    upload = await bill.spend.reimbursements.create_image_upload_url()
    receipt = await bill.spend.reimbursements.add_receipt(
        reimbursement["id"], body=SpendReceiptInput(url=str(upload.url), filename="taxi.png")
    )
    assert [r.uuid for r in (await bill.spend.reimbursements.get(reimbursement["id"])).receipts or []] == [receipt.uuid]
    await bill.spend.reimbursements.delete_receipt(reimbursement["id"], str(receipt.uuid))
    assert not (await bill.spend.reimbursements.get(reimbursement["id"])).receipts


# -- documented-only Connect operations -----------------------------------------------------------------------


async def test_mass_payment_exchange_rates_login_organizations_and_payment_link(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    vendor = await bill.vendors.create(
        body=VendorCreate(name="Happy Music Supplies", email="ap@happymusic.example", address=ADDRESS)
    )
    vendor_id = str(vendor.id)
    bill_ids = []
    for n in (1, 2):
        created = await bill.bills.create(
            body=BillCreate(
                vendor_id=vendor_id,
                due_date=TODAY + datetime.timedelta(days=30),
                invoice=BillInvoice(invoice_number=f"B-{n}", invoice_date=TODAY),
                bill_line_items=[BillLineItem(amount=Decimal("40.00"), description="strings")],
            )
        )
        bill_ids.append(str(created.id))
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
    quotes = await bill.payments.get_exchange_rates(
        body=[VendorExchangeRateQuery(vendor_id=vendor_id, amount=Decimal(80))]
    )
    assert quotes.exchange_rate_batch_id and [r.vendor_id for r in quotes.exchange_rates or []] == [vendor_id]

    batch = await bill.payments.create_mass_payment(
        body=MassPaymentCreate(
            vendor_id=vendor_id,
            process_date=TODAY,
            funding_account=PaymentFundingAccount(type_=FundingAccountType.BANK_ACCOUNT, id=str(account.id)),
            payments=[BulkPaymentItem(bill_id=b, amount=Decimal("40.00")) for b in bill_ids],
        )
    )
    assert isinstance(batch.payment_batch_id, str) and batch.payment_batch_id.startswith("bbq")
    status = await bill.payments.get_mass_payment(batch.payment_batch_id)
    assert status.batch_status == MassPaymentBatchStatus.COMPLETED and status.count and status.count.total == 2
    assert {(await bill.bills.get(b)).payment_status for b in bill_ids} == {BillPaymentStatus.PAID}
    with pytest.raises(NotFoundError):
        await bill.payments.get_mass_payment("bbq01NOSUCHBATCH00")

    orgs = await bill.auth.list_organizations()
    assert [o.id for o in orgs.results or []] == [fake.credentials.organization_id]

    customer_id = await new_customer(bill)
    invoice_id = await new_invoice(bill, customer_id, "10.00")
    link = await bill.invoices.get_payment_link(
        invoice_id, body=InvoicePaymentLinkRequest(customer_id=customer_id, email="ar@acme.example")
    )
    assert link.payment_link and invoice_id in link.payment_link
