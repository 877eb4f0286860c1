"""FakeBill: an embedded, stateful, spec-validated fake of the BILL v3 API for tests and demos.

    from bill_sdk.testing import FakeBill

    fake = FakeBill()                  # or FakeBill(organization_id=..., seed=7), FakeBill(FakeBillConfig(...))
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://fakebill/connect") as client:
        ...
    with fake.serve() as url:          # uvicorn on 127.0.0.1, free port
        url.connect_url, url.events_url

Needs the ``testing`` extra (``pip install bill-sdk[testing]``): starlette, uvicorn, jsonschema.
pytest users: ``pytest_plugins = ["bill_sdk.testing.pytest_plugin"]`` for the ``fake_bill`` fixtures.
"""

from bill_sdk.errors import MissingExtraError

try:
    import jsonschema  # type: ignore[import-untyped]  # noqa: F401
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as missing:  # ConfigurationError (and ImportError) with the pip command
    raise MissingExtraError("bill_sdk.testing", "testing", missing) from None

from bill_sdk.testing.app import (
    ConnectionDropped,
    FakeBillSyncTransport,
    FakeBillTransport,
    RequestRecord,
    ResponseViolation,
    ResponseViolationError,
)
from bill_sdk.testing.config import (
    FakeBillConfig,
    FakeCredentials,
    LimitConfig,
    ResponseChecks,
    SessionConfig,
    WebhookConfig,
)
from bill_sdk.testing.fake import FakeBill, ServerURL
from bill_sdk.testing.faults import Fault, FaultKind
from bill_sdk.testing.webhooks import DELIVERY_SIGNATURE_HEADER, Delivery, delivery_signature

__all__ = [
    "DELIVERY_SIGNATURE_HEADER",
    "ConnectionDropped",
    "Delivery",
    "FakeBill",
    "FakeBillConfig",
    "FakeBillSyncTransport",
    "FakeBillTransport",
    "FakeCredentials",
    "Fault",
    "FaultKind",
    "LimitConfig",
    "RequestRecord",
    "ResponseChecks",
    "ResponseViolation",
    "ResponseViolationError",
    "ServerURL",
    "SessionConfig",
    "WebhookConfig",
    "delivery_signature",
]
