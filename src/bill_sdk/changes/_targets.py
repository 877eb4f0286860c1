"""Which resources can be synced, and how: read from the bundled spec's list operations, not hand-listed.

A list operation (``x-sdk-method: list`` with ``x-pagination``) that declares ``x-sync-cursor`` syncs on that
field: ``x-sync-cursor: updatedTime`` (BILL filters it with ``gte``/``lte`` and sorts on it) or
``x-sync-cursor: {field: updatedTime, sortable: false}`` (filterable, not sortable: Spend transactions). Every other
paged list syncs by a full scan with a per-record content hash. The resource name is the client's attribute path:
``bills``, ``recurring_bills``, ``spend.transactions``, ``partner.users``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from dataclasses import dataclass
from typing import Any

FAMILY_PREFIXES = ("partner", "events", "spend")


@dataclass(frozen=True)
class SyncTarget:
    """One syncable resource: where its list lives and how it is synced."""

    name: str  # "bills", "spend.transactions"
    attribute_path: tuple[str, ...]  # ("spend", "transactions") on AsyncBill
    operation_id: str
    cursor_field: str | None  # "updatedTime"; None: full scan
    sortable: bool  # BILL sorts by the cursor field
    has_archived: bool  # the item schema has `archived` (read archived and live records separately)
    page_limit: int  # the largest `max` BILL accepts

    @property
    def mode(self) -> str:
        return "cursor" if self.cursor_field else "scan"

    @property
    def cursor_attribute(self) -> str | None:
        return None if self.cursor_field is None else snake(self.cursor_field)


def snake(name: str) -> str:
    """``updatedTime`` -> ``updated_time`` (the generated models' attribute names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def targets() -> dict[str, SyncTarget]:
    """Every paged ``list`` operation of the bundled spec, by resource name."""
    resource = importlib.resources.files("bill_sdk") / "_spec" / "bill-v3.json"
    doc = json.loads(resource.read_text(encoding="utf-8"))
    found: dict[str, SyncTarget] = {}
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or op.get("x-sdk-method") != "list" or "x-pagination" not in op:
                continue
            path = _attribute_path(str(op["tags"][0]))
            cursor = op.get("x-sync-cursor")
            field = cursor.get("field") if isinstance(cursor, dict) else cursor
            sortable = bool(cursor.get("sortable", True)) if isinstance(cursor, dict) else True
            item_schema = _item_schema(doc, op)
            properties = _properties(doc, item_schema)
            if field is not None and field not in properties:
                raise ValueError(f"{op['operationId']}: x-sync-cursor {field!r} is not a field of its items")
            name = ".".join(path)
            found[name] = SyncTarget(
                name=name,
                attribute_path=path,
                operation_id=str(op["operationId"]),
                cursor_field=field,
                sortable=sortable,
                has_archived="archived" in properties,
                page_limit=_page_limit(doc, op),
            )
    return found


def target(name: str) -> SyncTarget:
    from bill_sdk.errors import ArgumentError

    found = targets().get(name.replace("/", ".").replace("-", "_"))
    if found is None:
        known = ", ".join(sorted(targets()))
        raise ArgumentError(f"no list operation to sync for {name!r}; known resources: {known}")
    return found


def _attribute_path(tag: str) -> tuple[str, ...]:
    name = tag.replace("-", "_")
    for family in FAMILY_PREFIXES:
        if name.startswith(family + "_"):
            return family, name[len(family) + 1 :]
    return (name,)


def _deref(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _properties(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = _deref(doc, schema)
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props.update(_properties(doc, part))
    return props


def _item_schema(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    for status, response in op["responses"].items():
        if status.startswith("2"):
            page = response["content"]["application/json"]["schema"]
            return dict(_properties(doc, page)["results"]["items"])
    raise ValueError(f"{op['operationId']}: a paged list without a 2xx page schema")


def _page_limit(doc: dict[str, Any], op: dict[str, Any]) -> int:
    for param in op.get("parameters", []):
        if "$ref" in param:
            param = doc["components"]["parameters"][param["$ref"].split("/")[-1]]
        if param.get("name") == "max" and param.get("in") == "query":
            return int(param.get("schema", {}).get("maximum", 100))
    return 100
