"""codegen/lint_spec.py rule `query-fields`: the shape of `x-filterable` / `x-sortable` on list operations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.spec.test_lint import assert_caught, minimal_doc, problems

FILTERS = {"name": "filters", "in": "query", "schema": {"type": "string"}}
SORT = {"name": "sort", "in": "query", "schema": {"type": "string"}}


def doc_with(
    filterable: Any = None, sortable: Any = None, params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    doc = minimal_doc()
    op = doc["paths"]["/v3/vendors"]["get"]
    op["parameters"] = [FILTERS, SORT] if params is None else params
    if filterable is not None:
        op["x-filterable"] = filterable
    if sortable is not None:
        op["x-sortable"] = sortable
    return doc


def test_well_formed_extensions_pass() -> None:
    doc = doc_with({"name": ["eq", "sw"], "address.country": ["eq", "ne"]}, ["name", "createdTime"])
    assert problems(doc) == []


def test_parameter_refs_count_as_parameters() -> None:
    doc = doc_with({"name": ["eq"]}, ["name"], params=[{"$ref": "#/components/parameters/Filters"}, SORT])
    doc["components"]["parameters"] = {"Filters": FILTERS}
    assert problems(doc) == []


@pytest.mark.parametrize(
    ("filterable", "fragment"),
    [
        (["name"], "a mapping"),
        ({}, "empty"),
        ({"name": "eq"}, "a non-empty list"),
        ({"name": []}, "a non-empty list"),
        ({"name": ["like"]}, "'like'"),
        ({"name": ["eq", "eq"]}, "twice"),
        ({"na me": ["eq"]}, "not a field name"),
    ],
)
def test_malformed_filterable(filterable: Any, fragment: str) -> None:
    assert_caught(doc_with(filterable=filterable), "query-fields", fragment)


@pytest.mark.parametrize(
    ("sortable", "fragment"),
    [
        ("name", "a non-empty list"),
        ([], "a non-empty list"),
        (["name", "name"], "twice"),
        (["name:asc"], "not a field name"),
    ],
)
def test_malformed_sortable(sortable: Any, fragment: str) -> None:
    assert_caught(doc_with(sortable=sortable), "query-fields", fragment)


def test_extension_without_its_parameter() -> None:
    assert_caught(doc_with(filterable={"name": ["eq"]}, params=[SORT]), "query-fields", "no `filters` parameter")
    assert_caught(doc_with(sortable=["name"], params=[FILTERS]), "query-fields", "no `sort` parameter")


@pytest.mark.parametrize(("most", "fragment"), [(0, "positive integer"), ("1", "positive integer"), (True, "positive")])
def test_malformed_sort_max_fields(most: Any, fragment: str) -> None:
    doc = doc_with(sortable=["name"])
    doc["paths"]["/v3/vendors"]["get"]["x-sort-max-fields"] = most
    assert_caught(doc, "query-fields", fragment)


def test_sort_max_fields_needs_sortable() -> None:
    doc = doc_with()
    doc["paths"]["/v3/vendors"]["get"]["x-sort-max-fields"] = 1
    assert_caught(doc, "query-fields", "without x-sortable")
    doc["paths"]["/v3/vendors"]["get"]["x-sortable"] = ["name"]
    assert problems(doc) == []
