"""Check the bundled OpenAPI document against the conventions stated in spec/openapi.yaml.

Usage: `python codegen/lint_spec.py [bundle.json]` (without an argument the parts in spec/ are bundled first;
`--help` for the options). Prints one line per problem and exits 1 when there is any; exits 0 silently otherwise.

`lint(doc)` returns the same problems as a list of strings, so tests can run the rules on small documents.

Rules:
  validity     the document is valid OpenAPI (openapi-spec-validator)
  operationId  present and unique
  tags         exactly one tag per operation, declared in the root `tags`; a tag's `x-sdk-parent` names a declared
               tag of the same family, with `x-sdk-name` a Python identifier no method of the parent uses
  family       `x-bill-family` is connect|partner|events|spend and agrees with the tag prefix
               (partner-* partner, events-* events, spend-* spend, anything else connect);
               an operation is in the events family exactly when its path starts with /connect-events/
  security     every operation declares `security`; an empty list only for the unauthenticated operations
  errors       every operation answers 4XX and 5XX with `#/components/responses/Error`
  sdk-method   `x-sdk-method` present, a Python identifier, not a keyword, unique within its tag
  pagination   `x-pagination` in {page, spend, forward}, only on GET operations whose 2xx schema has `results`
  idempotent   `x-idempotent` only on POST
  query-fields `x-filterable` (field -> non-empty list of distinct operators among eq ne gt gte lt lte in nin sw)
               only on operations with a `filters` query parameter, `x-sortable` (non-empty list of distinct
               fields) only on operations with a `sort` parameter; field names are plain or dotted names;
               `x-sort-max-fields` a positive integer, only next to `x-sortable`
  sync-cursor  `x-sync-cursor` (a field name, or {field, sortable}) only on paged lists that take `filters`
  nullable-enum  no inline enum that also allows null (use anyOf: [{$ref: Enum}, {type: "null"}])
  secrets      every property named like a credential (password, devKey, appKey, apiToken, sessionId,
               securityKey, rememberMeId) carries `x-secret: true`, so its model never prints it
  refs         every local `$ref` resolves
  orphans      every component schema is reachable from paths/parameters/responses/request bodies
  required-ops every operation in the shared required-operations.json exists (when that file is available)
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bill_sdk._spec import (
    EVENTS_PREFIX,
    FAMILIES,
    deref,
    family_of_tag,
    iter_raw_operations,
    iter_refs,
    property_schema,
    resolve_pointer,
    spec_path,
)

ROOT = Path(__file__).resolve().parent.parent
PAGINATION_KINDS = {"page", "spend", "forward"}
UNAUTHENTICATED = {"login", "partnerLogin", "checkHealth", "checkEventsHealth"}
ERROR_REF = "#/components/responses/Error"
FILTER_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "sw")
FIELD_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")


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
    return {(entry["method"].upper(), spec_path(entry["api"], entry["path"])) for entry in required}


def _deref(doc: dict[str, Any], node: Any) -> Any:
    """`node` with its `$ref`s followed; {} when one points nowhere (the `refs` rule reports it)."""
    try:
        return deref(doc, node)
    except KeyError:
        return {}


def schema_has_property(doc: dict[str, Any], schema: Any, name: str) -> bool:
    """Whether a schema (following $ref and allOf/anyOf/oneOf) declares property `name`."""
    try:
        return property_schema(doc, schema, name) is not None
    except KeyError:  # a dangling $ref on the way (the `refs` rule reports it)
        return False


def success_schemas(doc: dict[str, Any], op: dict[str, Any]) -> Iterator[Any]:
    for code, response in (op.get("responses") or {}).items():
        if not str(code).startswith("2"):
            continue
        response = _deref(doc, response)
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
    for path, method, op in iter_raw_operations(doc):
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
        elif tag is not None and family_of_tag(tag) != family:
            problems.append(
                f"family: {label}: tag {tag!r} implies family {family_of_tag(tag)!r} but x-bill-family is {family!r}"
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


def _query_parameter_names(doc: dict[str, Any], path_item: dict[str, Any], op: dict[str, Any]) -> set[str]:
    names = set()
    for param in [*(path_item.get("parameters") or []), *(op.get("parameters") or [])]:
        param = deref(doc, param) if isinstance(param, dict) and "$ref" in param else param
        if isinstance(param, dict) and param.get("in") == "query":
            names.add(str(param.get("name")))
    return names


def _check_query_fields(doc: dict[str, Any]) -> list[str]:
    """`x-filterable` / `x-sortable`: what the generated list methods check filters and sort against."""
    problems = []
    for path, method, op in iter_raw_operations(doc):
        if "x-filterable" not in op and "x-sortable" not in op and "x-sort-max-fields" not in op:
            continue
        label = f"{method.upper()} {path} ({op.get('operationId')})"
        params = _query_parameter_names(doc, doc["paths"][path], op)
        if "x-filterable" in op:
            filterable = op["x-filterable"]
            if "filters" not in params:
                problems.append(f"query-fields: {label}: x-filterable but no `filters` parameter")
            if not isinstance(filterable, dict):
                problems.append(f"query-fields: {label}: x-filterable must be a mapping of field to operators")
            elif not filterable:
                problems.append(f"query-fields: {label}: x-filterable is empty (leave it out instead)")
            else:
                for field, ops in filterable.items():
                    where = f"query-fields: {label}: x-filterable {field!r}"
                    if not isinstance(field, str) or not FIELD_NAME.fullmatch(field):
                        problems.append(f"{where} is not a field name")
                    if not isinstance(ops, list) or not ops:
                        problems.append(f"{where} needs a non-empty list of operators")
                        continue
                    for bad in [o for o in ops if o not in FILTER_OPERATORS]:
                        problems.append(f"{where}: operator {bad!r} is not one of {', '.join(FILTER_OPERATORS)}")
                    for twice in sorted({o for o in ops if isinstance(o, str) and ops.count(o) > 1}):
                        problems.append(f"{where}: operator {twice!r} listed twice")
        if "x-sortable" in op:
            sortable = op["x-sortable"]
            if "sort" not in params:
                problems.append(f"query-fields: {label}: x-sortable but no `sort` parameter")
            if not isinstance(sortable, list) or not sortable:
                problems.append(f"query-fields: {label}: x-sortable needs a non-empty list of fields")
            else:
                for field in sortable:
                    if not isinstance(field, str) or not FIELD_NAME.fullmatch(field):
                        problems.append(f"query-fields: {label}: x-sortable {field!r} is not a field name")
                for twice in sorted({f for f in sortable if isinstance(f, str) and sortable.count(f) > 1}):
                    problems.append(f"query-fields: {label}: x-sortable {twice!r} listed twice")
        if "x-sort-max-fields" in op:
            most = op["x-sort-max-fields"]
            if "x-sortable" not in op:
                problems.append(f"query-fields: {label}: x-sort-max-fields without x-sortable")
            if not isinstance(most, int) or isinstance(most, bool) or most < 1:
                problems.append(f"query-fields: {label}: x-sort-max-fields {most!r} is not a positive integer")
    return problems


def _check_nested_tags(doc: dict[str, Any]) -> list[str]:
    """`x-sdk-parent` / `x-sdk-name` (a namespace nested in another: `bill.customers.bank_accounts`)."""
    problems = []
    tags = {t.get("name"): t for t in doc.get("tags") or [] if isinstance(t, dict)}
    methods: dict[str, set[str]] = {}
    for _, _, op in iter_raw_operations(doc):
        for tag in op.get("tags") or []:
            methods.setdefault(tag, set()).add(str(op.get("x-sdk-method")))
    for name, tag in tags.items():
        parent, attribute = tag.get("x-sdk-parent"), tag.get("x-sdk-name")
        if parent is None and attribute is None:
            continue
        if parent not in tags or tags[parent].get("x-sdk-parent"):
            problems.append(f"tags: {name}: x-sdk-parent {parent!r} is not a declared top-level tag")
        elif family_of_tag(parent) != family_of_tag(name):
            problems.append(f"tags: {name}: x-sdk-parent {parent!r} is in another API family")
        if not isinstance(attribute, str) or not attribute.isidentifier() or keyword.iskeyword(attribute):
            problems.append(f"tags: {name}: x-sdk-name {attribute!r} is not a Python identifier")
        elif attribute in methods.get(str(parent), set()):
            problems.append(f"tags: {name}: x-sdk-name {attribute!r} is also a method of {parent!r}")
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
    present = {(method.upper(), path) for path, method, _ in iter_raw_operations(doc)}
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
    problems += _check_query_fields(doc)
    problems += _check_nested_tags(doc)
    problems += _check_nullable_enums(doc)
    problems += _check_secrets(doc)
    problems += _check_refs(doc)
    problems += _check_orphans(doc)
    if required:
        problems += _check_required_operations(doc, required)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, help="a bundled document (default: bundle spec/ first)")
    args = parser.parse_args(argv)
    if args.bundle is not None:
        doc = json.loads(args.bundle.read_text())
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
