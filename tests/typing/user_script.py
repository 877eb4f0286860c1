"""A user's script written the obvious way, checked by ``mypy --strict`` and by pyright in strict mode
(tests/typing/test_user_script.py).

No casts and no ``# type: ignore``: every ``assert_type`` line is a type the SDK promises to infer.
"""

# pyright: strict
from __future__ import annotations

import asyncio
from typing import assert_type

from bill_sdk import AsyncBill, AsyncPaginator, Bill, RawResponse, SyncPaginator, models, request_id, where
from bill_sdk.models import Address, Budget, Vendor, VendorCreate, VendorPage
from bill_sdk.webhooks import WebhookEvent, parse_event


def on_event(body: bytes) -> None:
    event = parse_event(body)
    assert_type(event, WebhookEvent)
    bill = event.typed_entity(models.Bill)  # that model (not the client bill_sdk.Bill), or WebhookPayloadError
    assert_type(bill, models.Bill)
    print(bill.vendor_id, bill.due_date)
    entity = event.typed_entity()  # the model of the event's entity type
    if isinstance(entity, Vendor):
        print(entity.name)
    elif isinstance(entity, dict):  # an entity the SDK has no model for
        print(sorted(entity))


async def main() -> None:
    async with AsyncBill() as bill:
        address = Address(line1="1 Main St", city="San Jose", country="US")
        created = await bill.vendors.create(body=VendorCreate(name="Happy Music Supplies", address=address))
        assert_type(created, Vendor)
        print(created.name, request_id(created))

        if created.id:  # a response field may be absent (Unset is falsy)
            fetched = await bill.vendors.get(created.id)
            assert_type(fetched, Vendor)

        page = await bill.vendors.list(max=10)  # one page
        assert_type(page, VendorPage)
        print(page.next_page)

        assert_type(bill.vendors.list(), AsyncPaginator[VendorPage, Vendor])
        names: list[str] = []
        async for vendor in bill.vendors.list(filters=where("archived").eq(False)):  # every vendor, all pages
            assert_type(vendor, Vendor)
            if vendor.name:
                names.append(vendor.name)

        async for each_page in bill.vendors.list(max=50).pages():
            assert_type(each_page, VendorPage)

        async for budget in bill.spend.budgets.list():
            assert_type(budget, Budget)

        patient = bill.with_options(timeout=120, max_retries=5, extra_headers={"X-Trace": "nightly-sync"})
        assert_type(patient, AsyncBill)
        await patient.vendors.get("00901ABCDEFGHIJKLMNO")

        raw = await bill.vendors.with_raw_response.get("00901ABCDEFGHIJKLMNO")
        assert_type(raw, RawResponse[Vendor])
        status: int = raw.status_code
        content_type: str | None = raw.headers.get("content-type")
        bill_request_id: str | None = raw.request_id
        vendor_again = raw.parse()
        assert_type(vendor_again, Vendor)
        print(status, content_type, bill_request_id, names)

        raw_page = await bill.vendors.with_raw_response.list(max=10)
        assert_type(raw_page.parse(), VendorPage)


def main_sync() -> None:
    """The same with Bill, the synchronous client."""
    with Bill() as bill:
        address = Address(line1="1 Main St", city="San Jose", country="US")
        created = bill.vendors.create(body=VendorCreate(name="Happy Music Supplies", address=address))
        assert_type(created, Vendor)
        assert_type(bill.vendors.get(created.id), Vendor)

        listing = bill.vendors.list(max=10)
        assert_type(listing, SyncPaginator[VendorPage, Vendor])
        assert_type(listing.page, VendorPage)  # one page
        print(listing.next_page)  # its fields, read through
        for vendor in bill.vendors.list(filters=where("archived").eq(False)):  # every vendor, all pages
            assert_type(vendor, Vendor)
        for each_page in bill.vendors.list(max=50).pages():
            assert_type(each_page, VendorPage)
        for budget in bill.spend.budgets.iter():
            assert_type(budget, Budget)

        patient = bill.with_options(timeout=120, max_retries=5)
        assert_type(patient, Bill)
        raw = bill.vendors.with_raw_response.get("00901ABCDEFGHIJKLMNO", timeout=5)
        assert_type(raw, RawResponse[Vendor])
        assert_type(raw.parse(), Vendor)
        child = bill.login_as_user("00801CHILD", "00601USER")
        assert_type(child, Bill)


if __name__ == "__main__":
    asyncio.run(main())
    main_sync()
