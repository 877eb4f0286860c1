"""The import graph of ``src/bill_sdk``: no import circle anywhere, and FakeBill's layers point one way.

The graph is read with :mod:`ast` (nothing is imported): every ``import`` and ``from ... import`` in a module,
at any depth (inside functions and ``if TYPE_CHECKING:`` blocks too), relative ones resolved against the
module's package. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``.
A module's own parent packages are not edges (Python imports them first whatever the module says), except
when it takes names from one (``from bill_sdk import AsyncBill`` inside ``bill_sdk.testing``): that needs the
package's ``__init__`` to have run to the end.

Imports under ``if TYPE_CHECKING:`` count: they do not run, but the two modules still need each other to be
read or type-checked, and a circle through them is the same knot in the design. ``Edge.type_only`` marks them
in failure messages.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT_PACKAGE = "bill_sdk"

# Edges left out of the cycle check, each with the reason. Empty: nothing needs excusing today.
ALLOWED_EDGES: dict[tuple[str, str], str] = {}

# FakeBill's layers, bottom to top: a module may import its own layer and the layers below it, never above.
TESTING = f"{ROOT_PACKAGE}.testing"
LAYERS: list[tuple[str, set[str]]] = [
    ("helpers", {"bdc", "config", "jsonio", "listing", "reply", "schemas", "spec", "validation"}),
    (
        "services",
        {
            "catalog", "documents", "faults", "idempotency", "ledger", "limits", "organizations", "outbox", "payables",
            "receivables", "resources", "sessions", "spend", "spend_actions", "state", "subscriptions", "vocabulary",
            "webhooks",
        },
    ),
    ("handlers", {"handlers"}),
    ("app", {"app", "server"}),
    ("wiring", {"fake", "pytest_plugin", "__main__", ""}),
]  # fmt: skip


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    type_only: bool

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}{', TYPE_CHECKING' if self.type_only else ''})"


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(src: Path) -> dict[str, Path]:
    return {module_name(p, src): p for p in sorted((src / ROOT_PACKAGE).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), type_only)
        else:
            yield from _imports(node, type_only)


def edges_of(name: str, path: Path, known: set[str]) -> Iterator[Edge]:
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    for node, type_only in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[tuple[str, bool]] = []  # (module, names are taken from it)
        if isinstance(node, ast.Import):
            targets = [(alias.name, False) for alias in node.names]
        else:
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append((sub, False) if sub in known else (base, True))
        for target, takes_names in targets:
            while target and target not in known:  # `import a.b.attr` style: the nearest module
                target = target.rpartition(".")[0]
            if target and target != name and (takes_names or target not in ancestors):
                yield Edge(name, target, node.lineno, type_only)


def import_graph() -> dict[str, list[Edge]]:
    return _graph(SRC)


@functools.lru_cache(maxsize=4)
def _graph(src: Path) -> dict[str, list[Edge]]:
    found = modules(src)
    known = set(found)
    return {name: [e for e in edges_of(name, path, known) if (e.source, e.target) not in ALLOWED_EDGES]
            for name, path in found.items()}  # fmt: skip


def find_cycles(graph: dict[str, list[Edge]]) -> list[list[Edge]]:
    """One cycle per strongly connected component with more than one module (Tarjan, then a path)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # recursion depth is bounded by the number of modules (a few hundred)
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in graph.get(node, []):
            if edge.target not in index:
                connect(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: dict[str, list[Edge]], component: set[str]) -> list[Edge]:
    """A shortest cycle through the component's first module (breadth-first within the component)."""
    start = min(component)
    paths: dict[str, list[Edge]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for edge in graph[node]:
            if edge.target == start:
                return [*paths[node], edge]
            if edge.target in component and edge.target not in paths:
                paths[edge.target] = [*paths[node], edge]
                queue.append(edge.target)
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")  # pragma: no cover


def describe(cycle: list[Edge]) -> str:
    names = " -> ".join([cycle[0].source, *(e.target for e in cycle)])
    return names + "\n" + "\n".join(f"      {e}" for e in cycle)


def layer_of(name: str) -> tuple[int, str] | None:
    if name != TESTING and not name.startswith(TESTING + "."):
        return None
    first = name[len(TESTING) + 1 :].split(".", 1)[0]
    for position, (layer, members) in enumerate(LAYERS):
        if first in members:
            return position, layer
    raise AssertionError(f"{name} is in no FakeBill layer: add it to LAYERS in {__file__}")


# -- the checks ---------------------------------------------------------------------------------------------


def test_no_import_cycle_in_src() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles in src/:\n" + "\n".join(f"  {describe(c)}" for c in cycles)


def test_fakebill_layers_point_down() -> None:
    upward = []
    for name, edges in import_graph().items():
        source = layer_of(name)
        for edge in edges:
            target = layer_of(edge.target)
            if source is not None and target is not None and target[0] > source[0]:
                upward.append(f"  {edge}: {source[1]} imports {target[1]}")
    assert not upward, "FakeBill modules importing a layer above their own:\n" + "\n".join(upward)


def test_the_sdk_does_not_import_fakebill() -> None:
    wrong = [str(e) for name, edges in import_graph().items() if layer_of(name) is None for e in edges
             if layer_of(e.target) is not None]  # fmt: skip
    assert not wrong, "SDK modules importing bill_sdk.testing:\n" + "\n".join(wrong)


SPEC_TOOLKIT = f"{ROOT_PACKAGE}._spec"


def _in_spec_toolkit(name: str) -> bool:
    return name == SPEC_TOOLKIT or name.startswith(SPEC_TOOLKIT + ".")


def test_the_sdk_never_reads_the_spec_at_run_time() -> None:
    """bill_sdk._spec serves codegen, FakeBill and the tests; the client works from the generated code alone."""
    wrong = [str(e) for name, edges in import_graph().items()
             if layer_of(name) is None and not _in_spec_toolkit(name) for e in edges if _in_spec_toolkit(e.target)]  # fmt: skip
    assert not wrong, "SDK modules importing the spec toolkit:\n" + "\n".join(wrong)


def test_the_spec_toolkit_imports_nothing_else_of_the_package() -> None:
    wrong = [str(e) for name, edges in import_graph().items() if _in_spec_toolkit(name) for e in edges
             if not _in_spec_toolkit(e.target)]  # fmt: skip
    assert not wrong, "bill_sdk._spec importing other parts of bill_sdk:\n" + "\n".join(wrong)


# -- the async core, its sync twin and the primitives between them ------------------------------------------
# codegen/unasync.py writes bill_sdk._blocking (Bill's core) from these modules of AsyncBill's core; where the two
# differ, both use bill_sdk._primitives. Bill's side may load async-only modules that serve both (the fleet's
# NoFleet stand-in lives in _fleet), but never AsyncBill's core itself, and AsyncBill's side never loads Bill's.
ASYNC_CORE = {f"{ROOT_PACKAGE}.{name}" for name in ("_auth", "_client", "_pagination", "_transport")}
SYNC_CORE = f"{ROOT_PACKAGE}._blocking"
PRIMITIVES = f"{ROOT_PACKAGE}._primitives"
GENERATED = f"{ROOT_PACKAGE}._generated"


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_sync_side(name: str) -> bool:
    """Bill's core and the generated sync resource modules (``api/<tag>/_blocking.py``)."""
    return _in(name, SYNC_CORE) or (_in(name, GENERATED) and name.endswith("._blocking"))


def test_every_async_core_module_has_its_twin() -> None:
    found = set(modules(SRC))
    for name in ASYNC_CORE:
        assert name in found and f"{SYNC_CORE}.{name.rsplit('.', 1)[1]}" in found, name


def test_the_sync_side_never_imports_the_async_core() -> None:
    wrong = [str(e) for name, edges in import_graph().items() if _is_sync_side(name) for e in edges
             if e.target in ASYNC_CORE]  # fmt: skip
    assert not wrong, (
        "Bill's modules importing AsyncBill's core (import its twin in bill_sdk._blocking):\n" + "\n".join(wrong)
    )


def test_the_async_side_never_imports_the_sync_core() -> None:
    # The package's lazy surface (bill_sdk/__init__.py names Bill) and the generated resource tree, which holds both
    # trees' classes behind lazy imports, are the two places that know both.
    wrong = [str(e) for name, edges in import_graph().items()
             if not _is_sync_side(name) and name not in (ROOT_PACKAGE, GENERATED) for e in edges
             if _in(e.target, SYNC_CORE) or (_in(e.target, GENERATED) and e.target.endswith("._blocking"))]  # fmt: skip
    assert not wrong, "AsyncBill's modules importing Bill's:\n" + "\n".join(wrong)


def test_the_primitives_import_nothing_of_the_package() -> None:
    wrong = [str(e) for e in import_graph()[PRIMITIVES] if _in(e.target, ROOT_PACKAGE)]
    assert not wrong, "bill_sdk._primitives importing the package:\n" + "\n".join(wrong)


# -- the checker itself -------------------------------------------------------------------------------------


def _graph_of(tmp_path: Path, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Edge]]:
    for relative, text in files.items():
        path = tmp_path / ROOT_PACKAGE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.SRC", tmp_path)
    return import_graph()


def test_checker_finds_relative_function_level_and_type_only_cycles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = _graph_of(
        tmp_path,
        {
            "__init__.py": "",
            "pkg/__init__.py": "from .a import A\n",
            "pkg/a.py": "def f():\n    from . import b\n",
            "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bill_sdk.pkg.c import C\n",
            "pkg/c.py": "import bill_sdk.pkg.a\n",
            "pkg/d.py": "from bill_sdk.pkg import A\nfrom ..pkg import c\n",
        },
        monkeypatch,
    )
    assert {(e.target, e.type_only) for e in graph["bill_sdk.pkg.d"]} == {
        ("bill_sdk.pkg", False),
        ("bill_sdk.pkg.c", False),
    }
    assert graph["bill_sdk.pkg.a"] == [Edge("bill_sdk.pkg.a", "bill_sdk.pkg.b", 2, False)]
    assert graph["bill_sdk.pkg.b"] == [Edge("bill_sdk.pkg.b", "bill_sdk.pkg.c", 3, True)]
    (cycle,) = find_cycles(graph)
    assert describe(cycle).splitlines()[0] == "bill_sdk.pkg.a -> bill_sdk.pkg.b -> bill_sdk.pkg.c -> bill_sdk.pkg.a"


def test_checker_ignores_parent_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = _graph_of(
        tmp_path,
        {"__init__.py": "from bill_sdk.sub.m import X\n", "sub/__init__.py": "", "sub/m.py": "import bill_sdk\n"},
        monkeypatch,
    )
    assert graph["bill_sdk.sub.m"] == []
    assert find_cycles(graph) == []
