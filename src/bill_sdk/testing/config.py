"""FakeBill's configuration: five small groups, each read by the part it configures.

    FakeBill(FakeBillConfig(credentials=FakeCredentials(organization_id="00801MINE"), limits=LimitConfig(3)))
    FakeBill(organization_id="00801MINE", max_concurrent_per_org=3)       # the same, as flat keywords

The flat keywords (:class:`FakeBillOptions`, e.g. in ``@pytest.mark.fake_bill(...)``) are applied over the
groups; :data:`OPTIONS` says which group field each one sets.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx


@dataclass(frozen=True)
class FakeCredentials:
    """What FakeBill accepts (and ``describe()`` prints): one organization, one user, one partner app.

    Not the SDK's :class:`bill_sdk.Credentials` (what a client sends): these are the values the fake checks those
    against, plus what only the server knows (``user_id``, the MFA code).
    """

    dev_key: str = "fake-dev-key"
    username: str = "fakeuser"
    password: str = "fake-password"
    organization_id: str = "00801FAKEORG"
    user_id: str = "00601FAKEUSER"
    app_key: str = "fake-app-key"
    api_token: str = "fake-api-token"
    mfa_code: str = "123456"
    # When set: a child organization the partner already manages, with one user (partner_user_id), so
    # listing partner organizations and login_as_user work without creating one first.
    partner_organization_id: str | None = None
    partner_user_id: str = "00601FAKECHILDUSER"

    def describe(self) -> dict[str, str]:
        described = {
            "devKey": self.dev_key,
            "username": self.username,
            "password": self.password,
            "organizationId": self.organization_id,
            "userId": self.user_id,
            "appKey": self.app_key,
            "apiToken": self.api_token,
            "mfaCode": self.mfa_code,
        }
        if self.partner_organization_id:
            described["partnerOrganizationId"] = self.partner_organization_id
            described["partnerUserId"] = self.partner_user_id
        return described

    def environment(self, base_url: str) -> dict[str, str]:
        """``BILL_*`` variables that point the SDK at a FakeBill served at ``base_url`` (``BILL_USER_ID`` and the
        partner ids are for your own calls such as ``login_as_user``; the SDK does not read them)."""
        env = {
            "BILL_BASE_URL": base_url,
            "BILL_DEV_KEY": self.dev_key,
            "BILL_USERNAME": self.username,
            "BILL_PASSWORD": self.password,
            "BILL_ORGANIZATION_ID": self.organization_id,
            "BILL_USER_ID": self.user_id,
            "BILL_APP_KEY": self.app_key,
            "BILL_API_TOKEN": self.api_token,
        }
        if self.partner_organization_id:
            env["BILL_PARTNER_ORGANIZATION_ID"] = self.partner_organization_id
            env["BILL_PARTNER_USER_ID"] = self.partner_user_id
        return env


@dataclass(frozen=True)
class SessionConfig:
    """Sessions: the clock (also used by limits and idempotency), idle expiry, MFA policy for payments."""

    clock: Callable[[], float] = time.monotonic
    idle_seconds: float = 35 * 60
    require_trusted_for_payments: bool = False  # payments from an untrusted session: 403 BDC_1361


@dataclass(frozen=True)
class LimitConfig:
    """BILL's request limits (off by default): concurrent requests and requests per hour, per organization."""

    max_concurrent_per_org: int | None = None
    concurrency_status: int = 429
    hourly_request_limit: int | None = None


@dataclass(frozen=True)
class WebhookConfig:
    """Webhook delivery: how notifications are sent and retried, which URLs subscriptions may use."""

    transport: httpx.AsyncBaseTransport | None = None
    retry_delays: Sequence[float] = (2, 4, 8, 16)
    timeout: float = 10.0
    require_https: bool = False


@dataclass
class ResponseChecks:
    """Response validation against the spec (mutable: ``fake.validate_responses = False`` takes effect)."""

    validate_responses: bool = True
    raise_on_response_violation: bool = True  # False: a violation is logged and recorded, not raised


@dataclass(frozen=True)
class FakeBillConfig:
    credentials: FakeCredentials = field(default_factory=FakeCredentials)
    sessions: SessionConfig = field(default_factory=SessionConfig)
    limits: LimitConfig = field(default_factory=LimitConfig)
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    checks: ResponseChecks = field(default_factory=ResponseChecks)
    spec: str | os.PathLike[str] | dict[str, Any] | None = None  # default: the bundled spec
    seed: int | None = None  # ids, fault probabilities: the same seed, the same run

    def with_options(self, **options: Any) -> FakeBillConfig:
        """This configuration with flat keyword options (:class:`FakeBillOptions`) applied."""
        groups: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for name, value in options.items():
            if name not in OPTIONS:
                raise TypeError(f"FakeBill() got an unexpected keyword argument {name!r}")
            group, attribute = OPTIONS[name]
            if group:
                groups.setdefault(group, {})[attribute] = value
            else:
                top[attribute] = value
        for group, changes in groups.items():
            top[group] = dataclasses.replace(getattr(self, group), **changes)
        return dataclasses.replace(self, **top)


class FakeBillOptions(TypedDict, total=False):
    """The flat keyword arguments of ``FakeBill(...)`` (each sets one field of a :class:`FakeBillConfig` group)."""

    dev_key: str
    username: str
    password: str
    organization_id: str
    user_id: str
    app_key: str
    api_token: str
    mfa_code: str
    partner_organization_id: str | None
    partner_user_id: str
    clock: Callable[[], float]
    session_idle_seconds: float
    require_trusted_session_for_payments: bool
    max_concurrent_per_org: int | None
    concurrency_limit_status: int
    hourly_request_limit: int | None
    webhook_transport: httpx.AsyncBaseTransport | None
    webhook_retry_delays: Sequence[float]
    webhook_timeout: float
    require_https_webhooks: bool
    validate_responses: bool
    raise_on_response_violation: bool
    spec: str | os.PathLike[str] | dict[str, Any] | None
    seed: int | None


# flat option -> (group of FakeBillConfig, or "" for its own field; field name)
OPTIONS: dict[str, tuple[str, str]] = {
    **{name: ("credentials", name) for name in (f.name for f in dataclasses.fields(FakeCredentials))},
    "clock": ("sessions", "clock"),
    "session_idle_seconds": ("sessions", "idle_seconds"),
    "require_trusted_session_for_payments": ("sessions", "require_trusted_for_payments"),
    "max_concurrent_per_org": ("limits", "max_concurrent_per_org"),
    "concurrency_limit_status": ("limits", "concurrency_status"),
    "hourly_request_limit": ("limits", "hourly_request_limit"),
    "webhook_transport": ("webhooks", "transport"),
    "webhook_retry_delays": ("webhooks", "retry_delays"),
    "webhook_timeout": ("webhooks", "timeout"),
    "require_https_webhooks": ("webhooks", "require_https"),
    "validate_responses": ("checks", "validate_responses"),
    "raise_on_response_violation": ("checks", "raise_on_response_violation"),
    "spec": ("", "spec"),
    "seed": ("", "seed"),
}
