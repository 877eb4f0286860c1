"""Specific behaviour: payments update bills, received payments update invoices, document uploads finish."""

from __future__ import annotations

from decimal import Decimal

import httpx

from bill_sdk.testing import FakeBill


async def _bill(client: httpx.AsyncClient, fake: FakeBill, org: dict[str, str], *amounts: float) -> dict:
    vendor = fake.state.put("vendors", {"name": "Paper Co"})
    body = fake.example(
        "createBill", vendorId=vendor["id"], dueDate="2025-03-01", billLineItems=[{"amount": a} for a in amounts]
    )
    response = await client.post("/v3/bills", headers=org, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_payment_pays_a_bill_partly_then_fully(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str], helpers
) -> None:
    bill = await _bill(client, fake_bill, org, 60.25, 39.75)
    assert bill["amount"] == 100 and bill["dueAmount"] == 100 and bill["paymentStatus"] == "UNPAID"

    first = await client.post(
        "/v3/payments", headers=org, json=fake_bill.example("createPayment", billId=bill["id"], amount=30.10)
    )
    assert first.status_code == 201, first.text
    payment = first.json()
    assert payment["id"].startswith("stp") and payment["amount"] == 30.1
    assert payment["vendorId"] == bill["vendorId"]
    after = (await client.get(f"/v3/bills/{bill['id']}", headers=org)).json()
    assert Decimal(str(after["paidAmount"])) == Decimal("30.10") and Decimal(str(after["dueAmount"])) == Decimal(
        "69.90"
    )
    stored = fake_bill.state.get("bills", bill["id"])
    # PARTIAL when the spec's enum has it; otherwise the status stays and the gap is recorded.
    assert stored["paymentStatus"] == "PARTIAL" or any("PARTIAL" in gap for gap in fake_bill.spec_gaps)

    too_much = await client.post(
        "/v3/payments", headers=org, json=fake_bill.example("createPayment", billId=bill["id"], amount=70)
    )
    assert too_much.status_code == 400
    unknown = await client.post(
        "/v3/payments", headers=org, json=fake_bill.example("createPayment", billId="00n01NOPE", amount=1)
    )
    assert unknown.status_code == 404 and helpers.codes(unknown) == ["BDC_1120"]

    rest = await client.post(
        "/v3/payments", headers=org, json=fake_bill.example("createPayment", billId=bill["id"], amount=69.90)
    )
    assert rest.status_code == 201
    paid = (await client.get(f"/v3/bills/{bill['id']}", headers=org)).json()
    assert paid["paymentStatus"] == "PAID" and paid["dueAmount"] == 0 and paid["paidAmount"] == 100
    listed = await client.get("/v3/payments", headers=org, params={"filters": f"billId:eq:{bill['id']}"})
    assert len(listed.json()["results"]) == 2


async def test_bulk_payments_pay_several_bills(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    one = await _bill(client, fake_bill, org, 10)
    two = await _bill(client, fake_bill, org, 20)
    items = [{"billId": one["id"], "amount": 10}, {"billId": two["id"], "amount": 5}]
    response = await client.post(
        "/v3/payments/bulk", headers=org, json=fake_bill.example("bulkCreatePayments", payments=items)
    )
    assert response.status_code in (200, 201), response.text
    assert [p["amount"] for p in response.json()["payments"]] == [10, 5]
    assert fake_bill.state.get("bills", one["id"])["dueAmount"] == 0
    assert fake_bill.state.get("bills", two["id"])["dueAmount"] == 15
    assert fake_bill.state.counts()["payments"] == 2


async def test_recording_an_invoice_payment_updates_the_invoice(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    customer = fake_bill.state.put("customers", {"name": "Client"})
    body = fake_bill.example(
        "createInvoice",
        customerId=customer["id"],
        invoiceNumber="INV-1",
        invoiceDate="2025-01-01",
        dueDate="2025-02-01",
        invoiceLineItems=[{"quantity": 2, "price": 50}],
    )
    created = await client.post("/v3/invoices", headers=org, json=body)
    assert created.status_code == 201, created.text
    invoice = created.json()
    assert invoice["id"].startswith("00e") and invoice["totalAmount"] == 100 and invoice["status"] == "OPEN"

    def payment(amount: str) -> dict:
        return fake_bill.example(
            "recordInvoicePayment",
            customerId=customer["id"],
            amount=amount,
            paymentDate="2025-01-15",
            invoices=[{"id": invoice["id"], "amount": amount}],
        )

    partial = await client.post("/v3/invoices/record-payment", headers=org, json=payment("40"))
    assert partial.status_code == 200, partial.text
    after = (await client.get(f"/v3/invoices/{invoice['id']}", headers=org)).json()
    assert after["dueAmount"] == 60 and after["status"] == "PARTIAL_PAYMENT"
    full = await client.post("/v3/invoices/record-payment", headers=org, json=payment("60"))
    assert full.status_code == 200
    done = fake_bill.state.get("invoices", invoice["id"])
    assert done["dueAmount"] == 0
    assert done["status"] in ("PAID_IN_FULL", "PAID") or any("invoices.status" in gap for gap in fake_bill.spec_gaps)
    assert len(done["payments"]) == 2


async def test_document_upload_status_moves_to_uploaded(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    bill = await _bill(client, fake_bill, org, 10)
    upload = await client.post(
        f"/v3/documents/bills/{bill['id']}",
        headers={**org, "content-type": "application/octet-stream"},
        params={"name": "invoice.pdf"},
        content=b"%PDF-1.4 not really",
    )
    assert upload.status_code == 200, upload.text
    upload_id = upload.json()["id"]
    assert upload_id.startswith("0du")

    first = (await client.get("/v3/documents/upload-status", headers=org, params={"ids": upload_id})).json()
    assert first[0]["uploadId"] == upload_id and "documentId" not in first[0]
    assert first[0]["status"] in ("IN_PROGRESS", "IVA_PROCESSING")
    second = (await client.get("/v3/documents/upload-status", headers=org, params={"ids": upload_id})).json()
    assert second[0]["status"] == "UPLOADED"
    document_id = second[0]["documentId"]
    assert document_id.startswith("00h")

    document = await client.get(f"/v3/documents/{document_id}", headers=org)
    assert document.status_code == 200 and document.json()["name"] == "invoice.pdf"
    listed = await client.get(f"/v3/documents/bills/{bill['id']}", headers=org)
    assert [d["id"] for d in listed.json()["results"]] == [document_id]

    no_bill = await client.post("/v3/documents/bills/00n01NOPE", headers=org, params={"name": "x.pdf"}, content=b"x")
    assert no_bill.status_code == 404
    no_bytes = await client.post(f"/v3/documents/bills/{bill['id']}", headers=org, params={"name": "x.pdf"})
    assert no_bytes.status_code == 400


async def test_amounts_keep_every_digit_on_the_wire(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    vendor = fake_bill.state.put("vendors", {"name": "Big Ticket Co"})
    lines = [{"amount": Decimal("123456789012345678.91")}, {"amount": Decimal("0.01")}, {"amount": Decimal("250.00")}]
    body = fake_bill.example("createBill", vendorId=vendor["id"], dueDate="2025-03-01", billLineItems=lines)
    from bill_sdk._json import dumps_json

    response = await client.post(
        "/v3/bills", headers={**org, "Content-Type": "application/json"}, content=dumps_json(body)
    )
    assert response.status_code == 201, response.text
    # Beyond what a float holds (21 significant digits) and with trailing zeros: exactly the digits summed.
    assert b"123456789012345678.91" in response.content  # a line, digit for digit
    assert b"123456789012345928.92" in response.content  # 123456789012345678.91 + 0.01 + 250.00
    assert b'"amount":250.00' in response.content  # a line keeps its trailing zeros
