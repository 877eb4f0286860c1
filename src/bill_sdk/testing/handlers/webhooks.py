"""Connect Events operations: subscriptions, security keys, test events, resends, the event catalog.

Each reads the call, asks :class:`~..subscriptions.Subscriptions` or :class:`~..webhooks.Webhooks`, answers.
"""

from __future__ import annotations

from bill_sdk.testing.bdc import ErrorReply
from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.handlers.resources import query_defaults
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.state import Record
from bill_sdk.testing.subscriptions import Subscriptions, organization_of
from bill_sdk.testing.webhooks import CATALOG, Webhooks


class WebhookHandlers:
    def __init__(self, subscriptions: Subscriptions, webhooks: Webhooks, answers: Answers) -> None:
        self.subscriptions = subscriptions
        self.webhooks = webhooks
        self.answers = answers

    def routes(self) -> dict[str, Handler]:
        return {
            "createSubscription": self.create_subscription,
            "createSubscriptionSecurityKey": self.rotate_security_key,
            "sendTestSubscriptionEvent": self.send_test_event,
            "resendEventNotification": self.resend_event,
            "getEventCatalog": self.event_catalog,
        }

    def _subscription(self, call: Call) -> Record:
        subscription_id = call.path_params.get("subscriptionId") or call.item_id or ""
        return self.subscriptions.require(call.principal, subscription_id, call.parents(), call.route.id_param)

    async def create_subscription(self, call: Call) -> Reply:
        record, key = self.subscriptions.create(
            call.principal, call.json_object(), parents=call.parents(), defaults=query_defaults(call)
        )
        return self.answers.respond(call.op, {**record.data, "securityKey": key})

    async def rotate_security_key(self, call: Call) -> Reply:
        key = self.subscriptions.rotate_key(self._subscription(call))
        return self.answers.respond(call.op, {"securityKey": key})

    async def send_test_event(self, call: Call) -> Reply:
        subscription = self._subscription(call)
        organization = organization_of(call.principal) or call.scope
        event = self.webhooks.record_test_event(call.scope, subscription, call.json_object(), organization)
        await self.webhooks.deliver(subscription, event)
        return self.answers.respond(call.op, event.data)

    async def resend_event(self, call: Call) -> Reply:
        subscription = self._subscription(call)
        event_id = call.path_params.get("eventId", "")
        event = self.subscriptions.event(call.principal, subscription, event_id)
        if event is None:
            raise ErrorReply(404, "BDC_1120", f"No data found: eventId {call.path_params.get('eventId')}")
        await self.webhooks.deliver(subscription, event)
        return self.answers.respond(call.op, event.data)

    async def event_catalog(self, call: Call) -> Reply:
        return self.answers.respond(call.op, [{"type": name, "versions": ["1"]} for name in CATALOG])
