"""Every BILL API family through the public SDK, over real loopback HTTP against a FakeBill served by uvicorn.

Each test gets its own server (`fake_bill_server`) and client (`bill_server_client`, all FakeBill credentials,
no BILL_* environment) from the pytest plugin, and checks outcomes in what FakeBill stored or answers later.
"""

from __future__ import annotations

import datetime
import io
import uuid
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

from bill_sdk import AsyncBill, File, where
from bill_sdk.errors import ConfigurationError, MFARequiredError, NotFoundError, ValidationError
from bill_sdk.models import (
    Address,
    BillPaymentStatus,
    Budget,
    BudgetCreate,
    BudgetRecurringInterval,
    CustomerCreate,
    DocumentUploadState,
    InvoiceCreate,
    InvoiceCustomer,
    InvoiceLineItem,
    InvoiceStatus,
    MfaChallengeCreate,
    MfaChallengeValidation,
    NetworkOrganization,
    NetworkSearchResult,
    Organization,
    PartnerOrganizationAddressInput,
    PartnerOrganizationCreate,
    PartnerUserCreate,
    PaymentCreate,
    ReceivablePaymentCreate,
    ReceivablePaymentInvoiceAmount,
    ReceivablePaymentType,
    RecurrencePeriod,
    RecurringBillCreate,
    RecurringBillLineItem,
    RecurringBillSchedule,
    Role,
    SpendUser,
    SubscriptionCreate,
    SubscriptionEventInput,
    SubscriptionStatusInput,
    Transaction,
    User,
    VendorAuditTrailEntry,
    VendorCreate,
    VendorUpdate,
)
from bill_sdk.testing import FakeBill, FakeBillTransport, ServerURL
from tests import bodies

pytestmark = pytest.mark.integration

TODAY = datetime.date.today()


# -- helpers ---------------------------------------------------------------------------------------------------


def client_for(server: ServerURL, **overrides: Any) -> AsyncBill:
    """Another AsyncBill against the same server (credentials from the fake, overridable, no environment)."""
    c = server.fake.credentials
    options: dict[str, Any] = {
        "dev_key": c.dev_key,
        "username": c.username,
        "password": c.password,
        "organization_id": c.organization_id,
        "base_url": server.url,
        "env": {},
        **overrides,
    }
    return AsyncBill(**options)


async def new_vendor(bill: AsyncBill, name: str = "Happy Music Supplies") -> str:
    vendor = await bill.vendors.create(
        body=bodies.vendor(
            name,
            email="ap@happymusic.example",
            address=Address(line1="123 Main Street", city="San Jose", zip_or_postal_code="95002", country="US"),
        )
    )
    assert isinstance(vendor.id, str) and vendor.id.startswith("009")
    return vendor.id


async def new_bill(bill: AsyncBill, vendor_id: str, amount: str, number: str) -> str:
    created = await bill.bills.create(
        body=bodies.bill(vendor_id, amount, number, today=TODAY, description=f"{number} line")
    )
    assert isinstance(created.id, str) and created.id.startswith("00n")
    return created.id


async def new_bank_account(bill: AsyncBill) -> str:
    account = await bill.funding_accounts.create_bank_account(
        body=bodies.bank_account("FakeBill Organization", "111222333", "Demo Bank")
    )
    assert isinstance(account.id, str)
    return account.id


def payment_for(bill_id: str, amount: str, account_id: str) -> PaymentCreate:
    return bodies.payment(bill_id, amount, account_id, process_date=TODAY)


def subscription_body(n: int, url: str = "https://hooks.example.com/bill") -> SubscriptionCreate:
    return SubscriptionCreate(
        name=f"subscription {n}",
        status=SubscriptionStatusInput(enabled=True),
        events=[SubscriptionEventInput(type_="vendor.created", version="1")],
        notification_url=f"{url}/{n}",
    )


# -- the plugin's clients ---------------------------------------------------------------------------------------


async def test_bill_client_fixture_runs_in_process(bill_client: AsyncBill, fake_bill: FakeBill) -> None:
    """The in-process twin of `bill_server_client`: same SDK, FakeBill's ASGI transport instead of a socket."""
    assert isinstance(bill_client._http._transport, FakeBillTransport)
    vendor_id = await new_vendor(bill_client)
    assert [v["id"] for v in fake_bill.state.list("vendors")] == [vendor_id]
    assert [b.name async for b in bill_client.spend.budgets.iter()] == []  # API token set too
    assert [r.operation_id for r in fake_bill.requests] == ["login", "createVendor", "listBudgets"]


# -- Connect AP ------------------------------------------------------------------------------------------------


async def test_vendor_create_get_update_archive_restore(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    vendor_id = await new_vendor(bill)

    got = await bill.vendors.get(vendor_id)
    assert (got.name, got.email, got.archived) == ("Happy Music Supplies", "ap@happymusic.example", False)
    assert got.address and got.address.city == "San Jose"

    await bill.vendors.update(vendor_id, body=VendorUpdate(email="billing@happymusic.example", phone="4085550100"))
    changed = await bill.vendors.get(vendor_id)
    assert (changed.email, changed.phone, changed.name) == ("billing@happymusic.example", "4085550100", got.name)

    archived = await bill.vendors.archive(vendor_id)
    assert archived.archived is True
    assert (await bill.vendors.get(vendor_id)).archived is True
    assert vendor_id not in [v.id async for v in bill.vendors.iter()]  # lists leave archived objects out

    restored = await bill.vendors.restore(vendor_id)
    assert restored.archived is False
    assert [v.id async for v in bill.vendors.iter()] == [vendor_id]
    stored = fake.state.get("vendors", vendor_id)
    assert stored is not None and stored["email"] == "billing@happymusic.example" and stored["archived"] is False


async def test_bills_listed_across_pages_with_a_built_filter(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    mine = await new_vendor(bill, "Mine")
    other = await new_vendor(bill, "Other")
    amounts = ["19.99", "0.07", "1234567.89", "250.00", "75.50", "100.00", "3.10"]
    mine_ids = [await new_bill(bill, mine, amount, f"M-{i}") for i, amount in enumerate(amounts)]
    await new_bill(bill, other, "500.00", "O-1")
    await new_bill(bill, other, "600.00", "O-2")

    before = len(fake.calls("listBills"))
    seen = [b async for b in bill.bills.iter(page_size=2, filters=where("vendorId").eq(mine))]
    assert sorted(b.id for b in seen) == sorted(mine_ids)
    assert len(fake.calls("listBills")) - before == 4  # 2 + 2 + 2 + 1 over the `page` cursor
    assert sum((b.amount for b in seen), Decimal(0)) == Decimal("1235016.55")  # exact decimals both ways

    # BILL cannot filter bills by amount (see x-filterable of listBills): a compound filter on id and vendor.
    big = where("vendorId").eq(mine) & where("id").in_([mine_ids[2], mine_ids[3], mine_ids[5]])
    picked = [b.amount async for b in bill.bills.iter(page_size=1, filters=big)]
    assert sorted(picked) == [Decimal("100.00"), Decimal("250.00"), Decimal("1234567.89")]


async def test_payment_moves_the_bills_payment_status(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    vendor_id = await new_vendor(bill)
    bill_id = await new_bill(bill, vendor_id, "100.00", "HM-1")
    account_id = await new_bank_account(bill)
    assert (await bill.bills.get(bill_id)).payment_status == BillPaymentStatus.UNPAID

    first = await bill.payments.create(body=payment_for(bill_id, "40.00", account_id))
    assert first.amount == Decimal("40.00") and first.vendor_id == vendor_id
    partly = await bill.bills.get(bill_id)
    assert partly.payment_status == BillPaymentStatus.PARTIAL
    assert (partly.paid_amount, partly.due_amount) == (Decimal("40.00"), Decimal("60.00"))

    await bill.payments.create(body=payment_for(bill_id, "60.00", account_id))
    paid = await bill.bills.get(bill_id)
    assert paid.payment_status == BillPaymentStatus.PAID and paid.due_amount == Decimal(0)
    assert isinstance(first.id, str)
    assert (await bill.payments.get(first.id)).bill_id == bill_id
    assert len(fake.state.list("payments")) == 2


async def test_recurring_bill_create_and_get(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill = bill_server_client
    vendor_id = await new_vendor(bill)
    created = await bill.recurring_bills.create(
        body=RecurringBillCreate(
            vendor_id=vendor_id,
            schedule=RecurringBillSchedule(
                period=RecurrencePeriod.MONTHLY, frequency=3, next_due_date=TODAY + datetime.timedelta(days=10)
            ),
            recurring_bill_line_items=[RecurringBillLineItem(amount=Decimal("99.95"), description="Quarterly rent")],
            description="Rent",
        )
    )
    assert isinstance(created.id, str) and created.id.startswith("0rb")
    got = await bill.recurring_bills.get(created.id)
    assert got.vendor_id == vendor_id and got.description == "Rent"
    assert got.schedule and got.schedule.period == RecurrencePeriod.MONTHLY and got.schedule.frequency == 3
    assert got.recurring_bill_line_items and got.recurring_bill_line_items[0].amount == Decimal("99.95")
    assert [r.id async for r in bill.recurring_bills.iter()] == [created.id]


# -- Connect AR ------------------------------------------------------------------------------------------------


async def test_customer_invoice_and_received_payment(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    customer = await bill.customers.create(body=CustomerCreate(name="Acme Stores", email="ar@acme.example"))
    assert isinstance(customer.id, str)
    assert (await bill.customers.get(customer.id)).name == "Acme Stores"

    invoice = await bill.invoices.create(
        body=InvoiceCreate(
            customer=InvoiceCustomer(id=customer.id),
            invoice_number="INV-1",
            invoice_date=TODAY,
            due_date=TODAY + datetime.timedelta(days=15),
            invoice_line_items=[
                InvoiceLineItem(description="Guitar strings", quantity=Decimal(3), price=Decimal("12.50"))
            ],
        )
    )
    assert isinstance(invoice.id, str)
    opened = await bill.invoices.get(invoice.id)
    assert opened.status == InvoiceStatus.OPEN and opened.total_amount == Decimal("37.50")

    partial = await bill.invoices.record_payment(
        body=ReceivablePaymentCreate(
            payment_date=TODAY,
            payment_type=ReceivablePaymentType.CHECK,
            amount=Decimal("10.00"),
            invoices=[ReceivablePaymentInvoiceAmount(id=invoice.id, amount=Decimal("10.00"))],
            customer_id=customer.id,
        )
    )
    assert partial.amount == Decimal("10.00")
    assert (await bill.invoices.get(invoice.id)).status == InvoiceStatus.PARTIAL_PAYMENT

    await bill.invoices.record_payment(
        body=ReceivablePaymentCreate(
            payment_date=TODAY,
            payment_type=ReceivablePaymentType.CHECK,
            amount=Decimal("27.50"),
            invoices=[ReceivablePaymentInvoiceAmount(id=invoice.id, amount=Decimal("27.50"))],
            customer_id=customer.id,
        )
    )
    paid = await bill.invoices.get(invoice.id)
    assert paid.status == InvoiceStatus.PAID_IN_FULL and paid.due_amount == Decimal(0)
    assert len(fake.state.list("received-payments")) == 2


# -- documents and attachments ---------------------------------------------------------------------------------


async def test_bill_document_upload_and_its_status(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    bill_id = await new_bill(bill, await new_vendor(bill), "12.00", "DOC-1")
    content = b"%PDF-1.4 fake invoice \x00\xff bytes"

    upload = await bill.documents.upload_bill_document(bill_id, body=File(io.BytesIO(content)), name="invoice.pdf")
    assert isinstance(upload.id, str) and upload.id.startswith("0du")
    stored = fake.state.record(fake.credentials.organization_id, "documents/uploads", upload.id)
    assert stored is not None and stored.meta["bytes"] == content  # the raw file, not multipart or base64

    [first] = await bill.documents.get_upload_status(ids=upload.id)
    assert first.upload_id == upload.id and first.status == DocumentUploadState.IN_PROGRESS
    [second] = await bill.documents.get_upload_status(ids=upload.id)
    assert second.status == DocumentUploadState.UPLOADED
    assert isinstance(second.document_id, str) and second.document_id.startswith("00h")

    document = await bill.documents.get(second.document_id)
    assert document.name == "invoice.pdf"
    assert [d.id async for d in bill.documents.iter_bill_documents(bill_id)] == [second.document_id]


async def test_vendor_attachment_upload(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill = bill_server_client
    vendor_id = await new_vendor(bill)
    attachment = await bill.attachments.upload_vendor_attachment(
        vendor_id, body=File(io.BytesIO(b"W-9 form"), file_name="w9.pdf"), name="w9.pdf"
    )
    assert isinstance(attachment.id, str) and attachment.id.startswith("0at")
    assert (await bill.attachments.get(attachment.id)).name == "w9.pdf"
    assert [a.id async for a in bill.attachments.iter_vendor_attachments(vendor_id)] == [attachment.id]


# -- organizations, users, roles, funding accounts, network, reports -------------------------------------------


async def test_reference_data_comes_back_typed(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    c = fake.credentials
    role = fake.state.put("roles", {"type": "ADMINISTRATOR", "description": "Administrator"})

    organization = await bill.organizations.get(c.organization_id)
    assert isinstance(organization, Organization) and organization.name == "FakeBill Organization"

    users = await bill.users.list()
    assert isinstance(users.results, list) and all(isinstance(u, User) for u in users.results)
    assert [u.id for u in users.results] == [c.user_id]
    assert (await bill.users.get(c.user_id)).email == "fakeuser@example.com"

    roles = [r async for r in bill.roles.iter()]
    assert [type(r) for r in roles] == [Role] and roles[0].id == role["id"]
    assert (await bill.roles.get(role["id"])).description == "Administrator"

    account_id = await new_bank_account(bill)
    accounts = [a async for a in bill.funding_accounts.iter_bank_accounts()]
    assert [a.id for a in accounts] == [account_id] and accounts[0].bank_name == "Demo Bank"

    network_org = fake.state.put("network", {"name": "Acme Corp"})
    found = await bill.network.search(name="Acme Corp")
    assert isinstance(found, NetworkSearchResult) and isinstance(found.results, list)
    assert [(o.id, o.name) for o in found.results] == [(network_org["id"], "Acme Corp")]
    assert all(isinstance(o, NetworkOrganization) for o in found.results)

    vendor_id = await new_vendor(bill)
    fake.state.put(
        "reports/audit-trail/vendor",
        {"source": "API", "type": "Create", "user": {"id": c.user_id, "name": "Fake User"}},
        parents={"vendorId": vendor_id},
    )
    trail = await bill.reports.get_vendor_audit_trail(vendor_id)
    assert [type(entry) for entry in trail] == [VendorAuditTrailEntry]
    assert trail[0].type_ == "Create" and trail[0].user and trail[0].user.id == c.user_id


# -- MFA -------------------------------------------------------------------------------------------------------


async def test_mfa_remember_me_gives_a_trusted_session(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    challenge = await bill.mfa.create_challenge(body=MfaChallengeCreate(use_backup=False))
    assert isinstance(challenge.challenge_id, str)
    assert bill.session is not None and bill.session.trusted is False
    validated = await bill.mfa.validate_challenge(
        body=MfaChallengeValidation(
            challenge_id=challenge.challenge_id, token=fake.credentials.mfa_code, remember_me=True, device="ci-runner"
        )
    )
    assert isinstance(validated.remember_me_id, str) and validated.remember_me_id

    async with client_for(fake_bill_server, remember_me_id=validated.remember_me_id, device="ci-runner") as trusted:
        await trusted.organizations.get(fake.credentials.organization_id)
        assert trusted.session is not None and trusted.session.trusted is True
    async with client_for(fake_bill_server, remember_me_id=validated.remember_me_id, device="other") as stranger:
        await stranger.organizations.get(fake.credentials.organization_id)
        assert stranger.session is not None and stranger.session.trusted is False  # bound to its device


@pytest.mark.fake_bill(require_trusted_session_for_payments=True)
async def test_untrusted_payment_raises_mfa_required_once(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    bill_id = await new_bill(bill, await new_vendor(bill), "10.00", "MFA-1")
    account_id = await new_bank_account(bill)

    with pytest.raises(MFARequiredError) as caught:
        await bill.payments.create(body=payment_for(bill_id, "10.00", account_id))
    assert caught.value.status_code == 403 and caught.value.codes == ("BDC_1361",)
    assert len(fake.calls("createPayment")) == 1  # not retried
    assert bill.login_count == 1 and fake.login_count == 1  # no re-login loop
    assert fake.state.list("payments") == []
    assert (await bill.bills.get(bill_id)).payment_status == BillPaymentStatus.UNPAID

    # The documented way out: a remembered device signs in trusted, and the same payment goes through.
    challenge = await bill.mfa.create_challenge(body=MfaChallengeCreate())
    assert isinstance(challenge.challenge_id, str)
    validated = await bill.mfa.validate_challenge(
        body=MfaChallengeValidation(
            challenge_id=challenge.challenge_id, token=fake.credentials.mfa_code, remember_me=True, device="ci"
        )
    )
    assert isinstance(validated.remember_me_id, str)
    async with client_for(fake_bill_server, remember_me_id=validated.remember_me_id, device="ci") as trusted:
        await trusted.payments.create(body=payment_for(bill_id, "10.00", account_id))
        assert (await trusted.bills.get(bill_id)).payment_status == BillPaymentStatus.PAID


# -- Partner ---------------------------------------------------------------------------------------------------


async def test_partner_login_as_user_child_client(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    org = await bill.partner.organizations.create(
        body=PartnerOrganizationCreate(
            name="Child Co",
            address=PartnerOrganizationAddressInput(
                line1="1 Partner Way", city="Austin", zip_or_postal_code="73301", country="US"
            ),
        )
    )
    assert isinstance(org.id, str)
    assert [o.id async for o in bill.partner.organizations.iter()] == [org.id]
    user = await bill.partner.users.create(
        body=PartnerUserCreate(
            first_name="Casey",
            email="casey@child.example",
            username="casey@child.example",
            accept_terms_of_service=True,
        ),
        organization_id=org.id,
    )
    assert isinstance(user.id, str)
    assert [u.id async for u in bill.partner.users.iter(organization_id=org.id)] == [user.id]
    assert fake.calls("partnerLogin") and bill.session is None  # partner calls did not need an org login

    child = await bill.login_as_user(org.id, user.id)
    assert child.session is not None and child.credentials.organization_id == org.id
    assert (await child.organizations.get(org.id)).name == "Child Co"
    vendor_id = await new_vendor(child, "Child's vendor")
    assert [v["id"] for v in fake.state.list("vendors", org=org.id)] == [vendor_id]
    assert fake.state.list("vendors") == []  # nothing landed in the partner's own organization
    assert child._http is bill._http and child._limiter.capacity == bill._limiter.capacity

    child_session = child.session.session_id
    assert fake.auth.live_session(child_session) is not None
    await bill.aclose()
    assert child._lifecycle.closed
    assert fake.auth.live_session(child_session) is None  # the child signed out when the parent closed
    assert len(fake.calls("partnerLogin")) == 1 and len(fake.calls("loginAsUser")) == 1


async def test_renewed_child_session_stays_trusted(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    fake = fake_bill_server.fake
    c = fake.credentials
    challenge = await bill_server_client.mfa.create_challenge(body=MfaChallengeCreate())
    assert isinstance(challenge.challenge_id, str)
    validated = await bill_server_client.mfa.validate_challenge(
        body=MfaChallengeValidation(
            challenge_id=challenge.challenge_id, token=c.mfa_code, remember_me=True, device="ci"
        )
    )
    assert isinstance(validated.remember_me_id, str)
    async with client_for(
        fake_bill_server, app_key=c.app_key, remember_me_id=validated.remember_me_id, device="ci"
    ) as partner:
        child = await partner.login_as_user(c.organization_id, c.user_id)
        assert child.session is not None and child.session.trusted is True
        fake.auth.expire(child.session.session_id)
        await child.organizations.get(c.organization_id)  # BDC_1109, then a new login-as-user
        assert len(fake.calls("loginAsUser")) == 2
        assert child.session is not None and child.session.trusted is True


# -- Connect Events --------------------------------------------------------------------------------------------


async def test_subscription_create_list_delete(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    created = await bill.events.subscriptions.create(body=subscription_body(1))
    assert isinstance(created.id, str) and uuid.UUID(created.id)
    assert isinstance(created.security_key, str) and len(created.security_key) >= 32  # shown once, on create

    keys = [slot[3] for slot in fake.idempotency._entries]  # the X-Idempotent-Key values FakeBill accepted
    assert len(keys) == 1 and uuid.UUID(keys[0]).version == 4 and str(uuid.UUID(keys[0])) == keys[0]

    got = await bill.events.subscriptions.get(created.id)
    assert got.name == "subscription 1" and not isinstance(got.security_key, str)  # never again
    assert [s.id async for s in bill.events.subscriptions.iter()] == [created.id]

    await bill.events.subscriptions.delete(created.id)
    with pytest.raises(NotFoundError):
        await bill.events.subscriptions.get(created.id)
    assert [s.id async for s in bill.events.subscriptions.iter()] == []
    assert fake.state.list("subscriptions") == []


# -- Spend & Expense -------------------------------------------------------------------------------------------


async def test_spend_lists_with_the_api_token(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    budget = await bill.spend.budgets.create(
        body=BudgetCreate(
            name="Travel",
            owners=[fake.credentials.user_id],
            recurring_interval=BudgetRecurringInterval.MONTHLY,
            limit=Decimal("500"),
        )
    )
    fake.state.put("spend/users", {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"})
    fake.state.put("spend/transactions", {"merchantName": "Coffee Shop", "budgetId": budget.id})

    budgets = [b async for b in bill.spend.budgets.iter()]
    assert [type(b) for b in budgets] == [Budget] and budgets[0].name == "Travel"
    users = [u async for u in bill.spend.users.iter()]
    assert [type(u) for u in users] == [SpendUser] and users[0].email == "ada@example.com"
    transactions = (await bill.spend.transactions.list()).results
    assert isinstance(transactions, list) and [type(t) for t in transactions] == [Transaction]
    assert transactions[0].merchant_name == "Coffee Shop" and transactions[0].budget_id == budget.id

    spend_calls = [r for r in fake.requests if r.path.startswith("/connect/v3/spend/")]
    assert len(spend_calls) == 4 and all(r.status in (200, 201) for r in spend_calls)
    assert fake.login_count == 0 and bill.session is None  # the API token needs no login


async def test_spend_transactions_iterate_with_the_default_page_size(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    fake_bill_server.fake.state.put("spend/transactions", {"merchantName": "Coffee Shop"})
    assert [t.merchant_name async for t in bill_server_client.spend.transactions.iter()] == ["Coffee Shop"]


async def test_spend_without_api_token_fails_before_sending(fake_bill_server: ServerURL) -> None:
    fake = fake_bill_server.fake
    async with client_for(fake_bill_server) as bill:  # Connect credentials only
        with pytest.raises(ConfigurationError, match="BILL_API_TOKEN") as caught:
            await bill.spend.budgets.list()
        assert caught.value.env_var == "BILL_API_TOKEN"
    assert fake.requests == []


# -- sessions and concurrency ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


SESSION_CLOCK = Clock()


@pytest.mark.fake_bill(clock=SESSION_CLOCK, session_idle_seconds=60)
async def test_expired_session_renews_once_for_twenty_concurrent_calls(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    vendor_id = await new_vendor(bill)
    assert fake.login_count == 1
    first = bill.session
    SESSION_CLOCK.now += 61  # idle past the limit: FakeBill answers BDC_1109 from now on

    names: list[str | None] = []

    async def read() -> None:
        vendor = await bill.vendors.get(vendor_id)
        names.append(vendor.name if isinstance(vendor.name, str) else None)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(read)
    assert names == ["Happy Music Supplies"] * 20
    assert fake.login_count == 2 and bill.login_count == 2  # exactly one extra login
    assert bill.session is not None and bill.session is not first
    assert any(r.status == 401 for r in fake.calls("getVendor"))  # the expiry really happened


async def test_fifty_concurrent_calls_stay_within_three_in_flight(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    vendor_id = await new_vendor(bill)
    fake.faults.add("getVendor", kind="latency", count=None, seconds=0.01)  # make the calls overlap

    async def read() -> None:
        await bill.vendors.get(vendor_id)

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(read)
    gets = fake.calls("getVendor")
    assert len(gets) == 50 and all(r.status == 200 for r in gets)  # no BDC_1322, so nothing was retried
    assert max(fake.peak_in_flight.values()) == 3


# -- pagination styles -----------------------------------------------------------------------------------------


async def test_connect_page_cursor(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    seeded = [fake.state.put("vendors", {"name": f"Vendor {i:02d}"})["id"] for i in range(7)]
    pages = [page async for page in bill.vendors.pages(page_size=3)]
    assert [len(p.results) for p in pages if isinstance(p.results, list)] == [3, 3, 1]
    assert isinstance(pages[0].next_page, str) and isinstance(pages[1].prev_page, str)
    assert sorted(v.id for p in pages if isinstance(p.results, list) for v in p.results) == sorted(seeded)


async def test_spend_next_page_cursor(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    seeded = [fake.state.put("spend/budgets", {"name": f"Budget {i}"})["id"] for i in range(7)]
    pages = [page async for page in bill.spend.budgets.pages(page_size=2)]
    assert [len(p.results) for p in pages if isinstance(p.results, list)] == [2, 2, 2, 1]
    assert sorted(b.id for p in pages if isinstance(p.results, list) for b in p.results) == sorted(seeded)
    assert len(fake.calls("listBudgets")) == 4


async def test_events_forward_cursor(bill_server_client: AsyncBill, fake_bill_server: ServerURL) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    created = [(await bill.events.subscriptions.create(body=subscription_body(i))).id for i in range(7)]
    pages = [page async for page in bill.events.subscriptions.pages(page_size=3)]
    assert [len(p.results) for p in pages if isinstance(p.results, list)] == [3, 3, 1]
    assert sorted(s.id for p in pages if isinstance(p.results, list) for s in p.results) == sorted(created)
    assert len(fake.calls("listSubscriptions")) == 3


# -- request validation ----------------------------------------------------------------------------------------


async def test_wrong_requests_get_bills_400_naming_the_field(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    bill, fake = bill_server_client, fake_bill_server.fake
    # A value the spec's enum forbids, sent as an extra key (construction refuses AccountType("ALIEN") itself).
    body = VendorCreate(name="Odd", address=Address(country="US"))
    body["accountType"] = "ALIEN"
    with pytest.raises(ValidationError, match="accountType") as caught:
        await bill.vendors.create(body=body)
    assert caught.value.status_code == 400 and caught.value.codes == ("BDC_1119",)

    # The wrong JSON type, sent raw: BILL's error array names the field.
    async with httpx.AsyncClient(base_url=fake_bill_server.connect_url) as http:
        response = await http.post(
            "/v3/vendors", headers=fake.headers(), json={"name": 12345, "address": {"country": "US"}}
        )
    assert response.status_code == 400
    [item] = response.json()
    assert item["code"] == "BDC_1124" and item["message"] == "Invalid field datatype: name"
    assert item["severity"] == "ERROR" and {"timestamp", "category"} <= set(item)
    assert fake.state.list("vendors") == []
