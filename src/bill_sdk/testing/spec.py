"""The bundled OpenAPI document as FakeBill reads it: operations, their parameters and schemas, routing.

Everything is derived at run time from ``bill_sdk/_spec/bill-v3.json`` (written by ``codegen/bundle.py``), so a
new operation in the spec is served without code changes.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bill_sdk._spec import Parameter, SpecOperation, bundled_resource, load_bundled, load_document, read_operations
from bill_sdk.testing.bdc import ErrorReply, api_not_supported

__all__ = ["Parameter", "Spec", "SpecOperation", "load_spec", "ref_pointer"]


class Spec:
    """The operations of one bundled document and a router from request paths to operations."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.cache: dict[str, Any] = {}  # per-spec derived objects (catalog, validators), shared by fakes
        self.operations: list[SpecOperation] = list(read_operations(doc))
        self.by_id = {op.operation_id: op for op in self.operations}
        self._templates: dict[int, list[tuple[tuple[str, ...], dict[str, SpecOperation]]]] = {}
        by_path: dict[str, dict[str, SpecOperation]] = {}
        for op in self.operations:
            by_path.setdefault(op.path, {})[op.method] = op
        for path, ops in by_path.items():
            segs = tuple(path.strip("/").split("/"))
            self._templates.setdefault(len(segs), []).append((segs, ops))
        for group in self._templates.values():
            # Literal segments win over templated ones, left to right.
            group.sort(key=lambda item: tuple(s.startswith("{") for s in item[0]))

    # -- routing -------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[SpecOperation, dict[str, str]]:
        """Find the operation for a spec-relative path; raise 404 BDC_1121 (unknown path) or 405."""
        segs = tuple(path.strip("/").split("/"))
        candidates: list[tuple[dict[str, SpecOperation], dict[str, str]]] = []
        for template, ops in self._templates.get(len(segs), []):
            params: dict[str, str] = {}
            for t, s in zip(template, segs, strict=True):
                if t.startswith("{") and t.endswith("}"):
                    if not s:
                        break
                    params[t[1:-1]] = s
                elif t != s:
                    break
            else:
                candidates.append((ops, params))
        if not candidates:
            raise api_not_supported(path)
        for ops, params in candidates:
            if method.upper() in ops:
                return ops[method.upper()], params
        raise ErrorReply(405, "BDC_1121", f"API not supported: {method.upper()} {path}")


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Spec:
    return Spec(load_document(path))


@functools.lru_cache(maxsize=1)
def _load_packaged() -> Spec:
    return Spec(load_bundled())


def load_spec(source: str | os.PathLike[str] | dict[str, Any] | None = None) -> Spec:
    """Load the spec: a parsed document, a file (cached by path and mtime, so a re-bundled spec is picked up
    by the next FakeBill), or by default the package's bundled ``_spec/bill-v3.json``."""
    if isinstance(source, dict):
        return Spec(source)
    if source is None:
        resource = bundled_resource()
        if not isinstance(resource, Path):  # inside a zip or another loader: no mtime to watch
            return _load_packaged()
        source = resource
    path = Path(source)
    return _load(str(path), path.stat().st_mtime)


def ref_pointer(pointer: str) -> str:
    """A `$ref` into the registered document for a JSON pointer (percent-quoted; referencing unquotes)."""
    return "urn:bill-v3#" + quote(pointer, safe="/~")
