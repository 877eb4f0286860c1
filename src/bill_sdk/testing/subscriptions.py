"""Webhook subscriptions: creating them (checked like BILL does), their security keys, their events."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bill_sdk.testing.bdc import ErrorReply
from bill_sdk.testing.resources import NOTHING, Hook, Resources
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import PARTNER_SCOPE, Record, State
from bill_sdk.testing.webhooks import EVENTS, SUBSCRIPTIONS, event_types

MAX_SUBSCRIPTIONS = 10


def organization_of(who: Principal) -> str:
    """The organization id a subscription or event names ("" for partner-level ones)."""
    return who.scope if who.scope != PARTNER_SCOPE else ""


class Subscriptions:
    def __init__(self, state: State, resources: Resources, *, require_https: bool = False) -> None:
        self.state = state
        self.resources = resources
        self.require_https = require_https

    def hooks(self) -> dict[str, list[Hook]]:
        return {SUBSCRIPTIONS: [self.hide_security_key]}

    @staticmethod
    def hide_security_key(who: Principal, data: dict[str, Any], action: str) -> None:
        """Subscriptions never keep a client-sent securityKey in what GET/list show."""
        data.pop("securityKey", None)

    def create(
        self,
        who: Principal,
        body: Mapping[str, Any],
        *,
        parents: Mapping[str, str] = NOTHING,
        defaults: Mapping[str, Any] = NOTHING,
    ) -> tuple[Record, str]:
        """A new subscription and its security key (kept hidden: only this answer shows it)."""
        body = dict(body)
        body.pop("securityKey", None)
        url = str(body.get("notificationUrl", ""))
        parts = urlsplit(url)
        allowed = ("https",) if self.require_https else ("https", "http")
        if parts.scheme not in allowed or not parts.netloc:
            raise ErrorReply(400, "BDC_1119", f"Invalid field,value: notificationUrl,{url}")
        existing = self.state.records(who.scope, SUBSCRIPTIONS)
        if len(existing) >= MAX_SUBSCRIPTIONS:
            raise ErrorReply(
                400, "BDC_1119", f"At most {MAX_SUBSCRIPTIONS} subscriptions are allowed per organization."
            )
        wanted = event_types(body.get("events"))
        for record in existing:
            if record.data.get("notificationUrl") == url and event_types(record.data.get("events")) == wanted:
                raise ErrorReply(400, "BDC_1119", "A subscription with the same events and notificationUrl exists.")
        if isinstance(body.get("status"), dict):
            body["status"] = {"enabled": True, **body["status"]}
        if organization_of(who):
            body.setdefault("organizationId", organization_of(who))
        record = self.resources.create(who, SUBSCRIPTIONS, body, parents=parents, defaults=defaults)
        return record, self.rotate_key(record)

    @staticmethod
    def rotate_key(subscription: Record) -> str:
        key = secrets.token_urlsafe(32)
        subscription.meta["security_key"] = key
        return key

    def require(self, who: Principal, subscription_id: str, parents: Mapping[str, str], id_param: str | None) -> Record:
        return self.resources.require(who.scope, SUBSCRIPTIONS, subscription_id, parents, id_param)[1]

    def event(self, who: Principal, subscription: Record, event_id: str) -> Record | None:
        """An event of `subscription`, or None."""
        event = self.state.record(who.scope, EVENTS, event_id)
        if event is None or event.parents.get("subscriptionId") != subscription.id:
            return None
        return event
