"""FakeBill's in-memory data: collections of records per organization (or the partner), BILL-style ids.

A *scope* is an organization id (``008...``) or :data:`PARTNER_SCOPE` for partner-level objects. A
*collection* is named by the literal segments of its spec path after ``/v3`` (``vendors``, ``spend/budgets``,
``attachments/vendors``, ``subscriptions``); partner paths drop their ``partner/`` prefix, so a partner's
``/v3/partner/users`` with an ``organizationId`` header and that organization's own ``/v3/users`` share data.

Tests read and seed state directly::

    fake.state.list("vendors")            # live dicts, archived included
    fake.state.counts()                   # {"vendors": 3, ...}
    fake.state.put("vendors", {"name": "Acme"})
"""

from __future__ import annotations

import builtins
import random
import string
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bill_sdk.testing.schemas import now_iso

PARTNER_SCOPE = "partner"

# BILL id prefixes (cross-cutting facts and BILL's object ids).
ID_PREFIXES = {
    "vendors": "009",
    "bills": "00n",
    "customers": "0cu",
    "invoices": "00e",
    "payments": "stp",
    "organizations": "008",
    "users": "006",
    "roles": "0po",
    "recurringbills": "0rb",
    "banks": "bac",
    "attachments": "0at",
    "documents": "00h",
    "documents/bills": "00h",
    "documents/uploads": "0du",
    "chart-of-accounts": "0ca",
    "accounting-classes": "cls",
    "classifications/items": "0ii",
    "vendor-credits": "vcr",
    "funding-accounts/banks/users": "bau",
    "receivable-payments": "0rp",
    "payments/mass": "bbq",
    "customers/bank-accounts": "cba",  # FakeBill's assumption: BILL's prefix is not documented
}
UUID_COLLECTIONS = ("subscriptions", "events/subscription")
_ID_CHARS = string.ascii_uppercase + string.digits


@dataclass
class Record:
    id: str
    data: dict[str, Any]
    parents: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # hidden from every response


class State:
    def __init__(self, default_org: str, *, rng: random.Random | None = None) -> None:
        self.default_org = default_org
        self._rng = rng or random.Random()
        self._scopes: dict[str, dict[str, dict[str, Record]]] = {}
        self.partner_orgs: set[str] = set()  # organizations created through the partner API

    # -- ids -----------------------------------------------------------------------------------------

    def new_id(self, collection: str) -> str:
        if collection in UUID_COLLECTIONS:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        first, last = collection.split("/", 1)[0], collection.rsplit("/", 1)[-1]
        prefix = ID_PREFIXES.get(collection) or ID_PREFIXES.get(first) or ID_PREFIXES.get(last) or _short_prefix(last)
        return prefix + "01" + "".join(self._rng.choices(_ID_CHARS, k=15))

    # -- internal API (services) ---------------------------------------------------------------------

    def _collection(self, scope: str, collection: str) -> dict[str, Record]:
        return self._scopes.setdefault(scope, {}).setdefault(collection, {})

    def records(self, scope: str, collection: str, parents: Mapping[str, str] | None = None) -> list[Record]:
        items = list(self._collection(scope, collection).values())
        if parents:
            items = [r for r in items if all(r.parents.get(k) == v for k, v in parents.items())]
        return items

    def record(self, scope: str, collection: str, record_id: str) -> Record | None:
        return self._scopes.get(scope, {}).get(collection, {}).get(record_id)

    def find(self, scope: str, collection: str, record_id: str) -> tuple[str, Record] | None:
        """Look `record_id` up in `collection`, then in the collections nested under it
        (``/v3/attachments/{id}`` finds an attachment stored under ``attachments/vendors``)."""
        found = self.record(scope, collection, record_id)
        if found is not None:
            return collection, found
        for name, items in self._scopes.get(scope, {}).items():
            if name.startswith(collection + "/") and record_id in items:
                return name, items[record_id]
        return None

    def add(
        self,
        scope: str,
        collection: str,
        data: dict[str, Any],
        *,
        parents: Mapping[str, str] | None = None,
        meta: Mapping[str, Any] | None = None,
        record_id: str | None = None,
    ) -> Record:
        rid = record_id or str(data.get("id") or self.new_id(collection))
        record = Record(rid, data, dict(parents or {}), dict(meta or {}))
        self._collection(scope, collection)[rid] = record
        return record

    def remove(self, scope: str, collection: str, record_id: str) -> Record | None:
        return self._scopes.get(scope, {}).get(collection, {}).pop(record_id, None)

    def scopes(self) -> list[str]:
        return list(self._scopes)

    def iter_all(self, collection: str) -> Iterator[tuple[str, Record]]:
        for scope, collections in self._scopes.items():
            for record in collections.get(collection, {}).values():
                yield scope, record

    # -- public API (tests) --------------------------------------------------------------------------

    def list(self, collection: str, org: str | None = None, *, include_archived: bool = True) -> list[dict[str, Any]]:
        """The stored objects of a collection (live dicts: changing them changes what FakeBill answers)."""
        items = [r.data for r in self.records(org or self.default_org, collection)]
        if not include_archived:
            items = [d for d in items if not d.get("archived")]
        return items

    def get(self, collection: str, record_id: str, org: str | None = None) -> dict[str, Any] | None:
        found = self.record(org or self.default_org, collection, record_id)
        return found.data if found else None

    def put(
        self,
        collection: str,
        obj: Mapping[str, Any],
        org: str | None = None,
        *,
        parents: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Seed an object as if it had been created through the API (id and timestamps filled in)."""
        now = now_iso()
        data = {"archived": False, "createdTime": now, "updatedTime": now, **obj}
        data.setdefault("id", self.new_id(collection))
        return self.add(org or self.default_org, collection, data, parents=parents).data

    def counts(self, org: str | None = None) -> dict[str, int]:
        return {name: len(items) for name, items in self._scopes.get(org or self.default_org, {}).items() if items}

    def collections(self, org: str | None = None) -> builtins.list[str]:
        return list(self._scopes.get(org or self.default_org, {}))


def _short_prefix(name: str) -> str:
    letters = "".join(c for c in name.lower() if c.isalnum())
    return (letters + "xxx")[:3]
