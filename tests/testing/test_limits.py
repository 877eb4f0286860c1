"""FakeBill enforces BILL's limits the way BILL does (issue #18, step 3): requests of one (dev key, organization)
really overlap (a per-request latency awaited inside the limit), are counted across every connection, and the
hourly request and login budgets are per key."""

from __future__ import annotations

import anyio
import httpx

from bill_sdk.testing import FakeBill


async def _get_many(fake: FakeBill, url: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url + "/connect", limits=httpx.Limits(max_connections=50)) as http:
        session = (await http.post("/v3/login", json=fake.login_body())).json()["sessionId"]
        headers = {"devKey": fake.credentials.dev_key, "sessionId": session}
        org = fake.credentials.organization_id
        answers: list[httpx.Response] = []

        async def one() -> None:
            answers.append(await http.get(f"/v3/organizations/{org}", headers=headers))

        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(one)
        return answers


async def test_requests_over_many_connections_overlap_and_are_counted_together() -> None:
    fake = FakeBill(validate_responses=False)
    fake.limits.latency = 0.3  # awaited inside the limit: the handlers of concurrent requests overlap
    async with fake.serve_async() as url:
        answers = await _get_many(fake, str(url), 8)
    assert all(a.status_code == 200 for a in answers)
    assert fake.peak_in_flight[fake.credentials.organization_id] > 3  # was always 1: handlers never overlapped


async def test_beyond_three_in_flight_bill_answers_bdc_1322() -> None:
    fake = FakeBill(validate_responses=False, max_concurrent_per_org=3)
    fake.limits.latency = 0.3
    async with fake.serve_async() as url:
        answers = await _get_many(fake, str(url), 8)
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(a.json()[0]["code"] == "BDC_1322" for a in refused)
    assert len(refused) == fake.limits.refused[fake.credentials.organization_id]  # 5 when all 8 overlap
    assert fake.peak_in_flight[fake.credentials.organization_id] == 3


async def test_hourly_request_and_login_budgets_are_per_dev_key() -> None:
    fake = FakeBill(validate_responses=False, hourly_request_limit=6)
    fake.limits.hourly_login_limit = 2
    c = fake.credentials
    async with fake.serve_async() as url, httpx.AsyncClient(base_url=str(url) + "/connect") as http:
        logins = [(await http.post("/v3/login", json=fake.login_body())).status_code for _ in range(3)]
        assert logins == [200, 200, 429]  # the third login of the hour is refused (and spends nothing)
        session = (
            await http.post(
                "/v3/partner/login", json={"appKey": c.app_key, "username": c.username, "password": c.password}
            )
        ).json()["sessionId"]
        assert session  # partner calls are the app key's budget, not the dev key's
        answers = [
            (
                await http.get(
                    "/v3/partner/organizations", headers={"appKey": fake.credentials.app_key, "sessionId": session}
                )
            ).status_code
            for _ in range(3)
        ]
        assert answers == [200, 200, 200]
    assert fake.limits.budget_used("devKey", "requests") == 2
    assert fake.limits.budget_used("appKey", "requests") == 4
