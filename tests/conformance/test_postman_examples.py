"""Replay BILL's Postman examples against the bundled spec.

For every operation BILL requires (required-operations.json) and every other spec operation the collection
has, every example request body in BILL's Postman collection must validate against the operation's request-body schema, and every 200/201 example response
body against the operation's response schema (JSON Schema 2020-12 over the bundled document; `format` is not
asserted).

Some of BILL's own examples are broken (the Connect Events examples were generated from an incomplete schema
and contain "reference ... not found in the OpenAPI spec" or `{}`; a few request bodies are not even JSON). Each such operation is listed in
KNOWN_EXAMPLE_DEFECTS with the reason. For those the test checks that BILL's example really is defective (so the
list cannot go stale once BILL fixes it) and validates the spec against the hand-written example in
CORRECTED_EXAMPLES instead. Nothing is skipped silently.

The shared reference data lives outside the repository (../shared/bill-api, or $BILL_SHARED_DIR/bill-api).
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bill_sdk._spec import bundle, iter_raw_operations, pointer_escape, resolve_pointer
from bill_sdk._spec import follow as follow_refs

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ["BILL_SHARED_DIR"]) if os.environ.get("BILL_SHARED_DIR") else REPO / ".." / "shared"
BILL_API = SHARED / "bill-api"
COLLECTION = BILL_API / "postman" / "bill-v3-api.postman_collection.json"
REQUIRED = BILL_API / "required-operations.json"

pytestmark = pytest.mark.skipif(
    not (COLLECTION.is_file() and REQUIRED.is_file()),
    reason=f"BILL reference data not found at {BILL_API} (set BILL_SHARED_DIR to the directory holding bill-api/)",
)


DOC_URI = "urn:bill-sdk:bill-v3"
EVENTS_PREFIX = "/connect-events"
BROKEN_REFERENCE_MARKER = "not found in the OpenAPI spec"
METHODS = ("get", "put", "post", "delete", "patch")

# operationId -> why BILL's example cannot be used as it is. Keep in step with CORRECTED_EXAMPLES.
KNOWN_EXAMPLE_DEFECTS: dict[str, str] = {
    "createSubscription": (
        "response example was generated from an incomplete schema: `status` and each `events` item are "
        "placeholders reading 'reference #/components/schemas/... not found in the OpenAPI spec'"
    ),
    "getSubscription": "response `status` and `events` items are 'reference ... not found' placeholders",
    "replaceSubscription": "response `status` and `events` items are 'reference ... not found' placeholders",
    "updateSubscription": "response `status` and `events` items are 'reference ... not found' placeholders",
    "listSubscriptions": "response example is an empty object `{}` instead of a forward-only page",
    "listEventNotifications": "response example is an empty object `{}` instead of a forward-only page",
    "checkEventsHealth": "the collection has no request for the Connect Events health check (only Connect's)",
    "createPartnerOrganization": (
        'request example sends processingOptions.mailingAddressSameAsPhysical as the string "true"; '
        "BILL documents a boolean"
    ),
    "createCard": 'request example sends `limit` as the string "100"; BILL documents a number (money)',
    "updateCard": 'request example sends `limit` as the string "120"; BILL documents a number (money)',
    "putBudgetMember": (
        'request example sends `limit` and `recurringLimit` as strings ("50", "100"); BILL documents numbers'
    ),
    "createDepartment": "request example is not JSON: a trailing comma after the last field",
    "updateDepartment": "request example is not JSON: a trailing comma after the last field",
    "createLocation": 'request example is not JSON: the second key is written `""description"`',
    "createCustomField": (
        "request example leaves out `required`, which BILL's current reference marks required (default false; "
        "https://developer.bill.com/reference-link/createcustomfield): the docs are newer than the collection"
    ),
}

_SUBSCRIPTION = {
    "id": "a6e5a1f0-54d3-4b7e-9a56-0d9f6f3c2b11",
    "name": "Bill management",
    "organizationId": "00801ABCDEFGHIJ1234",
    "status": {"enabled": True},
    "events": [{"type": "bill.created", "version": "1"}, {"type": "bill.updated", "version": "1"}],
    "notificationUrl": "https://example.com/bill/webhooks",
    "createdTime": "2025-01-02T03:04:05.000+00:00",
    "updatedTime": "2025-01-02T03:04:05.000+00:00",
}
_EVENT = {
    "id": "625947c4-8e6b-48f0-ae72-ea9c9375ec27",
    "type": "bill.created",
    "version": "1",
    "subscriptionId": "a6e5a1f0-54d3-4b7e-9a56-0d9f6f3c2b11",
    "payload": '{"metadata":{"eventId":"625947c4-8e6b-48f0-ae72-ea9c9375ec27","eventType":"bill.created"},'
    '"bill":{"id":"00n01ABCDEFGHIJ1234"}}',
    "createdTime": "2025-01-02T03:04:05.000+00:00",
    "statusCode": 200,
}

# operationId -> part -> hand-written example; part is "request" or a response status code ("200", "201").
CORRECTED_EXAMPLES: dict[str, dict[str, Any]] = {
    "createSubscription": {"200": {**_SUBSCRIPTION, "securityKey": "c2VjcmV0LWtleQ=="}},
    "getSubscription": {"200": _SUBSCRIPTION},
    "replaceSubscription": {"200": _SUBSCRIPTION},
    "updateSubscription": {"200": {**_SUBSCRIPTION, "name": "Manage bills", "status": {"enabled": False}}},
    "listSubscriptions": {"200": {"nextPage": "b3BhcXVlLWN1cnNvcg==", "results": [_SUBSCRIPTION]}},
    "listEventNotifications": {"200": {"results": [_EVENT, {**_EVENT, "statusCode": 500}]}},
    "checkEventsHealth": {
        "200": {"appId": "connect-events", "appEnv": "stage", "appVersion": "1.0.0", "bdcRegion": "us-west"}
    },
    "createPartnerOrganization": {
        "request": {
            "name": "Rice Cakes Inc",
            "address": {
                "line1": "987 Home St",
                "city": "San Jose",
                "stateOrProvince": "CA",
                "zipOrPostalCode": "95002",
                "country": "US",
            },
            "phone": "4085550100",
            "taxId": "999888777",
            "taxIdType": "EIN",
            "companyOwner": {"name": "Noodle Soupsmith", "dateOfBirth": "1985-01-01"},
            "industry": "Restaurant Caterer or Bar",
            "businessCategory": "LLC",
            "accountType": "BUSINESS",
            "processingOptions": {"mailingAddressSameAsPhysical": True},
        }
    },
    "createCard": {
        "request": {
            "budgetId": "bdg_0f2d8c3e",
            "limit": 100,
            "name": "Happy Music Supplies card for Clark Spenderson",
            "userId": "usr_5b7a9e21",
        }
    },
    "updateCard": {"request": {"limit": 120}},
    "putBudgetMember": {"request": {"limit": 50, "recurringLimit": 100}},
    "createDepartment": {
        "request": {"name": "Sales Department", "description": "Sales department (Prepaid Expenses account)"}
    },
    "updateDepartment": {"request": {"name": "Sales Department", "description": "Prepaid Expenses account"}},
    "createLocation": {
        "request": {"name": "123 Main St Retail Store", "description": "Retail store prepaid subscription expenses"}
    },
    "createCustomField": {
        "request": {
            "name": "Team offsite",
            "allowCustomValues": False,
            "required": False,
            "global": True,
            "values": ["Travel", "Food"],
        }
    },
}


# --------------------------------------------------------------------------- loading


@cache
def bundled() -> dict[str, Any]:
    return bundle(REPO / "spec")


@cache
def registry() -> Registry:
    resource = Resource.from_contents(bundled(), default_specification=DRAFT202012)
    return Registry().with_resource(DOC_URI, resource)


def pointer(*parts: str) -> str:
    return "#/" + "/".join(pointer_escape(p) for p in parts)


def validator_for(location: str) -> Draft202012Validator:
    """A validator for the schema found at `location` (a JSON pointer into the bundled document)."""
    return Draft202012Validator({"$ref": DOC_URI + location}, registry=registry())


def follow(location: str) -> tuple[str, Any]:
    """Resolve a chain of `$ref`s starting at a pointer; return the final pointer and node."""
    node, target = follow_refs(bundled(), resolve_pointer(bundled(), location))
    return ("#" + target if target is not None else location), node


def spec_key(method: str, path: str) -> tuple[str, str]:
    """Match key: method and path with every parameter name blanked."""
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)


@cache
def spec_operations() -> dict[tuple[str, str], tuple[str, str, dict[str, Any]]]:
    return {spec_key(method, path): (path, method, op) for path, method, op in iter_raw_operations(bundled())}


@cache
def postman_items() -> dict[tuple[str, str], list[dict[str, Any]]]:
    collection = json.loads(COLLECTION.read_text())
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if "item" in item:
                walk(item["item"])
                continue
            request = item["request"]
            url = request["url"]
            path = "/" + "/".join("{}" if s.startswith(":") else s for s in url.get("path", []))
            if "{{webhookBaseUrl}}" in url.get("host", []):
                path = EVENTS_PREFIX + path
            found[(request["method"].upper(), path)].append(item)

    walk(collection["item"])
    return dict(found)


@cache
def required_operation_ids() -> list[str]:
    ids = []
    for entry in json.loads(REQUIRED.read_text()):
        path = (EVENTS_PREFIX if entry["api"] == "events" else "") + entry["path"]
        op = spec_operations().get(spec_key(entry["method"], path))
        ids.append(op[2]["operationId"] if op else f"MISSING {entry['method']} {path}")
    return sorted(set(ids))


@cache
def replayed_operation_ids() -> list[str]:
    """The required operations plus every other spec operation the collection has a request for."""
    in_collection = {op[2]["operationId"] for key, op in spec_operations().items() if key in postman_items()}
    return sorted(set(required_operation_ids()) | in_collection)


def operation(op_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, method, op in spec_operations().values():
        if op.get("operationId") == op_id:
            return path, method, op
    raise LookupError(op_id)


# --------------------------------------------------------------------------- examples

_PLACEHOLDER = re.compile(r'"(?:[^"\\]|\\.)*"|\{\{([\w.-]+)\}\}')


def fill_placeholders(raw: str) -> str:
    """Replace Postman `{{var}}` placeholders with strings (inside a JSON string: the bare name)."""

    def sub(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return json.dumps(match.group(1))
        return re.sub(r"\{\{([\w.-]+)\}\}", lambda m: m.group(1), match.group(0))

    return _PLACEHOLDER.sub(sub, raw)


class NotJSON(str):
    """An example body that is not JSON (kept as its text, so the defect can be reported)."""


def parse_body(raw: str | None) -> Any:
    if raw is None or not raw.strip():
        return None
    try:
        return json.loads(fill_placeholders(raw))
    except json.JSONDecodeError as exc:
        return NotJSON(f"{exc.msg} at line {exc.lineno} column {exc.colno}")


def examples_for(op_id: str) -> dict[str, list[Any]] | None:
    """BILL's examples of one operation by part: "request" and response status codes (a None body: no body).

    None when the collection has no request for the operation at all.
    """
    path, method, _ = operation(op_id)
    items = postman_items().get(spec_key(method, path))
    if not items:
        return None
    parts: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        body = item["request"].get("body") or {}
        if body.get("mode") == "raw" and (body.get("raw") or "").strip():
            parts["request"].append(parse_body(body["raw"]))
        for response in item.get("response", []):
            if response.get("code") in (200, 201):
                parts[str(response["code"])].append(parse_body(response.get("body")))
    return dict(parts)


# --------------------------------------------------------------------------- checking


def schema_location(op_id: str, part: str) -> str | None:
    """Pointer to the JSON schema of a request body or response; None when the spec declares no JSON body."""
    path, method, op = operation(op_id)
    base = pointer("paths", path, method)
    if part == "request":
        if "requestBody" not in op:
            return None
        location, node = follow(base + "/requestBody")
    else:
        if part not in (op.get("responses") or {}):
            raise KeyError(f"the spec declares no {part} response")
        location, node = follow(base + "/" + pointer("responses", part)[2:])
    if "application/json" not in (node.get("content") or {}):
        return None
    return location + "/" + pointer("content", "application/json", "schema")[2:]


def declares_properties(location: str) -> bool:
    location, node = follow(location)
    if not isinstance(node, dict):
        return False
    if node.get("properties"):
        return True
    return any(
        declares_properties(f"{location}/{key}/{i}")
        for key in ("allOf", "anyOf", "oneOf")
        for i in range(len(node.get(key) or []))
    )


def problems_with(op_id: str, part: str, body: Any) -> list[str]:
    """Why one example body does not fit the spec (empty list: it fits)."""
    label = "request body" if part == "request" else f"{part} response"
    try:
        location = schema_location(op_id, part)
    except KeyError as exc:
        return [f"{label}: {exc.args[0]}"]
    if location is None:
        return [] if body is None else [f"{label}: example has a JSON body but the spec declares none"]
    if body is None:
        return [] if part == "request" else [f"{label}: the spec declares a JSON body but the example has none"]
    if isinstance(body, NotJSON):
        return [f"{label}: not JSON ({body})"]
    problems = []
    if BROKEN_REFERENCE_MARKER in json.dumps(body):
        problems.append(f"{label}: contains a '{BROKEN_REFERENCE_MARKER}' placeholder")
    if body == {} and declares_properties(location):
        problems.append(f"{label}: empty object where the spec describes fields")
    for error in sorted(validator_for(location).iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "<root>"
        problems.append(f"{label}: {where}: {error.message[:200]}")
    return problems


def defects_of(op_id: str) -> dict[str, list[str]]:
    """Problems of BILL's examples for one operation, by part; "collection" when there is no example at all."""
    examples = examples_for(op_id)
    if examples is None:
        return {"collection": ["no request for this operation in the Postman collection"]}
    found: dict[str, list[str]] = {}
    for part, bodies in examples.items():
        for body in bodies:
            problems = problems_with(op_id, part, body)
            if problems:
                found.setdefault(part, []).extend(problems)
    return found


# --------------------------------------------------------------------------- tests


def test_every_required_operation_is_in_the_spec() -> None:
    missing = [op_id for op_id in required_operation_ids() if op_id.startswith("MISSING ")]
    assert not missing, missing


def test_placeholders_become_strings() -> None:
    raw = '{"a": "{{x}}", "b": {{y}}, "c": "pre-{{z}}-post", "d": ["{{w}}"], "e": "{{not a var"}'
    assert parse_body(raw) == {"a": "x", "b": "y", "c": "pre-z-post", "d": ["w"], "e": "{{not a var"}


def test_defect_lists_agree() -> None:
    assert set(KNOWN_EXAMPLE_DEFECTS) == set(CORRECTED_EXAMPLES)
    unknown = set(KNOWN_EXAMPLE_DEFECTS) - set(replayed_operation_ids())
    assert not unknown, (
        f"KNOWN_EXAMPLE_DEFECTS names operations that are neither required nor in the collection: {sorted(unknown)}"
    )


@pytest.mark.parametrize("op_id", replayed_operation_ids() if REQUIRED.is_file() and COLLECTION.is_file() else [])
def test_postman_examples_fit_the_spec(op_id: str) -> None:
    if op_id.startswith("MISSING "):
        pytest.fail(f"{op_id}: not in the spec")
    defects = defects_of(op_id)
    if op_id not in KNOWN_EXAMPLE_DEFECTS:
        assert not defects, "\n".join(p for problems in defects.values() for p in problems)
        return

    # BILL's example must still be broken; otherwise drop the entry and validate the real example.
    assert defects, (
        f"{op_id} is listed in KNOWN_EXAMPLE_DEFECTS ({KNOWN_EXAMPLE_DEFECTS[op_id]}) "
        "but BILL's examples now fit the spec: remove the entry"
    )
    corrected = CORRECTED_EXAMPLES[op_id]
    uncorrected = set(defects) - set(corrected) - {"collection"}
    assert not uncorrected, f"{op_id}: defective parts without a corrected example: {sorted(uncorrected)}"
    if "collection" in defects:
        assert corrected, f"{op_id}: no example in the collection and no hand-written one"
    else:
        stale = set(corrected) - set(defects)
        assert not stale, f"{op_id}: corrected examples for parts whose original is fine: {sorted(stale)}"
    for part, body in corrected.items():
        problems = problems_with(op_id, part, copy.deepcopy(body))
        assert not problems, "\n".join(problems)
