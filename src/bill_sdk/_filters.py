"""Builders for the ``filters`` and ``sort`` query parameters of BILL list calls.

BILL's syntax (search operations guide):

* ``filters={field}:{op}:{value},{field}:{op}:{value}`` — a comma means AND;
  operators ``eq ne gt gte lt lte in nin sw``; values containing a comma or a
  date-time are wrapped in double quotes (``currency:in:"USD,CAD"``,
  ``createdTime:gte:"2025-09-01T00:00:00.000Z"``);
* ``sort={field}:{asc|desc},...`` applied left to right.

BILL has no escape for a double quote inside a value, so such values are
refused here rather than silently producing a different filter.

Which fields and operators a list accepts is per operation: the spec lists them
(``x-filterable``: field -> operators, ``x-sortable``: fields) where BILL's docs
do, and the generated list/iter/pages methods call :func:`check_filters` and
:func:`check_sort` before sending, so ``where("nmae")`` fails with an
:class:`ArgumentError` naming the valid fields instead of BILL's 400. Raw
strings are parsed and checked the same way. An operation BILL documents no
field list for has no extension, and nothing is checked there.

:class:`Filter` and :class:`Sort` are ``str`` subclasses: anything that takes a
filter string takes a built one, and hand-written strings keep working::

    where("name").sw("Acme") & where("createdTime").gte(datetime(2025, 9, 1, tzinfo=UTC))
    sort_by(desc("createdTime"), asc("name"))
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import attrs

from bill_sdk.errors import ArgumentError

__all__ = ["FieldRef", "Filter", "Sort", "all_of", "asc", "check_filters", "check_sort", "desc", "sort_by", "where"]

# Plain and nested field names (``address.city``); anything else would break
# the ``field:op:value`` syntax or smuggle a second clause in.
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")

FilterValue = str | bool | int | float | Decimal | date | Enum


class Filter(str):
    """A BILL ``filters`` expression; combine with ``&`` (BILL's comma, logical AND)."""

    __slots__ = ()

    def __and__(self, other: str) -> Filter:
        if not isinstance(other, str):
            return NotImplemented
        return all_of(self, other)

    def __rand__(self, other: str) -> Filter:
        if not isinstance(other, str):
            return NotImplemented
        return all_of(other, self)

    def __repr__(self) -> str:
        return f"Filter({str.__repr__(self)})"


class Sort(str):
    """A BILL ``sort`` expression; combine with ``&`` (applied left to right)."""

    __slots__ = ()

    def __and__(self, other: str) -> Sort:
        if not isinstance(other, str):
            return NotImplemented
        return sort_by(self, other)

    def __rand__(self, other: str) -> Sort:
        if not isinstance(other, str):
            return NotImplemented
        return sort_by(other, self)

    def __repr__(self) -> str:
        return f"Sort({str.__repr__(self)})"


@attrs.frozen
class FieldRef:
    """A field of a BILL list, ready to be compared; made by :func:`where`."""

    name: str = attrs.field()

    @name.validator
    def _check_name(self, _attribute: attrs.Attribute[str], value: str) -> None:
        _check_field(value)

    def eq(self, value: FilterValue) -> Filter:
        """Field equals ``value``."""
        return self._clause("eq", _format_value(value))

    def ne(self, value: FilterValue) -> Filter:
        """Field differs from ``value``."""
        return self._clause("ne", _format_value(value))

    def gt(self, value: FilterValue) -> Filter:
        """Field is greater than ``value``."""
        return self._clause("gt", _format_value(value))

    def gte(self, value: FilterValue) -> Filter:
        """Field is greater than or equal to ``value``."""
        return self._clause("gte", _format_value(value))

    def lt(self, value: FilterValue) -> Filter:
        """Field is less than ``value``."""
        return self._clause("lt", _format_value(value))

    def lte(self, value: FilterValue) -> Filter:
        """Field is less than or equal to ``value``."""
        return self._clause("lte", _format_value(value))

    def sw(self, value: FilterValue) -> Filter:
        """Field starts with ``value``."""
        return self._clause("sw", _format_value(value))

    def in_(self, values: Iterable[FilterValue]) -> Filter:
        """Field is one of ``values``."""
        return self._clause("in", _format_list(values))

    def nin(self, values: Iterable[FilterValue]) -> Filter:
        """Field is none of ``values``."""
        return self._clause("nin", _format_list(values))

    def _clause(self, op: str, value: str) -> Filter:
        return Filter(f"{self.name}:{op}:{value}")


def where(field: str) -> FieldRef:
    """Start a filter clause on ``field`` (e.g. ``where("name").eq("Acme")``)."""
    return FieldRef(field)


def all_of(*filters: str) -> Filter:
    """Join filter expressions (built or raw strings) with AND."""
    parts = [f for f in filters if f]
    if not parts:
        raise ArgumentError("all_of() needs at least one non-empty filter")
    return Filter(",".join(parts))


def asc(field: str) -> Sort:
    """Sort by ``field``, smallest first."""
    return Sort(f"{_check_field(field)}:asc")


def desc(field: str) -> Sort:
    """Sort by ``field``, largest first."""
    return Sort(f"{_check_field(field)}:desc")


def sort_by(*sorts: str) -> Sort:
    """Join sort expressions (built or raw strings); BILL applies them left to right."""
    parts = [s for s in sorts if s]
    if not parts:
        raise ArgumentError("sort_by() needs at least one non-empty sort")
    return Sort(",".join(parts))


def _check_field(field: str) -> str:
    if not isinstance(field, str) or not _FIELD_NAME.fullmatch(field):
        raise ArgumentError(f"invalid field name {field!r}: use letters, digits, underscores and dots only")
    return field


def _format_value(value: object) -> str:
    text, needs_quotes = _render(value)
    return f'"{text}"' if needs_quotes or "," in text or ":" in text or not text else text


def _format_list(values: Iterable[FilterValue]) -> str:
    # A bare string is iterable too; treating "USD" as ["U", "S", "D"] would be a silent bug.
    if isinstance(values, (str, bytes)):
        raise ArgumentError("in_()/nin() take a list of values, not a single string")
    rendered = [_render(v)[0] for v in values]
    if not rendered:
        raise ArgumentError("in_()/nin() need at least one value")
    for text in rendered:
        if "," in text:
            raise ArgumentError(f"list value {text!r} contains a comma, which BILL cannot tell from the separator")
    return '"' + ",".join(rendered) + '"'


def _render(value: object) -> tuple[str, bool]:
    """Return the text of one value and whether BILL needs it quoted."""
    if isinstance(value, Enum):
        return _render(value.value)
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, int):
        return str(value), False
    if isinstance(value, (float, Decimal)):
        return _render_number(value), False
    if isinstance(value, datetime):
        return _render_datetime(value), True
    if isinstance(value, date):
        return value.isoformat(), False
    if isinstance(value, str):
        if '"' in value:
            raise ArgumentError(f"filter value {value!r} contains a double quote, which BILL cannot escape")
        return value, False
    raise ArgumentError(f"unsupported filter value type {type(value).__name__}")


def _render_number(value: float | Decimal) -> str:
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if not number.is_finite():
        raise ArgumentError(f"filter value {value!r} is not a finite number")
    # Fixed-point: BILL does not read exponents such as 1E+2.
    return format(number, "f")


def _render_datetime(value: datetime) -> str:
    # BILL reads yyyy-MM-dd'T'HH:mm:ss.SSSX; a naive datetime would be guessed
    # as some time zone, so it is refused rather than shifted silently.
    if value.utcoffset() is None:
        raise ArgumentError("naive datetime in a filter: give it a time zone (e.g. tzinfo=datetime.UTC)")
    utc = value.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- per-operation field checks

# One clause of a filter: field, operator, then the value (which may itself contain ':' when quoted).
_CLAUSE = re.compile(r"([^:]*):([^:]*):(.*)", re.DOTALL)


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside double quotes (BILL quotes values that contain a comma; a quote left open runs to
    the end). Between quotes, every other piece of ``text.split('"')`` is outside them: only those are split on
    commas (no loop per character: this runs for every list request that has filters)."""
    parts = [""]
    for index, piece in enumerate(text.split('"')):
        if index:
            parts[-1] += '"'
        if index % 2:  # inside quotes
            parts[-1] += piece
        else:
            first, *rest = piece.split(",")
            parts[-1] += first
            parts += rest
    return parts


def check_filters(operation: str, filters: str, allowed: Mapping[str, Collection[str]]) -> None:
    """Refuse a ``filters`` expression (built or raw) that uses a field or operator ``operation`` does not take.

    ``allowed`` maps each filterable field to its operators (the spec's ``x-filterable``).
    """
    for clause in _split_top_level(str(filters)):
        match = _CLAUSE.fullmatch(clause.strip())
        if match is None:
            raise ArgumentError(f"{operation}: filter clause {clause!r} is not field:op:value")
        field, op = match.group(1), match.group(2)
        if field not in allowed:
            raise ArgumentError(
                f"{operation} cannot filter on {field!r}; filterable fields: {', '.join(sorted(allowed))}"
            )
        if op not in allowed[field]:
            raise ArgumentError(
                f"{operation} cannot filter {field!r} with {op!r}; operators for {field}: {', '.join(allowed[field])}"
            )


def check_sort(operation: str, sort: str, allowed: Collection[str], max_fields: int | None = None) -> None:
    """Refuse a ``sort`` expression (built or raw) on a field ``operation`` cannot sort by (the spec's ``x-sortable``),
    or with more fields than it takes (``x-sort-max-fields``: Spend lists sort by one field)."""
    clauses = str(sort).split(",")
    if max_fields is not None and len(clauses) > max_fields:
        raise ArgumentError(f"{operation} sorts by at most {max_fields} field(s), got {len(clauses)}: {sort!r}")
    for clause in clauses:
        field, _, direction = clause.strip().partition(":")
        if field not in allowed:
            raise ArgumentError(f"{operation} cannot sort by {field!r}; sortable fields: {', '.join(sorted(allowed))}")
        if direction not in ("asc", "desc"):
            raise ArgumentError(f"{operation}: sort {clause!r} needs a direction, asc or desc (field:asc)")
