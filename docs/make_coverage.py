"""Write docs/coverage.md: every operation of the spec, its operationId, the SDK method that calls it and its source.

The required BILL operations come first (in BILL's order), then every other operation of the spec. The source
column says where an operation comes from: BILL's required list, BILL's Postman collection, and the docs page
the spec cites (`externalDocs`). The SDK method is read from the generated resource classes (not re-derived), so
the table shows what users really get. Run by `make generate`; needs ../shared/bill-api/required-operations.json
(and the Postman collection) beside the checkout.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from bill_sdk._spec import HTTP_METHODS, load_bundled, spec_path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BILL_SHARED_DIR") or ROOT.parent / "shared") / "bill-api"
COLLECTION = SHARED / "postman" / "bill-v3-api.postman_collection.json"
FAMILY_NAMESPACE = {
    "partner": "partner.",
    "events": "events.",
    "spend": "spend.",
    "classifications": "classifications.",
}


def namespace(tag: str, tags: dict[str, dict[str, Any]]) -> str:
    """`customers.bank_accounts` for a tag nested with `x-sdk-parent`, `spend.cards` for `spend-cards`, ..."""
    info = tags.get(tag, {})
    if info.get("x-sdk-parent"):
        return f"{namespace(info['x-sdk-parent'], tags)}.{info['x-sdk-name']}"
    family, _, name = tag.partition("-")
    if family in FAMILY_NAMESPACE and name:
        return f"{family}.{name.replace('-', '_')}"
    return tag.replace("-", "_")


def sdk_call(tag: str, method: str, tags: dict[str, dict[str, Any]]) -> str:
    """`bill.<namespace>.<method>`, checked against the generated resource class."""
    module = importlib.import_module(f"bill_sdk._generated.api.{tag.replace('-', '_')}")
    cls = next(v for k, v in vars(module).items() if k.endswith("Resource"))
    if not callable(getattr(cls, method, None)):
        raise SystemExit(f"{cls.__name__} has no method {method}")
    return f"bill.{namespace(tag, tags)}.{method}()"


def _shape(method: str, path: str) -> tuple[str, str]:
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)


def collection_titles() -> dict[tuple[str, str], str]:
    """(METHOD, path shape) -> the request's name in BILL's Postman collection ({} when it is not available)."""
    if not COLLECTION.exists():
        return {}
    found: dict[tuple[str, str], str] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if "item" in item:
                walk(item["item"])
                continue
            url = item["request"]["url"]
            path = "/" + "/".join("{}" if s.startswith(":") else s for s in url.get("path", []))
            if "{{webhookBaseUrl}}" in url.get("host", []):
                path = "/connect-events" + path
            found.setdefault((item["request"]["method"].upper(), path), item["name"])

    walk(json.loads(COLLECTION.read_text())["item"])
    return found


def source(required: bool, in_collection: bool, op: dict[str, Any]) -> str:
    parts = ["required" if required else "", "collection" if in_collection else ""]
    url = (op.get("externalDocs") or {}).get("url")
    parts.append(f"[docs]({url})" if url else "")
    return ", ".join(p for p in parts if p) or "spec"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--required",
        type=Path,
        default=SHARED / "required-operations.json",
        help="BILL's list of required operations (default: %(default)s; skipped when absent)",
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "coverage.md", help="where to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    required_file: Path = args.required
    if not required_file.exists():
        print(f"skipped: {required_file} not found", file=sys.stderr)
        return 0
    doc = load_bundled()
    tags = {t["name"]: t for t in doc.get("tags", [])}
    titles = collection_titles()
    rows = []
    listed: set[str] = set()
    for req in json.loads(required_file.read_text()):
        family = "spend" if req["path"].startswith("/v3/spend/") else req["api"]
        path = spec_path(family, req["path"])
        op = doc["paths"][path][req["method"].lower()]
        listed.add(op["operationId"])
        call = sdk_call(op["tags"][0], op["x-sdk-method"], tags)
        origin = source(True, _shape(req["method"], path) in titles, op)
        rows.append(
            f"| {req['api']} | `{req['method']} {req['path']}` | {req['title']} | `{op['operationId']}` | `{call}` "
            f"| {origin} |"
        )
    required_count = len(rows)
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None or op["operationId"] in listed:
                continue
            listed.add(op["operationId"])
            key = _shape(method, path)
            call = sdk_call(op["tags"][0], op["x-sdk-method"], tags)
            title = titles.get(key, op.get("summary", ""))
            shown = path.removeprefix("/connect-events")
            rows.append(
                f"| {op['x-bill-family']} | `{method.upper()} {shown}` | {title} | `{op['operationId']}` | `{call}` "
                f"| {source(False, key in titles, op)} |"
            )
    text = "\n".join(
        [
            "# Coverage of the BILL v3 API",
            "",
            "Generated by `docs/make_coverage.py` (run by `make generate`) from BILL's list of required operations,",
            f"BILL's Postman collection and the generated resources: {len(rows)} operations, the {required_count}",
            "required ones first. Source: `required` (BILL's reference table of contents), `collection` (BILL's",
            "Postman collection), `docs` (the page the spec cites).",
            "",
            "| family | operation | BILL title | operationId | SDK method | source |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    args.output.write_text(text)
    print(f"wrote {args.output} ({len(rows)} operations, {required_count} required)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
