"""FakeBill's HTTP handlers: each reads a :class:`~.call.Call`, calls a backend service, shapes the answer.

Handlers get the services they use in their constructor (``FakeBill`` wires them); ``routes()`` maps
operationIds to handlers, and :class:`~.resources.ResourceHandlers` serves every other operation by its kind.
"""

from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.auth import AuthHandlers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.handlers.documents import DocumentHandlers
from bill_sdk.testing.handlers.payables import PayablesHandlers
from bill_sdk.testing.handlers.payments import PaymentHandlers
from bill_sdk.testing.handlers.resources import ResourceHandlers
from bill_sdk.testing.handlers.webhooks import WebhookHandlers

__all__ = [
    "Answers",
    "AuthHandlers",
    "Call",
    "DocumentHandlers",
    "Handler",
    "PayablesHandlers",
    "PaymentHandlers",
    "ResourceHandlers",
    "WebhookHandlers",
]
