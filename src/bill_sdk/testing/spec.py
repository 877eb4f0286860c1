"""The bundled OpenAPI document as FakeBill reads it: operations, their parameters and schemas, routing.

Everything is derived at run time from ``bill_sdk/_spec/bill-v3.json`` (written by ``codegen/bundle.py``), so a
new operation in the spec is served without code changes.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bill_sdk.testing.bdc import ApiError, api_not_supported

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Connect Events paths keep their `/connect-events` prefix in the spec; every other path starts at `/v3`.
API_PREFIXES = ("/connect-events/v3", "/v3")


def pointer_escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def default_spec_resource() -> Any:
    """The bundled spec inside the installed package (``bill_sdk/_spec/bill-v3.json``)."""
    return importlib.resources.files("bill_sdk") / "_spec" / "bill-v3.json"


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: dict[str, Any] | None
    pointer: str | None  # JSON pointer of `schema` in the document


@dataclass
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # spec path, e.g. /v3/vendors/{vendorId}
    family: str
    tag: str | None
    sdk_method: str | None
    pagination: str | None
    idempotent: bool
    security: list[dict[str, list[str]]] | None  # None: inherit (treated as no requirement)
    params: list[Param]
    body_content_type: str | None
    body_schema: dict[str, Any] | None
    body_pointer: str | None
    body_required: bool
    responses: dict[str, dict[str, Any]]  # status key -> response object (resolved)
    pointer: str  # JSON pointer of the operation object
    segments: tuple[str, ...] = field(default=())  # path segments after the API prefix
    response_pointers: dict[str, str] = field(default_factory=dict)  # status key -> JSON pointer

    @property
    def prefix(self) -> str:
        return next(p for p in API_PREFIXES if self.path == p or self.path.startswith(p + "/"))

    def param(self, name: str, location: str | None = None) -> Param | None:
        for p in self.params:
            if p.name.lower() == name.lower() and (location is None or p.location == location):
                return p
        return None

    @property
    def idempotency_param(self) -> Param | None:
        return self.param("X-Idempotent-Key", "header")

    @property
    def success_status(self) -> int:
        codes = sorted(int(k) for k in self.responses if k.isdigit() and 200 <= int(k) < 300)
        return codes[0] if codes else 200

    def response_key(self, status: int) -> str | None:
        """The key of `responses` that describes `status` (exact, then `4XX`-style, then `default`)."""
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in self.responses:
                return key
        return None

    def response_schema(self, status: int | None = None) -> dict[str, Any] | None:
        key = self.response_key(status or self.success_status)
        if key is None:
            return None
        content = self.responses[key].get("content") or {}
        media = content.get("application/json") or next(iter(content.values()), None)
        return (media or {}).get("schema")

    def response_pointer(self, key: str) -> str | None:
        content = self.responses[key].get("content") or {}
        if "application/json" in content:
            media = "application/json"
        elif content:
            media = next(iter(content))
        else:
            return None
        if "schema" not in content[media]:
            return None
        return f"{self.response_pointers[key]}/content/{pointer_escape(media)}/schema"


class Spec:
    """The operations of one bundled document and a router from request paths to operations."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.cache: dict[str, Any] = {}  # per-spec derived objects (catalog, validators), shared by fakes
        self.operations: list[Operation] = list(self._read_operations())
        self.by_id = {op.operation_id: op for op in self.operations}
        self._templates: dict[int, list[tuple[tuple[str, ...], dict[str, Operation]]]] = {}
        by_path: dict[str, dict[str, Operation]] = {}
        for op in self.operations:
            by_path.setdefault(op.path, {})[op.method] = op
        for path, ops in by_path.items():
            segs = tuple(path.strip("/").split("/"))
            self._templates.setdefault(len(segs), []).append((segs, ops))
        for group in self._templates.values():
            # Literal segments win over templated ones, left to right.
            group.sort(key=lambda item: tuple(s.startswith("{") for s in item[0]))

    # -- reading -------------------------------------------------------------------------------------

    def deref(self, obj: Any) -> tuple[Any, str | None]:
        """Follow a local `$ref` chain; return the target and its JSON pointer (None if not a ref)."""
        pointer = None
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj and seen < 32:
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                break
            pointer = ref[1:]
            obj = self.doc
            for part in ref[2:].split("/"):
                obj = obj[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
        return obj, pointer

    def _read_operations(self) -> Iterator[Operation]:
        for path, item in (self.doc.get("paths") or {}).items():
            item_params = item.get("parameters") or []
            base = f"/paths/{pointer_escape(path)}"
            for method in HTTP_METHODS:
                raw = item.get(method)
                if not isinstance(raw, dict):
                    continue
                op_ptr = f"{base}/{method}"
                params = self._params(item_params, f"{base}/parameters") + self._params(
                    raw.get("parameters") or [], f"{op_ptr}/parameters"
                )
                # Operation-level parameters override path-level ones with the same name and location.
                merged: dict[tuple[str, str], Param] = {}
                for p in params:
                    merged[(p.name.lower(), p.location)] = p
                body_ct = body_schema = body_ptr = None
                body_required = False
                rb, rb_ptr = self.deref(raw.get("requestBody"))
                rb_ptr = rb_ptr or f"{op_ptr}/requestBody"
                if isinstance(rb, dict):
                    content = rb.get("content") or {}
                    body_required = bool(rb.get("required"))
                    if content:
                        body_ct = "application/json" if "application/json" in content else next(iter(content))
                        if "schema" in content[body_ct]:
                            body_schema = content[body_ct]["schema"]
                            body_ptr = f"{rb_ptr}/content/{pointer_escape(body_ct)}/schema"
                responses: dict[str, dict[str, Any]] = {}
                resp_ptrs: dict[str, str] = {}
                for key, resp in (raw.get("responses") or {}).items():
                    target, ptr = self.deref(resp)
                    responses[str(key)] = target if isinstance(target, dict) else {}
                    resp_ptrs[str(key)] = ptr or f"{op_ptr}/responses/{pointer_escape(str(key))}"
                prefix = next((p for p in API_PREFIXES if path.startswith(p + "/") or path == p), "")
                tags = raw.get("tags") or []
                op = Operation(
                    operation_id=raw.get("operationId") or f"{method}:{path}",
                    method=method.upper(),
                    path=path,
                    family=raw.get("x-bill-family") or ("events" if path.startswith("/connect-events") else "connect"),
                    tag=tags[0] if tags else None,
                    sdk_method=raw.get("x-sdk-method"),
                    pagination=raw.get("x-pagination"),
                    idempotent=bool(raw.get("x-idempotent")),
                    security=raw.get("security", self.doc.get("security")),
                    params=list(merged.values()),
                    body_content_type=body_ct,
                    body_schema=body_schema,
                    body_pointer=body_ptr,
                    body_required=body_required,
                    responses=responses,
                    pointer=op_ptr,
                    segments=tuple(s for s in path[len(prefix) :].split("/") if s),
                    response_pointers=resp_ptrs,
                )
                yield op

    def _params(self, raw_params: list[Any], base: str) -> list[Param]:
        out = []
        for i, raw in enumerate(raw_params):
            target, ptr = self.deref(raw)
            if not isinstance(target, dict) or "name" not in target:
                continue
            ptr = ptr or f"{base}/{i}"
            schema = target.get("schema")
            out.append(
                Param(
                    name=target["name"],
                    location=target.get("in", "query"),
                    required=bool(target.get("required")) or target.get("in") == "path",
                    schema=schema,
                    pointer=f"{ptr}/schema" if schema is not None else None,
                )
            )
        return out

    # -- routing -------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """Find the operation for a spec-relative path; raise 404 BDC_1121 (unknown path) or 405."""
        segs = tuple(path.strip("/").split("/"))
        candidates: list[tuple[dict[str, Operation], dict[str, str]]] = []
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
        raise ApiError(405, "BDC_1121", f"API not supported: {method.upper()} {path}")


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Spec:
    return Spec(json.loads(Path(path).read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def _load_packaged() -> Spec:
    return Spec(json.loads(default_spec_resource().read_text(encoding="utf-8")))


def load_spec(source: str | os.PathLike[str] | dict[str, Any] | None = None) -> Spec:
    """Load the spec: a parsed document, a file (cached by path and mtime, so a re-bundled spec is picked up
    by the next FakeBill), or by default the package's bundled ``_spec/bill-v3.json``."""
    if isinstance(source, dict):
        return Spec(source)
    if source is None:
        resource = default_spec_resource()
        if not isinstance(resource, Path):  # inside a zip or another loader: no mtime to watch
            return _load_packaged()
        source = resource
    path = Path(source)
    return _load(str(path), path.stat().st_mtime)


def ref_pointer(pointer: str) -> str:
    """A `$ref` into the registered document for a JSON pointer (percent-quoted; referencing unquotes)."""
    return "urn:bill-v3#" + quote(pointer, safe="/~")
