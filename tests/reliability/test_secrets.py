"""No secret leaks into logs, exceptions, tracebacks, printed output or reprs.

The demo flow of ``examples/quickstart.py`` (its own ``flow`` function, so this test follows the demo) runs against
a FakeBill over loopback with every logger (``bill_sdk``, ``httpx``, ``httpcore``, root) at DEBUG, and then errors
are provoked on purpose: a wrong password (AuthenticationError), 5xx answers (ServerError after retries), a dropped
connection on a create (OutcomeUnknownError), a validation error whose message echoes the dev key and session id
(BILL echoes request values), an expired session, a partner login and login-as-user, an MFA challenge validated with
rememberMe, a vendor and a funding bank account with a full account number, and a webhook subscription.

Everything a developer or a log pipeline could see is collected: every log record (formatted, with its traceback),
``str``/``repr``/``traceback.format_exception``/attributes of every caught exception, the printed demo output, and
``repr`` of the clients, their credentials and sessions. None may contain the dev key, the password (right or
wrong), the app key, the API token, any sessionId FakeBill issued, the rememberMeId, the webhook securityKey or the
bank account number.

The scenario runs twice, with ``AsyncBill`` and with ``Bill`` (the synchronous twin, ``tests/twins.py``): the same
calls and provoked errors; the demo flow (``examples/quickstart.py``, async code) runs with ``AsyncBill`` only.

``repr``/``str`` of the generated models that carry a secret (login answers, subscriptions with a securityKey,
bank accounts, the MFA answer, login requests) are checked one by one: the spec marks those properties
``x-secret: true`` and the generated repr prints ``'***'`` for them (``to_dict()`` still carries the value).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import io
import logging
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.from_thread
import pytest

from bill_sdk.errors import (
    AuthenticationError,
    BillError,
    OutcomeUnknownError,
    ServerError,
    ValidationError,
)
from bill_sdk.models import (
    BankAccountOwnerType,
    BankAccountType,
    LoginAsUserRequest,
    LoginRequest,
    MfaChallengeCreate,
    MfaChallengeValidation,
    PartnerLoginRequest,
    SubscriptionCreate,
    SubscriptionEventInput,
    SubscriptionStatusInput,
    VendorBankAccountCreate,
)
from bill_sdk.testing import FakeBill
from bill_sdk.testing.server import serve_app
from tests import bodies
from tests.twins import Twin

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Long and unique: none of them can turn up by accident (in an id, a timestamp, a base64 blob).
DEV_KEY = "devkey-S3cr3t-Qz8fKxW7pLm2RtY9vBn4Hc6J"
PASSWORD = "passw0rd-S3cr3t-Jk4Lm9Qr2St7Uv3Wx8Yz5"
WRONG_PASSWORD = "wr0ng-passw0rd-S3cr3t-Tg5Hy6Ju7Ki8Lo9"
APP_KEY = "appkey-S3cr3t-Nb3Vc4Xz5Lk6Jh7Gf8Ds9"
API_TOKEN = "apitoken-S3cr3t-Pq1Wo2Ei3Ru4Ty5Yu6Io7"
ACCOUNT_NUMBER = "0001234567890123"
FUNDING_ACCOUNT_NUMBER = "0009876543210987"
USERNAME = "secrets-test@example.com"
DEVICE = "secrets-test-laptop"


def load_quickstart() -> ModuleType:
    """examples/quickstart.py as a module (it is not a package), so the test runs the demo's own ``flow``."""
    spec = importlib.util.spec_from_file_location("quickstart_for_secrets_test", ROOT / "examples" / "quickstart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Collect(logging.Handler):
    """Keeps every record formatted as a log pipeline would write it, traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter_ = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        text = self.formatter_.format(record)  # includes formatException(exc_info) and stack_info
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)
        self.lines.append(repr(record.args))


@contextlib.contextmanager
def debug_logging() -> Iterator[Collect]:
    handler = Collect()
    names = ["", "bill_sdk", "httpx", "httpcore", "bill_sdk.testing", "uvicorn", "uvicorn.error"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    root = logging.getLogger()
    root.addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled


@dataclass
class Transcript:
    """What the scenario exposed, by where it was exposed."""

    logs: list[str] = field(default_factory=list)
    printed: str = ""
    exceptions: dict[str, BaseException] = field(default_factory=dict)
    client_reprs: list[str] = field(default_factory=list)
    models: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    flow_result: int | None = None
    kind: str = "async"

    def exception_texts(self) -> list[str]:
        texts = []
        for error in self.exceptions.values():
            texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
            texts += [repr(vars(error)), repr(getattr(error, "args", ()))]
            cause = error.__cause__ or error.__context__
            while cause is not None:
                texts += [str(cause), repr(cause), repr(vars(cause)) if hasattr(cause, "__dict__") else ""]
                cause = cause.__cause__ or cause.__context__
        return texts


def leaks(texts: list[str], secrets: dict[str, str]) -> list[str]:
    found = []
    for name, value in secrets.items():
        for text in texts:
            if value in text:
                at = text.index(value)
                found.append(f"{name} in ...{text[max(0, at - 120) : at + len(value) + 40]!r}...")
                break
    return found


def expect(twin: Twin, transcript: Transcript, name: str, kind: type[BaseException], call: Any) -> None:
    try:
        twin.run(call)
    except kind as exc:
        transcript.exceptions[name] = exc
        logging.getLogger("bill_sdk.app").exception("caught %s while %s", type(exc).__name__, name)
    else:
        raise AssertionError(f"{name}: expected {kind.__name__}")


def scenario(
    twin: Twin,
    fake: FakeBill,
    url: str,
    receiver: str,
    transcript: Transcript,
    quickstart: ModuleType,
    keys: list[str],
    received: list[Any],
) -> None:
    creds = dict(
        dev_key=DEV_KEY,
        username=USERNAME,
        password=PASSWORD,
        organization_id=fake.credentials.organization_id,
        base_url=url,
        env={},
    )
    with (
        twin.client(**creds, max_retries=2) as bill,
        twin.client(api_token=API_TOKEN, base_url=url, env={}) as spend,
        twin.client(
            app_key=APP_KEY, dev_key=DEV_KEY, username=USERNAME, password=PASSWORD, base_url=url, env={}
        ) as partner,
    ):
        bill._retry.base_delay = spend._retry.base_delay = 0.001
        if twin.is_async:  # the demo is async code
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                transcript.flow_result = twin.run(
                    lambda: quickstart.flow(bill, spend, f"{receiver}/bill/webhooks", keys, received)
                )
            transcript.printed = out.getvalue()
            transcript.secrets.update({f"webhook securityKey {i}": key for i, key in enumerate(keys)})
        else:
            seed_like_the_demo(twin, bill)

        # A wrong password: AuthenticationError, and the failure is remembered (no login loop).
        with twin.client(**{**creds, "password": WRONG_PASSWORD}) as wrong:
            expect(twin, transcript, "wrong password", AuthenticationError, twin.page_call(wrong.vendors.list))
            expect(twin, transcript, "wrong password again", AuthenticationError, twin.page_call(wrong.vendors.list))
            transcript.client_reprs += [repr(wrong), repr(wrong.credentials), repr(wrong._org_sessions)]

        # 5xx on a read, retried then given up.
        fake.faults.add("/connect/v3/vendors", method="GET", kind="server_error", status=503, count=3)
        expect(twin, transcript, "503 on list", ServerError, twin.page_call(bill.vendors.list))
        # A gateway page on 502 that echoes the request headers (devKey and sessionId) back.
        session_id = bill.session.session_id if bill.session else ""
        echo = f"<html>502 upstream; request headers: devKey={DEV_KEY} sessionId={session_id}</html>"
        fake.faults.add("/connect/v3/customers", method="GET", kind="server_error", status=502, count=3, body=echo)
        expect(twin, transcript, "502 echoing headers", ServerError, twin.page_call(bill.customers.list))

        # A create whose connection drops after BILL did the work: OutcomeUnknownError, sent once.
        vendor_id = twin.page(bill.vendors.list).results[0].id
        unpaid = [b for b in twin.items(bill.bills.iter) if b.due_amount]
        bill_id = unpaid[0].id
        funding_account = twin.run(
            lambda: bill.funding_accounts.create_bank_account(
                body=bodies.bank_account("Secrets Org", FUNDING_ACCOUNT_NUMBER, "Demo Bank")
            )
        )
        fake.faults.add("/connect/v3/payments", method="POST", kind="drop_after", count=1)
        payment = bodies.payment(str(bill_id), "0.01", str(funding_account.id))
        expect(twin, transcript, "dropped create", OutcomeUnknownError, lambda: bill.payments.create(body=payment))

        # BILL echoes request values in validation messages: here the dev key and the session id.
        message = f"Invalid field,value: devKey,{DEV_KEY}; sessionId,{session_id}; password,{PASSWORD}"
        fake.faults.add(
            "/connect/v3/vendors", method="POST", kind="error", status=400, code="BDC_1119", message=message
        )
        vendor = bodies.vendor("Echo")
        expect(twin, transcript, "echoed validation", ValidationError, lambda: bill.vendors.create(body=vendor))
        # A validation error FakeBill finds itself: a wrong MFA token.
        challenge_id = twin.run(lambda: bill.mfa.create_challenge(body=MfaChallengeCreate())).challenge_id
        wrong_token = MfaChallengeValidation(challenge_id=str(challenge_id), token="000000")
        expect(
            twin, transcript, "spec validation", ValidationError, lambda: bill.mfa.validate_challenge(body=wrong_token)
        )

        # The session expires: the SDK signs in again (a new sessionId) and replays.
        fake.faults.add("/connect/v3/vendors", method="GET", kind="session_expired", count=1)
        twin.page(bill.vendors.list)

        # Secrets that come back in answers.
        vendor_account = twin.run(
            lambda: bill.vendors.create_bank_account(
                str(vendor_id),
                body=VendorBankAccountCreate(
                    account_number=ACCOUNT_NUMBER,
                    routing_number="074000010",
                    name_on_account="Happy Music Supplies",
                    type_=BankAccountType.CHECKING,
                    owner_type=BankAccountOwnerType.BUSINESS,
                ),
            )
        )
        subscription = twin.run(
            lambda: bill.events.subscriptions.create(
                body=SubscriptionCreate(
                    name="secrets: bills",
                    status=SubscriptionStatusInput(enabled=True),
                    events=[SubscriptionEventInput(type_="bill.created", version="1")],
                    notification_url=f"{receiver}/bill/webhooks",
                )
            )
        )
        transcript.secrets["webhook securityKey (second subscription)"] = str(subscription.security_key)
        rotated = twin.run(lambda: bill.events.subscriptions.create_security_key(str(subscription.id)))
        transcript.secrets["webhook securityKey (rotated)"] = str(rotated.security_key)
        challenge = twin.run(lambda: bill.mfa.create_challenge(body=MfaChallengeCreate()))
        validated = twin.run(
            lambda: bill.mfa.validate_challenge(
                body=MfaChallengeValidation(
                    challenge_id=str(challenge.challenge_id),
                    token=fake.credentials.mfa_code,
                    device=DEVICE,
                    remember_me=True,
                )
            )
        )
        transcript.secrets["rememberMeId"] = str(validated.remember_me_id)
        login_answer = twin.run(
            lambda: bill.auth.login(
                body=LoginRequest(
                    username=USERNAME,
                    password=PASSWORD,
                    organization_id=fake.credentials.organization_id,
                    dev_key=DEV_KEY,
                    remember_me_id=str(validated.remember_me_id),
                    device=DEVICE,
                )
            )
        )

        # A trusted session from the remembered device.
        with twin.client(**creds, remember_me_id=str(validated.remember_me_id), device=DEVICE) as trusted:
            twin.page(trusted.vendors.list)
            assert trusted.session is not None and trusted.session.trusted
            transcript.client_reprs += [repr(trusted), repr(trusted.credentials), repr(trusted.session)]

        # Partner: login, a partner call, login-as-user into the organization.
        twin.page(partner.partner.organizations.list)
        partner_login = twin.run(
            lambda: partner.partner.auth.login(
                body=PartnerLoginRequest(username=USERNAME, password=PASSWORD, app_key=APP_KEY)
            )
        )
        child = twin.run(lambda: partner.login_as_user(fake.credentials.organization_id, fake.credentials.user_id))
        twin.page(child.vendors.list)
        as_user = twin.run(
            lambda: partner.partner.auth.login_as_user(
                body=LoginAsUserRequest(
                    organization_id=fake.credentials.organization_id,
                    user_id=fake.credentials.user_id,
                    remember_me_id=str(validated.remember_me_id),
                    device=DEVICE,
                )
            )
        )

        for client in (bill, spend, partner, child):
            transcript.client_reprs += [
                repr(client),
                str(client),
                repr(client.credentials),
                repr(client.session),
                repr(client._org_sessions),
                repr(client._partner_sessions),
                repr(client._partner_sessions.session),
            ]
        transcript.models.update(
            {
                "LoginResponse": login_answer,
                "PartnerLoginResponse": partner_login,
                "LoginAsUserResponse": as_user,
                "Subscription": subscription,
                "SubscriptionSecurityKey": rotated,
                "MfaChallengeValidationResult": validated,
                "VendorBankAccount": vendor_account,
                "BankAccount": funding_account,
                "LoginRequest": LoginRequest(
                    username=USERNAME, password=PASSWORD, organization_id="00801X", dev_key=DEV_KEY
                ),
                "PartnerLoginRequest": PartnerLoginRequest(username=USERNAME, password=PASSWORD, app_key=APP_KEY),
            }
        )


def seed_like_the_demo(twin: Twin, bill: Any) -> None:
    """What the demo flow leaves behind that the rest of the scenario uses: a vendor with an unpaid bill."""
    vendor = twin.run(lambda: bill.vendors.create(body=bodies.vendor("Happy Music Supplies")))
    twin.run(lambda: bill.bills.create(body=bodies.bill(str(vendor.id), "25.00", "SEC-1", today=TODAY)))


TODAY = datetime.date.today()


@pytest.fixture(scope="module", params=["async", "sync"])
def transcript(request: pytest.FixtureRequest) -> Iterator[Transcript]:
    """The scenario's transcript, once with AsyncBill and once with Bill."""
    if request.param == "sync":
        yield record(Twin("sync", None))
        return
    with anyio.from_thread.start_blocking_portal() as portal:
        yield record(Twin("async", portal))


def record(twin: Twin) -> Transcript:
    quickstart = load_quickstart()
    fake = FakeBill(
        dev_key=DEV_KEY,
        username=USERNAME,
        password=PASSWORD,
        app_key=APP_KEY,
        api_token=API_TOKEN,
        webhook_retry_delays=(0.05, 0.05),
        seed=7,
    )
    issued_sessions: list[str] = []
    new_session = fake.auth.new_session

    def recording_new_session(*args: Any, **kwargs: Any) -> Any:
        session = new_session(*args, **kwargs)
        issued_sessions.append(session.id)
        return session

    fake.auth.new_session = recording_new_session  # type: ignore[method-assign]
    result = Transcript()
    with debug_logging() as handler, fake.serve() as url:
        keys: list[str] = []
        received: list[Any] = []
        with serve_app(quickstart.webhook_receiver(keys, received)) as receiver:
            scenario(twin, fake, str(url), receiver, result, quickstart, keys, received)
        fake.close()
    result.logs = handler.lines
    result.secrets.update(
        {
            "dev key": DEV_KEY,
            "password": PASSWORD,
            "wrong password": WRONG_PASSWORD,
            "app key": APP_KEY,
            "api token": API_TOKEN,
            "vendor bank account number": ACCOUNT_NUMBER,
            "funding bank account number": FUNDING_ACCOUNT_NUMBER,
        }
    )
    result.secrets.update({f"sessionId #{i}": sid for i, sid in enumerate(issued_sessions)})
    result.secrets.update({f"rememberMeId (FakeBill) #{i}": rid for i, rid in enumerate(fake.auth.remembered)})
    for _, record in fake.state.iter_all("subscriptions"):
        result.secrets[f"securityKey of {record.data.get('id')}"] = str(record.meta["security_key"])
    fake.assert_no_violations()
    result.kind = twin.kind
    return result


# --------------------------------------------------------------------------- the scenario itself


def test_the_demo_flow_and_every_provoked_error_ran(transcript: Transcript) -> None:
    if transcript.kind == "async":
        assert transcript.flow_result == 0, transcript.printed
        assert "all steps passed" in transcript.printed
    assert set(transcript.exceptions) == {
        "wrong password",
        "wrong password again",
        "503 on list",
        "502 echoing headers",
        "dropped create",
        "echoed validation",
        "spec validation",
    }
    assert all(isinstance(e, BillError) for e in transcript.exceptions.values())
    # The secrets really were exchanged, so their absence below means something.
    assert sum(name.startswith("sessionId") for name in transcript.secrets) >= 6
    assert any(name.startswith("webhook securityKey") for name in transcript.secrets)
    assert len(transcript.secrets["rememberMeId"]) >= 16
    assert len(transcript.logs) > 50, "DEBUG logging from bill_sdk/httpx/httpcore was captured"
    assert any("bill_sdk" in line and "->" in line for line in transcript.logs)
    assert any("Traceback" in line for line in transcript.logs)


# --------------------------------------------------------------------------- where secrets must never appear


def test_no_secret_in_any_log_record(transcript: Transcript) -> None:
    assert not leaks(transcript.logs, transcript.secrets)


def test_no_secret_in_any_exception_message_repr_traceback_or_attribute(transcript: Transcript) -> None:
    texts = transcript.exception_texts()
    assert len(texts) > 20
    assert not leaks(texts, transcript.secrets)


def test_the_echoed_secrets_were_redacted_not_dropped(transcript: Transcript) -> None:
    echoed = transcript.exceptions["echoed validation"]
    assert isinstance(echoed, ValidationError)
    assert "Invalid field,value: devKey,***" in str(echoed)
    gateway = transcript.exceptions["502 echoing headers"]
    assert "devKey=***" in str(gateway)


def test_no_secret_in_what_the_demo_printed(transcript: Transcript) -> None:
    assert transcript.printed.count("ok ") >= 8 or transcript.kind == "sync"  # the demo is async code
    assert not leaks([transcript.printed], transcript.secrets)


def test_no_secret_in_client_credentials_or_session_reprs(transcript: Transcript) -> None:
    assert len(transcript.client_reprs) > 20
    assert not leaks(transcript.client_reprs, transcript.secrets)


# --------------------------------------------------------------------------- model reprs

# Models holding a secret: the spec marks those properties `x-secret: true` and the generated repr shows '***'.
MODEL_CASES = [
    ("LoginResponse", "the sessionId"),
    ("PartnerLoginResponse", "the sessionId"),
    ("LoginAsUserResponse", "the sessionId"),
    ("Subscription", "the webhook securityKey"),
    ("SubscriptionSecurityKey", "the webhook securityKey"),
    ("MfaChallengeValidationResult", "the rememberMeId"),
    ("VendorBankAccount", "the full bank account number"),
    ("BankAccount", "the full bank account number"),
    ("LoginRequest", "the password and the dev key"),
    ("PartnerLoginRequest", "the password and the app key"),
]


@pytest.mark.parametrize("model", [name for name, _what in MODEL_CASES])
def test_no_secret_in_the_repr_of_a_model_holding_one(transcript: Transcript, model: str) -> None:
    value = transcript.models[model]
    assert type(value).__name__ == model
    assert not leaks([repr(value), str(value), f"{value!r:>10}"], transcript.secrets)
    assert "'***'" in repr(value)  # masked, not dropped: the reader sees the field is set


def test_models_without_secrets_show_their_fields(transcript: Transcript) -> None:
    """The fix must not blank whole models: to_dict() still carries the secret (it is sent or stored on purpose)."""
    assert transcript.models["Subscription"].to_dict()["securityKey"]
    assert transcript.models["LoginRequest"].to_dict()["password"] == PASSWORD
