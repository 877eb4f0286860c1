"""Merge the parts of spec/ into the one OpenAPI document the generator, FakeBill and the tests read.

The root is spec/openapi.yaml; each part (common, connect, partner, events, spend, then any other `*.yaml` in
spec/, e.g. one per API area) contributes `paths` and `components/schemas`. All `$ref`s already point into the merged document, so merging is a dictionary union
that refuses duplicate keys (a duplicate would silently hide one definition); two parts may add different operations
(methods) to one path, e.g. `GET` and `POST /v3/payments/exchange-rate`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(os.environ.get("BILL_SPEC_DIR") or ROOT / "spec")  # override only to try a spec copy
FAMILY_PARTS = ("common", "connect", "partner", "events", "spend")


def parts(spec_dir: Path = SPEC_DIR) -> list[str]:
    """The family parts first (their order fixes the bundle's), then every other `*.yaml` part, sorted."""
    others = sorted(p.stem for p in spec_dir.glob("*.yaml") if p.stem not in (*FAMILY_PARTS, "openapi"))
    return [*FAMILY_PARTS, *others]
BUNDLE = ROOT / "src" / "bill_sdk" / "_spec" / "bill-v3.json"


class BundleError(Exception):
    """A part of the spec cannot be merged."""


def load_bundle(spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
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
            for key, value in item.items():  # two parts may each add operations (methods) to one path
                if key in merged:
                    raise BundleError(f"{part}.yaml: {key} of path {path} is defined twice")
                merged[key] = value
        for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
            if name in schemas:
                raise BundleError(f"{part}.yaml: schema {name} is defined twice")
            schemas[name] = schema
    return root


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(load_bundle()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
