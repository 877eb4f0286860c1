"""Merge the parts of spec/ into the one OpenAPI document the generator, FakeBill and the tests read.

The root is spec/openapi.yaml; each part (common, connect, partner, events, spend, then any other `*.yaml` in
spec/, e.g. one per API area) contributes `paths` and `components/schemas` (merging: ``bill_sdk._spec.bundle``). Writes src/bill_sdk/_spec/bill-v3.json unless told
otherwise; `make generate` runs this as its first step.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bill_sdk._spec import BundleError, bundle, dump

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(os.environ.get("BILL_SPEC_DIR") or ROOT / "spec")  # override only to try a spec copy
BUNDLE = ROOT / "src" / "bill_sdk" / "_spec" / "bill-v3.json"

__all__ = ["BUNDLE", "SPEC_DIR", "BundleError", "dump", "load_bundle", "main"]


def load_bundle(spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
    """The bundled document of this checkout's spec/ (or `spec_dir`)."""
    return bundle(spec_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "output", nargs="?", type=Path, default=BUNDLE, help=f"where to write the bundle (default: {BUNDLE})"
    )
    parser.add_argument("--spec-dir", type=Path, default=SPEC_DIR, help=f"the spec parts (default: {SPEC_DIR})")
    args = parser.parse_args(argv)
    try:
        text = dump(bundle(args.spec_dir))
    except BundleError as exc:
        parser.exit(1, f"bundle: {exc}\n")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
