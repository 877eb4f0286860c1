"""Fault injection, one test per kind, in process and (for dropped connections) over uvicorn; real limits."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx
import pytest

from bill_sdk.testing import FakeBill, FaultKind


async def test_latency_delays_and_counts_in_flight(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    fault = fake_bill.faults.add("/v3/vendors", method="GET", kind="latency", seconds=0.2, count=None)
    started = time.perf_counter()
    answers = await asyncio.gather(*(client.get("/v3/vendors", headers=org) for _ in range(4)))
    elapsed = time.perf_counter() - started
    assert [a.status_code for a in answers] == [200] * 4
    assert 0.2 <= elapsed < 0.7  # concurrent, not serial (serial would take 0.8 s)
    assert fault.hits == 4 and fault.remaining is None
    assert fake_bill.peak_in_flight[fake_bill.credentials.organization_id] == 4
    assert (
        await client.post("/v3/vendors", headers=org, json=fake_bill.example("createVendor", name="x"))
    ).status_code == 201


@pytest.mark.parametrize(
    ("kind", "options", "status", "code"),
    [
        ("concurrency_limit", {}, 429, "BDC_1322"),
        ("concurrency_limit", {"status": 400}, 400, "BDC_1322"),
        ("hourly_limit", {}, 429, "BDC_1144"),
        ("hourly_limit", {"status": 422}, 422, "BDC_1144"),
        ("server_error", {}, 500, "BDC_1001"),
        ("server_error", {"status": 520}, 520, "BDC_1001"),
        ("error", {"status": 422, "code": "BDC_1322", "message": "slow down"}, 422, "BDC_1322"),
    ],
)
async def test_error_bursts(
    client: httpx.AsyncClient,
    fake_bill: FakeBill,
    org: dict[str, str],
    helpers,
    kind: str,
    options: dict,
    status: int,
    code: str,
) -> None:
    fault = fake_bill.faults.add("/connect/v3/vendors*", kind=kind, count=2, **options)
    first = await client.get("/v3/vendors", headers=org)
    second = await client.get("/v3/vendors", headers=org)
    third = await client.get("/v3/vendors", headers=org)
    assert [first.status_code, second.status_code, third.status_code] == [status, status, 200]
    assert helpers.codes(first) == [code]
    assert "retry-after" not in first.headers
    assert fault.exhausted and fault.hits == 2
    assert [r.fault for r in fake_bill.requests[-3:]] == [kind, kind, None]


async def test_rate_limit_with_retry_after(client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]) -> None:
    fake_bill.faults.add(re.compile(r"/vendors$"), kind=FaultKind.RATE_LIMIT, retry_after=2)
    limited = await client.get("/v3/vendors", headers=org)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert (await client.get("/v3/vendors", headers=org)).status_code == 200


async def test_gateway_page_instead_of_json(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    fake_bill.faults.add("listVendors", kind="server_error", status=502, body="<html>Bad Gateway</html>")
    response = await client.get("/v3/vendors", headers=org)
    assert response.status_code == 502 and response.text == "<html>Bad Gateway</html>"
    assert response.headers["content-type"].startswith("text/html")


async def test_method_filter_and_unmatched_paths(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    fake_bill.faults.add("/v3/vendors", method="POST", kind="server_error", count=None)
    assert (await client.get("/v3/vendors", headers=org)).status_code == 200
    assert (await client.get("/v3/bills", headers=org)).status_code == 200
    assert (
        await client.post("/v3/vendors", headers=org, json=fake_bill.example("createVendor", name="x"))
    ).status_code == 500
    fake_bill.faults.clear()
    assert (
        await client.post("/v3/vendors", headers=org, json=fake_bill.example("createVendor", name="x"))
    ).status_code == 201


async def test_drops_in_process(client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]) -> None:
    body = fake_bill.example("createVendor", name="Dropped")
    fake_bill.faults.add("/v3/vendors", method="POST", kind="drop_before")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/v3/vendors", headers=org, json=body)
    assert fake_bill.state.counts().get("vendors", 0) == 0  # not applied

    fake_bill.faults.add("/v3/vendors", method="POST", kind="drop_after")
    with pytest.raises(httpx.TransportError):
        await client.post("/v3/vendors", headers=org, json=body)
    assert [v["name"] for v in fake_bill.state.list("vendors")] == ["Dropped"]  # applied, answer lost
    assert [r.status for r in fake_bill.requests[-2:]] == [None, None]
    assert fake_bill.requests[-1].dropped and fake_bill.requests[-1].fault == "drop_after"


async def test_drops_over_uvicorn(fake_bill_server) -> None:
    fake = fake_bill_server.fake
    body = fake.example("createVendor", name="Over the wire")
    async with httpx.AsyncClient(base_url=fake_bill_server.connect_url) as http:
        org = fake.headers()
        fake.faults.add("createVendor", kind="drop_before")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/v3/vendors", headers=org, json=body)
        assert fake.state.counts().get("vendors", 0) == 0
        fake.faults.add("createVendor", kind="drop_after")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/v3/vendors", headers=org, json=body)
        assert len(fake.state.list("vendors")) == 1
        # The server is still fine for the next request.
        assert (await http.get("/v3/vendors", headers=org)).status_code == 200


async def test_forced_session_expiry(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str], helpers
) -> None:
    fake_bill.faults.add("*", kind="session_expired")
    expired = await client.get("/v3/vendors", headers=org)
    assert expired.status_code == 401 and helpers.codes(expired) == ["BDC_1109"]
    assert (await client.get("/v3/vendors", headers=org)).status_code == 401  # the session is really gone
    fresh = await helpers.login(client)
    assert (await client.get("/v3/vendors", headers=fresh)).status_code == 200


@pytest.mark.fake_bill(max_concurrent_per_org=3)
async def test_real_concurrency_limit(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str], helpers
) -> None:
    fake_bill.faults.add("listVendors", kind="latency", seconds=0.2, count=None)
    answers = await asyncio.gather(*(client.get("/v3/vendors", headers=org) for _ in range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 200, 200, 429, 429, 429]
    limited = next(a for a in answers if a.status_code == 429)
    assert helpers.codes(limited) == ["BDC_1322"]
    assert fake_bill.peak_in_flight[fake_bill.credentials.organization_id] == 3
    assert (await client.get("/v3/vendors", headers=org)).status_code == 200


async def test_hourly_request_limit(helpers) -> None:
    now = [0.0]
    fake = FakeBill(hourly_request_limit=3, clock=lambda: now[0])
    async with httpx.AsyncClient(transport=fake.transport(), base_url=f"{helpers.origin}/connect") as client:
        org = fake.headers()
        statuses = [(await client.get("/v3/vendors", headers=org)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        now[0] += 3600  # next hour (the session idled out meanwhile, so sign in again)
        assert (await client.get("/v3/vendors", headers=fake.headers())).status_code == 200


async def test_lost_answer_then_retry_with_the_same_idempotency_key(
    events: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    """The case X-Idempotent-Key exists for: the subscription was created but the answer was lost."""
    body = fake_bill.example(
        "createSubscription",
        name="once",
        notificationUrl="https://hooks.example/once",
        status={"enabled": True},
        events=[{"type": "bill.created", "version": "1"}],
    )
    headers = {**org, "X-Idempotent-Key": str(uuid.uuid4())}
    fake_bill.faults.add("createSubscription", kind="drop_after")
    with pytest.raises(httpx.TransportError):
        await events.post("/v3/subscriptions", headers=headers, json=body)
    retried = await events.post("/v3/subscriptions", headers=headers, json=body)
    assert retried.status_code == 200 and retried.json()["securityKey"]
    assert [s["id"] for s in fake_bill.state.list("subscriptions")] == [retried.json()["id"]]
    # A request dropped before it was applied leaves the key free.
    other = {**org, "X-Idempotent-Key": str(uuid.uuid4())}
    fake_bill.faults.add("createSubscription", kind="drop_before")
    with pytest.raises(httpx.TransportError):
        await events.post(
            "/v3/subscriptions", headers=other, json={**body, "notificationUrl": "https://hooks.example/two"}
        )
    assert len(fake_bill.state.list("subscriptions")) == 1
    created = await events.post(
        "/v3/subscriptions", headers=other, json={**body, "notificationUrl": "https://hooks.example/two"}
    )
    assert created.status_code == 200 and len(fake_bill.state.list("subscriptions")) == 2


@pytest.mark.fake_bill(seed=7)
async def test_a_fault_with_a_probability_fires_on_that_share_of_requests_repeatably(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    fault = fake_bill.faults.add("/v3/vendors", method="GET", kind="server_error", count=None, probability=0.25)
    statuses = [(await client.get("/v3/vendors", headers=org)).status_code for _ in range(400)]
    assert fault.hits == statuses.count(500)
    assert 60 <= fault.hits <= 140  # 100 expected; far outside means the probability is ignored
    assert set(statuses) == {200, 500}

    again = FakeBill(seed=7)
    with pytest.raises(ValueError, match="probability"):
        again.faults.add(kind="server_error", probability=0)
    repeat = again.faults.add("/v3/vendors", method="GET", kind="server_error", count=None, probability=0.25)
    headers = again.headers()
    async with httpx.AsyncClient(transport=again.transport(), base_url="http://fakebill/connect") as other:
        statuses_again = [(await other.get("/v3/vendors", headers=headers)).status_code for _ in range(400)]
    assert statuses_again == statuses and repeat.hits == fault.hits  # same seed, same faults
