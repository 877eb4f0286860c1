"""Shaping answers: project data onto an operation's response schema, so only declared fields leave FakeBill."""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.reply import Reply
from bill_sdk.testing.schemas import SchemaTools
from bill_sdk.testing.spec import SpecOperation


class Answers:
    def __init__(self, tools: SchemaTools) -> None:
        self.tools = tools

    def respond(self, op: SpecOperation, data: Any, status: int | None = None) -> Reply:
        """Shape `data` by the operation's response schema for `status` (default: its success status)."""
        status = status or op.success_status
        key = op.response_key(status)
        if key is None or op.response_pointer(key) is None:
            return Reply(status)
        schema = op.response_schema(status)
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

    def synthesize(self, op: SpecOperation, overlay: dict[str, Any] | None = None) -> Reply:
        """A value synthesized from the response schema, with `overlay`'s declared fields on top."""
        status = op.success_status
        key = op.response_key(status)
        if key is None or op.response_pointer(key) is None:
            return Reply(status)
        schema = op.response_schema(status)
        value = self.tools.synthesize(schema)
        if isinstance(value, dict) and overlay:
            value.update(self.tools.shape(overlay, schema))
        return Reply(status, value)

    def respond_many(self, op: SpecOperation, created: list[dict[str, Any]]) -> Reply:
        """Answer a bulk call: an array, or an object wrapping an array of itself (``Vendor.vendors``)."""
        schema = op.response_schema()
        if schema is None:
            return Reply(op.success_status)
        types = self.tools.types(schema)
        if "array" in types and "object" not in types:
            return self.respond(op, created)
        # An object schema wraps the created objects in an array property: one of itself (`Vendor.vendors`),
        # else its only array of objects (`BulkPaymentResult.payments`).
        resolved = self.tools.resolve(schema)
        arrays = []
        for name, prop in (self.tools.properties(schema) or {}).items():
            items = self.tools.items(prop)
            if items is not None and self.tools.resolve(items) is resolved:
                return self.respond(op, {name: created})
            if items is not None and "object" in self.tools.types(items):
                arrays.append(name)
        if len(arrays) == 1:
            return self.respond(op, {arrays[0]: created})
        if len(created) == 1:
            return self.respond(op, created[0])
        return Reply(op.success_status, [self.tools.shape(d, schema) for d in created])
