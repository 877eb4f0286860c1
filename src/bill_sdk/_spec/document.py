"""The spec as a document: loading the bundled ``bill-v3.json``, bundling ``spec/`` into it, following ``$ref``.

One implementation for codegen (bundle, lint, generate), FakeBill and the tests. Only local references
(``#/components/...``) occur: ``codegen/bundle.py`` merges the parts of ``spec/`` into one document whose
``$ref``s already point into it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

# The parts of spec/ besides the root openapi.yaml; each contributes `paths` and `components/schemas`.
FAMILY_PARTS = ("common", "connect", "partner", "events", "spend")
# A chain of references longer than this is a loop (A -> B -> A); it is cut rather than followed forever.
MAX_REF_CHAIN = 32
MAX_SCHEMA_DEPTH = 20  # allOf/anyOf/oneOf nesting followed when looking for a property


class BundleError(Exception):
    """A part of the spec cannot be merged."""


# --------------------------------------------------------------------------- loading


def bundled_resource() -> Traversable:
    """The bundled spec inside the installed package (``bill_sdk/_spec/bill-v3.json``)."""
    return resources.files("bill_sdk") / "_spec" / "bill-v3.json"


def load_bundled() -> dict[str, Any]:
    """The bundled spec as shipped with the package."""
    return load_document(bundled_resource())


def load_document(source: str | Path | Traversable) -> dict[str, Any]:
    """A bundled spec file, parsed (numbers in the spec are bounds and examples, so plain floats are fine)."""
    path = Path(source) if isinstance(source, str) else source
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def parts(spec_dir: Path) -> list[str]:
    """The spec's parts: the family parts first (their order fixes the bundle's), then every other ``*.yaml``
    in ``spec_dir`` (one per API area, say), sorted."""
    others = sorted(p.stem for p in spec_dir.glob("*.yaml") if p.stem not in (*FAMILY_PARTS, "openapi"))
    return [*FAMILY_PARTS, *others]


def bundle(spec_dir: Path) -> dict[str, Any]:
    """Merge ``spec_dir/openapi.yaml`` and its parts into one document (needs PyYAML, a dev dependency).

    Merging is a dictionary union that refuses duplicate keys: a duplicate would silently hide one definition. A
    path may appear in several parts as long as each of its methods is defined once (an API area can add
    ``DELETE`` to a path whose ``GET`` lives in another part).
    """
    import yaml  # only codegen and the tests bundle; FakeBill reads the JSON the package ships

    root: dict[str, Any] = yaml.safe_load((spec_dir / "openapi.yaml").read_text())
    root.setdefault("paths", {})
    schemas = root.setdefault("components", {}).setdefault("schemas", {})
    for part in parts(spec_dir):
        doc = yaml.safe_load((spec_dir / f"{part}.yaml").read_text()) or {}
        extra = set(doc) - {"paths", "components"}
        if extra:
            raise BundleError(f"{part}.yaml: only `paths` and `components` may appear, found {sorted(extra)}")
        for path, item in (doc.get("paths") or {}).items():
            merged = root["paths"].setdefault(path, {})
            twice = sorted(set(merged) & set(item))
            if twice:
                raise BundleError(f"{part}.yaml: path {path} is defined twice ({', '.join(twice)})")
            merged.update(item)  # parts may add methods to a path another part has (GET here, DELETE there)
        for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
            if name in schemas:
                raise BundleError(f"{part}.yaml: schema {name} is defined twice")
            schemas[name] = schema
    return root


def dump(doc: dict[str, Any]) -> str:
    """The text of ``bill-v3.json`` (committed, so the layout is fixed: the drift check compares it)."""
    return json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- references


def pointer_escape(segment: str) -> str:
    """One JSON pointer segment (RFC 6901): ``/v3/vendors`` -> ``~1v3~1vendors``."""
    return segment.replace("~", "~0").replace("/", "~1")


def pointer_unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def resolve_pointer(doc: Any, ref: str) -> Any:
    """The node a local ``#/a/b`` reference points at; KeyError when it points nowhere or is not local."""
    if not ref.startswith("#"):
        raise KeyError(f"not a local reference: {ref}")
    node = doc
    pointer = ref[1:]
    if not pointer:
        return node
    for raw in pointer.lstrip("/").split("/"):
        part = pointer_unescape(raw)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def follow(doc: Any, node: Any) -> tuple[Any, str | None]:
    """Follow a chain of local ``$ref``s: the target and its JSON pointer (None when `node` is no reference).

    A reference that is not local is left as it is; one that points nowhere raises KeyError.
    """
    pointer = None
    for _ in range(MAX_REF_CHAIN):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#")):
            break
        pointer = node["$ref"][1:]
        node = resolve_pointer(doc, node["$ref"])
    return node, pointer


def deref(doc: Any, node: Any) -> Any:
    """`node` with its ``$ref`` chain followed (:func:`follow` without the pointer)."""
    return follow(doc, node)[0]


def resolve_schema(doc: Any, schema: Any) -> Any:
    """A schema with its ``$ref`` chain followed; sibling keywords next to ``$ref`` (OpenAPI 3.1) are folded in."""
    for _ in range(MAX_REF_CHAIN):
        if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
            break
        if not schema["$ref"].startswith("#/"):
            break
        target = resolve_pointer(doc, schema["$ref"])
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **extra} if extra else target
    return schema


def schema_name(ref: str) -> str:
    """``#/components/schemas/Vendor`` -> ``Vendor``."""
    return pointer_unescape(ref.rsplit("/", 1)[-1])


def iter_refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(location, target) of every ``$ref`` below `node`."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield where, ref
        for key, value in node.items():
            yield from iter_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_refs(value, f"{where}/{index}")


# --------------------------------------------------------------------------- schemas


def schema_parts(doc: Any, schema: Any, _depth: int = 0) -> list[dict[str, Any]]:
    """The schema and every ``allOf`` part, resolved and flattened (the schema first)."""
    schema = resolve_schema(doc, schema)
    if not isinstance(schema, dict):
        return []
    out = [schema]
    if _depth < MAX_SCHEMA_DEPTH:
        for part in schema.get("allOf") or []:
            out.extend(schema_parts(doc, part, _depth + 1))
    return out


def schema_properties(doc: Any, schema: Any) -> dict[str, Any] | None:
    """Declared properties merged over ``allOf``, or None when no part declares any (an open object)."""
    props: dict[str, Any] | None = None
    for part in schema_parts(doc, schema):
        if "properties" in part:
            props = {**(props or {}), **part["properties"]}
    return props


def schema_branches(doc: Any, schema: Any) -> list[Any]:
    """The ``anyOf`` / ``oneOf`` alternatives of the first part that has any."""
    for part in schema_parts(doc, schema):
        for key in ("anyOf", "oneOf"):
            if part.get(key):
                return list(part[key])
    return []


def property_schema(doc: Any, schema: Any, name: str, _depth: int = 0) -> Any:
    """The schema of property `name` (through ``$ref``, ``allOf`` and then ``anyOf``/``oneOf``), or None."""
    props = schema_properties(doc, schema) or {}
    if name in props:
        return props[name]
    if _depth < MAX_SCHEMA_DEPTH:
        for branch in schema_branches(doc, schema):
            found = property_schema(doc, branch, name, _depth + 1)
            if found is not None:
                return found
    return None
