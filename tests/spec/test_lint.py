"""codegen/lint_spec.py: the real spec passes, and each rule catches the mistake it exists for."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "codegen"))

import lint_spec  # noqa: E402
from bundle import load_bundle  # noqa: E402

SHARED = Path(os.environ["BILL_SHARED_DIR"]) if os.environ.get("BILL_SHARED_DIR") else REPO / ".." / "shared"
REQUIRED = SHARED / "bill-api" / "required-operations.json"

ERROR = {"$ref": "#/components/responses/Error"}


def op(op_id: str, tag: str, family: str, sdk_method: str, **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id,
        "tags": [tag],
        "x-bill-family": family,
        "x-sdk-method": sdk_method,
        "security": [{"devKey": [], "sessionId": []}],
        "responses": {"200": {"description": "ok"}, "4XX": dict(ERROR), "5XX": dict(ERROR)},
    }
    operation.update(extra)
    return operation


def json_response(ref: str) -> dict[str, Any]:
    return {"description": "ok", "content": {"application/json": {"schema": {"$ref": ref}}}}


def minimal_doc() -> dict[str, Any]:
    """A small document that follows every convention; each test breaks one of them."""
    list_vendors = op("listVendors", "vendors", "connect", "list", **{"x-pagination": "page"})
    list_vendors["responses"]["200"] = json_response("#/components/schemas/VendorPage")
    create_vendor = op("createVendor", "vendors", "connect", "create")
    create_vendor["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Vendor"}}},
    }
    archive_vendor = op("archiveVendor", "vendors", "connect", "archive", **{"x-idempotent": True})
    login = op("login", "auth", "connect", "login", security=[])
    list_budgets = op("listBudgets", "spend-budgets", "spend", "list", security=[{"apiToken": []}])
    list_budgets["x-pagination"] = "spend"
    list_budgets["responses"]["200"] = json_response("#/components/schemas/VendorPage")
    get_subscription = op("getSubscription", "events-subscriptions", "events", "get", security=[{"apiToken": []}])
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "tags": [{"name": "auth"}, {"name": "vendors"}, {"name": "spend-budgets"}, {"name": "events-subscriptions"}],
        "paths": {
            "/v3/login": {"post": login},
            "/v3/vendors": {"get": list_vendors, "post": create_vendor},
            "/v3/vendors/{vendorId}/archive": {
                "parameters": [{"name": "vendorId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "post": archive_vendor,
            },
            "/v3/spend/budgets": {"get": list_budgets},
            "/connect-events/v3/subscriptions/{subscriptionId}": {
                "parameters": [
                    {"name": "subscriptionId", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "get": get_subscription,
            },
        },
        "components": {
            "securitySchemes": {
                "devKey": {"type": "apiKey", "in": "header", "name": "devKey"},
                "sessionId": {"type": "apiKey", "in": "header", "name": "sessionId"},
                "apiToken": {"type": "apiKey", "in": "header", "name": "apiToken"},
            },
            "responses": {
                "Error": {
                    "description": "errors",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorList"}}},
                }
            },
            "schemas": {
                "ErrorList": {"type": "array", "items": {"type": "object"}},
                "PageEnvelope": {"type": "object", "properties": {"nextPage": {"type": "string"}}},
                "VendorPage": {
                    "allOf": [{"$ref": "#/components/schemas/PageEnvelope"}],
                    "type": "object",
                    "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Vendor"}}},
                },
                "Vendor": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "status": {"anyOf": [{"$ref": "#/components/schemas/VendorStatus"}, {"type": "null"}]},
                    },
                },
                "VendorStatus": {"type": "string", "enum": ["ACTIVE", "ARCHIVED"]},
            },
        },
    }


def problems(doc: dict[str, Any], required: list[dict[str, Any]] | None = None) -> list[str]:
    return lint_spec.lint(doc, required=required)


def assert_caught(doc: dict[str, Any], rule: str, fragment: str = "") -> None:
    found = problems(doc)
    matching = [p for p in found if p.startswith(rule + ":") and fragment in p]
    assert matching, f"expected a {rule!r} problem mentioning {fragment!r}; got {found}"


# --------------------------------------------------------------------------- the real spec


def test_real_spec_follows_the_conventions() -> None:
    assert problems(load_bundle()) == []


@pytest.mark.skipif(not REQUIRED.is_file(), reason=f"BILL reference data not found at {REQUIRED}")
def test_real_spec_has_every_required_operation() -> None:
    required = json.loads(REQUIRED.read_text())
    assert problems(load_bundle(), required=required) == []


def test_main_on_the_real_spec_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint_spec.main([]) == 0
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- each rule on a broken document


def test_minimal_document_is_clean() -> None:
    assert problems(minimal_doc()) == []


def test_invalid_openapi() -> None:
    doc = minimal_doc()
    del doc["info"]
    assert_caught(doc, "validity")


def test_duplicate_operation_id() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["operationId"] = "listVendors"
    assert_caught(doc, "operationId", "duplicate")


def test_missing_operation_id() -> None:
    doc = minimal_doc()
    del doc["paths"]["/v3/vendors"]["post"]["operationId"]
    assert_caught(doc, "operationId", "missing")


def test_two_tags() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["tags"] = ["vendors", "auth"]
    assert_caught(doc, "tags", "exactly one tag")


def test_no_tag() -> None:
    doc = minimal_doc()
    del doc["paths"]["/v3/vendors"]["post"]["tags"]
    assert_caught(doc, "tags", "exactly one tag")


def test_undeclared_tag() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["tags"] = ["suppliers"]
    assert_caught(doc, "tags", "not declared")


def test_tag_prefix_disagrees_with_family() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/spend/budgets"]["get"]["x-bill-family"] = "connect"
    assert_caught(doc, "family", "implies family 'spend'")


def test_unknown_family() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["x-bill-family"] = "payables"
    assert_caught(doc, "family", "not one of")


def test_events_operation_outside_connect_events() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/subscriptions/{subscriptionId}"] = doc["paths"].pop(
        "/connect-events/v3/subscriptions/{subscriptionId}"
    )
    assert_caught(doc, "family", "must live under /connect-events/")


def test_connect_operation_under_connect_events() -> None:
    doc = minimal_doc()
    doc["paths"]["/connect-events/v3/vendors"] = doc["paths"].pop("/v3/vendors")
    assert_caught(doc, "family", "only events operations")


def test_missing_security() -> None:
    doc = minimal_doc()
    del doc["paths"]["/v3/vendors"]["post"]["security"]
    assert_caught(doc, "security", "no `security`")


def test_empty_security_outside_login_and_health() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["security"] = []
    assert_caught(doc, "security", "reserved for")


def test_missing_5xx_response() -> None:
    doc = minimal_doc()
    del doc["paths"]["/v3/vendors"]["post"]["responses"]["5XX"]
    assert_caught(doc, "errors", "5XX")


def test_4xx_response_not_the_shared_error() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["responses"]["4XX"] = {"description": "bad"}
    assert_caught(doc, "errors", "4XX")


def test_missing_sdk_method() -> None:
    doc = minimal_doc()
    del doc["paths"]["/v3/vendors"]["post"]["x-sdk-method"]
    assert_caught(doc, "sdk-method", "missing")


def test_sdk_method_not_an_identifier() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["x-sdk-method"] = "create-one"
    assert_caught(doc, "sdk-method", "not a Python identifier")


def test_sdk_method_is_a_keyword() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["x-sdk-method"] = "import"
    assert_caught(doc, "sdk-method", "keyword")


def test_sdk_method_repeated_within_a_tag() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["x-sdk-method"] = "list"
    assert_caught(doc, "sdk-method", "already used")


def test_sdk_method_may_repeat_across_tags() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/spend/budgets"]["get"]["x-sdk-method"] = "list"
    assert problems(doc) == []


def test_unknown_pagination_style() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["get"]["x-pagination"] = "cursor"
    assert_caught(doc, "pagination", "not in")


def test_pagination_on_post() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["post"]["x-pagination"] = "page"
    assert_caught(doc, "pagination", "only belongs on GET")


def test_pagination_without_results() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["get"]["responses"]["200"] = json_response("#/components/schemas/Vendor")
    del doc["components"]["schemas"]["VendorPage"]
    doc["paths"]["/v3/spend/budgets"]["get"]["responses"]["200"] = json_response("#/components/schemas/Vendor")
    del doc["components"]["schemas"]["PageEnvelope"]
    assert_caught(doc, "pagination", "no `results`")


def test_sync_cursor_needs_a_paged_list_with_filters() -> None:
    doc = minimal_doc()
    vendors = doc["paths"]["/v3/vendors"]
    vendors["get"]["parameters"] = [{"name": "filters", "in": "query", "schema": {"type": "string"}}]
    vendors["get"]["x-sync-cursor"] = "updatedTime"
    assert problems(doc) == []
    vendors["get"]["x-sync-cursor"] = {"field": "updatedTime", "sortable": False}
    assert problems(doc) == []
    vendors["get"]["x-sync-cursor"] = {"field": "updatedTime", "order": "asc"}
    assert_caught(doc, "sync-cursor", "only `field`")
    vendors["get"]["x-sync-cursor"] = "updatedTime"
    del vendors["get"]["parameters"]
    assert_caught(doc, "sync-cursor", "`filters` query parameter")
    vendors["post"]["x-sync-cursor"] = "updatedTime"
    assert_caught(doc, "sync-cursor", "only belongs on paged lists")


def test_idempotent_flag_on_get() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["get"]["x-idempotent"] = True
    assert_caught(doc, "idempotent", "only belongs on POST")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": ["string", "null"], "enum": ["ACTIVE", "ARCHIVED"]},
        {"type": "string", "enum": ["ACTIVE", "ARCHIVED", None]},
        {"type": "string", "nullable": True, "enum": ["ACTIVE", "ARCHIVED"]},
    ],
    ids=["type-list-with-null", "null-member", "nullable-keyword"],
)
def test_inline_nullable_enum(schema: dict[str, Any]) -> None:
    doc = minimal_doc()
    doc["components"]["schemas"]["Vendor"]["properties"]["status"] = schema
    del doc["components"]["schemas"]["VendorStatus"]
    assert_caught(doc, "nullable-enum", "/components/schemas/Vendor/properties/status")


def test_nullable_enum_inside_an_operation() -> None:
    doc = minimal_doc()
    doc["paths"]["/v3/vendors"]["get"]["parameters"] = [
        {"name": "status", "in": "query", "schema": {"type": ["string", "null"], "enum": ["ACTIVE"]}}
    ]
    assert_caught(doc, "nullable-enum", "/paths/")


def test_unresolved_reference() -> None:
    doc = minimal_doc()
    doc["components"]["schemas"]["Vendor"]["properties"]["address"] = {"$ref": "#/components/schemas/Address"}
    assert_caught(doc, "refs", "#/components/schemas/Address")


def test_orphan_schema() -> None:
    doc = minimal_doc()
    doc["components"]["schemas"]["Unused"] = {"type": "object"}
    assert_caught(doc, "orphans", "'Unused'")


def test_schema_used_only_by_an_orphan_is_an_orphan() -> None:
    doc = minimal_doc()
    doc["components"]["schemas"]["Unused"] = {
        "type": "object",
        "properties": {"x": {"$ref": "#/components/schemas/Alone"}},
    }
    doc["components"]["schemas"]["Alone"] = {"type": "string"}
    found = problems(doc)
    assert any("'Unused'" in p for p in found) and any("'Alone'" in p for p in found), found


def test_required_operation_missing() -> None:
    required = [{"api": "connect", "method": "DELETE", "path": "/v3/vendors/{vendorId}"}]
    found = problems(minimal_doc(), required=required)
    assert found == ["required-ops: DELETE /v3/vendors/{vendorId} is required but missing"]


def test_required_events_operations_live_under_connect_events() -> None:
    required = [
        {"api": "events", "method": "GET", "path": "/v3/subscriptions/{subscriptionId}"},
        {"api": "events", "method": "GET", "path": "/v3/health"},
    ]
    found = problems(minimal_doc(), required=required)
    assert found == ["required-ops: GET /connect-events/v3/health is required but missing"]


def test_required_health_check_exists_once_per_family() -> None:
    doc = minimal_doc()
    required = [
        {"api": "connect", "method": "GET", "path": "/v3/health"},
        {"api": "events", "method": "GET", "path": "/v3/health"},
    ]
    health = op("checkHealth", "auth", "connect", "check", security=[])
    doc["paths"]["/v3/health"] = {"get": health}
    assert problems(doc, required=required) == ["required-ops: GET /connect-events/v3/health is required but missing"]
    events_health = op("checkEventsHealth", "events-subscriptions", "events", "check", security=[])
    doc["paths"]["/connect-events/v3/health"] = {"get": events_health}
    assert problems(doc, required=required) == []


def test_required_duplicate_entry_counts_once() -> None:
    required = [
        {"api": "connect", "method": "GET", "path": "/v3/spend/budgets"},
        {"api": "spend", "method": "GET", "path": "/v3/spend/budgets"},
    ]
    assert problems(minimal_doc(), required=required) == []


def test_main_prints_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = minimal_doc()
    doc["components"]["schemas"]["Unused"] = {"type": "object"}
    doc["paths"]["/v3/vendors"]["post"]["x-sdk-method"] = "import"
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    assert lint_spec.main([str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == lint_spec.lint(copy.deepcopy(doc))
    assert any(line.startswith("orphans:") for line in lines)
    assert any(line.startswith("sdk-method:") for line in lines)


def test_a_credential_property_without_x_secret() -> None:
    doc = minimal_doc()
    doc["components"]["schemas"]["Vendor"]["properties"]["sessionId"] = {"type": "string"}
    assert_caught(doc, "secrets", "/components/schemas/Vendor/properties/sessionId")
    doc["components"]["schemas"]["Vendor"]["properties"]["sessionId"]["x-secret"] = True
    assert problems(doc) == []
