"""Login, sessions (idle expiry with an injected clock), credential families, partner and MFA flows."""

from __future__ import annotations

import httpx
import pytest

from bill_sdk.testing import FakeBill


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_login_answers_session_and_counts(client: httpx.AsyncClient, fake_bill: FakeBill) -> None:
    creds = fake_bill.credentials
    response = await client.post("/v3/login", json=fake_bill.login_body())
    assert response.status_code == 200
    body = response.json()
    assert body["organizationId"] == creds.organization_id and body["userId"] == creds.user_id
    assert body["trusted"] is False and body["sessionId"]
    assert fake_bill.login_count == 1
    details = await client.get("/v3/login/session", headers={"devKey": creds.dev_key, "sessionId": body["sessionId"]})
    assert details.status_code == 200 and details.json()["organizationId"] == creds.organization_id


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"password": "wrong"}, 401, "BDC_1101"),
        ({"username": "nobody"}, 401, "BDC_1101"),
        ({"devKey": "bad"}, 401, "BDC_1102"),
        ({"organizationId": "00801OTHER"}, 400, "BDC_1123"),
    ],
)
async def test_login_rejects_bad_credentials(
    client: httpx.AsyncClient, fake_bill: FakeBill, helpers, change: dict[str, str], status: int, code: str
) -> None:
    response = await client.post("/v3/login", json=fake_bill.login_body(**change))
    assert response.status_code == status
    assert helpers.codes(response) == [code]
    assert fake_bill.login_count == 0


async def test_session_expires_after_idle_time_and_use_slides_it(helpers) -> None:
    clock = Clock()
    fake = FakeBill(clock=clock, session_idle_seconds=35 * 60)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=f"{helpers.origin}/connect") as client:
        headers = await helpers.login(client, fake)
        clock.now += 34 * 60
        assert (await client.get("/v3/vendors", headers=headers)).status_code == 200
        clock.now += 34 * 60  # 68 minutes after login, but only 34 after the last call
        assert (await client.get("/v3/vendors", headers=headers)).status_code == 200
        clock.now += 35 * 60 + 1
        expired = await client.get("/v3/vendors", headers=headers)
        assert expired.status_code == 401
        assert helpers.codes(expired) == ["BDC_1109"]
        assert expired.json()[0]["message"] == "Session is invalid. Please log in."
        again = await helpers.login(client, fake)
        assert (await client.get("/v3/vendors", headers=again)).status_code == 200
    assert fake.login_count == 2


async def test_logout_ends_the_session(client: httpx.AsyncClient, org: dict[str, str], helpers) -> None:
    assert (await client.post("/v3/logout", headers=org)).status_code == 200
    assert helpers.codes(await client.get("/v3/vendors", headers=org)) == ["BDC_1109"]


async def test_wrong_family_credentials_are_refused(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    creds = fake_bill.credentials
    # Spend takes only apiToken.
    assert (await client.get("/v3/spend/budgets", headers=org)).status_code == 401
    assert (await client.get("/v3/spend/budgets", headers={"apiToken": creds.api_token})).status_code == 200
    assert (await client.get("/v3/spend/budgets", headers={"apiToken": "nope"})).status_code == 401
    # A partner session is not an org session, and devKey must be right.
    partner = fake_bill.headers("partner")
    assert (
        await client.get("/v3/vendors", headers={"devKey": creds.dev_key, "sessionId": partner["sessionId"]})
    ).status_code == 401
    assert (await client.get("/v3/vendors", headers={**org, "devKey": "other"})).status_code == 401
    assert (
        await client.get("/v3/partner/organizations", headers={"appKey": creds.app_key, "sessionId": org["sessionId"]})
    ).status_code == 401
    assert (await client.get("/v3/vendors")).status_code == 401
    # No credentials needed for health.
    assert (await client.get("/v3/health")).status_code == 200


async def test_events_accept_all_three_credential_sets(
    events: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str]
) -> None:
    for headers in (org, fake_bill.headers("partner"), fake_bill.headers("spend")):
        response = await events.get("/v3/subscriptions", headers=headers)
        assert response.status_code == 200, (headers, response.text)
    missing = await events.get("/v3/subscriptions")
    assert missing.status_code == 400
    assert (await events.get("/v3/subscriptions", headers={"apiToken": "bad"})).status_code == 401


async def test_partner_login_then_login_as_user(client: httpx.AsyncClient, fake_bill: FakeBill) -> None:
    creds = fake_bill.credentials
    bad = await client.post(
        "/v3/partner/login", json={"appKey": "wrong", "username": creds.username, "password": creds.password}
    )
    assert bad.status_code == 401
    response = await client.post(
        "/v3/partner/login", json={"appKey": creds.app_key, "username": creds.username, "password": creds.password}
    )
    assert response.status_code == 200
    partner = {"appKey": creds.app_key, "sessionId": response.json()["sessionId"]}

    created = await client.post(
        "/v3/partner/organizations",
        headers=partner,
        json=fake_bill.example("createPartnerOrganization", name="Child Co"),
    )
    assert created.status_code in (200, 201), created.text
    child = created.json()["id"]
    assert child.startswith("008")
    user = await client.post(
        "/v3/partner/users",
        headers={**partner, "organizationId": child},
        json=fake_bill.example("createPartnerUser", firstName="Ann", lastName="Lee", email="ann@example.com"),
    )
    assert user.status_code in (200, 201), user.text
    user_id = user.json()["id"]
    assert user_id.startswith("006")

    as_user = await client.post(
        "/v3/partner/login-as-user", headers=partner, json={"organizationId": child, "userId": user_id}
    )
    assert as_user.status_code == 200, as_user.text
    org_headers = {"devKey": creds.dev_key, "sessionId": as_user.json()["sessionId"]}
    vendor = await client.post(
        "/v3/vendors", headers=org_headers, json=fake_bill.example("createVendor", name="Child vendor")
    )
    assert vendor.status_code == 201
    # Data of the child organization is separate from the default organization.
    assert [v["name"] for v in fake_bill.state.list("vendors", org=child)] == ["Child vendor"]
    assert fake_bill.state.list("vendors") == []
    session = await client.get("/v3/login/session", headers=org_headers)
    assert session.json()["organizationId"] == child
    # Partner calls cannot use the org session.
    assert (
        await client.post(
            "/v3/partner/login-as-user", headers=org_headers, json={"organizationId": child, "userId": user_id}
        )
    ).status_code == 401
    unknown = await client.post(
        "/v3/partner/login-as-user", headers=partner, json={"organizationId": child, "userId": "00601NOBODY"}
    )
    assert unknown.status_code == 400
    assert fake_bill.login_count == 2


async def _trusted_login(client: httpx.AsyncClient, fake: FakeBill, org: dict[str, str]) -> tuple[str, dict[str, str]]:
    """MFA challenge + validate (wrong code first), then a login with the rememberMeId and device."""
    challenge = await client.post("/v3/mfa/challenge", headers=org, json={})
    assert challenge.status_code == 200
    wrong = await client.post(
        "/v3/mfa/challenge/validate",
        headers=org,
        json={"challengeId": challenge.json()["challengeId"], "token": "000000"},
    )
    assert wrong.status_code == 400
    validated = await client.post(
        "/v3/mfa/challenge/validate",
        headers=org,
        json={
            "challengeId": challenge.json()["challengeId"],
            "token": fake.credentials.mfa_code,
            "device": "laptop",
            "rememberMe": True,
        },
    )
    assert validated.status_code == 200, validated.text
    remember_me = validated.json()["rememberMeId"]
    response = await client.post("/v3/login", json=fake.login_body(rememberMeId=remember_me, device="laptop"))
    assert response.json()["trusted"] is True
    return remember_me, {"devKey": fake.credentials.dev_key, "sessionId": response.json()["sessionId"]}


@pytest.mark.fake_bill(require_trusted_session_for_payments=True)
async def test_payments_need_a_trusted_session_when_required(
    client: httpx.AsyncClient, fake_bill: FakeBill, org: dict[str, str], helpers
) -> None:
    bill = fake_bill.state.put("bills", {"vendorId": "00901X", "amount": 50, "dueAmount": 50, "paidAmount": 0})
    payment = fake_bill.example("createPayment", billId=bill["id"], amount=10)
    untrusted = await client.post("/v3/payments", headers=org, json=payment)
    assert untrusted.status_code == 403
    assert helpers.codes(untrusted) == ["BDC_1361"]

    remember_me, trusted = await _trusted_login(client, fake_bill, org)
    paid = await client.post("/v3/payments", headers=trusted, json=payment)
    assert paid.status_code == 201, paid.text
    # A wrong device does not make the session trusted.
    other = await client.post("/v3/login", json=fake_bill.login_body(rememberMeId=remember_me, device="phone"))
    assert other.json()["trusted"] is False
