"""The one place that sends requests: concurrency limit, retries with backoff, error mapping, logging.

Retry rules (BILL moves money, so the default is *not* to repeat):
- A request that never left (connection refused, DNS, connect timeout, no free pool slot) is retried for any
  operation: BILL cannot have seen it.
- 429, 5xx and BILL's limit codes (BDC_1144 hourly limit, BDC_1322 concurrency limit) are retried only for
  operations safe to repeat: GET/PUT/DELETE, archive/restore, and POSTs carrying an ``X-Idempotent-Key``.
- A request that may have reached BILL (read timeout, dropped connection, 5xx) for an operation that is *not*
  safe to repeat (create-payment, bulk creates, ...) is never re-sent: :class:`OutcomeUnknownError` says so.

Backoff is exponential with full jitter; a ``Retry-After`` header wins when present.
Concurrency: BILL allows 3 requests in flight per developer key and organization (BDC_1322 beyond that); the
limiter is shared by the client, all its resources and its login-as-user children.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio
import httpx

from ._generated.types import Operation, RequestOptions, Unset
from ._json import dumps_json
from ._pagination import note_operation
from .errors import (
    APIError,
    BillConnectionError,
    BillError,
    BillTimeoutError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
    error_from_response,
)

logger = logging.getLogger("bill_sdk")

RETRYABLE_CODES = frozenset({"BDC_1144", "BDC_1322"})
# Errors raised before a single byte of the request was written: safe to retry for any operation.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class RetryPolicy:
    """How many times and how long to wait; ``max_retry_after`` caps a server-requested wait."""

    def __init__(
        self, max_retries: int = 2, base_delay: float = 0.5, max_delay: float = 8.0, max_retry_after: float = 60.0
    ):
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def is_retryable(error: APIError) -> bool:
    if isinstance(error, ServerError):
        return True
    if isinstance(error, RateLimitError):
        return error.status_code == 429 or bool(RETRYABLE_CODES.intersection(error.codes))
    return False


class RequestSender:
    """Implements the generated code's ``Sender``: turns an operation call into a response or an exception."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: Callable[[Operation], str],
        auth: Callable[[Operation], httpx.Auth | None],
        limiter: anyio.CapacityLimiter,
        retry: RetryPolicy,
        timeout: httpx.Timeout,
        secrets: Callable[[], Iterable[str | None]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._auth = auth
        self._limiter = limiter
        self._retry = retry
        self._timeout = timeout
        self._secrets = secrets
        self._headers = dict(headers or {})

    async def send(
        self,
        operation: Operation,
        *,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        options: RequestOptions | None = None,
    ) -> httpx.Response:
        note_operation(operation.operation_id)  # names the operation in a PaginationError while a page is fetched
        request_headers = {"Accept": "application/json", **self._headers, **(headers or {})}
        if json is not None:
            content = dumps_json(json)
            request_headers["Content-Type"] = "application/json"
        if options is not None and options.extra_headers:
            request_headers.update(options.extra_headers)
        timeout = self._timeout
        if options is not None and not isinstance(options.timeout, Unset):
            timeout = httpx.Timeout(options.timeout)
        max_retries = self._retry.max_retries
        if options is not None and options.max_retries is not None:
            max_retries = options.max_retries
        full_url = self._base_url(operation) + url
        auth = self._auth(operation)

        attempt = 0
        while True:
            request = self._http.build_request(
                operation.method, full_url, params=params, headers=request_headers, content=content, timeout=timeout
            )
            started = time.perf_counter()
            try:
                async with self._limiter:
                    response = await self._http.send(
                        request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT
                    )
            except NOT_SENT as exc:
                if attempt < max_retries:
                    await self._wait(operation, attempt, None, f"{type(exc).__name__} before sending")
                    attempt += 1
                    continue
                raise self._transport_error(operation, exc, sent=False) from exc
            except httpx.LocalProtocolError as exc:
                # The request could not even be written (e.g. a header value httpx refuses): not sent, and
                # sending it again would fail the same way.
                raise self._transport_error(operation, exc, sent=False) from exc
            except BillError as exc:
                # Signing in failed on the way (a refused connection, a 5xx from the login endpoint): this
                # request itself was not sent, so it may be retried whatever the operation.
                if exc.during_login and attempt < max_retries:
                    await self._wait(operation, attempt, None, f"{type(exc).__name__} while signing in")
                    attempt += 1
                    continue
                raise
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if not operation.idempotent:
                    raise _outcome_unknown(operation, f"{type(exc).__name__} after the request was sent") from exc
                if attempt < max_retries:
                    await self._wait(operation, attempt, None, type(exc).__name__)
                    attempt += 1
                    continue
                raise self._transport_error(operation, exc, sent=True) from exc
            except httpx.HTTPError as exc:  # e.g. a body that cannot be decoded: BILL answered, nobody can read it
                if not operation.idempotent:
                    raise _outcome_unknown(operation, f"{type(exc).__name__} reading BILL's answer") from exc
                raise self._transport_error(operation, exc, sent=True) from exc
            elapsed = time.perf_counter() - started
            logger.debug(
                "%s %s -> %s in %.1f ms (%s)",
                operation.method,
                operation.path,
                response.status_code,
                elapsed * 1000,
                operation.operation_id,
            )
            if response.is_success:
                return response
            error = error_from_response(response, operation_id=operation.operation_id, secrets=self._secrets())
            if is_retryable(error):
                if operation.idempotent and attempt < max_retries and self._retry_after_ok(error):
                    await self._wait(
                        operation, attempt, error.retry_after, f"{error.status_code} {','.join(error.codes)}"
                    )
                    attempt += 1
                    continue
                if isinstance(error, ServerError) and not operation.idempotent:
                    raise _outcome_unknown(operation, f"BILL answered {error.status_code}") from error
            raise error

    def _retry_after_ok(self, error: APIError) -> bool:
        return error.retry_after is None or error.retry_after <= self._retry.max_retry_after

    async def _wait(self, operation: Operation, attempt: int, retry_after: float | None, why: str) -> None:
        delay = self._retry.delay(attempt, retry_after)
        logger.info(
            "retrying %s %s (%s) in %.2f s after %s (retry %d)",
            operation.method,
            operation.path,
            operation.operation_id,
            delay,
            why,
            attempt + 1,
        )
        await anyio.sleep(delay)

    @classmethod
    def _transport_error(cls, operation: Operation, exc: Exception, *, sent: bool) -> TransportError:
        return cls.transport_error(operation.method, operation.path, operation.operation_id, exc, sent=sent)

    @staticmethod
    def transport_error(
        method: str, path: str, operation_id: str | None, exc: Exception, *, sent: bool, during: str | None = None
    ) -> TransportError:
        """The typed error for an httpx failure: BillTimeoutError or BillConnectionError."""
        kind = BillTimeoutError if isinstance(exc, httpx.TimeoutException) else BillConnectionError
        what = "timed out" if kind is BillTimeoutError else "connection failed"
        if during:
            what = f"{what} {during}"
        detail = "" if sent else " before the request was sent"
        return kind(f"{what}{detail} ({type(exc).__name__})", method=method, path=path, operation_id=operation_id)


def _outcome_unknown(operation: Operation, reason: str) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        method=operation.method, path=operation.path, operation_id=operation.operation_id, reason=reason
    )
