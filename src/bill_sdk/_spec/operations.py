"""The spec's operations and the facts each one carries: family, tag, SDK method, auth, idempotency, pagination.

Codegen (templates, lint), FakeBill and the tests read these facts here, so each is decided once:

* family: ``x-bill-family`` (connect | partner | events | spend); the lint checks it agrees with the tag prefix
  (:func:`family_of_tag`) and with the path (Connect Events paths start with ``/connect-events``).
* auth: ``security`` (an empty list: no credentials; absent: the document's default).
* idempotent: a retry cannot do the work twice (:attr:`SpecOperation.idempotent`).
* pagination: ``x-pagination`` (page | spend | forward), on list operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .document import follow, pointer_escape

# Every method OpenAPI allows in a path item (the spec uses the first five).
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
FAMILIES = ("connect", "partner", "events", "spend")
# Connect Events paths keep their `/connect-events` prefix in the spec; every other path starts at `/v3`.
EVENTS_PREFIX = "/connect-events"
API_PREFIXES = (EVENTS_PREFIX + "/v3", "/v3")
IDEMPOTENCY_HEADER = "X-Idempotent-Key"


def family_of_tag(tag: str) -> str:
    """The family a tag names by its prefix: ``partner-users`` (or ``partner_users``) -> ``partner``."""
    return split_tag(tag)[0]


def split_tag(tag: str) -> tuple[str, str]:
    """(family, the rest): ``spend-cards`` -> (spend, cards); a tag without a family prefix is Connect's."""
    for family in FAMILIES[1:]:
        if tag.startswith(family) and tag[len(family) : len(family) + 1] in ("-", "_"):
            return family, tag[len(family) + 1 :]
    return "connect", tag


def spec_path(api: str, path: str) -> str:
    """The spec path of an operation BILL documents as ``path`` on the base of `api` (events: its own host)."""
    return EVENTS_PREFIX + path if api == "events" else path


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: dict[str, Any] | None
    pointer: str | None  # JSON pointer of `schema` in the document


@dataclass
class SpecOperation:
    """One operation of the spec with its references resolved (the raw object is :attr:`raw`)."""

    operation_id: str
    method: str  # upper case
    path: str  # spec path, e.g. /v3/vendors/{vendorId}
    family: str
    tag: str | None
    sdk_method: str | None
    pagination: str | None
    security: list[dict[str, list[str]]] | None  # None: inherit (treated as no requirement)
    params: list[Parameter]
    body_content_type: str | None
    body_schema: dict[str, Any] | None
    body_pointer: str | None
    body_required: bool
    responses: dict[str, dict[str, Any]]  # status key -> response object (resolved)
    pointer: str  # JSON pointer of the operation object
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    segments: tuple[str, ...] = field(default=())  # path segments after the API prefix
    response_pointers: dict[str, str] = field(default_factory=dict)  # status key -> JSON pointer

    @property
    def prefix(self) -> str:
        return next(p for p in API_PREFIXES if self.path == p or self.path.startswith(p + "/"))

    @property
    def idempotent(self) -> bool:
        """A retry cannot do the work twice: GET/PUT/DELETE, an idempotency-key header, or ``x-idempotent``."""
        if self.method in ("GET", "PUT", "DELETE"):
            return True
        return self.idempotency_param is not None or bool(self.raw.get("x-idempotent", False))

    def param(self, name: str, location: str | None = None) -> Parameter | None:
        for p in self.params:
            if p.name.lower() == name.lower() and (location is None or p.location == location):
                return p
        return None

    @property
    def idempotency_param(self) -> Parameter | None:
        return self.param(IDEMPOTENCY_HEADER, "header")

    def param_bounds(self) -> dict[str, tuple[int | None, int | None]]:
        """Query parameter name -> (minimum, maximum) for the parameters the spec bounds (e.g. max 1..100)."""
        bounds = {}
        for param in self.params:
            schema = param.schema or {}
            if param.location == "query" and ("minimum" in schema or "maximum" in schema):
                bounds[param.name] = (schema.get("minimum"), schema.get("maximum"))
        return bounds

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


def iter_raw_operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, lower-case method, operation object) of every operation, unresolved (for the lint)."""
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield path, method, op


def read_operations(doc: dict[str, Any]) -> Iterator[SpecOperation]:
    """Every operation of a bundled document, its parameters, body and responses resolved."""
    for path, method, raw in iter_raw_operations(doc):
        item = doc["paths"][path]
        base = f"/paths/{pointer_escape(path)}"
        op_ptr = f"{base}/{method}"
        params = _params(doc, item.get("parameters") or [], f"{base}/parameters")
        params += _params(doc, raw.get("parameters") or [], f"{op_ptr}/parameters")
        # Operation-level parameters override path-level ones with the same name and location.
        merged: dict[tuple[str, str], Parameter] = {}
        for p in params:
            merged[(p.name.lower(), p.location)] = p
        body_ct = body_schema = body_ptr = None
        body_required = False
        rb, rb_ptr = follow(doc, raw.get("requestBody"))
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
            target, ptr = follow(doc, resp)
            responses[str(key)] = target if isinstance(target, dict) else {}
            resp_ptrs[str(key)] = ptr or f"{op_ptr}/responses/{pointer_escape(str(key))}"
        prefix = next((p for p in API_PREFIXES if path.startswith(p + "/") or path == p), "")
        tags = raw.get("tags") or []
        yield SpecOperation(
            operation_id=raw.get("operationId") or f"{method}:{path}",
            method=method.upper(),
            path=path,
            family=raw.get("x-bill-family") or ("events" if path.startswith(EVENTS_PREFIX) else "connect"),
            tag=tags[0] if tags else None,
            sdk_method=raw.get("x-sdk-method"),
            pagination=raw.get("x-pagination"),
            security=raw.get("security", doc.get("security")),
            params=list(merged.values()),
            body_content_type=body_ct,
            body_schema=body_schema,
            body_pointer=body_ptr,
            body_required=body_required,
            responses=responses,
            pointer=op_ptr,
            raw=raw,
            segments=tuple(s for s in path[len(prefix) :].split("/") if s),
            response_pointers=resp_ptrs,
        )


def _params(doc: dict[str, Any], raw_params: list[Any], base: str) -> list[Parameter]:
    out = []
    for i, raw in enumerate(raw_params):
        target, ptr = follow(doc, raw)
        if not isinstance(target, dict) or "name" not in target:
            continue
        ptr = ptr or f"{base}/{i}"
        schema = target.get("schema")
        out.append(
            Parameter(
                name=target["name"],
                location=target.get("in", "query"),
                required=bool(target.get("required")) or target.get("in") == "path",
                schema=schema,
                pointer=f"{ptr}/schema" if schema is not None else None,
            )
        )
    return out
