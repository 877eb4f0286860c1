"""A small FastAPI service on bill-sdk: list vendors, receive BILL webhooks.

* ``GET /vendors?limit=20``: vendors through the app's one ``AsyncBill`` (``bill_sdk.fastapi.get_bill``).
* ``POST /bill/webhooks``: BILL's notifications, signature-checked, deduplicated by eventId and parsed into
  typed ``WebhookEvent`` objects; BILL gets its 200 at once and the slow work runs afterwards.

Configuration comes from the environment when the app starts, so importing this module needs none:
``BILL_DEV_KEY``, ``BILL_USERNAME``, ``BILL_PASSWORD``, ``BILL_ORGANIZATION_ID`` and ``BILL_BASE_URL`` or
``BILL_ENVIRONMENT`` for the client, and ``BILL_WEBHOOK_KEYS`` (the subscription's ``securityKey``;
comma-separated while a key rotation rolls out: every key listed is accepted).

Try it against FakeBill, the fake BILL API that ships with the SDK (``pip install 'bill-sdk[testing,fastapi]'``)::

    python -m bill_sdk.testing serve --port 8765      # prints its credentials (dev key, user, password, org)

    export BILL_BASE_URL=http://127.0.0.1:8765 BILL_DEV_KEY=fake-dev-key BILL_USERNAME=fakeuser \\
           BILL_PASSWORD=fake-password BILL_ORGANIZATION_ID=00801FAKEORG
    export BILL_WEBHOOK_KEYS=<securityKey from creating the subscription, see below>
    python examples/fastapi_app.py                    # http://127.0.0.1:8000
    curl 'http://127.0.0.1:8000/vendors?limit=5'

Create the subscription once (its ``securityKey`` is shown only in this answer)::

    sub = await bill.events.subscriptions.create(body=SubscriptionCreate(
        name="vendors", status=SubscriptionStatusInput(enabled=True),
        events=[SubscriptionEventInput(type_="vendor.created", version="1")],
        notification_url="http://127.0.0.1:8000/bill/webhooks"))   # real BILL needs a public HTTPS URL
    print(sub.security_key)

Until ``BILL_WEBHOOK_KEYS`` is set, notifications get HTTP 500; BILL retries each for about 30 s (after 2, 4, 8,
16 s) and then disables the subscription, so restart the app with the key right after subscribing.

In production serve ``app`` behind HTTPS (``uvicorn fastapi_app:app`` from this folder).
``tests/integration/test_fastapi_app.py`` runs all of this over loopback.
"""

# No ``from __future__ import annotations``: FastAPI reads the route annotations at run time.

import logging
import os
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel

from bill_sdk import AsyncBill
from bill_sdk.errors import ConfigurationError
from bill_sdk.fastapi import KeySource, bill_lifespan, get_bill, webhook_router
from bill_sdk.models import Vendor
from bill_sdk.webhooks import WebhookEvent

logger = logging.getLogger("fastapi_app")

WEBHOOK_PATH = "/bill/webhooks"
WEBHOOK_KEYS_ENV = "BILL_WEBHOOK_KEYS"

EventHandler = Callable[[WebhookEvent], Awaitable[None]]


# --------------------------------------------------------------------------- vendors


class VendorSummary(BaseModel):
    id: str
    name: str | None
    balance: Decimal | None  # exact; sent as a JSON string ("1234.50") so no float rounding creeps in


def summarize(vendor: Vendor) -> VendorSummary:
    # id and name are always there; a balance BILL left out is None
    return VendorSummary(id=vendor.id, name=vendor.name, balance=vendor.balance.amount if vendor.balance else None)


router = APIRouter()


@router.get("/vendors")
async def list_vendors(
    bill: Annotated[AsyncBill, Depends(get_bill)],
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many vendors (BILL's page size)")] = 20,
) -> list[VendorSummary]:
    page = await bill.vendors.list(max=limit)
    return [summarize(vendor) for vendor in page.results]


# --------------------------------------------------------------------------- webhooks


def webhook_keys_from_env() -> list[str]:
    """The keys in ``BILL_WEBHOOK_KEYS`` ("new,old"), read when a notification arrives."""
    keys = [key.strip() for key in os.environ.get(WEBHOOK_KEYS_ENV, "").split(",") if key.strip()]
    if not keys:
        raise ConfigurationError(f"set {WEBHOOK_KEYS_ENV} to the subscription's securityKey", env_var=WEBHOOK_KEYS_ENV)
    return keys


async def log_event(event: WebhookEvent) -> None:
    """The default handler. Put the slow work here: database writes, calls back to BILL, e-mails."""
    if event.entity_type == "vendor":
        vendor: Vendor = event.typed_entity()  # the payload as a model; event.entity is the raw dict
        logger.info("BILL %s: vendor %s %r (event %s)", event.event_type, vendor.id, vendor.name, event.event_id)
    else:
        logger.info("BILL %s (event %s)", event.event_type, event.event_id)


def create_app(
    bill_factory: Callable[[], AsyncBill] | None = None,
    webhook_keys: KeySource | None = None,
    on_event: EventHandler | None = None,
) -> FastAPI:
    """The service. Defaults: ``AsyncBill()`` from ``BILL_*`` and keys from ``BILL_WEBHOOK_KEYS``.

    ``webhook_keys`` may be a callable returning the current keys, to rotate without a restart.
    ``on_event(event)`` is called once per new event, after BILL got its 200 (again on a re-send if it raised).
    """
    # One AsyncBill for the whole app, opened at startup and closed at shutdown: its session is reused by
    # every request (BILL allows 200 logins per hour per developer key).
    app = FastAPI(title="bill-sdk FastAPI example", lifespan=bill_lifespan(bill_factory))
    app.include_router(router)

    # BILL counts a delivery as failed without HTTP 200 within 10 s and sends it again (after 2, 4, 8, 16 s).
    # webhook_router answers as soon as the signature is checked and then runs the handler as a background
    # task, so slow work never delays the 200. An eventId counts as handled only once the handler returned:
    # a redelivery of a handled event gets 200 without running it again, one arriving while the handler still
    # runs gets 409 (BILL retries it), and after a handler raised, a re-send runs it again. (Pass
    # acknowledge="after_handler" to answer only after the handler, so BILL's own retries cover a failure.)
    # The in-memory dedupe store is per process: pass dedupe= a shared DedupeStore (claim / complete /
    # release, e.g. on Redis) when several workers receive events. Writing the route yourself looks like this:
    #
    #     verifier = WebhookVerifier(keys)      # 413 / 401 / 400 / 409 as webhook_router answers
    #
    #     @app.post("/bill/webhooks")
    #     async def receive(delivered: Annotated[DeliveredEvent, Depends(verifier)], tasks: BackgroundTasks):
    #         if not delivered.duplicate:
    #             tasks.add_task(handle, delivered.event)   # runs after the response is sent; if it (or this
    #         return {"received": True}                     # route) raises, the event is not marked handled
    app.include_router(
        webhook_router(
            WEBHOOK_PATH,
            keys=webhook_keys if webhook_keys is not None else webhook_keys_from_env,
            handler=on_event or log_event,
        )
    )
    return app


app = create_app()  # reads nothing yet: the client is built at startup, the keys when a notification arrives


if __name__ == "__main__":
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host="127.0.0.1", port=8000)
