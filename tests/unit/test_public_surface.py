"""The public surface of ``bill_sdk``: one list, written three ways in ``__init__.py``, all in agreement.

``__all__``, the lazy ``_EXPORTS`` map and the ``TYPE_CHECKING`` imports must name the same things; every name
resolves to the object its module defines; every error class users can catch is importable from ``bill_sdk``;
and every ``bill_sdk`` name the README shows exists.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import bill_sdk
import bill_sdk.errors

REPO = Path(__file__).resolve().parents[2]
INIT = Path(bill_sdk.__file__)
README = REPO / "README.md"
MODULE_ATTRIBUTES = {"models"}  # subpackages offered as attributes (`bill_sdk.models.Vendor`)


def type_checking_imports() -> dict[str, str]:
    """name -> module (relative, as written) of every import under ``if TYPE_CHECKING:`` in ``__init__.py``."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                assert isinstance(child, ast.ImportFrom), ast.dump(child)
                for alias in child.names:
                    module = "." * child.level + (child.module or "")
                    found[alias.asname or alias.name] = module if child.module else module + alias.name
    return found


def test_all_exports_and_type_checking_imports_name_the_same_things() -> None:
    typed = type_checking_imports()
    lazy = set(bill_sdk._EXPORTS) | MODULE_ATTRIBUTES
    assert len(bill_sdk.__all__) == len(set(bill_sdk.__all__)), "a name is listed twice in __all__"
    assert set(bill_sdk.__all__) == lazy, f"__all__ vs _EXPORTS: {set(bill_sdk.__all__) ^ lazy}"
    assert set(typed) == lazy, f"TYPE_CHECKING imports vs _EXPORTS: {set(typed) ^ lazy}"


def test_the_lazy_map_and_the_type_checking_imports_agree_on_the_module() -> None:
    typed = type_checking_imports()
    wrong = {name: (module, typed[name]) for name, module in bill_sdk._EXPORTS.items() if typed[name] != module}
    assert not wrong, f"name: (_EXPORTS module, TYPE_CHECKING module): {wrong}"


@pytest.mark.parametrize("name", sorted(bill_sdk.__all__))
def test_every_public_name_resolves_to_its_definition(name: str) -> None:
    value = getattr(bill_sdk, name)
    if name in MODULE_ATTRIBUTES:
        assert value is importlib.import_module(f"bill_sdk.{name}")
    else:
        module = importlib.import_module(bill_sdk._EXPORTS[name], "bill_sdk")
        assert value is getattr(module, name)
    assert name in dir(bill_sdk)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        _ = bill_sdk.NoSuchThing  # type: ignore[attr-defined]


def test_every_error_class_is_exported_from_the_package() -> None:
    errors = [
        name
        for name in bill_sdk.errors.__all__
        if isinstance(getattr(bill_sdk.errors, name), type)
        and issubclass(getattr(bill_sdk.errors, name), bill_sdk.errors.BillError)
    ]
    assert errors, "bill_sdk.errors.__all__ lists no error classes"
    missing = sorted(set(errors) - set(bill_sdk.__all__))
    assert not missing, f"error classes users cannot import from bill_sdk: {missing}"


# --------------------------------------------------------------------------- the README

_DOTTED = re.compile(r"\bbill_sdk(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_FROM_IMPORT = re.compile(r"^\s*from (bill_sdk(?:\.[A-Za-z_][A-Za-z0-9_]*)*) import ([A-Za-z_][\w, ]*)", re.MULTILINE)


def readme_names() -> list[str]:
    """Every dotted ``bill_sdk...`` name the README uses, including ``from bill_sdk[.x] import a, b``."""
    if not README.is_file():
        return []
    text = README.read_text(encoding="utf-8")
    names = set(_DOTTED.findall(text))
    for module, imported in _FROM_IMPORT.findall(text):
        names.update(f"{module}.{name.strip()}" for name in imported.split(",") if name.strip())
    return sorted(names)


def resolve(dotted: str) -> object:
    """Import the longest module prefix of `dotted`, then read the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            value: object = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("bill_sdk"):
                pytest.skip(f"{dotted} needs {exc.name}, which is not installed")
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise AssertionError(f"{dotted}: no importable module")  # pragma: no cover


@pytest.mark.skipif(not README.is_file(), reason=f"{README} not found")
@pytest.mark.parametrize("dotted", readme_names() or ["bill_sdk.AsyncBill"])
def test_every_bill_sdk_name_in_the_readme_exists(dotted: str) -> None:
    try:
        resolve(dotted)
    except AttributeError as exc:
        pytest.fail(f"README uses {dotted}, which does not exist: {exc}")


def test_the_readme_names_are_found() -> None:
    names = readme_names()
    if not names:
        pytest.skip(f"{README} not found")
    assert "bill_sdk.AsyncBill" in names and "bill_sdk.BillError" in names, names
