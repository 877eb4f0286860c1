"""The generic engine: CRUD, archive/restore, bulk create, nested collections, and list searches over pages."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from bill_sdk.testing import FakeBill


async def test_vendor_crud_and_archive(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str], helpers
) -> None:
    created = await client.post(
        "/v3/vendors",
        headers=org,
        json=fake_bill.example("createVendor", name="Acme", email="ap@acme.test", notInSpec=1),
    )
    assert created.status_code == 201, created.text
    vendor = created.json()
    assert vendor["id"].startswith("009") and len(vendor["id"]) == 20
    assert vendor["archived"] is False and vendor["createdTime"] == vendor["updatedTime"]
    assert "notInSpec" not in vendor  # accepted (BILL is tolerant) but never answered: not in the schema
    vid = vendor["id"]

    assert (await client.get(f"/v3/vendors/{vid}", headers=org)).json()["name"] == "Acme"
    updated = await client.patch(f"/v3/vendors/{vid}", headers=org, json={"name": "Acme Inc"})
    assert updated.status_code == 200 and updated.json()["name"] == "Acme Inc"
    assert updated.json()["email"] == "ap@acme.test"

    archived = await client.post(f"/v3/vendors/{vid}/archive", headers=org)
    assert archived.json()["archived"] is True
    listed = await client.get("/v3/vendors", headers=org)
    assert listed.json()["results"] == []  # archived objects are hidden unless filtered for
    shown = await client.get("/v3/vendors", headers=org, params={"filters": "archived:eq:true"})
    assert [v["id"] for v in shown.json()["results"]] == [vid]
    restored = await client.post(f"/v3/vendors/{vid}/restore", headers=org)
    assert restored.json()["archived"] is False
    assert len((await client.get("/v3/vendors", headers=org)).json()["results"]) == 1

    missing = await client.get("/v3/vendors/00901NOSUCHVENDOR00", headers=org)
    assert missing.status_code == 404
    assert helpers.codes(missing) == ["BDC_1120"]
    assert fake_bill.state.counts()["vendors"] == 1


async def test_bulk_create_takes_an_array(client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]) -> None:
    vendor = fake_bill.state.put("vendors", {"name": "V"})
    bills = [
        fake_bill.example("createBill", vendorId=vendor["id"], dueDate="2025-01-31", billLineItems=[{"amount": n}])
        for n in (10, 20, 30)
    ]
    response = await client.post("/v3/bills/bulk", headers=org, json=bills)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert isinstance(answer, list) and [b["amount"] for b in answer] == [10, 20, 30]
    assert all(b["id"].startswith("00n") for b in answer)
    assert fake_bill.state.counts()["bills"] == 3


async def test_nested_collection_under_a_parent(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    spend = fake_bill.headers("spend")
    budget = await client.post(
        "/v3/spend/budgets", headers=spend, json=fake_bill.example("createBudget", name="Travel")
    )
    assert budget.status_code == 200, budget.text
    bid = budget.json()["id"]
    put = await client.put(
        f"/v3/spend/budgets/{bid}/members/U1", headers=spend, json=fake_bill.example("putBudgetMember")
    )
    assert put.status_code in (200, 201), put.text
    members = await client.get(f"/v3/spend/budgets/{bid}/members", headers=spend)
    assert members.status_code == 200 and len(members.json()["results"]) == 1
    assert (await client.get("/v3/spend/budgets/NOPE/members", headers=spend)).status_code == 404
    deleted = await client.delete(f"/v3/spend/budgets/{bid}", headers=spend)
    assert deleted.status_code == 200
    assert (await client.get(f"/v3/spend/budgets/{bid}", headers=spend)).status_code == 404


async def _pages(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], params: dict[str, Any], style: str
) -> list[dict[str, Any]]:
    """Walk forward through every page; return the pages' JSON bodies."""
    pages = []
    query = dict(params)
    while True:
        response = await client.get(path, headers=headers, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        if "nextPage" not in body:
            return pages
        query = {"page": body["nextPage"]} if style in ("page", "forward") else {"nextPage": body["nextPage"]}
        assert len(pages) < 50


async def test_connect_list_pages_filters_and_sort(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str], helpers
) -> None:
    for i in range(25):
        fake_bill.state.put("vendors", {"name": f"{'Acme' if i % 2 else 'Beta'} {i:02d}", "email": f"v{i}@x.test"})
    params = {"max": 4, "filters": 'name:sw:"Acme"', "sort": "name:desc"}
    pages = await _pages(client, "/v3/vendors", org, params, "page")
    names = [v["name"] for page in pages for v in page["results"]]
    assert names == sorted((f"Acme {i:02d}" for i in range(1, 25, 2)), reverse=True)
    assert len(pages) == 3
    assert "prevPage" not in pages[0] and all("prevPage" in p for p in pages[1:])
    assert all("nextPage" in p for p in pages[:-1]) and "nextPage" not in pages[-1]
    cursor = pages[1]["nextPage"]
    base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))  # opaque, but base64

    back = await client.get("/v3/vendors", headers=org, params={"page": pages[2]["prevPage"]})
    assert back.json()["results"] == pages[1]["results"]

    in_filter = await client.get(
        "/v3/vendors", headers=org, params={"filters": 'name:in:"Acme 01,Beta 02"', "sort": "name:asc"}
    )
    assert [v["name"] for v in in_filter.json()["results"]] == ["Acme 01", "Beta 02"]
    compound = await client.get(
        "/v3/vendors", headers=org, params={"filters": 'name:gte:"Beta 20",email:ne:v22@x.test'}
    )
    assert sorted(v["name"] for v in compound.json()["results"]) == ["Beta 20", "Beta 24"]
    since = await client.get(
        "/v3/vendors", headers=org, params={"filters": 'createdTime:gte:"2000-01-01T00:00:00.000Z"', "max": 100}
    )
    assert len(since.json()["results"]) == 25

    for bad in (
        {"max": 0},
        {"max": 101},
        {"page": "not-a-cursor"},
        {"filters": "name:like:x"},
        {"filters": "nope:eq:1"},
        {"sort": "name:up"},
    ):
        response = await client.get("/v3/vendors", headers=org, params=bad)
        assert response.status_code == 400, bad
        assert helpers.codes(response)[0] in ("BDC_1129", "BDC_1130", "BDC_1131"), bad


async def test_spend_list_uses_next_page_query_param(client: httpx.AsyncClient, fake_bill: FakeBill) -> None:
    spend = fake_bill.headers("spend")
    for i in range(11):
        fake_bill.state.put("spend/budgets", {"name": f"Budget {i:02d}", "recurringLimit": i * 10})
    pages = await _pages(
        client,
        "/v3/spend/budgets",
        spend,
        {"max": 5, "filters": "recurringLimit:gte:20", "sort": "recurringLimit:desc"},
        "spend",
    )
    limits = [b["recurringLimit"] for page in pages for b in page["results"]]
    assert limits == [100, 90, 80, 70, 60, 50, 40, 30, 20]
    assert len(pages) == 2 and "prevPage" in pages[1]
    third = await _pages(client, "/v3/spend/budgets", spend, {"max": 3}, "spend")
    assert len(third) == 4
    back = await client.get("/v3/spend/budgets", headers=spend, params={"prevPage": third[2]["prevPage"]})
    assert back.json()["results"] == third[1]["results"]


async def test_forward_only_webhook_list(events: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]) -> None:
    for i in range(7):
        fake_bill.state.put(
            "subscriptions", {"name": f"sub {i}", "notificationUrl": f"https://hooks.test/{i}", "events": []}
        )
    pages = await _pages(events, "/v3/subscriptions", org, {"max": 2}, "forward")
    assert len(pages) == 4
    assert [s["name"] for page in pages for s in page["results"]] == [f"sub {i}" for i in range(7)]
    assert all("prevPage" not in page for page in pages)
