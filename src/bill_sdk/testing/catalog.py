"""The catalog: every spec operation classified by method and path shape into what the generic handlers do.

Rules (segments are the path after ``/v3``; ``{x}`` is a parameter):

* GET returning a page envelope (``x-pagination``, a ``results`` array) or a JSON array -> LIST
* GET ``.../{id}`` -> GET; PUT -> REPLACE; PATCH -> UPDATE; DELETE -> DELETE
* POST ``.../{id}/archive`` | ``/restore`` -> ARCHIVE | RESTORE
* POST ``.../bulk`` or with an array body -> BULK_CREATE
* POST where a LIST lives at the same path -> CREATE (nested under the path's parameters, if any)
* POST ``.../{id}`` where a GET lives at the same path -> UPSERT (the path id names the object)
* GET/POST/PUT/PATCH/DELETE on a literal path that has no list but has a GET -> SINGLETON_* (one object per
  parent, e.g. a vendor's bank account)
* anything else -> ACTION (answered with a value synthesized from the response schema)

Collections are named by the literal segments (``attachments/vendors``); partner paths drop ``partner/``.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from typing import Any

from bill_sdk.testing.schemas import SchemaTools
from bill_sdk.testing.spec import Spec, SpecOperation


class Kind(enum.Enum):
    LIST = "list"
    CREATE = "create"
    BULK_CREATE = "bulk_create"
    GET = "get"
    REPLACE = "replace"
    UPDATE = "update"
    ARCHIVE = "archive"
    RESTORE = "restore"
    DELETE = "delete"
    UPSERT = "upsert"
    SINGLETON_GET = "singleton_get"
    SINGLETON_PUT = "singleton_put"
    SINGLETON_DELETE = "singleton_delete"
    ACTION = "action"


@dataclass(frozen=True)
class Route:
    kind: Kind
    collection: str
    id_param: str | None = None
    parent_params: tuple[str, ...] = ()
    item_collection: str | None = None  # ACTION on `/x/{id}/verb`: the collection of `/x/{id}`
    item_param: str | None = None


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _name(segment: str) -> str:
    return segment[1:-1]


class Catalog:
    """Routes of all operations of a spec, plus what they imply about collections."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.tools = SchemaTools(spec.doc)
        self._by_path: dict[str, dict[str, SpecOperation]] = {}
        for op in spec.operations:
            self._by_path.setdefault(op.path, {})[op.method] = op
        self.routes: dict[str, Route] = {op.operation_id: self._classify(op) for op in spec.operations}
        self.creatable: set[str] = set()
        self._param_collections: dict[str, set[str]] = {}
        resource_ops: dict[str, list[SpecOperation]] = {}
        for op in spec.operations:
            route = self.routes[op.operation_id]
            if route.kind in (Kind.CREATE, Kind.BULK_CREATE, Kind.UPSERT):
                self.creatable.add(route.collection)
            if route.kind in (Kind.GET, Kind.UPDATE, Kind.REPLACE, Kind.DELETE) and route.id_param:
                self._param_collections.setdefault(route.id_param, set()).add(route.collection)
            resource_ops.setdefault(route.collection, []).append(op)
        self._resource_schemas = {name: self._find_resource_schema(ops) for name, ops in resource_ops.items()}

    def collection_for_param(self, param: str, family: str) -> str | None:
        """The collection whose objects a path parameter names (``vendorId`` -> ``vendors``), if clear."""
        candidates = self._param_collections.get(param, set())
        stem = param[:-2] if param.endswith("Id") else param
        for wanted in (stem.lower() + "s", stem.lower()):
            named = {c for c in candidates if c.rsplit("/", 1)[-1].lower() == wanted}
            if named:
                candidates = named
                break
        spend = {c for c in candidates if c.startswith("spend/")}
        candidates = spend if family == "spend" else (candidates - spend)
        return next(iter(candidates)) if len(candidates) == 1 else None

    def route(self, op: SpecOperation) -> Route:
        return self.routes[op.operation_id]

    def resource_schema(self, collection: str) -> Any:
        """The schema of one object of `collection` (from its GET, CREATE or LIST), or None."""
        return self._resource_schemas.get(collection)

    def present(self, collection: str, data: dict[str, Any]) -> dict[str, Any]:
        """An object as BILL shows it (webhook payloads): shaped by the collection's resource schema."""
        schema = self.resource_schema(collection)
        return self.tools.shape(data, schema) if schema is not None else copy.deepcopy(data)

    def pagination(self, op: SpecOperation) -> str | None:
        if op.pagination:
            return op.pagination
        if op.param("nextPage", "query"):
            return "spend"
        if op.param("page", "query") or op.param("max", "query"):
            return "forward" if op.family == "events" else "page"
        return None

    # -- classification ------------------------------------------------------------------------------

    def collection_of(self, op: SpecOperation, segments: tuple[str, ...]) -> str:
        literals = [s for s in segments if not _is_param(s)]
        if op.family == "partner" and literals[:1] == ["partner"]:
            literals = literals[1:]
        return "/".join(literals)

    def is_list(self, op: SpecOperation) -> bool:
        if op.method != "GET":
            return False
        if op.pagination or op.param("max", "query") or op.param("page", "query"):
            return True
        schema = op.response_schema()
        if schema is None:
            return False
        if "array" in self.tools.types(schema) and "object" not in self.tools.types(schema):
            return True
        props = self.tools.properties(schema) or {}
        return "results" in props

    def _classify(self, op: SpecOperation) -> Route:
        segs = op.segments
        if not segs:
            return Route(Kind.ACTION, "")
        last = segs[-1]
        params = tuple(_name(s) for s in segs if _is_param(s))
        here = self._by_path.get(op.path, {})
        getter = here.get("GET")
        has_list_here = getter is not None and self.is_list(getter)
        collection = self.collection_of(op, segs)
        method = op.method

        if method == "GET":
            if self.is_list(op):
                return Route(Kind.LIST, collection, parent_params=params)
            if _is_param(last):
                return Route(Kind.GET, collection, _name(last), params[:-1])
            return Route(Kind.SINGLETON_GET, collection, parent_params=params)

        if method == "POST":
            verb = op.sdk_method if op.sdk_method in ("archive", "restore") else last
            if verb in ("archive", "restore") and len(segs) >= 2 and _is_param(segs[-2]):
                kind = Kind.ARCHIVE if verb == "archive" else Kind.RESTORE
                return Route(kind, self.collection_of(op, segs[:-1]), _name(segs[-2]), params[:-1])
            body_types = self.tools.types(op.body_schema) if op.body_schema else set()
            if last == "bulk" or (body_types and body_types <= {"array", "null"}):
                target = segs[:-1] if last == "bulk" else segs
                return Route(Kind.BULK_CREATE, self.collection_of(op, target), parent_params=params)
            if has_list_here or (op.sdk_method == "create" and not _is_param(last)):
                return Route(Kind.CREATE, collection, parent_params=params)
            if _is_param(last) and getter is not None:
                return Route(Kind.UPSERT, collection, _name(last), params[:-1])
            if not _is_param(last) and getter is not None:
                return Route(Kind.SINGLETON_PUT, collection, parent_params=params)
            return self._action(op, segs, collection, params)

        if _is_param(last):
            item_kind = {"PUT": Kind.REPLACE, "PATCH": Kind.UPDATE, "DELETE": Kind.DELETE}.get(method)
            if item_kind is not None:
                return Route(item_kind, collection, _name(last), params[:-1])
        if getter is not None and not has_list_here:
            kind = Kind.SINGLETON_DELETE if method == "DELETE" else Kind.SINGLETON_PUT
            return Route(kind, collection, parent_params=params)
        return self._action(op, segs, collection, params)

    def _action(self, op: SpecOperation, segs: tuple[str, ...], collection: str, params: tuple[str, ...]) -> Route:
        # `/x/{id}/verb...`: the object the action is about, if `/x/{id}` is an item path.
        for cut in range(len(segs) - 1, 0, -1):
            if _is_param(segs[cut - 1]):
                prefix = op.prefix + "/" + "/".join(segs[:cut])
                item_ops = self._by_path.get(prefix, {})
                if any(m in item_ops for m in ("GET", "PATCH", "PUT", "DELETE")):
                    return Route(
                        Kind.ACTION,
                        collection,
                        parent_params=params,
                        item_collection=self.collection_of(op, segs[:cut]),
                        item_param=_name(segs[cut - 1]),
                    )
                break
        return Route(Kind.ACTION, collection, parent_params=params)

    def _find_resource_schema(self, ops: list[SpecOperation]) -> Any:
        order = (Kind.GET, Kind.CREATE, Kind.UPDATE, Kind.REPLACE, Kind.LIST)
        for kind in order:
            for op in ops:
                if self.routes[op.operation_id].kind is not kind:
                    continue
                schema = op.response_schema()
                if schema is None:
                    continue
                if kind is Kind.LIST:
                    props = self.tools.properties(schema) or {}
                    schema = self.tools.items(props["results"]) if "results" in props else self.tools.items(schema)
                    if schema is None:
                        continue
                if self.tools.properties(schema):
                    return schema
        return None
