"""Reading JSON Schemas of the spec: projecting a value onto a schema, synthesizing a value.

``$ref`` resolution and ``allOf`` merging are the spec toolkit's (:mod:`bill_sdk._spec`), shared with codegen.

* :meth:`SchemaTools.shape` keeps only what a response schema declares (BILL never sends fields its schema
  lacks), recursing through objects and arrays. Values are never converted: a type mismatch stays visible to
  response validation.
* :meth:`SchemaTools.synthesize` builds a schema-valid value for operations the generic handlers cannot serve.
"""

from __future__ import annotations

import copy
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bill_sdk._spec import property_schema, resolve_schema, schema_branches, schema_parts, schema_properties
from bill_sdk.testing.bdc import timestamp

_NUMERIC_TYPES = ("number", "integer")


@dataclass
class _Plan:
    """What :meth:`SchemaTools.shape` needs to know about one schema, worked out once (the spec does not change
    while a FakeBill runs; a list page shapes every field of 100 records through the same few schemas)."""

    schema: Any  # kept so that its id() is not reused while the plan is cached
    opaque: bool  # not a dict once resolved: values pass through as copies
    branches: list[Any]
    props: dict[str, Any] | None
    extra: Any
    items: Any
    nullable: dict[str, bool] = field(default_factory=dict)


class SchemaTools:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self._plans: dict[int, _Plan] = {}

    # -- resolution (bill_sdk._spec) ------------------------------------------------------------------

    def resolve(self, schema: Any) -> Any:
        return resolve_schema(self.doc, schema)

    def _parts(self, schema: Any) -> list[dict[str, Any]]:
        """The schema and every `allOf` part, resolved, flattened."""
        return schema_parts(self.doc, schema)

    def properties(self, schema: Any) -> dict[str, Any] | None:
        """Declared properties (merged over `allOf`), or None if no part declares any (an open object)."""
        return schema_properties(self.doc, schema)

    def required(self, schema: Any) -> set[str]:
        out: set[str] = set()
        for part in self._parts(schema):
            out.update(part.get("required") or [])
        return out

    def types(self, schema: Any) -> set[str]:
        out: set[str] = set()
        for part in self._parts(schema):
            t = part.get("type")
            if isinstance(t, str):
                out.add(t)
            elif isinstance(t, list):
                out.update(t)
            if "properties" in part:
                out.add("object")
            if "items" in part:
                out.add("array")
        return out

    def items(self, schema: Any) -> Any:
        for part in self._parts(schema):
            if "items" in part:
                return part["items"]
        return None

    def branches(self, schema: Any) -> list[Any]:
        return schema_branches(self.doc, schema)

    def property_schema(self, schema: Any, name: str) -> Any:
        return property_schema(self.doc, schema, name)

    def enum(self, schema: Any) -> list[Any] | None:
        """Allowed values of an enum schema (looking through `anyOf [enum, null]`), or None if not an enum."""
        for part in self._parts(schema):
            if "enum" in part:
                return list(part["enum"])
            if "const" in part:
                return [part["const"]]
        values: list[Any] = []
        found = False
        for branch in self.branches(schema):
            sub = self.enum(branch)
            if sub is not None:
                found = True
                values.extend(sub)
            elif "null" in self.types(branch):
                values.append(None)
        return values if found else None

    def allows_null(self, schema: Any) -> bool:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return True
        branches = self.branches(schema)
        if branches and not self.types(schema):
            return any(self.allows_null(branch) for branch in branches)
        return self.matches_type(None, schema)

    def matches_type(self, value: Any, schema: Any) -> bool:
        types = self.types(schema)
        if not types:
            return True
        if value is None:
            return "null" in types
        if isinstance(value, bool):
            return "boolean" in types
        if isinstance(value, int):
            return bool(types & {"integer", "number"})
        if isinstance(value, float | Decimal):
            return "number" in types
        if isinstance(value, str):
            return "string" in types
        if isinstance(value, list):
            return "array" in types
        if isinstance(value, dict):
            return "object" in types
        return False

    # -- shaping -------------------------------------------------------------------------------------

    def shape(self, value: Any, schema: Any) -> Any:
        """Project `value` onto `schema`: drop undeclared object fields, recurse into objects and arrays."""
        if schema is None or value is None:
            return copy.deepcopy(value)
        plan = self._plans.get(id(schema))
        if plan is None or plan.schema is not schema:
            plan = self._plans[id(schema)] = self._plan(schema)
        if plan.opaque:
            return copy.deepcopy(value)
        if plan.branches and not plan.props:
            fitting = [b for b in plan.branches if self.matches_type(value, b)] or plan.branches
            return self.shape(value, fitting[0])
        if isinstance(value, dict):
            props = plan.props
            if props is None:
                return copy.deepcopy(value)
            extra = plan.extra
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key in props:
                    if item is None:
                        nullable = plan.nullable.get(key)
                        if nullable is None:
                            nullable = plan.nullable[key] = self.allows_null(props[key])
                        if not nullable:
                            continue  # a request may send null (e.g. "use the default"); the answer leaves it out
                    out[key] = self.shape(item, props[key])
                elif isinstance(extra, dict):
                    out[key] = self.shape(item, extra)
                elif extra is True:
                    out[key] = copy.deepcopy(item)
            return out
        if isinstance(value, list):
            item_schema = plan.items
            return [self.shape(v, item_schema) for v in value]
        return value

    def _plan(self, schema: Any) -> _Plan:
        resolved = self.resolve(schema)
        if not isinstance(resolved, dict):
            return _Plan(schema, True, [], None, None, None)
        props = self.properties(resolved)
        extra = next((p["additionalProperties"] for p in self._parts(resolved) if "additionalProperties" in p), None)
        return _Plan(schema, False, self.branches(resolved), props, extra, self.items(resolved))

    # -- synthesis -----------------------------------------------------------------------------------

    def synthesize(
        self,
        schema: Any,
        name: str | None = None,
        *,
        depth: int = 0,
        required_only: bool = False,
        _stack: tuple[str, ...] = (),
    ) -> Any:
        """A small value valid for `schema`: every property at the top two levels, only required ones deeper
        (only required ones at all with `required_only`)."""
        if isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in _stack:
                return _RECURSION
            _stack = (*_stack, ref)
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or schema is True:
            return None
        for part in self._parts(schema):
            if "const" in part:
                return copy.deepcopy(part["const"])
            if part.get("enum"):
                return copy.deepcopy(part["enum"][0])
            if "default" in part:
                return copy.deepcopy(part["default"])
        branches = self.branches(schema)
        if branches and not self.properties(schema):
            usable = [b for b in branches if self.types(b) != {"null"}] or branches
            return self.synthesize(usable[0], name, depth=depth, required_only=required_only, _stack=_stack)
        types = self.types(schema) - {"null"}
        kind = next((t for t in ("object", "array", "string", "integer", "number", "boolean") if t in types), None)
        if kind is None:
            return None if "null" in self.types(schema) else {}
        if kind == "object":
            out: dict[str, Any] = {}
            required = self.required(schema)
            for prop, prop_schema in (self.properties(schema) or {}).items():
                if (depth >= 2 or required_only) and prop not in required:
                    continue
                value = self.synthesize(prop_schema, prop, depth=depth + 1, required_only=required_only, _stack=_stack)
                if value is _RECURSION:
                    if prop in required:
                        out[prop] = {}
                    continue
                out[prop] = value
            return out
        if kind == "array":
            minimum = next((p.get("minItems", 0) for p in self._parts(schema) if "minItems" in p), 0)
            if not minimum:
                return []
            item = self.synthesize(
                self.items(schema), name, depth=depth + 1, required_only=required_only, _stack=_stack
            )
            return [item] * minimum
        if kind == "boolean":
            return False
        if kind in _NUMERIC_TYPES:
            low = next((p["minimum"] for p in self._parts(schema) if "minimum" in p), 0)
            return max(int(low) if kind == "integer" else low, 0)
        fmt = next((p["format"] for p in self._parts(schema) if "format" in p), None)
        return _fake_string(name, fmt, schema)


class _Recursion:
    pass


_RECURSION = _Recursion()


def _fake_string(name: str | None, fmt: str | None, schema: dict[str, Any]) -> str:
    if fmt == "date-time":
        return timestamp()
    if fmt == "date":
        return date.today().isoformat()
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "email":
        return "fake@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/fake"
    if name and (name == "id" or name.endswith("Id")):
        return "fake" + "".join(random.choices("0123456789ABCDEF", k=12))
    pattern = schema.get("pattern")
    if pattern:
        for candidate in ("0", "1", "0.00", "fake", "A", "a1", "00000000"):
            if re.search(pattern, candidate):
                return candidate
    text = f"fake-{name}" if name else "fake"
    min_len = schema.get("minLength", 0)
    max_len = schema.get("maxLength")
    if len(text) < min_len:
        text = text.ljust(min_len, "x")
    if max_len is not None:
        text = text[:max_len]
    return text


def now_iso() -> str:
    return timestamp()


def parse_time(value: Any) -> datetime | None:
    """Parse BILL's date or date-time spellings (``...Z``, ``...+00:00``, ``yyyy-MM-dd``); naive means UTC."""
    if not isinstance(value, str) or len(value) < 10 or not value[:4].isdigit() or value[4] != "-":
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
