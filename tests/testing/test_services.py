"""FakeBill's backend services, each built alone from what it needs (no FakeBill, no HTTP app)."""

from __future__ import annotations

import asyncio
import json
import random
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bill_sdk.testing.bdc import ErrorReply
from bill_sdk.testing.catalog import Catalog, Kind
from bill_sdk.testing.config import FakeBillConfig, FakeCredentials, LimitConfig
from bill_sdk.testing.documents import Documents
from bill_sdk.testing.faults import FaultKind, Faults
from bill_sdk.testing.handlers import Answers, AuthHandlers, Call
from bill_sdk.testing.idempotency import Claim, IdempotencyStore
from bill_sdk.testing.ledger import Ledger
from bill_sdk.testing.limits import Limits
from bill_sdk.testing.organizations import Organizations
from bill_sdk.testing.outbox import Change, Outbox
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.resources import Resources
from bill_sdk.testing.sessions import IssuedSession, Principal, Sessions
from bill_sdk.testing.spec import Spec, load_spec
from bill_sdk.testing.state import PARTNER_SCOPE, State
from bill_sdk.testing.subscriptions import Subscriptions
from bill_sdk.testing.vocabulary import SpecGaps, Vocabulary
from bill_sdk.testing.webhooks import DELIVERY_SIGNATURE_HEADER, Webhooks, delivery_signature

ORG = "00801TESTORG"
WHO = Principal("org", ORG)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="module")
def catalog(spec: Spec) -> Catalog:
    return Catalog(spec)


@pytest.fixture
def state() -> State:
    return State(ORG, rng=random.Random(1))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def error_code(excinfo: pytest.ExceptionInfo[ErrorReply]) -> tuple[int, str]:
    return excinfo.value.status, excinfo.value.code


# -- state, outbox -----------------------------------------------------------------------------------------


def test_state_ids_scopes_and_nested_lookup(state: State) -> None:
    vendor = state.put("vendors", {"name": "Acme"})
    assert vendor["id"].startswith("00901") and len(vendor["id"]) == 20
    assert state.list("vendors") == [vendor] and state.list("vendors", "00801OTHER") == []
    attachment = state.add(ORG, "attachments/vendors", {"id": "0at1"})
    assert state.find(ORG, "attachments", "0at1") == ("attachments/vendors", attachment)
    assert State(ORG, rng=random.Random(1)).new_id("bills") == State(ORG, rng=random.Random(1)).new_id("bills")


def test_outbox_hands_each_change_to_every_reader_in_order() -> None:
    outbox, seen = Outbox(), []
    outbox.subscribe(lambda change: seen.append(("a", change.action)))
    outbox.subscribe(lambda change: seen.append(("b", change.action)))
    outbox.publish(Change(ORG, "vendors", "created", {}))
    outbox.publish(Change(ORG, "vendors", "updated", {}))
    assert seen == [("a", "created"), ("b", "created"), ("a", "updated"), ("b", "updated")]
    assert outbox.published == 2


# -- sessions ----------------------------------------------------------------------------------------------


def sessions_for(state: State, clock: Clock, spec: Spec) -> Sessions:
    schemes = spec.doc["components"]["securitySchemes"]
    return Sessions(FakeCredentials(organization_id=ORG), state, security_schemes=schemes, clock=clock, idle_seconds=60)


def test_sessions_login_expiry_and_authentication(state: State, spec: Spec) -> None:
    clock = Clock()
    sessions = sessions_for(state, clock, spec)
    creds = sessions.credentials
    body = {"devKey": creds.dev_key, "username": "FAKEUSER", "password": creds.password, "organizationId": ORG}
    session = sessions.login(body)
    assert (session.kind, session.organization_id, session.trusted, sessions.login_count) == ("org", ORG, False, 1)
    with pytest.raises(ErrorReply) as bad:
        sessions.login({**body, "password": "wrong"})
    assert error_code(bad) == (401, "BDC_1101") and sessions.login_count == 1

    list_vendors = spec.by_id["listVendors"]
    who = sessions.authenticate(list_vendors, {"devKey": creds.dev_key, "sessionId": session.id})
    assert (who.kind, who.scope, who.session) == ("org", ORG, session)
    clock.now += 59  # sliding: each use restarts the idle time
    sessions.authenticate(list_vendors, {"devKey": creds.dev_key, "sessionId": session.id})
    clock.now += 61
    with pytest.raises(ErrorReply) as expired:
        sessions.authenticate(list_vendors, {"devKey": creds.dev_key, "sessionId": session.id})
    assert error_code(expired) == (401, "BDC_1109")
    assert sessions.authenticate(spec.by_id["login"], {}).kind == "anonymous"


def test_sessions_partner_scopes_and_login_as_user(state: State, spec: Spec) -> None:
    sessions = sessions_for(state, Clock(), spec)
    creds = sessions.credentials
    partner = sessions.partner_login({"appKey": creds.app_key, "username": creds.username, "password": creds.password})
    with pytest.raises(ErrorReply) as unknown:
        sessions.login_as_user({"organizationId": "00801CHILD", "userId": "00601X"})
    assert error_code(unknown) == (400, "BDC_1123")
    state.partner_orgs.add("00801CHILD")
    state.add("00801CHILD", "users", {"id": "00601X"})
    child = sessions.login_as_user({"organizationId": "00801CHILD", "userId": "00601X"})
    assert (child.organization_id, child.user_id, sessions.login_count) == ("00801CHILD", "00601X", 2)
    headers = {"appKey": creds.app_key, "sessionId": partner.id}
    create_subscription = spec.by_id["createSubscription"]
    assert sessions.authenticate(create_subscription, headers).scope == PARTNER_SCOPE


def test_sessions_mfa_trusts_and_remembers_a_device(state: State, spec: Spec) -> None:
    sessions = sessions_for(state, Clock(), spec)
    session = sessions.new_session("org", ORG, "u")
    challenge = sessions.open_challenge(session)
    with pytest.raises(ErrorReply):
        sessions.validate_challenge(session, challenge, "000000", remember=True, device="d")
    remember_me_id = sessions.validate_challenge(session, challenge, "123456", remember=True, device="d")
    assert session.trusted and remember_me_id and sessions.remembered_device(remember_me_id, "d")
    assert not sessions.remembered_device(remember_me_id, "another device")
    fresh = sessions.new_session("org", ORG, "u")
    assert sessions.step_up(fresh, remember_me_id, "d", "") and fresh.trusted


# -- resources ---------------------------------------------------------------------------------------------


def test_resources_store_hook_and_publish(state: State, catalog: Catalog) -> None:
    outbox, changes = Outbox(), []
    outbox.subscribe(changes.append)
    resources = Resources(state, catalog, outbox)
    resources.add_hooks({"vendors": [lambda who, data, action: data.setdefault("hooked", action)]})

    record = resources.create(WHO, "vendors", {"name": "Acme", "id": "ignored"}, defaults={"name": "x", "k": 1})
    assert record.data["name"] == "Acme" and record.data["k"] == 1 and record.data["id"] != "ignored"
    assert record.data["hooked"] == "created" and record.data["archived"] is False
    resources.update(WHO, "vendors", record, {"name": "Acme 2"})
    resources.set_archived(WHO, "vendors", record, True)
    assert [(c.scope, c.collection, c.action) for c in changes] == [
        (ORG, "vendors", "created"),
        (ORG, "vendors", "updated"),
        (ORG, "vendors", "archived"),
    ]
    assert resources.require(ORG, "vendors", record.id, {}) == ("vendors", record)
    with pytest.raises(ErrorReply) as missing:
        resources.require(ORG, "vendors", "00901NOPE", {}, "vendorId")
    assert error_code(missing) == (404, "BDC_1120") and "vendorId 00901NOPE" in missing.value.message
    with pytest.raises(ErrorReply):
        resources.check_parents(ORG, {"vendorId": "00901NOPE"}, "connect")


def test_resources_singletons_are_one_per_parent(state: State, catalog: Catalog) -> None:
    resources = Resources(state, catalog, Outbox())
    first = resources.put_singleton(ORG, "vendors/bank-account", {"vendorId": "v1"}, {"a": 1}, merge=False)
    merged = resources.put_singleton(ORG, "vendors/bank-account", {"vendorId": "v1"}, {"b": 2}, merge=True)
    assert merged["id"] == first["id"] and merged["a"] == 1 and merged["b"] == 2
    assert resources.delete_singleton(ORG, "vendors/bank-account", {"vendorId": "v1"})["b"] == 2
    with pytest.raises(ErrorReply):
        resources.delete_singleton(ORG, "vendors/bank-account", {"vendorId": "v1"})


def test_resources_search_filters_sorts_and_hides_archived(state: State, catalog: Catalog) -> None:
    resources = Resources(state, catalog, Outbox())
    for name, archived in (("b", False), ("a", False), ("c", True)):
        record = resources.create(WHO, "vendors", {"name": name})
        record.data["archived"] = archived
    assert [v["name"] for v in resources.search(ORG, "vendors", {}, sort="name:desc")] == ["b", "a"]
    assert [v["name"] for v in resources.search(ORG, "vendors", {}, filters="archived:eq:true")] == ["c"]
    assert [v["name"] for v in resources.search(ORG, "vendors", {}, equals={"name": "a"})] == ["a"]
    with pytest.raises(ErrorReply) as unknown:
        resources.search(ORG, "vendors", {}, filters="noSuchField:eq:1")
    assert error_code(unknown) == (400, "BDC_1130")


# -- ledger ------------------------------------------------------------------------------------------------


def ledger_for(state: State, catalog: Catalog, *, trusted: bool = False) -> tuple[Ledger, Resources, Outbox]:
    outbox = Outbox()
    resources = Resources(state, catalog, outbox)
    ledger = Ledger(state, resources, Vocabulary(catalog, SpecGaps()), require_trusted_session=trusted)
    resources.add_hooks(ledger.hooks())
    return ledger, resources, outbox


def test_ledger_bill_amounts_and_payments(state: State, catalog: Catalog) -> None:
    ledger, resources, outbox = ledger_for(state, catalog)
    changes: list[Change] = []
    outbox.subscribe(changes.append)
    bill = resources.create(WHO, "bills", {"vendorId": "v1", "billLineItems": [{"amount": Decimal("60.50")}]}).data
    assert (bill["amount"], bill["dueAmount"], bill["paymentStatus"]) == (Decimal("60.50"), Decimal("60.50"), "UNPAID")
    (payment,) = ledger.pay_bills(WHO, [{"billId": bill["id"], "amount": "10.50"}], bulk=False)
    assert payment["amount"] == Decimal("10.50") and payment["vendorId"] == "v1"
    assert (bill["dueAmount"], bill["paymentStatus"]) == (Decimal("50.00"), "PARTIAL")
    ledger.pay_bills(WHO, [{"billId": bill["id"]}], bulk=False)  # no amount: what is due
    assert (bill["dueAmount"], bill["paymentStatus"]) == (Decimal(0), "PAID")
    assert [(c.collection, c.action) for c in changes][-2:] == [("payments", "created"), ("bills", "updated")]
    with pytest.raises(ErrorReply) as overpaid:
        ledger.pay_bills(WHO, [{"billId": bill["id"], "amount": 1}], bulk=False)
    assert error_code(overpaid) == (400, "BDC_1119")


def test_ledger_checks_every_bulk_payment_before_paying_any(state: State, catalog: Catalog) -> None:
    ledger, resources, _ = ledger_for(state, catalog)
    bill = resources.create(WHO, "bills", {"vendorId": "v1", "amount": 5}).data
    with pytest.raises(ErrorReply) as bad:
        ledger.pay_bills(WHO, [{"billId": bill["id"], "amount": 5}, {"billId": "00n01NOPE"}], bulk=True)
    assert error_code(bad) == (404, "BDC_1120")
    assert bill["dueAmount"] == 5 and state.list("payments") == []


def test_ledger_untrusted_sessions_may_not_pay_when_required(state: State, catalog: Catalog) -> None:
    ledger, _, _ = ledger_for(state, catalog, trusted=True)
    untrusted = Principal("org", ORG, IssuedSession("s", "org", ORG, "u", False, 0.0))
    with pytest.raises(ErrorReply) as refused:
        ledger.pay_bills(untrusted, [{"billId": "x"}], bulk=False)
    assert error_code(refused) == (403, "BDC_1361")


def test_ledger_invoice_payment(state: State, catalog: Catalog) -> None:
    ledger, resources, _ = ledger_for(state, catalog)
    invoice = resources.create(WHO, "invoices", {"invoiceLineItems": [{"price": 4, "quantity": 5}]}).data
    assert (invoice["totalAmount"], invoice["dueAmount"], invoice["status"]) == (20, 20, "OPEN")
    answer = ledger.record_invoice_payment(
        WHO, {"invoices": [{"id": invoice["id"], "amount": 5}], "paymentType": "CASH"}, lambda value: False
    )
    assert answer["paymentType"] is None and answer["amount"] == 5 and invoice["dueAmount"] == 15
    assert state.get("received-payments", answer["id"]) is not None


# -- documents, vocabulary ---------------------------------------------------------------------------------


def test_documents_upload_then_processing_then_done(state: State) -> None:
    documents = Documents(state)
    upload_id = documents.upload(ORG, "00n01BILL", "scan.pdf", b"%PDF")
    first = documents.poll(ORG, upload_id)
    assert first is not None and not first.done and first.document_id is None
    second = documents.poll(ORG, upload_id)
    assert second is not None and second.done and second.document_id
    third = documents.poll(ORG, upload_id)
    assert third is not None and third.document_id == second.document_id
    assert [r.parents for r in state.records(ORG, "documents/bills")] == [{"billId": "00n01BILL"}]
    assert documents.poll(ORG, "0du01NOPE") is None


def test_vocabulary_notes_gaps_once(catalog: Catalog, spec: Spec) -> None:
    gaps = SpecGaps()
    vocabulary = Vocabulary(catalog, gaps)
    assert vocabulary.enum_value("bills", "paymentStatus", "PARTIALLY_PAID", "PARTIAL") == "PARTIAL"
    assert vocabulary.enum_value("bills", "paymentStatus", "NOPE") is None
    assert vocabulary.enum_value("bills", "paymentStatus", "NOPE") is None
    assert len(gaps) == 1 and "bills.paymentStatus" in gaps[0]
    assert vocabulary.enum_value("bills", "no-such-field", "ANY") == "ANY"


# -- subscriptions and webhooks ----------------------------------------------------------------------------


def test_subscriptions_check_urls_duplicates_and_hide_keys(state: State, catalog: Catalog) -> None:
    resources = Resources(state, catalog, Outbox())
    subscriptions = Subscriptions(state, resources, require_https=True)
    resources.add_hooks(subscriptions.hooks())
    body = {"notificationUrl": "https://hooks.example/a", "events": [{"type": "vendor.created"}], "securityKey": "x"}
    record, key = subscriptions.create(WHO, body)
    assert key and record.meta["security_key"] == key and "securityKey" not in record.data
    assert record.data["organizationId"] == ORG
    with pytest.raises(ErrorReply):
        subscriptions.create(WHO, body)  # same URL and events
    with pytest.raises(ErrorReply):
        subscriptions.create(WHO, {**body, "notificationUrl": "http://hooks.example/b"})  # https required
    assert subscriptions.rotate_key(record) != key


async def test_webhooks_read_the_outbox_and_deliver_signed_events(state: State) -> None:
    got: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        got.append(request)
        return httpx.Response(200)

    webhooks = Webhooks(state, lambda collection, data: {"id": data["id"]}, transport=httpx.MockTransport(receive))
    outbox = Outbox()
    outbox.subscribe(webhooks.notify)
    subscription = state.add(
        ORG, "subscriptions", {"id": "s1", "notificationUrl": "https://h/x", "events": ["vendor.created"]}
    )
    subscription.meta["security_key"] = "k"
    outbox.publish(Change(ORG, "vendors", "created", {"id": "00901V", "secret": "not in the payload"}))
    outbox.publish(Change(ORG, "vendors", "updated", {"id": "00901V"}))  # not subscribed
    outbox.publish(Change(ORG, "roles", "created", {"id": "r"}))  # not an entity with events
    await webhooks.drain()
    (request,) = got
    assert request.headers[DELIVERY_SIGNATURE_HEADER] == delivery_signature(request.content, "k")
    assert json.loads(request.content)["vendor"] == {"id": "00901V"}
    assert [d.ok for d in webhooks.deliveries] == [True]
    assert [r.data["eventType"] for r in state.records(ORG, "events/subscription")] == ["vendor.created"]


async def test_webhooks_disable_a_subscription_after_the_last_retry(state: State) -> None:
    webhooks = Webhooks(
        state, lambda c, d: d, transport=httpx.MockTransport(lambda r: httpx.Response(500)), retry_delays=(0, 0)
    )
    subscription = state.add(
        ORG, "subscriptions", {"id": "s1", "notificationUrl": "https://h/x", "events": ["bill.updated"],
                               "status": {"enabled": True}},
    )  # fmt: skip
    webhooks.notify(Change(ORG, "bills", "updated", {"id": "00n01B"}))
    await asyncio.wait_for(webhooks.drain(), 5)
    assert [d.attempt for d in webhooks.deliveries] == [1, 2, 3]
    assert subscription.data["status"] == {"enabled": False}


def test_webhooks_test_events_default_to_the_subscriptions_first_type(state: State) -> None:
    webhooks = Webhooks(state, lambda c, d: d)
    subscription = state.add(ORG, "subscriptions", {"id": "s1", "events": [{"type": "vendor.updated"}]})
    event = webhooks.record_test_event(ORG, subscription, {"id": "00901V", "name": "Acme"}, ORG)
    body = json.loads(event.meta["body"])
    assert body["metadata"]["eventType"] == "vendor.updated" and body["vendor"] == {"id": "00901V", "name": "Acme"}
    spend = webhooks.record_test_event(ORG, subscription, {"eventType": "spend.three-ds-challenge.created"}, ORG)
    assert "threeDsChallenge" in json.loads(spend.meta["body"]) and event.data["entityId"] == "00901V"


# -- limits, faults, idempotency -----------------------------------------------------------------------------


def test_limits_count_in_flight_and_refuse_over_the_limit() -> None:
    clock = Clock()
    limits = Limits(clock, max_concurrent=1, hourly_limit=2)
    limits.enter(ORG)
    with pytest.raises(ErrorReply) as busy:
        limits.enter(ORG)
    assert error_code(busy) == (429, "BDC_1322")
    limits.leave(ORG)
    limits.enter(ORG)
    limits.leave(ORG)
    with pytest.raises(ErrorReply) as hourly:
        limits.enter(ORG)
    assert error_code(hourly) == (429, "BDC_1144") and limits.peak_in_flight == {ORG: 1}
    clock.now += 3600
    limits.enter(ORG)


def test_faults_take_latency_and_one_decisive_fault() -> None:
    faults = Faults(random.Random(0))
    faults.add("/v3/vendors", kind="latency", seconds=0.1, count=None)
    first = faults.add("/v3/vendors", kind="server_error", count=1)
    faults.add("*", kind="drop_after", count=1)
    delays, decisive = faults.take("GET", ("/connect/v3/vendors", "/v3/vendors"))
    assert [d.kind for d in delays] == [FaultKind.LATENCY] and decisive is first
    delays, decisive = faults.take("GET", ("/connect/v3/vendors", "/v3/vendors"))
    assert decisive is not None and decisive.kind is FaultKind.DROP_AFTER
    assert faults.take("GET", ("/connect/v3/vendors",))[1] is None


def test_idempotency_replays_success_and_releases_failures(spec: Spec) -> None:
    store = IdempotencyStore(Clock())
    op = spec.by_id["createSubscription"]
    key = {"X-Idempotent-Key": "9f1c2b8e-6b1d-4c1e-9a7a-0f2f3b4c5d6e"}
    claim = store.begin(ORG, op, op.path, key)
    assert isinstance(claim, Claim)
    with pytest.raises(ErrorReply):  # the first is still running
        store.begin(ORG, op, op.path, key)
    store.finish(claim, Reply(500))
    claim = store.begin(ORG, op, op.path, key)
    assert isinstance(claim, Claim)
    store.finish(claim, Reply(201, {"id": "s1"}))
    replay = store.begin(ORG, op, op.path, key)
    assert isinstance(replay, Reply) and replay.body == {"id": "s1"}
    assert store.begin(ORG, spec.by_id["listVendors"], "/v3/vendors", {}) is None


# -- organizations, configuration, a handler alone ---------------------------------------------------------------


def test_organizations_seed_and_partner_children(state: State) -> None:
    organizations = Organizations(state)
    organizations.seed(FakeCredentials(organization_id=ORG, user_id="00601ME"))
    assert [o["id"] for o in state.list("organizations")] == [ORG] and state.get("users", "00601ME")
    child: dict[str, Any] = {"id": "00801CHILD", "name": "Child"}
    organizations.organization_hook(Principal("partner", PARTNER_SCOPE), child, "created")
    assert "00801CHILD" in state.partner_orgs and state.get("organizations", "00801CHILD", org="00801CHILD")
    organizations.organization_hook(Principal("org", ORG), {"id": "00801OTHER"}, "created")
    assert "00801OTHER" not in state.partner_orgs


def test_config_flat_options_set_group_fields() -> None:
    config = FakeBillConfig(limits=LimitConfig(concurrency_status=503)).with_options(
        organization_id="00801MINE", max_concurrent_per_org=3, webhook_timeout=1.0, seed=7
    )
    assert config.credentials == FakeCredentials(organization_id="00801MINE")
    assert config.limits == LimitConfig(max_concurrent_per_org=3, concurrency_status=503)
    assert (config.webhooks.timeout, config.seed) == (1.0, 7)
    with pytest.raises(TypeError, match="no_such_option"):
        FakeBillConfig().with_options(no_such_option=1)


async def test_a_handler_with_its_services_only(state: State, spec: Spec, catalog: Catalog) -> None:
    sessions = sessions_for(state, Clock(), spec)
    handlers = AuthHandlers(sessions, Answers(catalog.tools)).routes()
    op = spec.by_id["login"]
    creds = sessions.credentials
    body = {"devKey": creds.dev_key, "username": creds.username, "password": creds.password, "organizationId": ORG}
    call = Call(op, catalog.route(op), {}, {}, {}, {}, body, b"", Principal("anonymous", ORG))
    reply = await handlers["login"](call)
    assert reply.status == 200 and reply.body["sessionId"] in sessions.sessions
    assert catalog.route(op).kind is Kind.ACTION and sessions.login_count == 1
