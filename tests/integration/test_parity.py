"""The same flows for ``AsyncBill`` and ``Bill`` (the ``twin`` fixture) over real loopback HTTP against FakeBill
served by uvicorn (``fake_bill_server``): CRUD, pagination styles, payments, errors, session expiry, partner
login-as-user, MFA, Spend, raw responses and per-call options, checked in what FakeBill stored.

The plugin's synchronous fixtures (``bill_sync_client`` in process, ``bill_sync_server_client`` over loopback) are
tested at the end.
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal
from typing import Any

import pytest

from bill_sdk import Bill, MFARequiredError, NotFoundError, PaginationError, ValidationError, where
from bill_sdk.models import (
    BillPaymentStatus,
    PartnerOrganizationAddressInput,
    PartnerOrganizationCreate,
    PartnerUserCreate,
    VendorUpdate,
)
from bill_sdk.testing import FakeBill, ServerURL
from tests import bodies
from tests.twins import Twin

pytestmark = pytest.mark.integration

TODAY = datetime.date.today()


def options(server: ServerURL, **overrides: Any) -> dict[str, Any]:
    c = server.fake.credentials
    return {
        "dev_key": c.dev_key,
        "username": c.username,
        "password": c.password,
        "organization_id": c.organization_id,
        "app_key": c.app_key,
        "api_token": c.api_token,
        "base_url": server.url,
        "env": {},
        **overrides,
    }


@pytest.fixture
def bill(twin: Twin, fake_bill_server: ServerURL):  # type: ignore[no-untyped-def]
    with twin.client(**options(fake_bill_server)) as client:
        yield client


def new_vendor(twin: Twin, bill: Any, name: str = "Happy Music Supplies") -> str:
    return str(twin.run(lambda: bill.vendors.create(body=bodies.vendor(name))).id)


def test_vendor_create_get_update_archive_restore(twin: Twin, bill: Any, fake_bill_server: ServerURL) -> None:
    vendor_id = new_vendor(twin, bill)
    assert twin.run(lambda: bill.vendors.get(vendor_id)).name == "Happy Music Supplies"
    twin.run(lambda: bill.vendors.update(vendor_id, body=VendorUpdate(email="billing@happymusic.example")))
    assert twin.run(lambda: bill.vendors.archive(vendor_id)).archived is True
    assert vendor_id not in [v.id for v in twin.items(lambda: bill.vendors.list())]
    assert twin.run(lambda: bill.vendors.restore(vendor_id)).archived is False
    stored = fake_bill_server.fake.state.get("vendors", vendor_id)
    assert stored is not None and stored["email"] == "billing@happymusic.example"


def test_lists_follow_each_cursor_style(twin: Twin, bill: Any, fake_bill_server: ServerURL) -> None:
    fake = fake_bill_server.fake
    seeded = sorted(fake.state.put("vendors", {"name": f"Vendor {i:02d}"})["id"] for i in range(7))
    page = twin.page(lambda: bill.vendors.list(max=3))
    assert len(page.results) == 3 and isinstance(page.next_page, str)
    assert sorted(v.id for v in twin.items(lambda: bill.vendors.list(max=3))) == seeded
    assert [len(p.results) for p in twin.items(lambda: bill.vendors.pages(page_size=3))] == [3, 3, 1]
    budgets = sorted(fake.state.put("spend/budgets", {"name": f"Budget {i}"})["id"] for i in range(5))
    assert sorted(b.id for b in twin.items(lambda: bill.spend.budgets.iter(page_size=2))) == budgets
    mine = new_vendor(twin, bill, "Mine")
    for i, amount in enumerate(["19.99", "0.07", "250.00"]):
        twin.run(lambda a=amount, n=i: bill.bills.create(body=bodies.bill(mine, a, f"M-{n}", today=TODAY)))
    amounts = [b.amount for b in twin.items(lambda: bill.bills.iter(page_size=2, filters=where("vendorId").eq(mine)))]
    assert sum(amounts, Decimal(0)) == Decimal("270.06")  # exact decimals both ways


def test_a_payment_is_applied_once_and_moves_the_bill(twin: Twin, bill: Any, fake_bill_server: ServerURL) -> None:
    fake = fake_bill_server.fake
    vendor_id = new_vendor(twin, bill)
    bill_id = str(twin.run(lambda: bill.bills.create(body=bodies.bill(vendor_id, "100.00", "P-1", today=TODAY))).id)
    account = twin.run(
        lambda: bill.funding_accounts.create_bank_account(body=bodies.bank_account("Org", "111222333", "Bank"))
    )
    body = bodies.payment(bill_id, "100.00", str(account.id), process_date=TODAY)
    fake.faults.add("/connect/v3/payments", method="POST", kind="drop_after", count=1)
    with pytest.raises(Exception) as caught:  # the answer was lost after BILL applied it
        twin.run(lambda: bill.payments.create(body=body))
    assert type(caught.value).__name__ == "OutcomeUnknownError"
    assert len(fake.state.list("payments")) == 1  # applied once, never re-sent
    assert twin.run(lambda: bill.bills.get(bill_id)).payment_status == BillPaymentStatus.PAID


def test_errors_are_typed(twin: Twin, bill: Any) -> None:
    with pytest.raises(NotFoundError):
        twin.run(lambda: bill.vendors.get("00901NOPE0000000000X"))
    body = bodies.vendor("Odd")
    body["accountType"] = "ALIEN"  # a value the spec's enum forbids, sent as an extra key
    with pytest.raises(ValidationError, match="accountType") as caught:
        twin.run(lambda: bill.vendors.create(body=body))
    assert caught.value.codes == ("BDC_1119",)


class Clock:
    def __init__(self) -> None:
        self.skew = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skew


SESSION_CLOCK = Clock()


@pytest.mark.fake_bill(clock=SESSION_CLOCK)
def test_an_expired_session_is_renewed_once_for_concurrent_calls(twin: Twin, fake_bill_server: ServerURL) -> None:
    fake = fake_bill_server.fake
    with twin.client(**options(fake_bill_server)) as client:
        vendor_id = new_vendor(twin, client)
        fake.limits.latency = 0.01
        SESSION_CLOCK.skew += 36 * 60  # idle past BILL's 35 minutes: BDC_1109 from now on
        names = twin.parallel(10, lambda: client.vendors.get(vendor_id))
        assert [v.name for v in names] == ["Happy Music Supplies"] * 10
        assert fake.login_count == 2 and client.login_count == 2
        assert max(fake.peak_in_flight.values()) <= 3


@pytest.mark.fake_bill(require_trusted_session_for_payments=True)
def test_mfa_makes_the_session_trusted_for_payments(twin: Twin, bill: Any, fake_bill_server: ServerURL) -> None:
    fake = fake_bill_server.fake
    vendor_id = new_vendor(twin, bill)
    bill_id = str(twin.run(lambda: bill.bills.create(body=bodies.bill(vendor_id, "10.00", "MFA-1", today=TODAY))).id)
    account = twin.run(lambda: bill.funding_accounts.create_bank_account(body=bodies.bank_account("Org", "1", "Bank")))
    body = bodies.payment(bill_id, "10.00", str(account.id), process_date=TODAY)
    with pytest.raises(MFARequiredError):
        twin.run(lambda: bill.payments.create(body=body))
    challenge_id = twin.run(lambda: bill.request_mfa_code())
    remember_me_id = twin.run(lambda: bill.trust_session(challenge_id, fake.credentials.mfa_code, device="ci"))
    assert remember_me_id and bill.session.trusted
    twin.run(lambda: bill.payments.create(body=body))
    assert len(fake.state.list("payments")) == 1


def test_partner_login_as_user(twin: Twin, bill: Any, fake_bill_server: ServerURL) -> None:
    fake = fake_bill_server.fake
    address = PartnerOrganizationAddressInput(
        line1="1 Partner Way", city="Austin", zip_or_postal_code="73301", country="US"
    )
    org = twin.run(
        lambda: bill.partner.organizations.create(body=PartnerOrganizationCreate(name="Child Co", address=address))
    )
    user = twin.run(
        lambda: bill.partner.users.create(
            body=PartnerUserCreate(
                first_name="C", email="c@child.example", username="c@child.example", accept_terms_of_service=True
            ),
            organization_id=org.id,
        )
    )
    child = twin.run(lambda: bill.login_as_user(org.id, user.id))
    vendor_id = new_vendor(twin, child, "Child's vendor")
    assert [v["id"] for v in fake.state.list("vendors", org=org.id)] == [vendor_id]
    session_id = child.session.session_id
    twin.close(bill)
    assert fake.auth.live_session(session_id) is None  # the child signed out when its partner closed


def test_raw_responses_and_per_call_options(twin: Twin, bill: Any, fake_bill_server: ServerURL) -> None:
    vendor_id = new_vendor(twin, bill)
    raw = twin.run(lambda: bill.vendors.with_raw_response.get(vendor_id, extra_headers={"X-Trace": "t-9"}))
    assert raw.status_code == 200 and raw.request_id and raw.parse().id == vendor_id
    quick = bill.with_options(timeout=5, max_retries=0)
    assert twin.run(lambda: quick.vendors.get(vendor_id)).id == vendor_id


def test_a_server_that_repeats_pages_raises_pagination_error(
    twin: Twin, bill: Any, fake_bill_server: ServerURL
) -> None:
    fake = fake_bill_server.fake
    for i in range(3):
        fake.state.put("vendors", {"name": f"V{i}"})
    first = twin.page(lambda: bill.vendors.list(max=1))
    fake.faults.add(
        "/connect/v3/vendors", method="GET", kind="server_error", count=None, status=200,
        body='{"results": [' + first.results[0].to_json() + '], "nextPage": "again"}',  # the same page for ever
        content_type="application/json",
    )  # fmt: skip
    with pytest.raises(PaginationError):
        twin.items(lambda: bill.vendors.list(max=1))


# --------------------------------------------------------------------------- the plugin's sync fixtures


def test_bill_sync_client_runs_in_process(bill_sync_client: Bill, fake_bill: FakeBill) -> None:
    vendor = bill_sync_client.vendors.create(body=bodies.vendor("In Process"))
    assert [v.name for v in bill_sync_client.vendors.list()] == ["In Process"]
    assert fake_bill.state.get("vendors", str(vendor.id)) is not None
    assert bill_sync_client.base_url == "http://fakebill" and fake_bill.login_count == 1


def test_bill_sync_server_client_runs_over_loopback(bill_sync_server_client: Bill, fake_bill_server: ServerURL) -> None:
    bill_sync_server_client.vendors.create(body=bodies.vendor("Loopback"))
    page = bill_sync_server_client.vendors.list(max=10).page
    assert [v.name for v in page.results] == ["Loopback"]
    assert [b.name for b in bill_sync_server_client.spend.budgets.iter()] == []
