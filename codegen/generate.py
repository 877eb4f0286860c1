"""`make generate`: spec/ -> src/bill_sdk/_spec/bill-v3.json + src/bill_sdk/_generated/.

Steps: bundle the spec parts into one document, run openapi-python-client (pinned in requirements.txt) with
our templates, format the output with the pinned ruff and an explicit rule set, and replace the generated folder
with the result. `--check` does the same into a temporary folder and fails when anything (content, a new file, a
removed file) differs from what is committed: the drift check of `make test`.

The generator is driven through its Python API rather than its CLI for two reasons, both confined to this file:
- templates get a few filters that read the raw spec (`x-sdk-method`, `x-pagination`, ...), which the
  generator does not pass to templates itself;
- `type: number` becomes `decimal.Decimal` instead of `float` (BILL's amounts must stay exact).
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import json
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import openapi_python_client
from openapi_python_client import strings
from openapi_python_client.config import Config, ConfigFile, MetaType
from openapi_python_client.parser.properties.float import FloatProperty
from openapi_python_client.parser.properties.schemas import Class

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle import BUNDLE, dump, load_bundle

ROOT = Path(__file__).resolve().parent.parent
CODEGEN = ROOT / "codegen"
TARGET = ROOT / "src" / "bill_sdk" / "_generated"
# The rules ruff applies to generated code; fixed so that a new ruff default cannot change the output.
RUFF_RULES = "E4,E7,E9,F,I"
METHODS = ("get", "put", "post", "delete", "patch")
FAMILY_PREFIXES = ("partner", "events", "spend")


# --------------------------------------------------------------------------- decimal money
def _decimal_imports(self: FloatProperty, *, prefix: str) -> set[str]:
    imports = _float_imports(self, prefix=prefix)
    imports.update({"from decimal import Decimal", "from bill_sdk._json import to_decimal"})
    return imports


_float_imports = FloatProperty.get_imports
FloatProperty._type_string = "Decimal"  # type: ignore[misc]
FloatProperty._json_type_string = "Decimal"  # type: ignore[misc]
FloatProperty.get_imports = _decimal_imports  # type: ignore[method-assign]

# BILL's page size parameter is `max`; users write `bill.vendors.list(max=50)`, not `max_=50`. Shadowing the
# builtin inside generated functions is harmless: the templates never call max().
strings.RESERVED_WORDS.discard("max")


# --------------------------------------------------------------------------- template filters
def _path_shape(path: str) -> str:
    """The path with parameter names erased (the generator renames them to Python names)."""
    return re.sub(r"\{[^}]+\}", "{}", path)


class SpecFilters:
    """Template filters that look things up in the raw spec, keyed by the generator's endpoint objects."""

    def __init__(self, doc: dict[str, Any], config: Config) -> None:
        self.doc = doc
        self.config = config
        self.ops: dict[tuple[str, str], dict[str, Any]] = {}
        for path, item in doc["paths"].items():
            for method in METHODS:
                if method in item:
                    self.ops[(_path_shape(path), method)] = item[method]
        self.tags = {t["name"].replace("-", "_"): t for t in doc.get("tags", [])}

    def spec_operation(self, endpoint: Any) -> dict[str, Any]:
        return self.ops[(_path_shape(endpoint.path.get_untrusted_value()), endpoint.method)]

    def spec_path(self, endpoint: Any) -> str:
        for path, item in self.doc["paths"].items():
            if item.get(endpoint.method) is self.spec_operation(endpoint):
                return str(path)
        raise KeyError(endpoint.name)

    def sdk_method(self, endpoint: Any) -> str:
        name = str(self.spec_operation(endpoint)["x-sdk-method"])
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"x-sdk-method {name!r} is not a usable Python name")
        return name

    def is_idempotent(self, endpoint: Any) -> bool:
        op = self.spec_operation(endpoint)
        if endpoint.method in ("get", "put", "delete"):
            return True
        if any(p.get("name") == "X-Idempotent-Key" for p in self._params(op)):
            return True
        return bool(op.get("x-idempotent", False))

    def pagination(self, endpoint: Any) -> str | None:
        return self.spec_operation(endpoint).get("x-pagination")

    def param_bounds(self, endpoint: Any) -> dict[str, tuple[int | None, int | None]]:
        """Query parameter name -> (minimum, maximum) for integer parameters the spec bounds (e.g. max 1..100)."""
        bounds = {}
        for param in self._params(self.spec_operation(endpoint)):
            schema = param.get("schema", {})
            if param.get("in") == "query" and ("minimum" in schema or "maximum" in schema):
                bounds[param["name"]] = (schema.get("minimum"), schema.get("maximum"))
        return bounds

    def is_secret(self, schema_name: str, property_name: str) -> bool:
        """True when the spec marks the property `x-secret` (the model masks it in repr)."""
        schema = self.doc["components"]["schemas"].get(schema_name, {})
        parts = [schema, *(self._deref(part) for part in schema.get("allOf", []))]
        return any(bool(part.get("properties", {}).get(property_name, {}).get("x-secret")) for part in parts)

    def number_fields(self, model: Any) -> dict[str, tuple[str, bool]]:
        """Python name -> (limits, BILL takes a string too) for the number properties of a model.

        The limits are names from bill_sdk._runtime: ``MONEY`` for `format: decimal` properties (BILL's amounts),
        ``NUMBER`` for other numbers and for properties marked `x-sdk-number: number` (unit prices). Checked by
        ``check_request_body`` when a request is built; responses are never checked.
        """
        found: dict[str, tuple[str, bool]] = {}
        schema = self._schemas_by_class().get(model.class_info.name)
        for prop in model.required_properties + model.optional_properties:
            if not _is_number_property(prop):
                continue
            if schema is None:
                raise ValueError(f"{model.class_info.name}.{prop.name}: a number in an inline schema; give it a name")
            raw = self._property(schema, prop.name)
            types = raw.get("type") if isinstance(raw.get("type"), list) else [raw.get("type")]
            money = raw.get("format") == "decimal" and raw.get("x-sdk-number") != "number"
            found[prop.python_name] = ("MONEY" if money else "NUMBER", "string" in types)
        return found

    def _schemas_by_class(self) -> dict[str, dict[str, Any]]:
        if not hasattr(self, "_by_class"):
            schemas = self.doc["components"]["schemas"]
            self._by_class = {str(self._class(name).name): schema for name, schema in schemas.items()}
        return self._by_class

    def _property(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        if name in schema.get("properties", {}):
            return dict(schema["properties"][name])
        return self._all_of_property(schema, name)

    def page_limit(self, endpoint: Any) -> int:
        """The largest `max` a list operation accepts (its schema's maximum; 100 when the spec sets none)."""
        _low, high = self.param_bounds(endpoint).get("max", (None, None))
        return 100 if high is None else int(high)

    def _class(self, schema_name: str) -> Class:
        return Class.from_string(string=schema_name, config=self.config)

    def _page_item_schema(self, endpoint: Any) -> str:
        op = self.spec_operation(endpoint)
        for status, response in op["responses"].items():
            if status.startswith("2"):
                page = self._deref(response["content"]["application/json"]["schema"])
                results = page.get("properties", {}).get("results") or self._all_of_property(page, "results")
                return str(results["items"]["$ref"].split("/")[-1])
        raise ValueError(f"{op['operationId']}: x-pagination without a 2xx page schema")

    def page_item_class(self, endpoint: Any) -> str:
        return str(self._class(self._page_item_schema(endpoint)).name)

    def page_item_import(self, endpoint: Any) -> str:
        cls = self._class(self._page_item_schema(endpoint))
        return f"from ...models.{cls.module_name} import {cls.name}"

    def resource_path(self, tag: str) -> tuple[str, str]:
        for family in FAMILY_PREFIXES:
            if tag.startswith(family + "_"):
                return family, tag[len(family) + 1 :]
        return "", tag

    def resource_parent(self, tag: str) -> str:
        """The tag whose namespace holds this one (`x-sdk-parent`), as a Python name; "" for a top-level tag."""
        return str(self.tags.get(tag, {}).get("x-sdk-parent", "")).replace("-", "_")

    def resource_children(self, tag: str) -> list[tuple[str, str]]:
        """(attribute, tag) of the tags nested in this tag's namespace (`x-sdk-parent` + `x-sdk-name`), sorted."""
        children = []
        for name, info in self.tags.items():
            if self.resource_parent(name) == tag:
                attribute = str(info.get("x-sdk-name") or "")
                if not attribute.isidentifier() or keyword.iskeyword(attribute):
                    raise ValueError(f"tag {info['name']}: x-sdk-name {attribute!r} is not a usable Python name")
                children.append((attribute, name))
        return sorted(children)

    def resource_class(self, tag: str) -> str:
        return "".join(part.capitalize() for part in tag.split("_")) + "Resource"

    def tag_description(self, tag: str) -> str:
        return str(self.tags.get(tag, {}).get("description", tag))

    def _deref(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
        return schema

    def _all_of_property(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        for part in schema.get("allOf", []):
            found = self._deref(part).get("properties", {}).get(name)
            if found:
                return dict(found)
        raise KeyError(name)

    def _params(self, op: dict[str, Any]) -> list[dict[str, Any]]:
        params = []
        for p in op.get("parameters", []):
            if "$ref" in p:
                p = self.doc["components"]["parameters"][p["$ref"].split("/")[-1]]
            params.append(p)
        return params


def _is_number_property(prop: Any) -> bool:
    if isinstance(prop, FloatProperty):
        return True
    inner = getattr(prop, "inner_properties", None)
    return bool(inner) and any(isinstance(p, FloatProperty) for p in inner)


def _install_filters(doc: dict[str, Any], config: Config) -> None:
    filters = SpecFilters(doc, config)
    for name in (
        "spec_operation",
        "spec_path",
        "sdk_method",
        "is_idempotent",
        "pagination",
        "page_limit",
        "is_secret",
        "number_fields",
        "param_bounds",
        "page_item_class",
        "page_item_import",
        "resource_path",
        "resource_parent",
        "resource_children",
        "resource_class",
        "tag_description",
    ):
        openapi_python_client.TEMPLATE_FILTERS[name] = getattr(filters, name)


# --------------------------------------------------------------------------- generation
def generate_into(out_dir: Path) -> Path:
    """Write the bundle and the generated package under out_dir; return the package folder."""
    doc = load_bundle()
    bundle_path = out_dir / "bill-v3.json"
    bundle_path.write_text(dump(doc))
    config = Config.from_sources(
        ConfigFile.load_from_path(CODEGEN / "config.yaml"),
        MetaType.NONE,
        bundle_path,
        "utf-8",
        overwrite=True,
        output_path=out_dir / "_generated",
    )
    _install_filters(doc, config)
    errors = openapi_python_client.generate(config=config, custom_template_path=CODEGEN / "templates")
    if errors:
        for error in errors:
            print(f"{error.level.name}: {error.header}\n  {error.detail}", file=sys.stderr)
        raise SystemExit("generation failed: fix spec/ (see above)")
    package = out_dir / "_generated"
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run(
        [*ruff, "check", "--no-cache", "--isolated", f"--select={RUFF_RULES}", "--fix-only", "--quiet", str(package)],
        check=True,
    )
    subprocess.run(
        [*ruff, "format", "--no-cache", "--isolated", "--line-length=120", "--quiet", str(package)], check=True
    )
    return package


def _tree_diff(expected: Path, actual: Path) -> list[str]:
    problems: list[str] = []
    cmp = filecmp.dircmp(expected, actual, ignore=["__pycache__"])

    def walk(c: filecmp.dircmp[str], rel: str) -> None:
        problems.extend(f"missing from the committed tree: {rel}{n}" for n in c.left_only)
        problems.extend(f"not produced by the generator: {rel}{n}" for n in c.right_only)
        for n in c.diff_files:
            problems.append(f"differs: {rel}{n}")
        for n, sub in c.subdirs.items():
            walk(sub, f"{rel}{n}/")

    walk(cmp, "")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed output is not what spec/ gives")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        package = generate_into(out)
        if args.check:
            problems = _tree_diff(package, TARGET)
            if not BUNDLE.exists() or BUNDLE.read_text() != (out / "bill-v3.json").read_text():
                problems.append(f"differs: {BUNDLE.relative_to(ROOT)}")
                if BUNDLE.exists():
                    diff = difflib.unified_diff(
                        BUNDLE.read_text().splitlines(), (out / "bill-v3.json").read_text().splitlines(), lineterm=""
                    )
                    problems.extend(list(diff)[:20])
            if problems:
                print("generated code is out of date with spec/ or codegen/; run `make generate`:", file=sys.stderr)
                for p in problems[:50]:
                    print(f"  {p}", file=sys.stderr)
                return 1
            print(f"generated code is up to date ({sum(1 for _ in TARGET.rglob('*.py'))} modules)")
            return 0
        shutil.rmtree(TARGET, ignore_errors=True)
        shutil.copytree(package, TARGET, ignore=shutil.ignore_patterns("__pycache__"))
        BUNDLE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "bill-v3.json", BUNDLE)
    count = sum(1 for _ in TARGET.rglob("*.py"))
    ops = sum(1 for item in json.loads(BUNDLE.read_text())["paths"].values() for m in METHODS if m in item)
    print(f"generated {count} modules for {ops} operations into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
