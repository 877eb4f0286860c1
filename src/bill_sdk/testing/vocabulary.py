"""Which enum values the spec allows, and a record of the values FakeBill wanted but the spec lacks.

A value BILL sends but the spec's enum lacks is not sent (the response would violate the spec); the gap is
noted in :class:`SpecGaps` (``fake.spec_gaps``) so it shows up without breaking the run.
"""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.catalog import Catalog
from bill_sdk.testing.spec import SpecOperation


class SpecGaps(list[str]):
    """``fake.spec_gaps``: a list of notes, each kept once."""

    def note(self, text: str) -> None:
        if text not in self:
            self.append(text)


class Vocabulary:
    def __init__(self, catalog: Catalog, gaps: SpecGaps) -> None:
        self.catalog = catalog
        self.tools = catalog.tools
        self.gaps = gaps

    def _allowed(self, schema: Any, field: str) -> list[Any] | None:
        prop = self.tools.property_schema(schema, field) if schema is not None else None
        return self.tools.enum(prop) if prop is not None else None

    def enum_value(self, collection: str, field: str, *wanted: str) -> str | None:
        """The first of `wanted` the collection's schema allows for `field` (None, gap noted, if none)."""
        allowed = self._allowed(self.catalog.resource_schema(collection), field)
        if allowed is None:
            return wanted[0]
        for value in wanted:
            if value in allowed:
                return value
        self.gaps.note(f"{collection}.{field}: the spec's enum {allowed} lacks {wanted[0]!r}")
        return None

    def response_allows(self, op: SpecOperation, field: str, value: Any) -> bool:
        """Whether the response schema's enum for top-level `field` allows `value` (gap noted if not)."""
        if value is None:
            return True
        allowed = self._allowed(op.response_schema(), field)
        if allowed is None or value in allowed:
            return True
        self.gaps.note(f"{op.operation_id} response {field}: the spec's enum {allowed} lacks {value!r}")
        return False

    def item_value(self, op: SpecOperation, field: str, wanted: tuple[str, ...]) -> str | None:
        """The first of `wanted` an array response's items allow for `field` (gap noted if not the first)."""
        schema = op.response_schema()
        item = self.tools.items(schema) if schema is not None else None
        allowed = self._allowed(item, field) if item is not None else None
        if allowed is None:
            return wanted[0]
        if wanted[0] not in allowed:
            self.gaps.note(f"{op.operation_id} {field}: the spec's enum {allowed} lacks {wanted[0]!r}")
        return next((value for value in wanted if value in allowed), None)
