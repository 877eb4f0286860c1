"""The generic handlers: every operation without a specific handler, served by its :class:`~..catalog.Kind`.

Each reads the call, asks the :class:`~..resources.Resources` service, and shapes the answer by the
operation's response schema (:class:`.answers.Answers`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bill_sdk.testing import listing
from bill_sdk.testing.bdc import not_found
from bill_sdk.testing.catalog import Catalog
from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.resources import Resources
from bill_sdk.testing.state import Record

PAGING_PARAMS = frozenset({"max", "page", "nextPage", "prevPage", "filters", "sort"})


def query_defaults(call: Call) -> dict[str, Any]:
    """Declared query parameters (not paging ones) the call sent: ``entityId`` filters a list, seeds a create."""
    return {
        p.name: call.params[p.name]
        for p in call.op.params
        if p.location == "query" and p.name not in PAGING_PARAMS and p.name in call.params
    }


@dataclass(frozen=True)
class _Search:
    cursor: listing.Cursor | None
    filters: str | None
    sort: str | None
    size: int


class ResourceHandlers:
    def __init__(self, resources: Resources, catalog: Catalog, answers: Answers) -> None:
        self.resources = resources
        self.catalog = catalog
        self.tools = catalog.tools
        self.answers = answers

    async def handle(self, call: Call) -> Reply:
        handler: Callable[[Call], Awaitable[Reply]] = getattr(self, "_" + call.route.kind.value)
        return await handler(call)

    # -- shortcuts -----------------------------------------------------------------------------------

    def check_parents(self, call: Call) -> None:
        self.resources.check_parents(call.scope, call.parents(), call.op.family)

    def require(self, call: Call, collection: str | None = None, record_id: str | None = None) -> tuple[str, Record]:
        return self.resources.require(
            call.scope,
            collection or call.route.collection,
            record_id or call.item_id or "",
            call.parents(),
            call.route.id_param,
        )

    def respond(self, call: Call, data: Any) -> Reply:
        return self.answers.respond(call.op, data)

    # -- lists ---------------------------------------------------------------------------------------

    def _search(self, call: Call) -> _Search:
        """The search a list call asks for: its own filters/sort/max, else those its page cursor carries."""
        op, query, collection = call.op, call.query, call.route.collection
        mode = self.catalog.pagination(op)
        token_param = None
        if mode == "spend":
            token_param = "nextPage" if query.get("nextPage") else ("prevPage" if query.get("prevPage") else None)
        elif mode in ("page", "forward") and query.get("page"):
            token_param = "page"
        cursor = listing.Cursor.decode(query[token_param], collection, token_param) if token_param else None
        filters = query.get("filters") if "filters" in query else (cursor.filters if cursor else None)
        sort = query.get("sort") if "sort" in query else (cursor.sort if cursor else None)
        if query.get("max"):
            size = listing.check_max(query.get("max"))
        else:
            size = cursor.max if cursor else listing.DEFAULT_MAX
        return _Search(
            cursor,
            filters if op.param("filters", "query") else None,
            sort if op.param("sort", "query") else None,
            size,
        )

    async def _list(self, call: Call) -> Reply:
        self.check_parents(call)
        op, search = call.op, self._search(call)
        paged = self.catalog.pagination(op) is not None
        offset = search.cursor.offset if search.cursor else 0
        result = self.resources.search(
            call.scope, call.route.collection, call.parents(),
            filters=search.filters, sort=search.sort, equals=query_defaults(call),
            limit=offset + search.size + 1 if paged else None,  # one more than the page: is there a next page?
        )  # fmt: skip
        schema = op.response_schema()
        types = self.tools.types(schema) if schema is not None else set()
        if "array" in types and "object" not in types:
            return Reply(op.success_status, [self.tools.shape(d, self.tools.items(schema)) for d in result])
        return Reply(op.success_status, self._page(call, result, search, schema))

    def _page(self, call: Call, result: list[dict[str, Any]], search: _Search, schema: Any) -> dict[str, Any]:
        collection = call.route.collection
        mode = self.catalog.pagination(call.op)
        item_schema = None
        props = self.tools.properties(schema) if schema is not None else None
        if props and "results" in props:
            item_schema = self.tools.items(props["results"])
        if item_schema is None:
            item_schema = self.catalog.resource_schema(collection)
        offset, size = (search.cursor.offset if search.cursor else 0), search.size
        if mode is None:
            offset, size = 0, max(len(result), 1)
        page = result[offset : offset + size]
        envelope: dict[str, Any] = {"results": [self.tools.shape(d, item_schema) for d in page]}

        def cursor(at: int) -> str:
            return listing.Cursor(at, size, search.filters, search.sort, collection).encode()

        if offset + size < len(result):
            envelope["nextPage"] = cursor(offset + size)
        if mode in ("page", "spend") and offset > 0:
            envelope["prevPage"] = cursor(max(0, offset - size))
        return envelope

    # -- objects -------------------------------------------------------------------------------------

    async def _create(self, call: Call) -> Reply:
        self.check_parents(call)
        record = self.resources.create(
            call.principal,
            call.route.collection,
            call.json_object(),
            parents=call.parents(),
            defaults=query_defaults(call),
        )
        return self.respond(call, record.data)

    async def _bulk_create(self, call: Call) -> Reply:
        self.check_parents(call)
        bodies = call.body if isinstance(call.body, list) else [call.body or {}]
        parents, defaults = call.parents(), query_defaults(call)
        created = [
            self.resources.create(call.principal, call.route.collection, body, parents=parents, defaults=defaults).data
            for body in bodies
        ]
        return self.answers.respond_many(call.op, created)

    async def _get(self, call: Call) -> Reply:
        _, record = self.require(call)
        return self.respond(call, record.data)

    async def _update(self, call: Call) -> Reply:
        collection, record = self.require(call)
        return self.respond(call, self.resources.update(call.principal, collection, record, call.json_object()))

    async def _replace(self, call: Call) -> Reply:
        route = call.route
        data = self.resources.replace_or_create(
            call.principal, route.collection, call.item_id or "", call.body,
            id_param=route.id_param, parents=call.parents(), family=call.op.family, defaults=query_defaults(call),
        )  # fmt: skip
        return self.respond(call, data)

    async def _archive(self, call: Call) -> Reply:
        collection, record = self.require(call)
        return self.respond(call, self.resources.set_archived(call.principal, collection, record, True))

    async def _restore(self, call: Call) -> Reply:
        collection, record = self.require(call)
        return self.respond(call, self.resources.set_archived(call.principal, collection, record, False))

    async def _delete(self, call: Call) -> Reply:
        collection, record = self.require(call)
        return self.respond(call, self.resources.delete(call.scope, collection, record))

    async def _upsert(self, call: Call) -> Reply:
        self.check_parents(call)
        route = call.route
        data = self.resources.upsert(
            call.principal, route.collection, call.item_id or "", call.json_object(),
            id_param=route.id_param, parents=call.parents(), defaults=query_defaults(call),
        )  # fmt: skip
        return self.respond(call, data)

    # -- singletons ----------------------------------------------------------------------------------

    async def _singleton_get(self, call: Call) -> Reply:
        self.check_parents(call)
        record = self.resources.singleton(call.scope, call.route.collection, call.parents())
        if record is not None:
            return self.respond(call, record.data)
        return self.answers.synthesize(call.op, overlay=call.parents())

    async def _singleton_put(self, call: Call) -> Reply:
        self.check_parents(call)
        data = self.resources.put_singleton(
            call.scope, call.route.collection, call.parents(), call.json_object(), merge=call.op.method == "PATCH"
        )
        return self.respond(call, data)

    async def _singleton_delete(self, call: Call) -> Reply:
        self.check_parents(call)
        return self.respond(call, self.resources.delete_singleton(call.scope, call.route.collection, call.parents()))

    # -- everything else -----------------------------------------------------------------------------

    async def _action(self, call: Call) -> Reply:
        self.check_parents(call)
        route = call.route
        overlay: dict[str, Any] = dict(call.parents())
        if route.item_collection and route.item_param:
            item_id = call.path_params.get(route.item_param, "")
            found = self.resources.find(call.scope, route.item_collection, item_id)
            if found is None and route.item_collection in self.catalog.creatable:
                raise not_found(f"{route.item_param} {item_id}")
            schema = call.op.response_schema()
            if found is not None and schema is not None and "id" in (self.tools.properties(schema) or {}):
                overlay.update(found[1].data)
        return self.answers.synthesize(call.op, overlay=overlay)
