"""Check the bundled OpenAPI document against the conventions stated in spec/openapi.yaml.

Usage: `python codegen/lint_spec.py [bundle.json]` (without an argument the parts in spec/ are bundled first).
Prints one line per problem and exits 1 when there is any; exits 0 silently otherwise.

`lint(doc)` returns the same problems as a list of strings, so tests can run the rules on small documents.

Rules:
  validity     the document is valid OpenAPI (openapi-spec-validator)
  operationId  present and unique
  tags         exactly one tag per operation, declared in the root `tags`
  family       `x-bill-family` is connect|partner|events|spend and agrees with the tag prefix
               (partner-* partner, events-* events, spend-* spend, anything else connect);
               an operation is in the events family exactly when its path starts with /connect-events/
  security     every operation declares `security`; an empty list only for the unauthenticated operations
  errors       every operation answers 4XX and 5XX with `#/components/responses/Error`
  sdk-method   `x-sdk-method` present, a Python identifier, not a keyword, unique within its tag
  pagination   `x-pagination` in {page, spend, forward}, only on GET operations whose 2xx schema has `results`
  idempotent   `x-idempotent` only on POST
  sync-cursor  `x-sync-cursor` (a field name, or {field, sortable}) only on paged lists that take `filters`
  nullable-enum  no inline enum that also allows null (use anyOf: [{$ref: Enum}, {type: "null"}])
  secrets      every property named like a credential (password, devKey, appKey, apiToken, sessionId,
               securityKey, rememberMeId) carries `x-secret: true`, so its model never prints it
  refs         every local `$ref` resolves
  orphans      every component schema is reachable from paths/parameters/responses/request bodies
  required-ops every operation in the shared required-operations.json exists (when that file is available)
"""

from __future__ import annotations

import json
import keyword
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
FAMILIES = {"connect", "partner", "events", "spend"}
PAGINATION_KINDS = {"page", "spend", "forward"}
UNAUTHENTICATED = {"login", "partnerLogin", "checkHealth", "checkEventsHealth"}
ERROR_REF = "#/components/responses/Error"
EVENTS_PREFIX = "/connect-events"


def shared_dir() -> Path:
    """BILL reference data, kept outside the repository (override with BILL_SHARED_DIR)."""
    env = os.environ.get("BILL_SHARED_DIR")
    return Path(env) if env else ROOT / ".." / "shared"


def required_operations_file() -> Path:
    return shared_dir() / "bill-api" / "required-operations.json"


def load_required_operations(path: Path | None = None) -> list[dict[str, Any]] | None:
    """The operations the SDK must cover, or None when the shared data is not available."""
    path = path or required_operations_file()
    if not path.is_file():
        return None
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def required_keys(required: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(METHOD, spec path) of every required operation; Connect Events paths get the /connect-events prefix.

    The list names `GET /v3/health` once per family (two operations, on two bases) and
    `GET /v3/spend/reimbursements` twice (one operation); a set of keys handles both.
    """
    keys = set()
    for entry in required:
        path = entry["path"]
        if entry["api"] == "events":
            path = EVENTS_PREFIX + path
        keys.add((entry["method"].upper(), path))
    return keys


def family_for_tag(tag: str) -> str:
    for prefix in ("partner", "events", "spend"):
        if tag.startswith(prefix + "-"):
            return prefix
    return "connect"


def iter_operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield path, method, op


def resolve_pointer(doc: Any, ref: str) -> Any:
    """Follow a local `#/a/b` reference; raise KeyError when it points nowhere."""
    if not ref.startswith("#"):
        raise KeyError(f"not a local reference: {ref}")
    node = doc
    pointer = ref[1:]
    if not pointer:
        return node
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def iter_refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(location, target) of every `$ref` below node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield where, ref
        for key, value in node.items():
            yield from iter_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_refs(value, f"{where}/{index}")


def deref(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    while isinstance(node, dict) and "$ref" in node and depth < 50:
        try:
            node = resolve_pointer(doc, node["$ref"])
        except KeyError:
            return {}
        depth += 1
    return node


def schema_has_property(doc: dict[str, Any], schema: Any, name: str, depth: int = 0) -> bool:
    """Whether a schema (following $ref and allOf/anyOf/oneOf) declares property `name`."""
    if depth > 20:
        return False
    schema = deref(doc, schema)
    if not isinstance(schema, dict):
        return False
    if name in (schema.get("properties") or {}):
        return True
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            if schema_has_property(doc, sub, name, depth + 1):
                return True
    return False


def success_schemas(doc: dict[str, Any], op: dict[str, Any]) -> Iterator[Any]:
    for code, response in (op.get("responses") or {}).items():
        if not str(code).startswith("2"):
            continue
        response = deref(doc, response)
        for media in ((response or {}).get("content") or {}).values():
            if isinstance(media, dict) and "schema" in media:
                yield media["schema"]


def iter_schema_nodes(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping in the document that could be a schema (over-approximation: all dicts)."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from iter_schema_nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_schema_nodes(value, f"{where}/{index}")


def _check_validity(doc: dict[str, Any]) -> list[str]:
    try:
        from openapi_spec_validator import OpenAPIV31SpecValidator
    except ImportError as exc:  # pragma: no cover - the venv has it
        return [f"validity: openapi-spec-validator not importable: {exc}"]
    problems = []
    try:
        for error in OpenAPIV31SpecValidator(doc).iter_errors():
            message = str(getattr(error, "message", error)).splitlines()[0]
            location = "/".join(str(p) for p in getattr(error, "absolute_path", []) or [])
            problems.append(f"validity: {location or '<root>'}: {message}")
    except Exception as exc:  # the validator raises on unresolvable references
        problems.append(f"validity: validator failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    return problems


def _check_operations(doc: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    declared_tags = {t.get("name") for t in doc.get("tags") or [] if isinstance(t, dict)}
    seen_ids: dict[str, str] = {}
    methods_by_tag: dict[tuple[str, str], str] = {}
    for path, method, op in iter_operations(doc):
        name = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        label = f"{name} ({op_id})" if op_id else name
        if not op_id:
            problems.append(f"operationId: {name}: missing")
        elif op_id in seen_ids:
            problems.append(f"operationId: {label}: duplicate of {seen_ids[op_id]}")
        else:
            seen_ids[op_id] = name

        tags = op.get("tags")
        tag: str | None = None
        if not isinstance(tags, list) or len(tags) != 1:
            problems.append(f"tags: {label}: needs exactly one tag, has {tags!r}")
        else:
            tag = tags[0]
            if tag not in declared_tags:
                problems.append(f"tags: {label}: tag {tag!r} is not declared in the root `tags`")

        family = op.get("x-bill-family")
        if family not in FAMILIES:
            problems.append(f"family: {label}: x-bill-family {family!r} is not one of {sorted(FAMILIES)}")
        elif tag is not None and family_for_tag(tag) != family:
            problems.append(
                f"family: {label}: tag {tag!r} implies family {family_for_tag(tag)!r} but x-bill-family is {family!r}"
            )
        is_events_path = path.startswith(EVENTS_PREFIX + "/")
        if family == "events" and not is_events_path:
            problems.append(f"family: {label}: events operations must live under {EVENTS_PREFIX}/")
        if family in FAMILIES and family != "events" and is_events_path:
            problems.append(f"family: {label}: only events operations may live under {EVENTS_PREFIX}/")

        if "security" not in op:
            problems.append(f"security: {label}: no `security` declared")
        elif not isinstance(op["security"], list):
            problems.append(f"security: {label}: `security` must be a list")
        elif not op["security"] and op_id not in UNAUTHENTICATED:
            problems.append(f"security: {label}: empty security is reserved for {', '.join(sorted(UNAUTHENTICATED))}")

        responses = op.get("responses") or {}
        for code in ("4XX", "5XX"):
            response = responses.get(code)
            if not isinstance(response, dict) or response.get("$ref") != ERROR_REF:
                problems.append(f"errors: {label}: response {code} must be {{$ref: '{ERROR_REF}'}}")

        sdk_method = op.get("x-sdk-method")
        if not sdk_method:
            problems.append(f"sdk-method: {label}: x-sdk-method missing")
        elif not isinstance(sdk_method, str) or not sdk_method.isidentifier():
            problems.append(f"sdk-method: {label}: {sdk_method!r} is not a Python identifier")
        elif keyword.iskeyword(sdk_method) or keyword.issoftkeyword(sdk_method):
            problems.append(f"sdk-method: {label}: {sdk_method!r} is a Python keyword")
        elif tag is not None:
            key = (tag, sdk_method)
            if key in methods_by_tag:
                problems.append(
                    f"sdk-method: {label}: {sdk_method!r} already used in tag {tag!r} by {methods_by_tag[key]}"
                )
            else:
                methods_by_tag[key] = label

        if "x-pagination" in op:
            kind = op["x-pagination"]
            if kind not in PAGINATION_KINDS:
                problems.append(f"pagination: {label}: x-pagination {kind!r} not in {sorted(PAGINATION_KINDS)}")
            if method != "get":
                problems.append(f"pagination: {label}: x-pagination only belongs on GET operations")
            elif not any(schema_has_property(doc, s, "results") for s in success_schemas(doc, op)):
                problems.append(f"pagination: {label}: x-pagination but the 2xx schema has no `results`")

        if "x-sync-cursor" in op:
            problems.extend(_check_sync_cursor(doc, op, label))

        if "x-idempotent" in op and method != "post":
            problems.append(f"idempotent: {label}: x-idempotent only belongs on POST operations")
    return problems


def _check_sync_cursor(doc: dict[str, Any], op: dict[str, Any], label: str) -> list[str]:
    """`x-sync-cursor` (read by bill_sdk.changes): `updatedTime`, or `{field: updatedTime, sortable: false}`."""
    cursor = op["x-sync-cursor"]
    field = cursor.get("field") if isinstance(cursor, dict) else cursor
    problems = []
    if not isinstance(field, str) or not field:
        problems.append(f"sync-cursor: {label}: x-sync-cursor needs a field name, got {cursor!r}")
    if isinstance(cursor, dict) and (
        set(cursor) - {"field", "sortable"} or not isinstance(cursor.get("sortable", True), bool)
    ):
        problems.append(f"sync-cursor: {label}: x-sync-cursor takes only `field` and a boolean `sortable`")
    if "x-pagination" not in op:
        problems.append(f"sync-cursor: {label}: x-sync-cursor only belongs on paged lists (x-pagination)")
    params = [
        p if "$ref" not in p else doc["components"]["parameters"].get(p["$ref"].split("/")[-1], {})
        for p in op.get("parameters", [])
    ]
    if not any(p.get("name") == "filters" and p.get("in") == "query" for p in params):
        problems.append(f"sync-cursor: {label}: x-sync-cursor needs a `filters` query parameter")
    return problems


def _check_nullable_enums(doc: dict[str, Any]) -> list[str]:
    problems = []
    for where, node in iter_schema_nodes(doc):
        enum = node.get("enum")
        if not isinstance(enum, list):
            continue
        types = node.get("type")
        nullable_type = types == "null" or (isinstance(types, list) and "null" in types)
        if nullable_type or None in enum or node.get("nullable") is True:
            problems.append(
                f"nullable-enum: {where}: inline enum that allows null; "
                "use anyOf: [{$ref: '#/components/schemas/<Enum>'}, {type: 'null'}]"
            )
    return problems


SECRET_PROPERTY_NAMES = frozenset(
    {"password", "devKey", "appKey", "apiToken", "sessionId", "securityKey", "rememberMeId"}
)


def _check_secrets(doc: dict[str, Any]) -> list[str]:
    problems = []
    for where, node in iter_schema_nodes(doc):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        for name, schema in properties.items():
            if name in SECRET_PROPERTY_NAMES and not (isinstance(schema, dict) and schema.get("x-secret") is True):
                problems.append(f"secrets: {where}/properties/{name}: a credential without x-secret: true")
    return problems


def _check_refs(doc: dict[str, Any]) -> list[str]:
    problems = []
    for where, ref in iter_refs(doc):
        try:
            resolve_pointer(doc, ref)
        except KeyError:
            problems.append(f"refs: {where}: $ref {ref!r} does not resolve")
    return problems


def _check_orphans(doc: dict[str, Any]) -> list[str]:
    schemas = (doc.get("components") or {}).get("schemas") or {}
    prefix = "#/components/schemas/"
    roots = {k: v for k, v in doc.items() if k != "components"}
    roots["components"] = {k: v for k, v in (doc.get("components") or {}).items() if k != "schemas"}
    reached: set[str] = set()
    stack = [ref for _, ref in iter_refs(roots)]
    while stack:
        ref = stack.pop()
        if not ref.startswith(prefix):
            continue
        name = ref[len(prefix) :].split("/", 1)[0].replace("~1", "/").replace("~0", "~")
        if name in reached or name not in schemas:
            continue
        reached.add(name)
        stack.extend(target for _, target in iter_refs(schemas[name]))
    return [
        f"orphans: component schema {name!r} is not used by any operation" for name in schemas if name not in reached
    ]


def _check_required_operations(doc: dict[str, Any], required: list[dict[str, Any]]) -> list[str]:
    present = {(method.upper(), path) for path, method, _ in iter_operations(doc)}
    return [
        f"required-ops: {method} {path} is required but missing"
        for method, path in sorted(required_keys(required) - present)
    ]


def lint(doc: dict[str, Any], required: list[dict[str, Any]] | bool | None = True) -> list[str]:
    """All problems found in a bundled document.

    `required`: the required-operations list; True (default) loads it from the shared directory when that
    exists; None or False skips the check.
    """
    if required is True:
        required = load_required_operations()
    problems = _check_validity(doc)
    problems += _check_operations(doc)
    problems += _check_nullable_enums(doc)
    problems += _check_secrets(doc)
    problems += _check_refs(doc)
    problems += _check_orphans(doc)
    if required:
        problems += _check_required_operations(doc, required)
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        doc = json.loads(Path(argv[0]).read_text())
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bundle import load_bundle

        doc = load_bundle()
    if load_required_operations() is None:
        print(f"note: {required_operations_file()} not found; required-operation check skipped", file=sys.stderr)
    problems = lint(doc)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
