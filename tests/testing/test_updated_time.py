"""FakeBill's ``updatedTime``: stamped by an injectable wall clock on every change, filtered and sorted as BILL does
(instants at millisecond precision, inclusive ``gte``/``lte``, strict ``gt``/``lt``, any offset spelling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from bill_sdk.testing import FakeBill


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> None:
        self.now += timedelta(**delta)


T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


async def _names(client: httpx.AsyncClient, org: dict[str, str], **params: str) -> list[str]:
    response = await client.get("/v3/vendors", headers=org, params=params)
    assert response.status_code == 200, response.text
    return [v["name"] for v in response.json()["results"]]


async def test_every_change_is_stamped_by_the_wall_clock_at_millisecond_precision(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    clock = Clock(T0)
    fake_bill.resources.wall_clock = clock
    created = (
        await client.post("/v3/vendors", headers=org, json=fake_bill.example("createVendor", name="Acme"))
    ).json()
    assert created["createdTime"] == created["updatedTime"] == "2026-01-02T03:04:05.678+00:00"
    vid = created["id"]

    clock.tick(microseconds=50)  # the same millisecond: BILL's updatedTime cannot tell the two changes apart
    same = (await client.patch(f"/v3/vendors/{vid}", headers=org, json={"email": "a@example.com"})).json()
    assert same["updatedTime"] == "2026-01-02T03:04:05.678+00:00"

    stamps = []
    for step in ("patch", "archive", "restore"):
        clock.tick(milliseconds=5)
        if step == "patch":
            answer = await client.patch(f"/v3/vendors/{vid}", headers=org, json={"name": "Acme 2"})
        else:
            answer = await client.post(f"/v3/vendors/{vid}/{step}", headers=org)
        assert answer.status_code == 200, answer.text
        stamps.append(fake_bill.state.get("vendors", vid)["updatedTime"])
    assert stamps == [
        "2026-01-02T03:04:05.683+00:00",
        "2026-01-02T03:04:05.688+00:00",
        "2026-01-02T03:04:05.693+00:00",
    ]
    assert fake_bill.state.get("vendors", vid)["createdTime"] == "2026-01-02T03:04:05.678+00:00"


async def test_a_payment_stamps_its_bill_with_the_same_clock(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    clock = Clock(T0)
    fake_bill.resources.wall_clock = clock
    vendor = fake_bill.state.put("vendors", {"name": "Paper Co"})
    body = fake_bill.example("createBill", vendorId=vendor["id"], dueDate="2025-03-01", billLineItems=[{"amount": 10}])
    bill = (await client.post("/v3/bills", headers=org, json=body)).json()
    clock.tick(seconds=1)
    paid = await client.post(
        "/v3/payments", headers=org, json=fake_bill.example("createPayment", billId=bill["id"], amount=10)
    )
    assert paid.status_code == 201, paid.text
    assert fake_bill.state.get("bills", bill["id"])["updatedTime"] == "2026-01-02T03:04:06.678+00:00"


async def test_time_filters_compare_instants_at_milliseconds_with_bills_inclusive_bounds(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    for name, stamp in (
        ("a", "2026-01-02T03:04:05.677+00:00"),
        ("b", "2026-01-02T03:04:05.678+00:00"),
        ("c", "2026-01-02T03:04:05.678900Z"),  # finer than BILL keeps: the same millisecond as b
        ("d", "2026-01-02T05:04:05.679+02:00"),  # another offset: 03:04:05.679Z
    ):
        fake_bill.state.put("vendors", {"name": name, "updatedTime": stamp})
    ms = '"2026-01-02T03:04:05.678Z"'
    assert await _names(client, org, filters=f"updatedTime:gte:{ms},updatedTime:lte:{ms}", sort="name:asc") == [
        "b",
        "c",
    ]
    assert await _names(client, org, filters=f"updatedTime:gt:{ms}") == ["d"]
    assert await _names(client, org, filters=f"updatedTime:lt:{ms}") == ["a"]
    # the same instant in another offset, and BILL's shorter spellings (seconds, minutes, a date = midnight UTC)
    assert await _names(client, org, filters='updatedTime:gte:"2026-01-02T05:04:05.679+0200"') == ["d"]
    assert len(await _names(client, org, filters='updatedTime:gte:"2026-01-02T03:04"')) == 4
    assert await _names(client, org, filters="updatedTime:lt:2026-01-02") == []


async def test_sorting_by_time_orders_instants_not_text(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    fake_bill.state.put("vendors", {"name": "later", "updatedTime": "2026-01-02T04:00:00.000+00:00"})
    fake_bill.state.put("vendors", {"name": "earlier", "updatedTime": "2026-01-02T05:00:00.000+02:00"})
    fake_bill.state.put("vendors", {"name": "tie", "updatedTime": "2026-01-02T03:00:00.000Z"})
    assert await _names(client, org, sort="updatedTime:asc") == ["earlier", "tie", "later"]
    assert await _names(client, org, sort="updatedTime:desc") == ["later", "earlier", "tie"]


async def test_a_time_filter_that_is_no_time_is_refused(
    client: httpx.AsyncClient, org: dict[str, str], helpers
) -> None:
    response = await client.get("/v3/vendors", headers=org, params={"filters": "updatedTime:gte:yesterday"})
    assert response.status_code == 400 and helpers.codes(response) == ["BDC_1129"]


def test_the_time_index_answers_as_the_full_search_does_even_after_live_changes(fake_bill: FakeBill) -> None:
    import random

    rng = random.Random(5)
    org = fake_bill.credentials.organization_id
    for i in range(300):
        ms = rng.randint(0, 400)
        offset = rng.choice(["+00:00", "Z", "+02:00"])
        hours = 5 if offset == "+02:00" else 3
        stamp = f"2026-01-02T{hours:02d}:00:00.{ms:03d}{offset}".replace(".400", ".399")
        fake_bill.state.put("vendors", {"name": f"v{i}", "updatedTime": stamp, "archived": rng.random() < 0.2})

    def both(filters: str, limit: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        fast = fake_bill.resources.search(org, "vendors", {}, filters=filters, sort="updatedTime:asc", limit=limit)
        full = fake_bill.resources.search(org, "vendors", {}, filters=filters, sort="updatedTime:asc")
        return [(d["id"], d["name"]) for d in fast[:limit]], [(d["id"], d["name"]) for d in full[:limit]]

    for round_ in range(30):
        lo, hi = sorted(rng.sample(range(400), 2))
        ops = (rng.choice(["gte", "gt"]), rng.choice(["lte", "lt"]))
        filters = (
            f'updatedTime:{ops[0]}:"2026-01-02T03:00:00.{lo:03d}Z",updatedTime:{ops[1]}:"2026-01-02T03:00:00.{hi:03d}Z"'
        )
        if round_ % 3 == 0:
            filters += f",archived:eq:{rng.choice(['true', 'false'])}"
        fast, full = both(filters, rng.randint(1, 120))
        assert fast == full, filters
        victim = rng.choice(fake_bill.state.list("vendors"))  # a live change the index must notice
        victim["updatedTime"] = f"2026-01-02T03:00:00.{rng.randint(0, 399):03d}Z"
        if round_ % 5 == 0:
            fake_bill.state.put("vendors", {"name": "late", "updatedTime": "2026-01-02T03:00:00.200Z"})
        if round_ % 4 == 1:  # a record's dict replaced by another with the same time: the answer shows the new one
            record = rng.choice(fake_bill.state.records(org, "vendors"))
            record.data = {**record.data, "name": f"replaced{round_}"}
