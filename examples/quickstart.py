"""`make demo`: an AP/AR + Spend + webhook flow through the public SDK.

With no BILL_* credentials in the environment it starts FakeBill on loopback (no account, no network); with
them it talks to the BILL sandbox. Prints one line per step and exits 0 only if every step did what it should.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from decimal import Decimal
from typing import Any

from bill_sdk import AsyncBill, where
from bill_sdk.models import (
    Address,
    BankAccountCreate,
    BankAccountOwnerType,
    BankAccountType,
    BillCreate,
    BillInvoice,
    BillLineItem,
    CustomerCreate,
    FundingAccountType,
    InvoiceCreate,
    InvoiceCustomer,
    InvoiceLineItem,
    PaymentCreate,
    PaymentFundingAccount,
    PaymentProcessingOptions,
    ReceivablePaymentCreate,
    ReceivablePaymentInvoiceAmount,
    ReceivablePaymentType,
    SubscriptionCreate,
    SubscriptionEventInput,
    SubscriptionStatusInput,
    VendorCreate,
)
from bill_sdk.webhooks import SIGNATURE_HEADER, WebhookEvent, construct_event

Step = Callable[[], Awaitable[str]]


class Report:
    def __init__(self) -> None:
        self.failures = 0

    async def step(self, title: str, run: Step) -> None:
        started = time.perf_counter()
        try:
            detail = await run()
        except Exception as exc:
            self.failures += 1
            print(f"  FAIL  {title}: {type(exc).__name__}: {exc}")
            return
        print(f"  ok    {title}: {detail} ({(time.perf_counter() - started) * 1000:.0f} ms)")


def webhook_receiver(keys: list[str], received: list[WebhookEvent]) -> Any:
    """A tiny HTTP endpoint that verifies BILL's signature before accepting an event."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        received.append(construct_event(body, request.headers.get(SIGNATURE_HEADER), keys))
        return JSONResponse({"received": True})

    return Starlette(routes=[Route("/bill/webhooks", receive, methods=["POST"])])


async def flow(
    bill: AsyncBill, spend: AsyncBill, receiver_url: str | None, keys: list[str], received: list[WebhookEvent]
) -> int:
    report = Report()
    state: dict[str, Any] = {}
    today = datetime.date.today()

    async def login() -> str:
        await bill.organizations.get(bill.credentials.organization_id or "")
        assert bill.session is not None
        return f"signed in to organization {bill.session.organization_id} (trusted={bill.session.trusted})"

    async def subscribe() -> str:
        if receiver_url is None:
            return "skipped: no public HTTPS endpoint for the real sandbox"
        sub = await bill.events.subscriptions.create(
            body=SubscriptionCreate(
                name="demo: vendors and bills",
                status=SubscriptionStatusInput(enabled=True),
                events=[SubscriptionEventInput(type_="vendor.created", version="1")],
                notification_url=receiver_url,
            )
        )
        if sub.security_key is None:  # BILL sends it once, in this answer
            raise RuntimeError("createSubscription answered without a securityKey")
        keys.append(sub.security_key)
        state["subscription"] = sub.id
        return f"subscription {sub.id}; security key received once, kept for verification"

    async def vendor() -> str:
        v = await bill.vendors.create(
            body=VendorCreate(
                name="Happy Music Supplies",
                email="ap@happymusic.example",
                address=Address(
                    line1="123 Main Street",
                    city="San Jose",
                    state_or_province="CA",
                    zip_or_postal_code="95002",
                    country="US",
                ),
            )
        )
        state["vendor"] = v.id
        return f"vendor {v.id} {v.name!r}"

    async def customer() -> str:
        c = await bill.customers.create(body=CustomerCreate(name="Acme Stores", email="ar@acme.example"))
        state["customer"] = c.id
        return f"customer {c.id} {c.name!r}"

    async def bills() -> str:
        amounts = [Decimal("19.99"), Decimal("0.07"), Decimal("1234567.89"), Decimal("250.00"), Decimal("75.50")]
        for i, amount in enumerate(amounts):
            created = await bill.bills.create(
                body=BillCreate(
                    vendor_id=state["vendor"],
                    due_date=today + datetime.timedelta(days=30),
                    invoice=BillInvoice(invoice_number=f"HM-{1000 + i}", invoice_date=today),
                    bill_line_items=[BillLineItem(amount=amount, description=f"Line {i}")],
                )
            )
            state.setdefault("bills", []).append(created)
        return f"{len(amounts)} bills, amounts {', '.join(str(b.amount) for b in state['bills'])}"

    async def iterate() -> str:
        pages = 0
        seen = 0
        async for page in bill.bills.pages(page_size=2, filters=where("vendorId").eq(state["vendor"])):
            pages += 1
            seen += len(page.results) if isinstance(page.results, list) else 0
        total = sum(
            [b.amount async for b in bill.bills.iter(page_size=2, filters=where("vendorId").eq(state["vendor"]))],
            Decimal(0),
        )
        assert seen == 5 and pages >= 3, (seen, pages)
        return f"{seen} bills over {pages} pages, total {total} (exact)"

    async def pay() -> str:
        accounts = await bill.funding_accounts.list_bank_accounts()
        if isinstance(accounts.results, list) and accounts.results:
            account_id = accounts.results[0].id
        else:
            account = await bill.funding_accounts.create_bank_account(
                body=BankAccountCreate(
                    name_on_account="Demo Org",
                    routing_number="074000010",
                    account_number="111222333",
                    type_=BankAccountType.CHECKING,
                    owner_type=BankAccountOwnerType.BUSINESS,
                    bank_name="Demo Bank",
                )
            )
            account_id = account.id
        target = state["bills"][0]
        payment = await bill.payments.create(
            body=PaymentCreate(
                bill_id=target.id,
                amount=target.amount,
                funding_account=PaymentFundingAccount(type_=FundingAccountType.BANK_ACCOUNT, id=account_id),
                processing_options=PaymentProcessingOptions(),
                process_date=today,
            )
        )
        paid = await bill.bills.get(target.id)
        return f"payment {payment.id} of {payment.amount}; bill {paid.id} is now {paid.payment_status}"

    async def invoice() -> str:
        inv = await bill.invoices.create(
            body=InvoiceCreate(
                customer=InvoiceCustomer(id=state["customer"]),
                invoice_number="INV-1",
                invoice_date=today,
                due_date=today + datetime.timedelta(days=15),
                invoice_line_items=[
                    InvoiceLineItem(description="Guitar strings", quantity=Decimal(3), price=Decimal("12.50"))
                ],
            )
        )
        received_payment = await bill.invoices.record_payment(
            body=ReceivablePaymentCreate(
                payment_date=today,
                payment_type=ReceivablePaymentType.CHECK,
                amount=Decimal("37.50"),
                invoices=[ReceivablePaymentInvoiceAmount(id=inv.id, amount=Decimal("37.50"))],
                customer_id=state["customer"],
            )
        )
        after = await bill.invoices.get(inv.id)
        return f"invoice {inv.id}; AR payment {received_payment.id}; invoice status {after.status}"

    async def budgets() -> str:
        names = [b.name async for b in spend.spend.budgets.iter()]
        return f"{len(names)} Spend & Expense budgets listed with an API token (no login)"

    async def webhook() -> str:
        if receiver_url is None:
            return "skipped: no public HTTPS endpoint for the real sandbox"
        for _ in range(100):
            if any(e.event_type == "vendor.created" for e in received):
                event = next(e for e in received if e.event_type == "vendor.created")
                return f"signed {event.event_type} for {event.entity.get('id')} verified (event {event.event_id})"
            await asyncio.sleep(0.05)
        raise AssertionError("no signed vendor.created notification arrived")

    print("bill-sdk demo")
    await report.step("login", login)
    await report.step("subscribe a webhook", subscribe)
    await report.step("create a vendor", vendor)
    await report.step("create a customer", customer)
    if "vendor" in state:
        await report.step("create bills", bills)
    if "bills" in state:
        await report.step("async for over bills across pages", iterate)
        await report.step("pay a bill", pay)
    if "customer" in state:
        await report.step("invoice and record an AR payment", invoice)
    await report.step("list Spend budgets", budgets)
    await report.step("receive and verify a signed event", webhook)
    print("all steps passed" if report.failures == 0 else f"{report.failures} step(s) failed")
    return 0 if report.failures == 0 else 1


async def main() -> int:
    keys: list[str] = []
    received: list[WebhookEvent] = []
    if os.environ.get("BILL_DEV_KEY"):
        print("using the BILL sandbox from BILL_* environment variables")
        async with AsyncBill() as bill, AsyncBill() as spend:
            return await flow(bill, spend, None, keys, received)

    from bill_sdk.testing import FakeBill
    from bill_sdk.testing.server import serve_app

    fake = FakeBill()
    with ExitStack() as stack:
        url = stack.enter_context(fake.serve())
        receiver = stack.enter_context(serve_app(webhook_receiver(keys, received)))
        print(f"FakeBill on {url} (no BILL account needed); webhook receiver on {receiver}")
        c = fake.credentials
        async with (
            AsyncBill(
                dev_key=c.dev_key,
                username=c.username,
                password=c.password,
                organization_id=c.organization_id,
                base_url=str(url),
                env={},
            ) as bill,
            AsyncBill(api_token=c.api_token, base_url=str(url), env={}) as spend,
        ):
            code = await flow(bill, spend, f"{receiver}/bill/webhooks", keys, received)
        fake.assert_no_violations()
        return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
