"""List searches: ``filters`` (``field:op:value``, comma = AND, quoted values), ``sort`` and page cursors.

Times (``createdTime``, ``updatedTime``, dates, any offset spelling) compare and sort as instants truncated to the
millisecond, BILL's precision: ``gte``/``lte`` include the bound, ``gt``/``lt`` do not, and a value finer than a
millisecond falls in its millisecond. A comparison on a ``...Time`` field whose value is no time is refused (400).

Cursors are opaque base64 (URL-safe) JSON holding the offset, page size, filters and sort, so a client that
passes back only ``page`` (Connect, forward) or ``nextPage``/``prevPage`` (Spend) gets the same search.

The filter syntax is read here independently of :mod:`bill_sdk._filters` (which writes it) on purpose: what the
SDK sends is checked against a second reading of BILL's rules, not against itself.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bill_sdk.testing.bdc import ErrorReply, invalid_value
from bill_sdk.testing.schemas import parse_time

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "sw")
DEFAULT_MAX = 20
MAX_MAX = 100


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[str, ...]

    def matches(self, obj: dict[str, Any]) -> bool:
        actual = _dig(obj, self.field)
        if actual is None:
            nulls = [v.lower() == "null" for v in self.values]
            return {"eq": nulls[0], "ne": not nulls[0], "in": any(nulls), "nin": not any(nulls)}.get(self.op, False)
        if self.op in ("in", "nin"):
            hit = any(_compare(actual, v) == 0 for v in self.values)
            return hit if self.op == "in" else not hit
        target = self.values[0]
        if self.op == "sw":
            return isinstance(actual, str) and actual.lower().startswith(target.lower())
        order = _compare(actual, target)
        if self.op == "eq":
            return order == 0
        if self.op == "ne":
            return order != 0
        if order is None:
            return False
        return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[self.op]


def _split(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise ValueError("unbalanced quote")
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_filters(text: str | None, known_fields: Callable[[str], bool]) -> list[Condition]:
    if not text:
        return []
    try:
        clauses = _split(text)
    except ValueError:
        raise invalid_value("filters", text) from None
    out = []
    for clause in clauses:
        pieces = clause.split(":", 2)
        if len(pieces) != 3 or not pieces[0].strip():
            raise invalid_value("filters", clause)
        field, op, raw = pieces[0].strip(), pieces[1].strip().lower(), pieces[2]
        if op not in OPERATORS:
            raise ErrorReply(400, "BDC_1131", f"Invalid list filter operator: {pieces[1]}")
        if not known_fields(field):
            raise ErrorReply(400, "BDC_1130", f"Invalid list filter field: {field}")
        if field.endswith("Time") and op in ("gt", "gte", "lt", "lte") and instant_ms(_unquote(raw)) is None:
            raise invalid_value("filters", clause)
        values = tuple(_unquote(v) for v in _split(_unquote(raw))) if op in ("in", "nin") else (_unquote(raw),)
        out.append(Condition(field, op, values))
    return out


def parse_sort(text: str | None, known_fields: Callable[[str], bool]) -> list[tuple[str, bool]]:
    """``field:asc,field:desc`` -> [(field, descending)]."""
    if not text:
        return []
    out = []
    for clause in text.split(","):
        field, _, order = clause.partition(":")
        order = (order or "asc").strip().lower()
        if not field.strip() or order not in ("asc", "desc"):
            raise invalid_value("sort", clause)
        if not known_fields(field.strip()):
            raise ErrorReply(400, "BDC_1130", f"Invalid list filter field: {field.strip()}")
        out.append((field.strip(), order == "desc"))
    return out


def apply(
    items: Iterable[dict[str, Any]], conditions: Sequence[Condition], sort: Sequence[tuple[str, bool]]
) -> list[dict[str, Any]]:
    out = [obj for obj in items if all(c.matches(obj) for c in conditions)]
    for field, descending in reversed(sort):
        present = [o for o in out if _dig(o, field) is not None]
        absent = [o for o in out if _dig(o, field) is None]
        present.sort(key=functools.partial(_field_key, field), reverse=descending)
        out = present + absent  # missing values last either way
    return out


def first(items: Iterable[dict[str, Any]], conditions: Sequence[Condition], limit: int) -> list[dict[str, Any]]:
    """The first `limit` objects (stored order) that every condition accepts; `items` is read only that far."""
    if not conditions:
        return list(itertools.islice(items, limit))
    found: list[dict[str, Any]] = []
    for obj in items:
        if all(c.matches(obj) for c in conditions):
            found.append(obj)
            if len(found) >= limit:
                break
    return found


# -- a time index for big collections -----------------------------------------------------------------


@dataclass
class TimeIndex:
    """The positions of one collection's items ordered by one time field, kept while the items' values of that
    field stay the same (checked on every use: tests change live dicts). The order depends on those values alone
    (ties keep stored order), so it applies to the current items whenever their values match. Lets a sync of
    100,000 records page through ``field gte x, field lte y, sort field:asc`` without filtering and sorting
    everything per page."""

    values: list[Any]
    order: list[int]  # positions in the items, by (instant, position)
    instants: list[int]  # the instants of `order`


RANGE_OPS = ("gt", "gte", "lt", "lte")


def indexed_search(
    cache: dict[Any, TimeIndex],
    key: Any,
    values_of: Callable[[str], list[Any]],
    item_at: Callable[[int], dict[str, Any]],
    conditions: Sequence[Condition],
    sort: Sequence[tuple[str, bool]],
    keep: Callable[[dict[str, Any]], bool],
    limit: int,
) -> list[dict[str, Any]] | None:
    """The first `limit` objects of :func:`apply` (after `keep`) for a search sorted ascending by one time field it
    also bounds, from a :class:`TimeIndex`; None when the search is not of that shape (use :func:`apply`).
    `values_of(field)` lists the field's value of every item in stored order, `item_at(position)` is one item."""
    if len(sort) != 1 or sort[0][1] or "." in sort[0][0]:
        return None
    name = sort[0][0]
    bounds = [c for c in conditions if c.field == name and c.op in RANGE_OPS]
    maybe_targets = [instant_ms(c.values[0]) for c in bounds]
    targets = [t for t in maybe_targets if t is not None]
    if not bounds or len(targets) != len(bounds):
        return None
    values = values_of(name)
    index = cache.get(key)
    if index is None or index.values != values:
        maybe = [instant_ms(v) if isinstance(v, str) else None for v in values]
        instants = [m for m in maybe if m is not None]
        if len(instants) != len(values):
            return None  # a value that is no time: apply()'s ordering rules
        order = sorted(range(len(values)), key=lambda i: instants[i])  # stable: ties keep insertion order
        index = cache[key] = TimeIndex(values, order, [instants[i] for i in order])
    low, high = 0, len(index.order)
    for condition, target in zip(bounds, targets, strict=True):
        if condition.op == "gte":
            low = max(low, bisect.bisect_left(index.instants, target))
        elif condition.op == "gt":
            low = max(low, bisect.bisect_right(index.instants, target))
        elif condition.op == "lte":
            high = min(high, bisect.bisect_right(index.instants, target))
        else:
            high = min(high, bisect.bisect_left(index.instants, target))
    rest = [c for c in conditions if c not in bounds]
    found: list[dict[str, Any]] = []
    for position in itertools.islice(index.order, low, high):
        obj = item_at(position)
        if keep(obj) and all(c.matches(obj) for c in rest):
            found.append(obj)
            if len(found) >= limit:
                break
    return found


# -- cursors -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    offset: int
    max: int
    filters: str | None
    sort: str | None
    collection: str

    def encode(self) -> str:
        raw = json.dumps(
            {"o": self.offset, "m": self.max, "f": self.filters, "s": self.sort, "c": self.collection},
            separators=(",", ":"),
        ).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, collection: str, param: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            cursor = cls(int(raw["o"]), int(raw["m"]), raw.get("f"), raw.get("s"), str(raw["c"]))
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise invalid_value(param, token) from None
        if cursor.collection != collection or cursor.offset < 0:
            raise invalid_value(param, token)
        return cursor


def check_max(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_MAX
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid_value("max", value) from None
    if not 1 <= number <= MAX_MAX:
        raise invalid_value("max", value)
    return number


# -- comparisons -------------------------------------------------------------------------------------


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _compare(actual: Any, target: str) -> int | None:
    """Compare a stored value with a filter string, in the stored value's type; None if incomparable."""
    if isinstance(actual, bool):
        wanted = target.strip().lower()
        if wanted not in ("true", "false"):
            return None
        return (actual > (wanted == "true")) - (actual < (wanted == "true"))
    if isinstance(actual, int | float | Decimal):
        try:
            number = Decimal(target)
        except InvalidOperation:
            return None
        return (Decimal(str(actual)) > number) - (Decimal(str(actual)) < number)
    if isinstance(actual, str):
        left, right = instant_ms(actual), instant_ms(target)
        if left is not None and right is not None:
            return (left > right) - (left < right)
        return (actual > target) - (actual < target)
    text = json.dumps(actual, default=str)
    return (text > target) - (text < target)


def _field_key(field: str, obj: dict[str, Any]) -> tuple[int, Any]:
    return _sort_key(_dig(obj, field))


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float | Decimal):
        return (1, Decimal(str(value)))
    if isinstance(value, str):
        moment = instant_ms(value)
        return (2, moment) if moment is not None else (3, value)
    return (4, json.dumps(value, default=str))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@functools.lru_cache(maxsize=1 << 18)
def instant_ms(value: str) -> int | None:
    """Milliseconds since the epoch of a BILL date or date-time (any offset; naive = UTC), or None."""
    moment = parse_time(value)
    return None if moment is None else (moment - _EPOCH) // _MS
