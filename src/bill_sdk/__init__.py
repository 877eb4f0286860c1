"""bill-sdk: an async client for the BILL v3 API (AP/AR, Partner, Connect Events, Spend & Expense), and its
synchronous twin.

    async with AsyncBill() as bill:
        async for vendor in bill.vendors.iter(filters=where("archived").eq(False)):
            ...

    with Bill() as bill:                         # the same API for synchronous code (any thread)
        for vendor in bill.vendors.list():
            ...

Everything is imported on first use (PEP 562), so ``import bill_sdk`` stays cheap. The public surface is written
three times because three readers need it: the ``TYPE_CHECKING`` imports (type checkers and editors), ``_EXPORTS``
(the lazy loader) and ``__all__`` (``import *`` and mypy's re-export rule, which needs a literal list);
tests/unit/test_public_surface.py checks that they agree and that every error class is exported.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from . import models
    from ._blocking._client import Bill
    from ._blocking._pagination import SyncPaginator
    from ._client import AsyncBill, Credentials
    from ._filters import Filter, Sort, asc, desc, sort_by, where
    from ._pagination import AsyncPaginator
    from ._runtime import UNSET, File, RawResponse, RequestOptions, Unset, request_id
    from .errors import (
        APIError,
        ArgumentError,
        AuthenticationError,
        BillConnectionError,
        BillError,
        BillTimeoutError,
        ClientStateError,
        ConfigurationError,
        ConflictError,
        MFARequiredError,
        MissingExtraError,
        NotFoundError,
        OutcomeUnknownError,
        PaginationError,
        PermissionDeniedError,
        RateLimitError,
        RedirectError,
        ResponseDecodeError,
        ServerError,
        SessionExpiredError,
        TransportError,
        ValidationError,
    )

_EXPORTS = {
    "AsyncBill": "._client",
    "Credentials": "._client",
    "Filter": "._filters",
    "Sort": "._filters",
    "asc": "._filters",
    "desc": "._filters",
    "sort_by": "._filters",
    "where": "._filters",
    "UNSET": "._runtime",
    "Unset": "._runtime",
    "File": "._runtime",
    "RequestOptions": "._runtime",
    "RawResponse": "._runtime",
    "request_id": "._runtime",
    "AsyncPaginator": "._pagination",
    "Bill": "._blocking._client",
    "SyncPaginator": "._blocking._pagination",
    **{
        name: ".errors"
        for name in (
            "APIError",
            "ArgumentError",
            "AuthenticationError",
            "BillConnectionError",
            "BillError",
            "BillTimeoutError",
            "ClientStateError",
            "ConfigurationError",
            "ConflictError",
            "MFARequiredError",
            "MissingExtraError",
            "NotFoundError",
            "OutcomeUnknownError",
            "PaginationError",
            "PermissionDeniedError",
            "RateLimitError",
            "RedirectError",
            "ResponseDecodeError",
            "ServerError",
            "SessionExpiredError",
            "TransportError",
            "ValidationError",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name == "models":  # the submodule (bill_sdk/models.py), the same object `import bill_sdk.models` binds
        value: Any = import_module(".models", __name__)
    elif name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*_EXPORTS, "models", "__version__"])


__all__ = [
    "UNSET",
    "APIError",
    "ArgumentError",
    "AsyncBill",
    "AsyncPaginator",
    "AuthenticationError",
    "Bill",
    "BillConnectionError",
    "BillError",
    "BillTimeoutError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "Credentials",
    "File",
    "Filter",
    "MFARequiredError",
    "MissingExtraError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RedirectError",
    "RequestOptions",
    "ResponseDecodeError",
    "ServerError",
    "SessionExpiredError",
    "Sort",
    "SyncPaginator",
    "TransportError",
    "Unset",
    "ValidationError",
    "asc",
    "desc",
    "models",
    "request_id",
    "sort_by",
    "where",
]
