"""Behaviour of the filters/sort builders: they produce BILL's list-search syntax."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bill_sdk._filters import (
    FieldRef,
    Filter,
    Sort,
    all_of,
    asc,
    desc,
    sort_by,
    where,
)
from bill_sdk.errors import ArgumentError


class AccountType(Enum):
    BUSINESS = "BUSINESS"
    PERSON = "PERSON"


class Priority(IntEnum):
    HIGH = 1


# --------------------------------------------------------------------------- values


def test_plain_string_is_not_quoted() -> None:
    assert where("name").eq("Acme") == "name:eq:Acme"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Acme, Inc.", 'name:eq:"Acme, Inc."'),
        ("a:b", 'name:eq:"a:b"'),
        ("", 'name:eq:""'),
    ],
)
def test_strings_with_comma_or_colon_are_double_quoted(value: str, expected: str) -> None:
    assert where("name").eq(value) == expected


def test_string_with_double_quote_is_refused_because_bill_cannot_escape_it() -> None:
    with pytest.raises(ArgumentError, match="double quote"):
        where("name").eq('say "hi"')


@pytest.mark.parametrize(("value", "text"), [(True, "true"), (False, "false")])
def test_booleans_are_lowercase_words(value: bool, text: str) -> None:
    assert where("archived").eq(value) == f"archived:eq:{text}"


def test_integers_are_digits() -> None:
    assert where("amount").gte(-42) == "amount:gte:-42"


def test_decimals_are_written_without_exponent() -> None:
    assert where("amount").gt(Decimal("1E+2")) == "amount:gt:100"
    assert where("amount").lt(Decimal("12.50")) == "amount:lt:12.50"


def test_floats_use_their_shortest_exact_text() -> None:
    assert where("amount").gt(0.1) == "amount:gt:0.1"


@pytest.mark.parametrize("value", [Decimal("NaN"), float("inf"), float("nan")])
def test_non_finite_numbers_are_refused(value: float | Decimal) -> None:
    with pytest.raises(ArgumentError, match="finite"):
        where("amount").eq(value)


def test_aware_datetime_is_quoted_utc_with_milliseconds() -> None:
    local = datetime(2025, 9, 1, 2, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert where("createdTime").gte(local) == 'createdTime:gte:"2025-09-01T00:30:15.123Z"'


def test_utc_datetime_without_fraction_gets_three_zero_digits() -> None:
    value = datetime(2025, 10, 1, tzinfo=UTC)
    assert where("createdTime").lt(value) == 'createdTime:lt:"2025-10-01T00:00:00.000Z"'


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ArgumentError, match="naive datetime"):
        where("createdTime").gte(datetime(2025, 9, 1))


def test_date_is_iso_day() -> None:
    assert where("dueDate").lte(date(2025, 9, 30)) == "dueDate:lte:2025-09-30"


def test_enum_members_are_written_as_their_value() -> None:
    assert where("accountType").eq(AccountType.BUSINESS) == "accountType:eq:BUSINESS"
    assert where("priority").eq(Priority.HIGH) == "priority:eq:1"


@pytest.mark.parametrize("value", [None, [1, 2], object()])
def test_unsupported_value_types_are_refused(value: object) -> None:
    with pytest.raises(ArgumentError):
        where("name").eq(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "gte", "lt", "lte", "sw"])
def test_single_value_operators_use_bill_names(op: str) -> None:
    assert getattr(where("name"), op)("A") == f"name:{op}:A"


def test_in_writes_one_quoted_comma_list() -> None:
    assert where("invoiceCurrency").in_(["USD", "CAD"]) == 'invoiceCurrency:in:"USD,CAD"'


def test_nin_accepts_any_iterable_and_enums() -> None:
    values = (t for t in AccountType)
    assert where("accountType").nin(values) == 'accountType:nin:"BUSINESS,PERSON"'


def test_in_with_datetimes_keeps_them_inside_the_single_quoted_list() -> None:
    first = datetime(2025, 1, 1, tzinfo=UTC)
    assert where("t").in_([first]) == 't:in:"2025-01-01T00:00:00.000Z"'


def test_in_given_a_bare_string_is_refused_not_split_into_letters() -> None:
    with pytest.raises(ArgumentError, match="list"):
        where("invoiceCurrency").in_("USD")


def test_in_with_no_values_is_refused() -> None:
    with pytest.raises(ArgumentError):
        where("invoiceCurrency").in_([])


def test_in_value_containing_a_comma_is_refused() -> None:
    with pytest.raises(ArgumentError, match="comma"):
        where("name").in_(["a,b", "c"])


# --------------------------------------------------------------------------- fields


@pytest.mark.parametrize("field", ["name", "vendor_id", "address.city", "field2"])
def test_plain_and_nested_field_names_are_accepted(field: str) -> None:
    assert where(field).eq(1) == f"{field}:eq:1"


@pytest.mark.parametrize("field", ["", "a b", "a:b", "a,b", "a..b", ".a", "a.", 'a"', "näme", "a=b"])
def test_field_names_that_would_break_the_syntax_are_refused(field: str) -> None:
    with pytest.raises(ArgumentError, match="invalid field name"):
        where(field)
    with pytest.raises(ArgumentError):
        FieldRef(field)
    with pytest.raises(ArgumentError):
        asc(field)


# --------------------------------------------------------------------------- combining


def test_and_joins_clauses_with_a_comma() -> None:
    start = datetime(2025, 9, 1, tzinfo=UTC)
    end = datetime(2025, 10, 1, tzinfo=UTC)
    combined = where("createdTime").gte(start) & where("createdTime").lt(end)
    assert isinstance(combined, Filter)
    assert combined == 'createdTime:gte:"2025-09-01T00:00:00.000Z",createdTime:lt:"2025-10-01T00:00:00.000Z"'


def test_raw_strings_combine_on_either_side() -> None:
    assert where("a").eq(1) & "b:eq:2" == "a:eq:1,b:eq:2"
    assert "b:eq:2" & where("a").eq(1) == "b:eq:2,a:eq:1"
    assert isinstance("b:eq:2" & where("a").eq(1), Filter)


def test_all_of_joins_a_dynamic_list_and_skips_empty_parts() -> None:
    assert all_of(where("a").eq(1), "", "b:eq:2") == "a:eq:1,b:eq:2"


def test_all_of_with_nothing_is_refused() -> None:
    with pytest.raises(ArgumentError):
        all_of()


def test_and_with_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        where("a").eq(1) & 3  # type: ignore[operator]


def test_a_filter_is_a_str_and_encodes_as_a_query_parameter() -> None:
    built = where("name").eq("Acme, Inc.")
    params = httpx.QueryParams({"filters": built})
    assert params["filters"] == 'name:eq:"Acme, Inc."'
    assert repr(built) == "Filter('name:eq:\"Acme, Inc.\"')"


# --------------------------------------------------------------------------- sort


def test_asc_and_desc_write_bill_sort_terms() -> None:
    assert asc("name") == "name:asc"
    assert desc("createdTime") == "createdTime:desc"


def test_sort_by_keeps_the_given_order() -> None:
    result = sort_by(desc("createdTime"), asc("name"), "id:asc")
    assert isinstance(result, Sort)
    assert result == "createdTime:desc,name:asc,id:asc"


def test_sorts_combine_with_and_from_either_side() -> None:
    assert desc("a") & asc("b") == "a:desc,b:asc"
    assert "z:asc" & asc("b") == "z:asc,b:asc"


def test_sort_by_with_nothing_is_refused() -> None:
    with pytest.raises(ArgumentError):
        sort_by()


# --------------------------------------------------------------------------- property


@given(st.text().filter(lambda s: '"' not in s))
def test_any_string_without_quote_is_quoted_exactly_when_needed(value: str) -> None:
    clause = where("name").eq(value)
    rendered = clause.removeprefix("name:eq:")
    if value and "," not in value and ":" not in value:
        assert rendered == value
    else:
        assert rendered == f'"{value}"'
