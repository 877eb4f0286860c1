"""Whose concurrency slots a call takes: BILL's limits belong to a developer key and organization, not to a client.

BILL allows 3 requests in flight per developer key and organization (``BDC_1322`` beyond that). So the slots are
not an ``AsyncBill`` object's own: every client and login-as-user child in this process that talks to the same
**(BILL host, developer key, organization)** takes its slots from one ``anyio.CapacityLimiter``, and a child for
another organization gets its own. The keys:

==========  ==============================================  ==============================================
kind        key                                              used by
==========  ==============================================  ==============================================
``org``     host, ``devKey``, organization id               Connect AP/AR calls, ``/v3/login``, Connect Events
                                                            signed with a dev key
``partner`` host, ``appKey``                                partner-level calls (partner login,
                                                            login-as-user, ``/v3/partner/...``), Events
                                                            signed with an app key
``spend``   host, ``apiToken``                              Spend & Expense, Events signed with a token
==========  ==============================================  ==============================================

BILL documents the 3-per-organization rule for Connect only; partner-level and Spend calls are not an
organization's, so they do not take an organization's slots: each gets ``max_concurrency`` of its own per key.

* Keys never hold a secret: the credential goes through BLAKE2b (keyed with a fixed, SDK-specific
  personalisation) and only the digest is kept. The same digests name the Redis keys of the fleet mode
  (:mod:`bill_sdk._fleet`), so they must not be reversible to a dev key or token.
* An ``anyio.CapacityLimiter`` belongs to one event loop, so the registry is keyed by the backend's owner first
  (``_primitives``), weakly: for ``AsyncBill`` the running loop, so a loop that is gone leaves nothing behind,
  and clients in two threads' loops never share a limiter (each thread then has its own 3: run one loop per
  process, or use the Redis fleet mode, to share). For ``Bill`` (sync) the owner is the process: every thread
  and every ``Bill`` of the process takes its slots from one thread-safe limiter per key. ``AsyncBill`` and
  ``Bill`` in one process do not share slots (an anyio limiter cannot be waited on from a thread).
* Clients configured with another ``max_concurrency`` (a contract with BILL raising the limit, FakeBill
  benchmarks) share with clients of the same setting only.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import weakref
from collections.abc import Callable
from typing import Any, Literal, Protocol

from attrs import define, field

from ._primitives import AsyncBackend, AsyncCapacityLimiter, Backend, CapacityLimiter
from ._runtime import Operation

LimitKind = Literal["org", "partner", "spend"]
_PERSON = b"bill-sdk-limit"  # BLAKE2b personalisation: these digests are this SDK's, not a bare hash


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16, person=_PERSON)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(4, "big") + data)  # length-prefixed: ("ab", "c") != ("a", "bc")
    return h.hexdigest()


@define(frozen=True)
class LimitKey:
    """Whose slots and budgets a call uses. Holds digests only: ``repr`` and ``str`` are safe to log."""

    kind: LimitKind
    digest: str  # host + kind + credential (+ organization for "org"): the concurrency key
    credential_digest: str = field(eq=False)  # host + kind + credential: BILL's hourly budgets are per key

    def __str__(self) -> str:
        return f"{self.kind}:{self.digest}"


def limit_key(kind: LimitKind, host: str, credential: str | None, organization: str | None = None) -> LimitKey:
    credential_digest = _digest(kind, host.lower(), credential or "")
    digest = _digest(credential_digest, organization or "") if kind == "org" else credential_digest
    return LimitKey(kind, digest, credential_digest)


Limiter = AsyncCapacityLimiter | CapacityLimiter
Backends = type[AsyncBackend] | type[Backend]


class Registry:
    """One limiter per (owner, key, capacity) in this process; the owner is the backend's (see above)."""

    def __init__(self) -> None:
        self._by_owner: weakref.WeakKeyDictionary[object, dict[tuple[LimitKey, int], Limiter]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()  # only when a limiter is created: Bill's threads may race for the first

    def limiter(self, key: LimitKey, capacity: int, backend: Backends = AsyncBackend) -> Limiter:
        owner = backend.owner()
        limiters = self._by_owner.get(owner)
        limiter = None if limiters is None else limiters.get((key, capacity))
        if limiter is None:
            with self._lock:
                limiters = self._by_owner.setdefault(owner, {})
                limiter = limiters.get((key, capacity))
                if limiter is None:
                    limiter = limiters[(key, capacity)] = backend.limiter(capacity)
        return limiter

    def loops(self) -> int:
        """Event loops holding limiters (Bill's process-wide ones are not counted)."""
        return sum(1 for owner in list(self._by_owner.keys()) if owner is not Backend.owner())


REGISTRY = Registry()


class SlotSource(Protocol):
    """What the request path asks for a concurrency slot (and, in fleet mode, the budgets) of one attempt."""

    def slot(self, operation: Operation, deadline: float | None) -> Any:
        """An ``async with`` context for AsyncBill, a ``with`` context for Bill."""


class SharedSlots(Protocol):
    """Limits shared beyond this process (``bill_sdk._fleet``): the budgets and a slot for one attempt, taken
    behind this process's limiter `local` (which the implementation holds while it waits for a fleet slot)."""

    def slot(
        self, key: LimitKey, operation: Operation, capacity: int, deadline: float | None, local: Any
    ) -> contextlib.AbstractAsyncContextManager[None]: ...


class ClientLimits:
    """A client's view of the shared limits: which key each operation uses, and the slot for one attempt.

    ``kind_of`` maps an operation to the credential it is sent with (the same choice as the client's signer);
    ``key_of`` builds the key of a kind from the client's credentials. Keys are computed once per kind.
    """

    def __init__(
        self,
        kind_of: Callable[[Operation], LimitKind],
        key_of: Callable[[LimitKind], LimitKey],
        capacity: int,
        fleet: SharedSlots | None = None,
        backend: Backends = AsyncBackend,
    ) -> None:
        self._kind_of = kind_of
        self._key_of = key_of
        self.capacity = capacity
        self.fleet = fleet
        self._backend = backend
        self._keys: dict[str, LimitKey] = {}
        self._used: dict[LimitKey, Limiter] = {}

    def key_for(self, kind: LimitKind) -> LimitKey:
        key = self._keys.get(kind)
        if key is None:
            key = self._keys[kind] = self._key_of(kind)
        return key

    def local_limiter(self, key: LimitKey) -> Limiter:
        limiter = REGISTRY.limiter(key, self.capacity, self._backend)
        self._used[key] = limiter
        return limiter

    @property
    def borrowed_tokens(self) -> int:
        """Slots taken right now, in this process, under the keys this client has used (by any client)."""
        return sum(int(limiter.borrowed_tokens) for limiter in self._used.values())

    def slot(self, operation: Operation, deadline: float | None) -> Any:
        key = self.key_for(self._kind_of(operation))
        local = self.local_limiter(key)
        if self.fleet is None:
            return local  # the hot path: the process-wide limiter itself, no wrapper per call
        return self.fleet.slot(key, operation, self.capacity, deadline, local)

    def __repr__(self) -> str:
        return f"ClientLimits(capacity={self.capacity}, fleet={self.fleet!r})"
