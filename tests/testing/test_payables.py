"""FakeBill's AP additions over plain HTTP: what a bill replace does to applied credits, bank-account users,
deleting attachments, the partner price plan, billing statements and bulk operations' all-or-nothing checks."""

from __future__ import annotations

from typing import Any

import httpx

from bill_sdk.testing import FakeBill
from bill_sdk.testing.state import PARTNER_SCOPE


async def _headers(client: httpx.AsyncClient, fake: FakeBill) -> dict[str, str]:
    response = await client.post("/v3/login", json=fake.login_body())
    assert response.status_code == 200, response.text
    return {"devKey": fake.credentials.dev_key, "sessionId": response.json()["sessionId"]}


async def _post(client: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any, ok: int = 201) -> Any:
    response = await client.post(path, headers=headers, json=body)
    assert response.status_code == ok, response.text
    return response.json()


def _bill(vendor_id: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "vendorId": vendor_id,
        "dueDate": "2030-01-31",
        "invoice": {"invoiceNumber": f"INV-{amount}", "invoiceDate": "2030-01-01"},
        "billLineItems": [{"amount": amount}],
        **extra,
    }


async def test_replacing_a_bill_unapplies_the_credits_it_leaves_out(
    client: httpx.AsyncClient, fake_bill: FakeBill
) -> None:
    h = await _headers(client, fake_bill)
    vendor = await _post(client, "/v3/vendors", h, fake_bill.example("createVendor", name="Acme"))
    credit = await _post(
        client, "/v3/vendor-credits", h, {"vendorId": vendor["id"], "vendorCreditLineItems": [{"amount": 30}]}
    )
    assert credit["vendorCreditLineItems"][0]["id"]  # lines get ids
    bill = await _post(client, "/v3/bills", h, _bill(vendor["id"], 100, vendorCredits=[{"id": credit["id"]}]))
    assert (bill["creditAmount"], bill["dueAmount"]) == (30, 70)  # no amount: the whole credit
    assert (await client.get(f"/v3/vendor-credits/{credit['id']}", headers=h)).json()["status"] == "FULLY_APPLIED"

    replaced = await client.put(f"/v3/bills/{bill['id']}", headers=h, json=_bill(vendor["id"], 100))
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["creditAmount"], replaced.json()["dueAmount"]) == (0, 100)
    after = (await client.get(f"/v3/vendor-credits/{credit['id']}", headers=h)).json()
    assert (after["appliedAmount"], after["status"], after["usage"]) == (0, "NOT_APPLIED", [])

    other = await _post(client, "/v3/vendors", h, fake_bill.example("createVendor", name="Other"))
    refused = await client.post(
        "/v3/bills", headers=h, json=_bill(other["id"], 5, vendorCredits=[{"id": credit["id"], "amount": 5}])
    )
    assert refused.status_code == 400 and refused.json()[0]["code"] == "BDC_1119"


async def test_bank_account_users_nominated_then_archived(client: httpx.AsyncClient, fake_bill: FakeBill) -> None:
    h = await _headers(client, fake_bill)
    bank = fake_bill.state.put("funding-accounts/banks", {"status": "VERIFIED", "nameOnAccount": "Ops"})
    user = fake_bill.credentials.user_id
    body = {"bankAccountId": bank["id"], "userId": user}
    assert await _post(client, "/v3/funding-accounts/banks/users/nominate", h, body, ok=200) == {"status": "SUCCESS"}
    listed = (await client.get("/v3/funding-accounts/banks/users", headers=h)).json()["results"]
    assert [(u["userId"], u["verificationStatus"]) for u in listed] == [(user, "NOMINATED")]
    assert listed[0]["id"].startswith("bau")

    archived = await _post(client, f"/v3/funding-accounts/banks/users/{listed[0]['id']}/archive", h, None, ok=200)
    assert (archived["archived"], archived["verificationStatus"]) == (True, "UNVERIFIED")
    missing = await client.post(
        "/v3/funding-accounts/banks/users/nominate", headers=h, json={**body, "bankAccountId": "bac01NOPE"}
    )
    assert missing.status_code == 404


async def test_delete_attachment_and_the_other_small_operations(client: httpx.AsyncClient, fake_bill: FakeBill) -> None:
    h = await _headers(client, fake_bill)
    vendor = await _post(client, "/v3/vendors", h, fake_bill.example("createVendor", name="Acme"))
    uploaded = await client.post(
        f"/v3/attachments/vendors/{vendor['id']}",
        params={"name": "w9.pdf"},
        headers={**h, "Content-Type": "application/octet-stream"},
        content=b"%PDF-1.4 fake",
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    attachment_id = uploaded.json()["id"]
    deleted = await client.delete(f"/v3/attachments/{attachment_id}", headers=h)
    assert (deleted.status_code, deleted.json()) == (200, {"status": "SUCCESS"})
    assert (await client.get(f"/v3/attachments/{attachment_id}", headers=h)).status_code == 404
    assert (await client.delete(f"/v3/attachments/{attachment_id}", headers=h)).status_code == 404

    org = fake_bill.credentials.organization_id
    statements = await client.get(f"/v3/organizations/{org}/billing-statements", headers=h)
    assert (statements.status_code, statements.json()["results"]) == (200, [])
    # BILL makes the statements; a test seeds them under the organization
    seeded = {"id": "0S001STATEMENT1", "amount": 39, "invoiceNumber": "B-1", "paymentStatus": "PAID"}
    fake_bill.state.put("organizations/billing-statements", seeded, parents={"organizationId": org})
    listed = (await client.get(f"/v3/organizations/{org}/billing-statements", headers=h)).json()["results"]
    assert [(s["id"], s["amount"]) for s in listed] == [("0S001STATEMENT1", 39)]
    one = await client.get(f"/v3/organizations/{org}/billing-statements/0S001STATEMENT1", headers=h)
    assert (one.status_code, one.json()["invoiceNumber"]) == (200, "B-1")

    # a vendor credit replaced keeps what bills already use of it
    credit = await _post(
        client, "/v3/vendor-credits", h, {"vendorId": vendor["id"], "vendorCreditLineItems": [{"amount": 10}]}
    )
    await _post(client, "/v3/bills", h, _bill(vendor["id"], 20, vendorCredits=[{"id": credit["id"], "amount": 4}]))
    replaced = await client.put(
        f"/v3/vendor-credits/{credit['id']}",
        headers=h,
        json={"vendorId": vendor["id"], "vendorCreditLineItems": [{"amount": 12}]},
    )
    assert (replaced.json()["amount"], replaced.json()["appliedAmount"]) == (12, 4)
    too_small = await client.put(
        f"/v3/vendor-credits/{credit['id']}",
        headers=h,
        json={"vendorId": vendor["id"], "vendorCreditLineItems": [{"amount": 3}]},
    )
    assert too_small.status_code == 400

    partner = fake_bill.headers("partner")
    child = fake_bill.state.put("organizations", {"name": "Child Co"}, org=PARTNER_SCOPE)["id"]
    assert (
        await client.patch(
            f"/v3/partner/organizations/{org}/price-plan", headers=partner, json={"pricePlanType": "PricePlan2"}
        )
    ).status_code == 404  # not one of the partner's organizations
    plan = await client.patch(
        f"/v3/partner/organizations/{child}/price-plan", headers=partner, json={"pricePlanType": "PricePlan2"}
    )
    assert plan.status_code == 200 and plan.json() == {"status": "SUCCESS"}
    wrong = await client.patch(
        f"/v3/partner/organizations/{child}/price-plan", headers=partner, json={"pricePlanType": "Gold"}
    )
    assert wrong.status_code == 400


async def test_bulk_changes_are_all_or_nothing(client: httpx.AsyncClient, fake_bill: FakeBill) -> None:
    h = await _headers(client, fake_bill)
    created = await _post(
        client, "/v3/classifications/jobs/bulk", h, [{"name": "Kitchen remodel"}, {"name": "Bathroom remodel"}]
    )
    jobs = created["jobs"]
    assert [j["archived"] for j in jobs] == [False, False]
    ids = ",".join(j["id"] for j in jobs)
    refused = await client.post("/v3/classifications/jobs/bulk/archive", headers=h, params={"ids": ids + ",NOPE"})
    assert refused.status_code == 404
    assert [j["archived"] for j in fake_bill.state.list("classifications/jobs")] == [False, False]
    archived = await client.post("/v3/classifications/jobs/bulk/archive", headers=h, params={"ids": ids})
    assert [j["archived"] for j in archived.json()["jobs"]] == [True, True]
    restored = await client.post("/v3/classifications/jobs/bulk/restore", headers=h, params={"ids": ids})
    assert [j["archived"] for j in restored.json()["jobs"]] == [False, False]

    items = await _post(client, "/v3/classifications/items", h, {"type": "SALES_TAX", "name": "Tax", "percentage": 8})
    assert items["id"].startswith("0ii")
    assert (await client.post("/v3/classifications/items", headers=h, json={"name": "No type"})).status_code == 400
