"""BILL's error bodies: a JSON array of ``{timestamp, code, severity, category, message}`` items.

Handlers raise :class:`ErrorReply`; the app turns it into the HTTP status and the BDC array.
Messages follow BILL's published wording (cross-cutting facts §4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

SESSION_INVALID = "Session is invalid. Please log in."
CONCURRENCY_LIMIT = "Max number of concurrent requests per organization reached."
HOURLY_LIMIT = "Max number of allowed requests per hour reached: 20000."


def timestamp() -> str:
    """BILL's timestamp style: ``2026-12-25T00:00:00.000+00:00``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00"


def error_item(code: str, message: str, category: str = "REQUEST", severity: str = "ERROR") -> dict[str, Any]:
    return {
        "timestamp": timestamp(),
        "code": code,
        "severity": severity,
        "category": category,
        "message": message,
    }


class ErrorReply(Exception):
    """An error answer: HTTP ``status`` with BILL's error array as the body.

    What FakeBill *sends*; the SDK's :class:`bill_sdk.errors.APIError` is what a client *raises* on receiving one.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        category: str = "REQUEST",
        headers: Mapping[str, str] | None = None,
        items: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.items = list(items) if items else [error_item(code, message, category)]

    @classmethod
    def many(cls, status: int, items: Sequence[dict[str, Any]]) -> ErrorReply:
        first = items[0]
        return cls(status, first["code"], first["message"], items=items)


# Shorthands for the errors FakeBill gives most often.


def not_found(what: str = "") -> ErrorReply:
    return ErrorReply(404, "BDC_1120", f"No data found{': ' + what if what else ''}")


def api_not_supported(path: str) -> ErrorReply:
    return ErrorReply(404, "BDC_1121", f"API not supported: {path}")


def missing(field: str) -> ErrorReply:
    return ErrorReply(400, "BDC_1108", f"Missing parameter value for parameter: {field}")


def invalid_value(field: str, value: object) -> ErrorReply:
    return ErrorReply(400, "BDC_1129", f"Invalid parameter value for parameter,value: {field},{value}")


def session_invalid() -> ErrorReply:
    return ErrorReply(401, "BDC_1109", SESSION_INVALID, category="DOWNSTREAM")
