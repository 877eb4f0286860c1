"""The generic, spec-driven resource engine: serves every operation by its :class:`~.classify.Kind`.

Objects are stored as sent (minus read-only fields) plus ``id``, ``createdTime``, ``updatedTime`` and
``archived``; every answer is projected onto the operation's response schema, so only declared fields leave
FakeBill. Collection hooks (:data:`Engine.hooks`) let specific behaviour (bill amounts, ...) adjust objects.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bill_sdk.testing import listing
from bill_sdk.testing.bdc import not_found
from bill_sdk.testing.calls import Call, Reply
from bill_sdk.testing.classify import Catalog
from bill_sdk.testing.schemas import SchemaTools, now_iso
from bill_sdk.testing.state import Record, State

if TYPE_CHECKING:
    from bill_sdk.testing.fake import FakeBill

READ_ONLY = frozenset({"id", "createdTime", "updatedTime", "archived"})
PAGING_PARAMS = frozenset({"max", "page", "nextPage", "prevPage", "filters", "sort"})

# hook(call, data, action) adjusts `data` before it is stored; action is created|updated|replaced.
Hook = Callable[[Call, dict[str, Any], str], None]


class Engine:
    def __init__(self, fake: FakeBill, catalog: Catalog) -> None:
        self.fake = fake
        self.catalog = catalog
        self.tools: SchemaTools = catalog.tools
        self.hooks: dict[str, list[Hook]] = {}

    @property
    def state(self) -> State:
        return self.fake.state

    # -- dispatch ------------------------------------------------------------------------------------

    async def handle(self, call: Call) -> Reply:
        handler: Callable[[Call], Awaitable[Reply]] = getattr(self, "_" + call.route.kind.value)
        return await handler(call)

    # -- answers -------------------------------------------------------------------------------------

    def respond(self, call: Call, data: Any, status: int | None = None) -> Reply:
        """Shape `data` by the operation's response schema for `status` (default: its success status)."""
        status = status or call.op.success_status
        key = call.op.response_key(status)
        if key is None or call.op.response_pointer(key) is None:
            return Reply(status)
        schema = call.op.response_schema(status)
        return Reply(status, self.fill_required(self.tools.shape(data, schema), schema))

    def fill_required(self, value: Any, schema: Any) -> Any:
        """Add synthesized values for required top-level properties `value` lacks."""
        if not isinstance(value, dict) or schema is None:
            return value
        props = self.tools.properties(schema) or {}
        for name in self.tools.required(schema):
            if name not in value and name in props:
                value[name] = self.tools.synthesize(props[name], name, depth=1)
        return value

    def enum_value(self, collection: str, field: str, *wanted: str) -> str | None:
        """The first of `wanted` the collection's schema allows for `field`.

        None (leave the field alone) when the spec's enum allows none of them; the gap is recorded in
        ``fake.spec_gaps`` so a missing BILL value in the spec shows up without breaking the run.
        """
        schema = self.catalog.resource_schema(collection)
        prop = self.tools.property_schema(schema, field) if schema is not None else None
        allowed = self.tools.enum(prop) if prop is not None else None
        if allowed is None:
            return wanted[0]
        for value in wanted:
            if value in allowed:
                return value
        note = f"{collection}.{field}: the spec's enum {allowed} lacks {wanted[0]!r}"
        if note not in self.fake.spec_gaps:
            self.fake.spec_gaps.append(note)
        return None

    def response_allows(self, call: Call, field: str, value: Any) -> bool:
        """Whether the response schema's enum for top-level `field` allows `value` (gap recorded if not)."""
        if value is None:
            return True
        schema = call.op.response_schema()
        prop = self.tools.property_schema(schema, field) if schema is not None else None
        allowed = self.tools.enum(prop) if prop is not None else None
        if allowed is None or value in allowed:
            return True
        note = f"{call.op.operation_id} response {field}: the spec's enum {allowed} lacks {value!r}"
        if note not in self.fake.spec_gaps:
            self.fake.spec_gaps.append(note)
        return False

    def present(self, collection: str, data: dict[str, Any]) -> dict[str, Any]:
        """An object as BILL shows it (webhook payloads): shaped by the collection's resource schema."""
        schema = self.catalog.resource_schema(collection)
        return self.tools.shape(data, schema) if schema is not None else copy.deepcopy(data)

    def synthesize(self, call: Call, overlay: dict[str, Any] | None = None) -> Reply:
        status = call.op.success_status
        key = call.op.response_key(status)
        if key is None or call.op.response_pointer(key) is None:
            return Reply(status)
        schema = call.op.response_schema(status)
        value = self.tools.synthesize(schema)
        if isinstance(value, dict) and overlay:
            value.update(self.tools.shape(overlay, schema))
        return Reply(status, value)

    # -- lookups -------------------------------------------------------------------------------------

    def check_parents(self, call: Call) -> None:
        for name, value in call.parents().items():
            collection = self.catalog.collection_for_param(name, call.op.family)
            known = collection is not None and collection in self.catalog.creatable
            if known and self.state.find(call.scope, collection or "", value) is None:
                raise not_found(f"{name} {value}")

    def require(self, call: Call, collection: str | None = None, record_id: str | None = None) -> tuple[str, Record]:
        collection = collection or call.route.collection
        record_id = record_id or call.item_id or ""
        found = self.state.find(call.scope, collection, record_id)
        if found is None:
            raise not_found(f"{call.route.id_param or 'id'} {record_id}")
        parents = call.parents()
        if parents and any(found[1].parents.get(k, v) != v for k, v in parents.items()):
            raise not_found(f"{call.route.id_param or 'id'} {record_id}")
        return found

    def emit(self, call: Call, collection: str, action: str, data: dict[str, Any]) -> None:
        self.fake.webhooks.emit(call.scope, collection, action, data)

    def run_hooks(self, call: Call, collection: str, data: dict[str, Any], action: str) -> None:
        for hook in self.hooks.get(collection, []):
            hook(call, data, action)

    # -- object construction -------------------------------------------------------------------------

    def new_object(self, call: Call, body: Any, collection: str) -> dict[str, Any]:
        data = (
            {k: copy.deepcopy(v) for k, v in (body or {}).items() if k not in READ_ONLY}
            if isinstance(body, dict)
            else {}
        )
        for param in call.op.params:
            if param.location == "query" and param.name not in PAGING_PARAMS and param.name in call.params:
                data.setdefault(param.name, call.params[param.name])
        for name, value in call.parents().items():
            data.setdefault(name, value)
        now = now_iso()
        data.update(id=self.state.new_id(collection), createdTime=now, updatedTime=now, archived=False)
        return data

    def create(self, call: Call, body: Any, collection: str | None = None) -> Record:
        collection = collection or call.route.collection
        data = self.new_object(call, body, collection)
        self.run_hooks(call, collection, data, "created")
        record = self.state.add(call.scope, collection, data, parents=call.parents())
        self.emit(call, collection, "created", data)
        return record

    # -- kinds ---------------------------------------------------------------------------------------

    async def _list(self, call: Call) -> Reply:
        self.check_parents(call)
        route, op = call.route, call.op
        records = self.state.records(call.scope, route.collection, call.parents())
        items = [r.data for r in records]
        mode = self.catalog.pagination(op)
        query = call.query
        token_param = None
        if mode == "spend":
            token_param = "nextPage" if query.get("nextPage") else ("prevPage" if query.get("prevPage") else None)
        elif mode in ("page", "forward") and query.get("page"):
            token_param = "page"
        cursor = listing.Cursor.decode(query[token_param], route.collection, token_param) if token_param else None
        filters = query.get("filters") if "filters" in query else (cursor.filters if cursor else None)
        sort = query.get("sort") if "sort" in query else (cursor.sort if cursor else None)
        if not op.param("filters", "query"):
            filters = None
        if not op.param("sort", "query"):
            sort = None
        size = (
            listing.check_max(query.get("max")) if query.get("max") else (cursor.max if cursor else listing.DEFAULT_MAX)
        )
        known = self._field_checker(route.collection, items)
        conditions = listing.parse_filters(filters, known)
        ordering = listing.parse_sort(sort, known)
        if not any(c.field == "archived" for c in conditions):
            items = [d for d in items if not d.get("archived")]
        for param in op.params:  # declared equality filters such as `entityId`
            if param.location == "query" and param.name not in PAGING_PARAMS and param.name in call.params:
                wanted = call.params[param.name]
                items = [d for d in items if param.name not in d or d[param.name] == wanted]
        result = listing.apply(items, conditions, ordering)

        schema = op.response_schema()
        types = self.tools.types(schema) if schema is not None else set()
        if "array" in types and "object" not in types:
            return Reply(op.success_status, [self.tools.shape(d, self.tools.items(schema)) for d in result])
        item_schema = None
        props = self.tools.properties(schema) if schema is not None else None
        if props and "results" in props:
            item_schema = self.tools.items(props["results"])
        if item_schema is None:
            item_schema = self.catalog.resource_schema(route.collection)
        offset = cursor.offset if cursor else 0
        if mode is None:
            offset, size = 0, max(len(result), 1)
        page = result[offset : offset + size]
        envelope: dict[str, Any] = {"results": [self.tools.shape(d, item_schema) for d in page]}
        if offset + size < len(result):
            envelope["nextPage"] = listing.Cursor(offset + size, size, filters, sort, route.collection).encode()
        if mode in ("page", "spend") and offset > 0:
            envelope["prevPage"] = listing.Cursor(max(0, offset - size), size, filters, sort, route.collection).encode()
        return Reply(op.success_status, envelope)

    def _field_checker(self, collection: str, items: list[dict[str, Any]]) -> Callable[[str], bool]:
        schema = self.catalog.resource_schema(collection)
        props = self.tools.properties(schema) if schema is not None else None
        present = {k for d in items for k in d}

        def known(field: str) -> bool:
            top = field.split(".", 1)[0]
            return props is None or top in props or top in present or top == "archived"

        return known

    async def _create(self, call: Call) -> Reply:
        self.check_parents(call)
        body = call.body if isinstance(call.body, dict) else {}
        record = self.create(call, body)
        return self.respond(call, record.data)

    async def _bulk_create(self, call: Call) -> Reply:
        self.check_parents(call)
        bodies = call.body if isinstance(call.body, list) else [call.body or {}]
        created = [self.create(call, body).data for body in bodies]
        return self.respond_many(call, created)

    def respond_many(self, call: Call, created: list[dict[str, Any]]) -> Reply:
        """Answer a bulk call: an array, or an object wrapping an array of itself (``Vendor.vendors``)."""
        schema = call.op.response_schema()
        if schema is None:
            return Reply(call.op.success_status)
        types = self.tools.types(schema)
        if "array" in types and "object" not in types:
            return self.respond(call, created)
        # An object schema wraps the created objects in an array property: one of itself (`Vendor.vendors`),
        # else its only array of objects (`BulkPaymentResult.payments`).
        resolved = self.tools.resolve(schema)
        arrays = []
        for name, prop in (self.tools.properties(schema) or {}).items():
            items = self.tools.items(prop)
            if items is not None and self.tools.resolve(items) is resolved:
                return self.respond(call, {name: created})
            if items is not None and "object" in self.tools.types(items):
                arrays.append(name)
        if len(arrays) == 1:
            return self.respond(call, {arrays[0]: created})
        if len(created) == 1:
            return self.respond(call, created[0])
        return Reply(call.op.success_status, [self.tools.shape(d, schema) for d in created])

    async def _get(self, call: Call) -> Reply:
        _, record = self.require(call)
        return self.respond(call, record.data)

    async def _update(self, call: Call) -> Reply:
        collection, record = self.require(call)
        body = call.body if isinstance(call.body, dict) else {}
        record.data.update({k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY})
        record.data["updatedTime"] = now_iso()
        self.run_hooks(call, collection, record.data, "updated")
        self.emit(call, collection, "updated", record.data)
        return self.respond(call, record.data)

    async def _replace(self, call: Call) -> Reply:
        found = self.state.find(call.scope, call.route.collection, call.item_id or "")
        if found is None:
            if not call.parents():
                raise not_found(f"{call.route.id_param} {call.item_id}")
            self.check_parents(call)
            data = self.new_object(call, call.body, call.route.collection)
            data["id"] = call.item_id
            if call.route.id_param:
                data.setdefault(call.route.id_param, call.item_id)
            self.run_hooks(call, call.route.collection, data, "created")
            self.state.add(call.scope, call.route.collection, data, parents=call.parents(), record_id=call.item_id)
            return self.respond(call, data)
        collection, record = found
        body = call.body if isinstance(call.body, dict) else {}
        kept = {k: record.data[k] for k in READ_ONLY if k in record.data}
        record.data.clear()
        record.data.update({k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}, **kept)
        record.data["updatedTime"] = now_iso()
        self.run_hooks(call, collection, record.data, "replaced")
        self.emit(call, collection, "updated", record.data)
        return self.respond(call, record.data)

    async def _archive(self, call: Call) -> Reply:
        return self._set_archived(call, True)

    async def _restore(self, call: Call) -> Reply:
        return self._set_archived(call, False)

    def _set_archived(self, call: Call, archived: bool) -> Reply:
        collection, record = self.require(call)
        record.data["archived"] = archived
        record.data["updatedTime"] = now_iso()
        self.emit(call, collection, "archived" if archived else "restored", record.data)
        return self.respond(call, record.data)

    async def _delete(self, call: Call) -> Reply:
        collection, record = self.require(call)
        self.state.remove(call.scope, collection, record.id)
        return self.respond(call, record.data)

    async def _upsert(self, call: Call) -> Reply:
        self.check_parents(call)
        item_id = call.item_id or ""
        found = self.state.find(call.scope, call.route.collection, item_id)
        body = call.body if isinstance(call.body, dict) else {}
        if found is None:
            data = self.new_object(call, body, call.route.collection)
            data["id"] = item_id
            if call.route.id_param:
                data[call.route.id_param] = item_id
            self.state.add(call.scope, call.route.collection, data, parents=call.parents(), record_id=item_id)
        else:
            data = found[1].data
            data.update({k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY})
            data["updatedTime"] = now_iso()
        return self.respond(call, data)

    def _singleton_id(self, call: Call) -> str:
        return "|".join(call.parents().values()) or "_"

    async def _singleton_get(self, call: Call) -> Reply:
        self.check_parents(call)
        record = self.state.record(call.scope, call.route.collection, self._singleton_id(call))
        if record is not None:
            return self.respond(call, record.data)
        return self.synthesize(call, overlay=call.parents())

    async def _singleton_put(self, call: Call) -> Reply:
        self.check_parents(call)
        rid = self._singleton_id(call)
        record = self.state.record(call.scope, call.route.collection, rid)
        body = call.body if isinstance(call.body, dict) else {}
        now = now_iso()
        if record is None or call.op.method != "PATCH":
            data = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}
            data.update(call.parents())
            data.update(id=self.state.new_id(call.route.collection), createdTime=now, updatedTime=now)
            if record is not None:
                data.update(id=record.data.get("id"), createdTime=record.data.get("createdTime"))
            self.state.add(call.scope, call.route.collection, data, parents=call.parents(), record_id=rid)
        else:
            data = record.data
            data.update({k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY})
            data["updatedTime"] = now
        return self.respond(call, data)

    async def _singleton_delete(self, call: Call) -> Reply:
        self.check_parents(call)
        record = self.state.remove(call.scope, call.route.collection, self._singleton_id(call))
        if record is None:
            raise not_found(call.route.collection)
        return self.respond(call, record.data)

    async def _action(self, call: Call) -> Reply:
        self.check_parents(call)
        route = call.route
        overlay: dict[str, Any] = dict(call.parents())
        if route.item_collection and route.item_param:
            item_id = call.path_params.get(route.item_param, "")
            found = self.state.find(call.scope, route.item_collection, item_id)
            if found is None and route.item_collection in self.catalog.creatable:
                raise not_found(f"{route.item_param} {item_id}")
            schema = call.op.response_schema()
            if found is not None and schema is not None and "id" in (self.tools.properties(schema) or {}):
                overlay.update(found[1].data)
        return self.synthesize(call, overlay=overlay)
