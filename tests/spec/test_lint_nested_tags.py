"""The lint rule for namespaces nested in another (`x-sdk-parent`, `x-sdk-name` on a root tag)."""

from __future__ import annotations

from typing import Any

from tests.spec.test_lint import assert_caught, minimal_doc, problems


def nested(**tag: Any) -> dict[str, Any]:
    doc = minimal_doc()
    doc["tags"].append({"name": "vendor-things", "description": "Things of a vendor.", **tag})
    return doc


def test_a_nested_tag_is_clean() -> None:
    assert problems(nested(**{"x-sdk-parent": "vendors", "x-sdk-name": "things"})) == []


def test_parent_must_be_a_declared_tag() -> None:
    assert_caught(nested(**{"x-sdk-parent": "suppliers", "x-sdk-name": "things"}), "tags", "not a declared")


def test_name_must_be_an_identifier() -> None:
    assert_caught(nested(**{"x-sdk-parent": "vendors", "x-sdk-name": "the things"}), "tags", "not a Python identifier")


def test_name_must_not_hide_a_method_of_the_parent() -> None:
    assert_caught(nested(**{"x-sdk-parent": "vendors", "x-sdk-name": "create"}), "tags", "also a method")
