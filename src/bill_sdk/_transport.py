"""The one place that sends requests: who may send, the call's deadline, the concurrency slot, signing in,
body caps, retries with backoff, error mapping and logging. Login, login-as-user and logout take this path too.

Retry rules (BILL moves money, so the default is *not* to repeat):
- A request that never left (connection refused, DNS, connect timeout, no free pool slot) is retried for any
  operation: BILL cannot have seen it.
- 429, 5xx and BILL's limit codes (BDC_1144 hourly limit, BDC_1322 concurrency limit) are retried only for
  operations safe to repeat: GET/PUT/DELETE, archive/restore, and POSTs carrying an ``X-Idempotent-Key``.
- A request that may have reached BILL (read timeout, dropped connection, 5xx, the deadline or the caller's
  cancellation while it was out) for an operation that is *not* safe to repeat (create-payment, bulk creates,
  ...) is never re-sent: :class:`OutcomeUnknownError` says so.
- A DELETE whose earlier attempt may have been applied and whose retry finds nothing (404) succeeded: the
  object is gone, which is what the caller asked for.

Deadline: ``timeout`` is the whole call's budget: waiting for a slot, signing in, every attempt, backoff and
reading the body. A server that trickles a byte every half second is cut off at the deadline. A
``Retry-After`` longer than what is left is not slept: the error is raised at once. ``AsyncBackend`` (see
``_primitives``) enforces it: async, a cancel scope ends whatever runs at the deadline; in the sync twin
(``bill_sdk._blocking._transport``, made from this module by ``codegen/unasync.py``) every wait and every attempt's
httpx timeouts get what is left of it, and the body is checked against it between chunks (so a trickling body
is cut off at most one read timeout after the deadline).

Bodies: a success body larger than ``max_response_bytes`` (after decompression) is refused without reading the
rest; of an error body only what the error parser uses is read.

Concurrency: BILL allows 3 requests in flight per developer key and organization (BDC_1322 beyond that); the
slots are shared by every client and login-as-user child of this process that talks to the same organization,
and through Redis by a whole fleet (``_limits``, ``_fleet``). Signing in happens before a slot is taken, so a
slow login never holds one.

Backoff is exponential with full jitter; a ``Retry-After`` header wins when present.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from ._auth import HeaderAuth, Signer, is_session_expired
from ._json import dumps_json
from ._limits import SlotSource
from ._primitives import AsyncBackend, DeadlinePassed
from ._runtime import Operation, RequestOptions, Unset
from ._urls import encode_query, request_url
from .errors import (
    MAX_ERROR_BODY_BYTES,
    APIError,
    BillConnectionError,
    BillError,
    BillTimeoutError,
    ClientStateError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TransportError,
    error_from_response,
)

logger = logging.getLogger("bill_sdk")

RETRYABLE_CODES = frozenset({"BDC_1144", "BDC_1322"})
# Errors raised before a single byte of the request was written: safe to retry for any operation.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
DEFAULT_TIMEOUT = 60.0  # seconds for a whole call, retries included
CONNECT_TIMEOUT = 10.0  # of one attempt, within the call's deadline
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # BILL's largest page (100 items) is well under 1 MiB


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


class Lifecycle:
    """Where and whether a client may send: the owner it first ran in (``AsyncBackend.owner()``), until closed.

    For the sync client (this module's twin) the owner is the process: any thread may call, and only closing
    matters. For the async client it is the event loop: an httpx connection pool belongs to one event loop; a
    request sent from another one fails half-way (after BILL may have applied it) with a bare ``RuntimeError``.
    So the first call binds the client, and any later call from elsewhere is refused before anything is sent. A login-as-user child shares its parent's pool, so
    it shares the binding, and it is closed when its parent is.
    """

    def __init__(self, parent: Lifecycle | None = None) -> None:
        self._parent = parent
        self._loop: object | None = None
        self._thread: int | None = None
        self._closed = False

    def child(self) -> Lifecycle:
        return Lifecycle(parent=self)

    @property
    def closed(self) -> bool:
        return self._closed or (self._parent is not None and self._parent.closed)

    def close(self) -> None:
        self._closed = True

    def on_own_loop(self) -> bool:
        root = self._root()
        return root._loop is None or root._loop is AsyncBackend.owner()

    def check(self, *, closing: bool = False) -> None:
        if not closing and self.closed:
            raise ClientStateError(
                "this AsyncBill client is closed (aclose() was called, or the partner client it came from was "
                "closed): create a new client"
            )
        root = self._root()
        loop = AsyncBackend.owner()  # the event loop; for the sync twin, the process: any thread may call
        if root._loop is None:
            root._loop, root._thread = loop, threading.get_ident()
        elif root._loop is not loop:
            where = "another thread" if threading.get_ident() != root._thread else "another event loop"
            raise ClientStateError(
                f"this AsyncBill client was first used in a different event loop and is now used from {where}; "
                "its connections belong to the first loop. Create one client per event loop (for example inside "
                "the function you pass to asyncio.run), and one per thread"
            )

    def _root(self) -> Lifecycle:
        node = self
        while node._parent is not None:
            node = node._parent
        return node


class _Call:
    """What one call has done so far, for naming a deadline or a cancellation correctly."""

    __slots__ = ("auth", "in_flight", "maybe_applied", "phase")

    def __init__(self) -> None:
        self.phase = "before the request was sent"
        self.in_flight = False  # the current attempt's request may be at BILL
        self.maybe_applied = False  # an earlier attempt may have been applied by BILL
        self.auth: HeaderAuth | None = None  # the credentials of the latest attempt


class _Retry(Exception):
    """Internal: the attempt failed in a way that may be retried; `error` is what the caller gets if not."""

    def __init__(self, why: str, error: BillError) -> None:
        self.why = why
        self.error = error


class RequestSender:
    """Implements the generated code's ``Sender``: turns an operation call into a response or an exception."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: Callable[[Operation], str],
        signer: Callable[[Operation], Signer | None],
        limiter: SlotSource,
        lifecycle: Lifecycle,
        retry: RetryPolicy,
        timeout: float | None,
        secrets: Callable[[], Iterable[str | None]],
        attempt_timeout: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._signer = signer
        self._limiter = limiter
        self._lifecycle = lifecycle
        self._retry = retry
        self._timeout = timeout
        self._attempt_timeout = attempt_timeout
        self._secrets = secrets
        self._max_response_bytes = max_response_bytes
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
        signer: Signer | None = None,
        closing: bool = False,
    ) -> httpx.Response:
        self._lifecycle.check(closing=closing)
        timeout = self._timeout
        if options is not None and not isinstance(options.timeout, Unset):
            timeout = options.timeout
        max_retries = self._retry.max_retries
        if options is not None and options.max_retries is not None:
            max_retries = options.max_retries
        call = _Call()
        # The request is built once (a sync step, so no frame on the stack during the network wait holds an
        # encoded body with a password in it) and re-sent as is; each attempt gets fresh auth headers.
        request = self._build(operation, url, params, headers, json, content, options)
        if signer is None:
            signer = self._signer(operation)
        deadline = None if timeout is None else AsyncBackend.now() + timeout
        try:
            with AsyncBackend.deadline_scope(deadline) as deadline:
                return await self._attempts(operation, request, signer, call, max_retries, deadline)
        except AsyncBackend.cancellation():
            if call.in_flight and not operation.idempotent:
                error: BillError = _outcome_unknown(
                    operation, "the call was cancelled by the caller after the request was sent"
                )
            else:
                raise
        except DeadlinePassed:
            if (call.in_flight or call.maybe_applied) and not operation.idempotent:
                error = _outcome_unknown(
                    operation, f"the {timeout or 0:g} s deadline passed after the request was sent"
                )
            else:
                error = BillTimeoutError(
                    f"the {timeout or 0:g} s deadline passed {call.phase}",
                    method=operation.method,
                    path=operation.path,
                    operation_id=operation.operation_id,
                )
        raise error

    def _build(
        self,
        operation: Operation,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json: Any,
        content: bytes | None,
        options: RequestOptions | None,
    ) -> httpx.Request:
        request_headers = {"Accept": "application/json", **self._headers, **(headers or {})}
        if json is not None:
            to_dict = getattr(json, "to_dict", None)
            content = dumps_json(to_dict() if to_dict is not None else json)
            request_headers["Content-Type"] = "application/json"
        if options is not None and options.extra_headers:
            request_headers.update(options.extra_headers)
        target = request_url(self._base_url(operation) + url, encode_query(params) if params else "")
        return self._http.build_request(operation.method, target, headers=request_headers, content=content)

    async def _attempts(
        self,
        operation: Operation,
        request: httpx.Request,
        signer: Signer | None,
        call: _Call,
        max_retries: int,
        deadline: float | None,
    ) -> httpx.Response:
        attempt = 0
        renewed = False
        while True:
            retry: _Retry | None = None
            try:
                response = await self._attempt(operation, request, signer, call, deadline)
            except _Retry as failed:
                retry = failed
            if retry is not None:
                if attempt >= max_retries or (deadline is not None and AsyncBackend.now() >= deadline):
                    raise retry.error
                await self._wait(operation, attempt, None, retry.why, call, retry.error, deadline)
                attempt += 1
                continue
            if response.is_success:
                return response
            error = error_from_response(response, operation_id=operation.operation_id, secrets=self._secrets())
            if signer is not None and signer.renewable and not renewed and is_session_expired(error):
                # BILL refused the request (nothing applied): sign in again once, outside any slot, and replay.
                renewed = True
                call.phase = "while signing in again, before the request was sent"
                if call.auth is not None:
                    await signer.renew(call.auth)
                continue
            if isinstance(error, NotFoundError) and operation.method == "DELETE" and call.maybe_applied:
                logger.info(
                    "%s %s (%s): an earlier attempt's answer was lost and the retry found nothing: the object is "
                    "already gone, so the delete succeeded",
                    operation.method,
                    operation.path,
                    operation.operation_id,
                )
                return httpx.Response(204, request=response.request)
            if is_retryable(error):
                if operation.idempotent and attempt < max_retries and self._retry_after_ok(error, deadline):
                    if isinstance(error, ServerError):
                        call.maybe_applied = True
                    why = f"{error.status_code} {','.join(error.codes)}".strip()
                    await self._wait(operation, attempt, error.retry_after, why, call, error, deadline)
                    attempt += 1
                    continue
                if isinstance(error, ServerError) and not operation.idempotent:
                    raise _outcome_unknown(operation, f"BILL answered {error.status_code}")
            raise error

    async def _attempt(
        self,
        operation: Operation,
        request: httpx.Request,
        signer: Signer | None,
        call: _Call,
        deadline: float | None,
    ) -> httpx.Response:
        """One attempt: sign in (outside the slot), take a slot, send, read the capped body."""
        auth: Any = httpx.USE_CLIENT_DEFAULT
        if signer is not None:
            call.phase = "while signing in, before the request was sent"
            try:
                auth = call.auth = await signer.prepare()
            except BillError as exc:
                exc.during_login = True  # this request was not sent: safe to retry by hand, whatever it is
                raise
        call.phase = "while waiting for a concurrency slot, before the request was sent"
        failure: BillError | _Retry | None = None
        async with self._limiter.slot(operation, deadline):
            call.phase = "while the request was out"
            call.in_flight = True
            started = time.perf_counter()
            try:
                request.extensions["timeout"] = self._phase_timeouts(deadline)
                response = await self._http.send(request, auth=auth, stream=True, follow_redirects=False)
                try:
                    await self._read(response, operation, deadline)
                finally:
                    await response.aclose()
            except NOT_SENT as exc:
                call.in_flight = False
                failure = _Retry(
                    f"{type(exc).__name__} before sending", self._transport_error(operation, exc, sent=False)
                )
            except httpx.LocalProtocolError as exc:
                # The request could not even be written (e.g. a header value httpx refuses): not sent, and
                # sending it again would fail the same way.
                call.in_flight = False
                failure = self._transport_error(operation, exc, sent=False)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if not operation.idempotent:
                    failure = _outcome_unknown(operation, f"{type(exc).__name__} after the request was sent")
                else:
                    call.in_flight, call.maybe_applied = False, True
                    failure = _Retry(type(exc).__name__, self._transport_error(operation, exc, sent=True))
            except httpx.HTTPError as exc:  # BILL answered, but not in a way anybody can read
                if not operation.idempotent:
                    failure = _outcome_unknown(operation, f"{type(exc).__name__} reading BILL's answer")
                else:
                    failure = self._transport_error(operation, exc, sent=True)
            if failure is None:
                call.in_flight = False
        if failure is not None:
            # Raised here, outside the `except`, so the exception carries no context chain down into httpcore's
            # frames (whose locals hold the request headers: devKey, sessionId, apiToken).
            raise failure
        logger.debug(
            "%s %s -> %s in %.1f ms (%s)",
            operation.method,
            operation.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            operation.operation_id,
        )
        return response

    async def _read(self, response: httpx.Response, operation: Operation, deadline: float | None) -> None:
        """Read the body into ``response.content``, at most what the status needs (see the module docs)."""
        limit = self._max_response_bytes if response.is_success else MAX_ERROR_BODY_BYTES
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                if deadline is not None and AsyncBackend.now() >= deadline:
                    raise DeadlinePassed  # a trickling body (sync: between reads; async: the scope is first)
                size += len(chunk)
                if size > limit:
                    if not response.is_success:
                        chunks.append(chunk[: len(chunk) - (size - limit)])
                        break  # enough to parse BILL's error array; the rest is not downloaded
                    raise ResponseDecodeError(
                        "response body", f"larger than the {limit:,}-byte limit (max_response_bytes)"
                    ).for_call(**_call_of(response, operation))
                chunks.append(chunk)
        except httpx.DecodingError:
            if not response.is_success:
                chunks = []  # an error whose body cannot be decoded: an error with no details
            else:
                raise ResponseDecodeError("response body", "its content encoding cannot be decoded").for_call(
                    **_call_of(response, operation)
                ) from None
        # What httpx's own aread() stores; the parsers read response.content.
        response._content = b"".join(chunks)

    def _phase_timeouts(self, deadline: float | None) -> dict[str, float | None]:
        """httpx's per-phase timeouts for one attempt: the attempt's own bound, never past the call's deadline."""
        wait = self._attempt_timeout
        if deadline is not None:
            left = max(deadline - AsyncBackend.now(), 0.001)
            wait = left if wait is None else min(wait, left)
        connect = CONNECT_TIMEOUT if wait is None else min(CONNECT_TIMEOUT, wait)
        return {"connect": connect, "read": wait, "write": wait, "pool": wait}

    def _retry_after_ok(self, error: APIError, deadline: float | None) -> bool:
        if error.retry_after is None:
            return True
        if error.retry_after > self._retry.max_retry_after:
            return False
        return deadline is None or AsyncBackend.now() + error.retry_after < deadline

    async def _wait(
        self,
        operation: Operation,
        attempt: int,
        retry_after: float | None,
        why: str,
        call: _Call,
        error: BillError,
        deadline: float | None,
    ) -> None:
        delay = self._retry.delay(attempt, retry_after)
        if deadline is not None and AsyncBackend.now() + delay >= deadline:
            raise error  # the retry could not happen in time: the real failure says more than a deadline would
        call.phase = "while waiting to retry"
        logger.info(
            "retrying %s %s (%s) in %.2f s after %s (retry %d)",
            operation.method,
            operation.path,
            operation.operation_id,
            delay,
            why,
            attempt + 1,
        )
        await AsyncBackend.sleep(delay)

    @staticmethod
    def _transport_error(operation: Operation, exc: Exception, *, sent: bool) -> TransportError:
        """The typed error for an httpx failure: BillTimeoutError or BillConnectionError."""
        kind = BillTimeoutError if isinstance(exc, httpx.TimeoutException) else BillConnectionError
        what = "timed out" if kind is BillTimeoutError else "connection failed"
        detail = "" if sent else " before the request was sent"
        reason = type(exc).__name__
        if isinstance(exc, httpx.ConnectError) and str(exc):
            # Why a connection could not be made (refused, DNS, a TLS certificate BILL's host should not have):
            # the one httpx message that names no header or body.
            reason = f"{reason}: {str(exc)[:200]}"
        return kind(
            f"{what}{detail} ({reason})",
            method=operation.method,
            path=operation.path,
            operation_id=operation.operation_id,
        )


def _call_of(response: httpx.Response, operation: Operation) -> dict[str, Any]:
    return {
        "status_code": response.status_code,
        "method": operation.method,
        "path": operation.path,
        "operation_id": operation.operation_id,
    }


def _outcome_unknown(operation: Operation, reason: str) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        method=operation.method, path=operation.path, operation_id=operation.operation_id, reason=reason
    )
