"""Spec validation of requests and responses with jsonschema (Draft 2020-12) over the bundled document.

Validators are compiled once per JSON pointer and cached on the :class:`Validators` instance, which FakeBill
shares per loaded spec. Request problems become BILL's 400 error array naming the field:

* missing required field or parameter -> ``BDC_1108`` "Missing parameter value for parameter: <field>"
* wrong JSON type                      -> ``BDC_1124`` "Invalid field datatype: <field>"
* any other schema violation           -> ``BDC_1119`` "Invalid field,value: <field>,<value>"
  (``BDC_1129`` "Invalid parameter value for parameter,value" for query/path/header parameters)
* body that is not JSON                -> ``BDC_1122``
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bill_sdk.testing.bdc import ErrorReply, error_item
from bill_sdk.testing.schemas import SchemaTools
from bill_sdk.testing.spec import Parameter, Spec, SpecOperation, ref_pointer

_DOC_URI = "urn:bill-v3"
_MAX_ITEMS = 10

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    date.fromisoformat(value)
    return True


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?", value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


@_FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    uuid.UUID(value)
    return True


class Validators:
    """Compiled validators for parts of one spec document, keyed by JSON pointer."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec.doc, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_DOC_URI, resource)
        self._cache: dict[str, Draft202012Validator] = {}
        self._lock = threading.Lock()
        self._tools = SchemaTools(spec.doc)

    def get(self, pointer: str) -> Draft202012Validator:
        found = self._cache.get(pointer)
        if found is None:
            with self._lock:
                found = self._cache.get(pointer)
                if found is None:
                    found = Draft202012Validator(
                        {"$ref": ref_pointer(pointer)}, registry=self._registry, format_checker=_FORMATS
                    )
                    self._cache[pointer] = found
        return found

    def errors(self, pointer: str, instance: Any) -> list[ValidationError]:
        return sorted(self.get(pointer).iter_errors(_jsonable(instance)), key=lambda e: list(e.path))

    # -- requests ------------------------------------------------------------------------------------

    def check_params(self, op: SpecOperation, values: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
        """Validate and convert path/query/header parameters; `values` maps location -> name -> raw string.

        Returns the converted values of declared parameters as ``{name: value}``; raises ErrorReply 400.
        """
        items: list[dict[str, Any]] = []
        out: dict[str, Any] = {}
        for param in op.params:
            if param.location not in values:
                continue
            raw = _lookup(values[param.location], param.name, param.location == "header")
            if raw is None or raw == "":
                if param.required:
                    items.append(error_item("BDC_1108", f"Missing parameter value for parameter: {param.name}"))
                continue
            converted, ok = self._convert(param, raw)
            if not ok:
                items.append(error_item("BDC_1124", f"Invalid field datatype: {param.name}"))
                continue
            if param.pointer is not None and self.errors(param.pointer, converted):
                items.append(error_item("BDC_1129", f"Invalid parameter value for parameter,value: {param.name},{raw}"))
                continue
            out[param.name] = converted
        if items:
            raise ErrorReply.many(400, items[:_MAX_ITEMS])
        return out

    def _convert(self, param: Parameter, raw: str) -> tuple[Any, bool]:
        types = self._tools.types(param.schema) if param.schema else set()
        try:
            if "integer" in types and "string" not in types:
                return int(raw), True
            if "number" in types and "string" not in types:
                return Decimal(raw), True
            if "boolean" in types and "string" not in types:
                if raw.lower() not in ("true", "false"):
                    return raw, False
                return raw.lower() == "true", True
            if "array" in types:
                return raw.split(","), True
        except (ValueError, ArithmeticError):
            return raw, False
        return raw, True

    def check_body(self, op: SpecOperation, body: Any) -> None:
        if op.body_pointer is None:
            return
        errors = self.errors(op.body_pointer, body)
        if errors:
            items: dict[tuple[str, str], dict[str, Any]] = {}
            for error in _leaves(errors):
                item = _request_item(error)
                items.setdefault((item["code"], item["message"]), item)
            raise ErrorReply.many(400, list(items.values())[:_MAX_ITEMS])

    # -- responses -----------------------------------------------------------------------------------

    def check_response(self, op: SpecOperation | None, status: int, body: Any, has_body: bool) -> list[str]:
        """Problems of one response against the operation's declared responses (empty list: conforms)."""
        if op is None:
            return self._check_error_list(status, body) if has_body else []
        key = op.response_key(status)
        if key is None:
            return [f"status {status} is not declared for {op.operation_id}"]
        pointer = op.response_pointer(key)
        if pointer is None:
            return []  # no content declared: nothing to check
        if not has_body:
            return [f"{op.operation_id} {status}: the spec declares a body but none was sent"]
        return [f"{op.operation_id} {status}: {_describe(e)}" for e in self.errors(pointer, body)][:20]

    def _check_error_list(self, status: int, body: Any) -> list[str]:
        schemas = (self.spec.doc.get("components") or {}).get("schemas") or {}
        if "ErrorList" not in schemas or status < 400:
            return []
        return [f"{status}: {_describe(e)}" for e in self.errors("/components/schemas/ErrorList", body)]


def _lookup(values: Mapping[str, str], name: str, case_insensitive: bool) -> str | None:
    if name in values:
        return values[name]
    if case_insensitive:
        lowered = name.lower()
        for key, value in values.items():
            if key.lower() == lowered:
                return value
    return None


def field_name(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _leaves(errors: list[ValidationError]) -> list[ValidationError]:
    """Prefer the most specific error of an anyOf/oneOf over the umbrella error."""
    out = []
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            deepest = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
            if len(deepest.absolute_path) > len(error.absolute_path):
                out.append(deepest)
                continue
        out.append(error)
    return out


def _request_item(error: ValidationError) -> dict[str, Any]:
    path = list(error.absolute_path)
    if error.validator == "required":
        quoted = re.match(r"^'(.+)' is a required property$", error.message)
        missing = [p for p in error.validator_value if isinstance(error.instance, dict) and p not in error.instance]
        prop = quoted.group(1) if quoted else (missing[0] if missing else None)
        name = field_name([*path, prop]) if prop else field_name(path)
        return error_item("BDC_1108", f"Missing parameter value for parameter: {name}")
    name = field_name(path) or "body"
    if error.validator == "type":
        return error_item("BDC_1124", f"Invalid field datatype: {name}")
    value = error.instance if not isinstance(error.instance, dict | list) else json.dumps(error.instance)[:80]
    return error_item("BDC_1119", f"Invalid field,value: {name},{value}")


def _describe(error: ValidationError) -> str:
    where = field_name(error.absolute_path) or "<root>"
    return f"{where}: {error.message[:300]}"


def _jsonable(value: Any) -> Any:
    """Decimals become floats (the schema's own bounds are floats: Decimal("0.01") < 0.01 is True)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
