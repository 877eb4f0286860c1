"""Fleet mode: BILL's limits and sessions shared through Redis by every worker (``pip install bill-sdk[redis]``).

    from bill_sdk import AsyncBill
    from bill_sdk.fleet import FleetOptions

    async with AsyncBill(redis_url="redis://redis:6379/0", fleet=FleetOptions(on_redis_error="fail")) as bill:
        ...

``BILL_REDIS_URL`` and ``BILL_REDIS_FALLBACK`` (``local`` or ``fail``) do the same from the environment. What is
shared, how, and what happens when Redis is unreachable: see :mod:`bill_sdk._fleet`.
"""

from __future__ import annotations

from ._fleet import (
    HOURLY_LOGINS,
    HOURLY_REQUESTS,
    TEXT_MESSAGES,
    Budget,
    FleetOptions,
    FleetUnavailableError,
    SessionCipher,
)

__all__ = [
    "HOURLY_LOGINS",
    "HOURLY_REQUESTS",
    "TEXT_MESSAGES",
    "Budget",
    "FleetOptions",
    "FleetUnavailableError",
    "SessionCipher",
]
