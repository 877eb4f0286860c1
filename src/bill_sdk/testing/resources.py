"""The generic resource service: stores, changes and looks up the objects of every collection.

Objects are stored as sent (minus read-only fields) plus ``id``, ``createdTime``, ``updatedTime`` and
``archived``. Collection hooks (:meth:`Resources.add_hooks`) let specific behaviour (bill amounts, ...) adjust
an object before it is stored; every create/update/archive/restore is published to the :class:`Outbox`.
The HTTP side (which operation does what, shaping answers) is ``handlers/resources.py``.

Every change stamps ``updatedTime`` (and a create ``createdTime``) from :attr:`Resources.wall_clock` at BILL's
millisecond precision: replace it (``fake.resources.wall_clock = lambda: datetime(..., tzinfo=UTC)``) to make
times deterministic, e.g. two updates in the same millisecond.
"""

from __future__ import annotations

import copy
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from bill_sdk.testing import listing
from bill_sdk.testing.bdc import not_found
from bill_sdk.testing.catalog import Catalog
from bill_sdk.testing.outbox import Change, Outbox
from bill_sdk.testing.schemas import SchemaTools
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import Record, State

_ARCHIVED = operator.methodcaller("get", "archived")
_DATA = operator.attrgetter("data")
READ_ONLY = frozenset({"id", "createdTime", "updatedTime", "archived"})

NOTHING: Mapping[str, Any] = MappingProxyType({})

# hook(who, data, action) adjusts `data` before it is stored; action is created|updated|replaced.
Hook = Callable[[Principal, dict[str, Any], str], None]


def writable(body: Any) -> dict[str, Any]:
    """The fields of a request body a client may set (a copy)."""
    if not isinstance(body, dict):
        return {}
    return {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}


class Resources:
    def __init__(self, state: State, catalog: Catalog, outbox: Outbox) -> None:
        self.state = state
        self.catalog = catalog
        self.outbox = outbox
        self.tools: SchemaTools = catalog.tools
        self.hooks: dict[str, list[Hook]] = {}
        self.wall_clock: Callable[[], datetime] = _utc_now
        self._indexes: dict[Any, listing.TimeIndex] = {}

    def now(self) -> str:
        """The wall clock's time as BILL writes it: ``2026-12-25T00:00:00.000+00:00`` (milliseconds, UTC)."""
        moment = self.wall_clock().astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"

    def add_hooks(self, hooks: Mapping[str, Iterable[Hook]]) -> None:
        for collection, functions in hooks.items():
            self.hooks.setdefault(collection, []).extend(functions)

    def run_hooks(self, who: Principal, collection: str, data: dict[str, Any], action: str) -> None:
        for hook in self.hooks.get(collection, []):
            hook(who, data, action)

    def publish(self, who: Principal, collection: str, action: str, data: dict[str, Any]) -> None:
        self.outbox.publish(Change(who.scope, collection, action, data))

    # -- lookups -------------------------------------------------------------------------------------

    def check_parents(self, scope: str, parents: Mapping[str, str], family: str) -> None:
        """404 when a path parameter names an object of a known collection that does not exist."""
        for name, value in parents.items():
            collection = self.catalog.collection_for_param(name, family)
            known = collection is not None and collection in self.catalog.creatable
            if known and self.state.find(scope, collection or "", value) is None:
                raise not_found(f"{name} {value}")

    def require(
        self, scope: str, collection: str, record_id: str, parents: Mapping[str, str], id_param: str | None = None
    ) -> tuple[str, Record]:
        """The record (and the collection it is in), or 404; it must sit under `parents`."""
        found = self.state.find(scope, collection, record_id)
        if found is None or any(found[1].parents.get(k, v) != v for k, v in parents.items()):
            raise not_found(f"{id_param or 'id'} {record_id}")
        return found

    def find(self, scope: str, collection: str, record_id: str) -> tuple[str, Record] | None:
        return self.state.find(scope, collection, record_id)

    def search(
        self,
        scope: str,
        collection: str,
        parents: Mapping[str, str],
        *,
        filters: str | None = None,
        sort: str | None = None,
        equals: Mapping[str, Any] = NOTHING,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The objects a list returns, in order: BILL ``filters`` and ``sort`` (400 when malformed or naming
        an unknown field), archived ones only when a filter names ``archived``, `equals` fields where present.
        With `limit`, at least the first `limit` of them (more only when that is as cheap)."""
        records = self.state.records(scope, collection, parents)
        known = self._field_checker(collection, records)
        conditions = listing.parse_filters(filters, known)
        ordering = listing.parse_sort(sort, known)
        with_archived = any(c.field == "archived" for c in conditions)

        def keep(d: dict[str, Any]) -> bool:
            if not with_archived and d.get("archived"):
                return False
            return all(name not in d or d[name] == wanted for name, wanted in equals.items())

        # Every page of a list runs this over the whole collection: the steps are C iterators where they can be,
        # and a page in stored order stops reading once it has found its records (and one more).
        if limit is not None and ordering:
            key = (scope, collection, tuple(sorted(parents.items())))

            def values_of(name: str) -> list[Any]:  # one pass in C over every record: this runs on every page
                return list(map(dict.get, map(_DATA, records), itertools.repeat(name)))

            def item_at(position: int) -> dict[str, Any]:
                data: dict[str, Any] = records[position].data
                return data

            found = listing.indexed_search(self._indexes, key, values_of, item_at, conditions, ordering, keep, limit)
            if found is not None:
                return found
        items: Iterable[dict[str, Any]] = map(_DATA, records)
        if equals:
            items = filter(keep, items)  # archived ones too, unless a filter names `archived`
        elif not with_archived:
            items = itertools.filterfalse(_ARCHIVED, items)
        if limit is not None and not ordering:
            return listing.first(items, conditions, limit)
        return listing.apply(items, conditions, ordering)

    def _field_checker(self, collection: str, records: list[Record]) -> Callable[[str], bool]:
        schema = self.catalog.resource_schema(collection)
        props = self.tools.properties(schema) if schema is not None else None

        def known(field: str) -> bool:
            top = field.split(".", 1)[0]
            if props is None or top in props or top == "archived":
                return True
            return any(top in r.data for r in records)  # only looked at for a field the schema does not name

        return known

    # -- changes -------------------------------------------------------------------------------------

    def new_object(
        self, collection: str, body: Any, defaults: Mapping[str, Any] = NOTHING, parents: Mapping[str, str] = NOTHING
    ) -> dict[str, Any]:
        """`body`'s writable fields, then `defaults` and `parents` where absent, then id and timestamps."""
        data = writable(body)
        for name, value in (*defaults.items(), *parents.items()):
            data.setdefault(name, value)
        now = self.now()
        data.update(id=self.state.new_id(collection), createdTime=now, updatedTime=now, archived=False)
        return data

    def create(
        self,
        who: Principal,
        collection: str,
        body: Any,
        *,
        parents: Mapping[str, str] = NOTHING,
        defaults: Mapping[str, Any] = NOTHING,
    ) -> Record:
        data = self.new_object(collection, body, defaults, parents)
        self.run_hooks(who, collection, data, "created")
        record = self.state.add(who.scope, collection, data, parents=parents)
        self.publish(who, collection, "created", data)
        return record

    def update(self, who: Principal, collection: str, record: Record, body: Any) -> dict[str, Any]:
        record.data.update(writable(body))
        record.data["updatedTime"] = self.now()
        self.run_hooks(who, collection, record.data, "updated")
        self.publish(who, collection, "updated", record.data)
        return record.data

    def replace(self, who: Principal, collection: str, record: Record, body: Any) -> dict[str, Any]:
        kept = {k: record.data[k] for k in READ_ONLY if k in record.data}
        record.data.clear()
        record.data.update(writable(body), **kept)
        record.data["updatedTime"] = self.now()
        self.run_hooks(who, collection, record.data, "replaced")
        self.publish(who, collection, "updated", record.data)
        return record.data

    def put_new(
        self,
        who: Principal,
        collection: str,
        record_id: str,
        body: Any,
        *,
        id_param: str | None,
        parents: Mapping[str, str],
        defaults: Mapping[str, Any] = NOTHING,
        overwrite_id_param: bool = False,
        hooks: bool = True,
    ) -> dict[str, Any]:
        """Create the object a path id names (PUT/POST to ``.../{id}`` of an object that does not exist yet)."""
        data = self.new_object(collection, body, defaults, parents)
        data["id"] = record_id
        if id_param and overwrite_id_param:
            data[id_param] = record_id
        elif id_param:
            data.setdefault(id_param, record_id)
        if hooks:
            self.run_hooks(who, collection, data, "created")
        self.state.add(who.scope, collection, data, parents=parents, record_id=record_id)
        return data

    def replace_or_create(
        self,
        who: Principal,
        collection: str,
        record_id: str,
        body: Any,
        *,
        id_param: str | None,
        parents: Mapping[str, str],
        family: str,
        defaults: Mapping[str, Any] = NOTHING,
    ) -> dict[str, Any]:
        """PUT: replace the object; one that does not exist is created only under a parent (else 404)."""
        found = self.state.find(who.scope, collection, record_id)
        if found is not None:
            return self.replace(who, found[0], found[1], body)
        if not parents:
            raise not_found(f"{id_param} {record_id}")
        self.check_parents(who.scope, parents, family)
        return self.put_new(who, collection, record_id, body, id_param=id_param, parents=parents, defaults=defaults)

    def upsert(
        self,
        who: Principal,
        collection: str,
        record_id: str,
        body: Any,
        *,
        id_param: str | None,
        parents: Mapping[str, str],
        defaults: Mapping[str, Any] = NOTHING,
    ) -> dict[str, Any]:
        """POST to ``.../{id}``: update the object the path names, or create it with that id (no hooks)."""
        found = self.state.find(who.scope, collection, record_id)
        if found is not None:
            return self.merge(found[1], body)
        return self.put_new(
            who, collection, record_id, body,
            id_param=id_param, parents=parents, defaults=defaults, overwrite_id_param=True, hooks=False,
        )  # fmt: skip

    def merge(self, record: Record, body: Any) -> dict[str, Any]:
        """Update without hooks or notification (upserts, singletons)."""
        record.data.update(writable(body))
        record.data["updatedTime"] = self.now()
        return record.data

    def set_archived(self, who: Principal, collection: str, record: Record, archived: bool) -> dict[str, Any]:
        record.data["archived"] = archived
        record.data["updatedTime"] = self.now()
        self.publish(who, collection, "archived" if archived else "restored", record.data)
        return record.data

    def delete(self, scope: str, collection: str, record: Record) -> dict[str, Any]:
        self.state.remove(scope, collection, record.id)
        return record.data

    # -- singletons (one object per parent, e.g. a vendor's bank account) ----------------------------

    @staticmethod
    def singleton_id(parents: Mapping[str, str]) -> str:
        return "|".join(parents.values()) or "_"

    def singleton(self, scope: str, collection: str, parents: Mapping[str, str]) -> Record | None:
        return self.state.record(scope, collection, self.singleton_id(parents))

    def put_singleton(
        self, scope: str, collection: str, parents: Mapping[str, str], body: Any, *, merge: bool
    ) -> dict[str, Any]:
        """Set the singleton to `body` (`merge`: update an existing one instead, as PATCH does)."""
        rid = self.singleton_id(parents)
        record = self.state.record(scope, collection, rid)
        if record is not None and merge:
            return self.merge(record, body)
        now = self.now()
        data = writable(body)
        data.update(parents)
        data.update(id=self.state.new_id(collection), createdTime=now, updatedTime=now)
        if record is not None:
            data.update(id=record.data.get("id"), createdTime=record.data.get("createdTime"))
        self.state.add(scope, collection, data, parents=parents, record_id=rid)
        return data

    def delete_singleton(self, scope: str, collection: str, parents: Mapping[str, str]) -> dict[str, Any]:
        record = self.state.remove(scope, collection, self.singleton_id(parents))
        if record is None:
            raise not_found(collection)
        return record.data


def _utc_now() -> datetime:
    return datetime.now(UTC)
