"""`make generate`: spec/ -> src/bill_sdk/_spec/bill-v3.json + src/bill_sdk/_generated/.

Steps: bundle the spec parts into one document, run openapi-python-client (pinned in requirements.txt) with
our templates, format the output with the pinned ruff and an explicit rule set, and replace the generated folder
with the result. `--check` does the same into a temporary folder and fails when anything (content, a new file, a
removed file) differs from what is committed: the drift check of `make test`.

The generator is driven through its Python API rather than its CLI; the internals it patches are listed under
"generator patches" below, each checked against openapi-python-client GENERATOR_VERSION (the pin in
requirements.txt): generation refuses to run on another version, and tests/spec/test_generator_patches.py fails
when a patched behaviour changes. The patches exist because
- templates get a few filters that read the raw spec (`x-sdk-method`, `x-pagination`, ...), which the
  generator does not pass to templates itself;
- `type: number` becomes `decimal.Decimal` instead of `float` (BILL's amounts must stay exact);
- BILL's page-size parameter `max` keeps its name;
- each tag's resource classes are rendered twice, async and sync (`api/<tag>/_blocking.py`, for `bill_sdk.Bill`).
The spec facts behind the filters (family, idempotency, parameter bounds, `$ref`s) come from `bill_sdk._spec`,
the toolkit FakeBill and the tests read too.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import filecmp
import importlib.metadata
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import attrs
import openapi_python_client
from openapi_python_client import Project, strings
from openapi_python_client.config import Config, ConfigFile, MetaType
from openapi_python_client.parser.properties import (
    BooleanProperty,
    DateProperty,
    DateTimeProperty,
    EnumProperty,
    IntProperty,
    ListProperty,
    ModelProperty,
    NoneProperty,
    StringProperty,
    UnionProperty,
)
from openapi_python_client.parser.properties.float import FloatProperty
from openapi_python_client.parser.properties.schemas import Class

from bill_sdk._spec import HTTP_METHODS, SpecOperation, deref, load_document, read_operations, schema_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle import BUNDLE, dump, load_bundle

ROOT = Path(__file__).resolve().parent.parent
CODEGEN = ROOT / "codegen"
TARGET = ROOT / "src" / "bill_sdk" / "_generated"
# The rules ruff applies to generated code; fixed so that a new ruff default cannot change the output.
RUFF_RULES = "E4,E7,E9,F,I"
# Tag prefixes that become a namespace of AsyncBill: `spend-budgets` -> bill.spend.budgets. The first three are API
# families (their own base URL or credentials); `classifications` only groups the seven GL classification types.
FAMILY_PREFIXES = ("partner", "events", "spend", "classifications")


# --------------------------------------------------------------------------- generator patches
# Every patch below reaches into openapi-python-client internals that are not a public API. Each was checked
# against GENERATOR_VERSION; check_generator_version() refuses any other version, and
# tests/spec/test_generator_patches.py generates a tiny spec to prove each patched behaviour still holds.
GENERATOR_VERSION = "0.29.1"


def check_generator_version() -> None:
    """Stop with a clear message when the installed generator is not the version the patches were checked on."""
    installed = importlib.metadata.version("openapi-python-client")
    if installed != GENERATOR_VERSION:
        raise SystemExit(
            f"openapi-python-client {installed} is installed, but codegen/generate.py patches its internals as of "
            f"{GENERATOR_VERSION} (see codegen/requirements.txt). Install that version "
            f"(pip install -r codegen/requirements.txt), or re-check every patch in codegen/generate.py against "
            f"{installed}, update GENERATOR_VERSION and the pin, and run tests/spec/test_generator_patches.py."
        )


# Patch 1 (checked on 0.29.1): `type: number` is `decimal.Decimal`, not `float`. FloatProperty (module
# parser/properties/float.py) names its Python type in the class attributes `_type_string` and
# `_json_type_string`, and `get_imports()` lists the imports a model module needs for it; the property
# templates (codegen/templates/property_templates/float_property.py.jinja) convert with to_decimal.
def _decimal_imports(self: FloatProperty, *, prefix: str) -> set[str]:
    imports = _float_imports(self, prefix=prefix)
    imports.update({"from decimal import Decimal", "from bill_sdk._json import to_decimal"})
    return imports


_float_imports = FloatProperty.get_imports
FloatProperty._type_string = "Decimal"  # type: ignore[misc]
FloatProperty._json_type_string = "Decimal"  # type: ignore[misc]
FloatProperty.get_imports = _decimal_imports  # type: ignore[method-assign]

# Patch 2 (checked on 0.29.1): `strings.RESERVED_WORDS` is the set of names the generator renames with a
# trailing underscore (it includes builtins such as `max`). BILL's page size parameter is `max`; users write
# `bill.vendors.list(max=50)`, not `max_=50`. Shadowing the builtin inside generated functions is harmless: the
# templates never call max().
strings.RESERVED_WORDS.discard("max")


# Patch 3 (checked on 0.29.1): `openapi_python_client.TEMPLATE_FILTERS`, the dict of Jinja filters the
# generator installs into its template environment when generate() builds a project, gets our spec filters
# (_install_filters below).
#
# Patch 4 (checked on 0.29.1): `Project._build_api` writes `api/<tag>/__init__.py` from `endpoint_init.py.jinja`
# (rendered with `endpoint_collection=`) and one module per endpoint; templates cannot add files. It is wrapped to
# render the same template a second time with `is_async=False` into `api/<tag>/_blocking.py`: Bill's resource classes,
# one source with AsyncBill's, in a module of their own so that neither client imports the other's tree.
def _build_api_and_sync_resources(self: Project) -> None:
    _build_api(self)
    template = self.env.get_template("endpoint_init.py.jinja")
    for tag, collection in self.openapi.endpoint_collections_by_tag.items():
        (self.package_dir / "api" / tag / "_blocking.py").write_text(
            template.render(endpoint_collection=collection, is_async=False), encoding=self.config.file_encoding
        )


_build_api = Project._build_api
Project._build_api = _build_api_and_sync_resources  # type: ignore[method-assign]

# Read, not patched (also checked on 0.29.1; a change shows up as a failing generation or --check): the spec
# filters key endpoints by `endpoint.path.get_untrusted_value()` and `endpoint.method`, name model classes with
# `Class.from_string(string=..., config=...)` and read `model.class_info.name`, `model.required_properties`,
# `model.optional_properties`, `prop.inner_properties` and `prop.python_name`; generate_into() builds the
# configuration with `Config.from_sources(ConfigFile, MetaType.NONE, path, encoding, overwrite=, output_path=)`.


# --------------------------------------------------------------------------- template filters
def _path_shape(path: str) -> str:
    """The path with parameter names erased (the generator renames them to Python names)."""
    return re.sub(r"\{[^}]+\}", "{}", path)


class SpecFilters:
    """Template filters that look things up in the raw spec, keyed by the generator's endpoint objects."""

    def __init__(self, doc: dict[str, Any], config: Config) -> None:
        self.doc = doc
        self.config = config
        self.facts: dict[tuple[str, str], SpecOperation] = {
            (_path_shape(op.path), op.method.lower()): op for op in read_operations(doc)
        }
        self.tags = {t["name"].replace("-", "_"): t for t in doc.get("tags", [])}

    def _facts(self, endpoint: Any) -> SpecOperation:
        return self.facts[(_path_shape(endpoint.path.get_untrusted_value()), endpoint.method)]

    def spec_operation(self, endpoint: Any) -> dict[str, Any]:
        return self._facts(endpoint).raw

    def spec_path(self, endpoint: Any) -> str:
        return self._facts(endpoint).path

    def sdk_method(self, endpoint: Any) -> str:
        name = str(self.spec_operation(endpoint)["x-sdk-method"])
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"x-sdk-method {name!r} is not a usable Python name")
        return name

    def is_idempotent(self, endpoint: Any) -> bool:
        return self._facts(endpoint).idempotent

    def pagination(self, endpoint: Any) -> str | None:
        return self.spec_operation(endpoint).get("x-pagination")

    def query_fields(self, endpoint: Any) -> dict[str, Any]:
        """The operation's `x-filterable` (field -> operators), `x-sortable` (fields) and `x-sort-max-fields`,
        None where absent.

        The generated `_get_kwargs` checks `filters` / `sort` against them before anything is sent
        (bill_sdk._filters.check_filters / check_sort); absent means BILL documents no list and nothing is checked.
        """
        op = self.spec_operation(endpoint)
        filterable = op.get("x-filterable")
        sortable = op.get("x-sortable")
        return {
            "operation": op["operationId"],
            "filterable": None if filterable is None else {k: tuple(v) for k, v in filterable.items()},
            "sortable": None if sortable is None else tuple(sortable),
            "sort_max_fields": op.get("x-sort-max-fields"),
        }

    def param_bounds(self, endpoint: Any) -> dict[str, tuple[int | None, int | None]]:
        """Query parameter name -> (minimum, maximum) for integer parameters the spec bounds (e.g. max 1..100)."""
        return self._facts(endpoint).param_bounds()

    def is_secret(self, schema_name: str, property_name: str) -> bool:
        """True when the spec marks the property `x-secret` (the model masks it in repr)."""
        schema = self.doc["components"]["schemas"].get(schema_name, {})
        parts = [schema, *(deref(self.doc, part) for part in schema.get("allOf", []))]
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
                page = deref(self.doc, response["content"]["application/json"]["schema"])
                results = page.get("properties", {}).get("results") or self._all_of_property(page, "results")
                return schema_name(results["items"]["$ref"])
        raise ValueError(f"{op['operationId']}: x-pagination without a 2xx page schema")

    def page_item_class(self, endpoint: Any) -> str:
        return str(self._class(self._page_item_schema(endpoint)).name)

    def page_item_import(self, endpoint: Any) -> str:
        cls = self._class(self._page_item_schema(endpoint))
        return f"from ...models.{cls.module_name} import {cls.name}"

    def resource_path(self, tag: str) -> tuple[str, str]:
        """(namespace, resource) of a Python tag name: ``partner_users`` -> (partner, users); Connect's: ""."""
        for prefix in FAMILY_PREFIXES:
            if tag.startswith(prefix + "_"):
                return prefix, tag[len(prefix) + 1 :]
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

    def _all_of_property(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        """A property declared in one of the schema's allOf parts, searched depth-first (parts may nest allOf)."""
        for part in schema.get("allOf", []):
            part = deref(self.doc, part)
            found = part.get("properties", {}).get(name)
            if found:
                return dict(found)
            if "allOf" in part:
                with contextlib.suppress(KeyError):
                    return self._all_of_property(part, name)
        raise KeyError(name)

    # ----------------------------------------------------------------------- model roles and field kinds
    # A model is a *request* model when its schema is reachable only from request bodies, a *response* model
    # when reachable only from 2xx response bodies (or from nothing: error items), *shared* when both.
    # Field kinds (what an optional field holds when it was not given):
    #   required   plain `T` (request: the caller must give it; response: BILL always sends it, `required` in
    #              the spec with an x-evidence note; a missing one is a ResponseDecodeError naming it)
    #   none       `T | None = None`: left out of to_dict() when None, or written as null when the spec allows
    #              null (response and shared models only). Every optional field of response and shared models,
    #              and every non-nullable optional field of request models.
    #   clearable  `T | None | Unset = UNSET`: nullable fields of request models (PATCH clears them): UNSET is
    #              left out, None is sent as JSON null.
    # Request and shared models get attrs validators (bill_sdk._runtime.expect*); response models none.

    def _usage(self) -> dict[str, set[str]]:
        if not hasattr(self, "_used_in"):
            schemas = self.doc["components"]["schemas"]
            used: dict[str, set[str]] = {}

            def mark(node: Any, role: str) -> None:
                if isinstance(node, dict):
                    ref = node.get("$ref", "")
                    if ref.startswith("#/components/schemas/"):
                        name = ref.split("/")[-1]
                        if role not in used.setdefault(name, set()):
                            used[name].add(role)
                            mark(schemas[name], role)
                    for value in node.values():
                        mark(value, role)
                elif isinstance(node, list):
                    for value in node:
                        mark(value, role)

            for item in self.doc["paths"].values():
                for method in HTTP_METHODS:
                    op = item.get(method)
                    if op is None:
                        continue
                    mark(op.get("requestBody", {}), "request")
                    for status, response in op.get("responses", {}).items():
                        if status.startswith("2"):
                            mark(response, "response")
            self._used_in = {str(self._class(name).name): roles for name, roles in used.items()}
        return self._used_in

    def model_role(self, model: Any) -> str:
        """request | response | shared (see above)."""
        roles = self._usage().get(model.class_info.name, {"response"})
        return "shared" if len(roles) == 2 else next(iter(roles))

    def field_kind(self, model: Any, prop: Any) -> str:
        """required | none | clearable (see above)."""
        if prop.required:
            return "required"
        if _is_nullable(prop) and self.model_role(model) != "response":
            if self.model_role(model) == "shared":
                raise ValueError(
                    f"{model.class_info.name}.{prop.name}: a nullable field in a schema used by both requests and "
                    "responses; split the schema so that requests can tell 'not set' from null"
                )
            return "clearable"
        return "none"

    def field_type(self, model: Any, prop: Any) -> str:
        """The annotation of a model attribute."""
        kind = self.field_kind(model, prop)
        if kind != "none":
            return str(prop.get_type_string().as_unembedded_code())
        base = str(prop.get_type_string(no_optional=True).as_unembedded_code())
        return base if _is_nullable(prop) else f"{base} | None"

    def field_doc(self, model: Any, prop: Any) -> str:
        description = strings.safe_for_docstring(prop.description or "")
        return f"{prop.python_name} ({self.field_type(model, prop)}): {description}".rstrip()

    def declare_field(self, model: Any, prop: Any) -> str:
        """The attrs declaration of one field: annotation, default, validator/converter, secret masking."""
        kind = self.field_kind(model, prop)
        args = []
        if prop.default is not None:
            args.append(f"default={prop.default.python_code.as_unembedded_code()}")
        elif kind == "none":
            args.append("default=None")
        elif kind == "clearable":
            args.append("default=UNSET")
        if self.model_role(model) != "response":
            args.extend(self._checks(model, prop, kind))
        if self.is_secret(model.class_info.name, prop.name):
            args.append("repr=mask_secret")
        declaration = f"{prop.python_name}: {self.field_type(model, prop)}"
        if not args:
            return declaration
        if args == ["default=None"] or args == ["default=UNSET"]:
            return f"{declaration} = {args[0].split('=', 1)[1]}"
        return f"{declaration} = _attrs_field({', '.join(args)})"

    def _checks(self, model: Any, prop: Any, kind: str) -> list[str]:
        flags = ""
        if kind != "required" or _is_nullable(prop):
            flags += ", optional=True"
        if kind == "clearable":
            flags += ", clearable=True"
        if _is_number_property(prop):
            converter = {"required": "number_arg", "none": "optional_number_arg", "clearable": "clearable_number_arg"}
            if _is_nullable(prop) and kind == "required":
                converter["required"] = "optional_number_arg"
            return [f"converter={converter[kind]}", f"validator=expect_number({flags[2:]})"]
        target = prop
        if isinstance(prop, ListProperty):
            target = prop.inner_property
            flags += ", many=True"
        if isinstance(target, UnionProperty):
            inner = [p for p in target.inner_properties if not isinstance(p, NoneProperty)]
            if len(inner) != 1:
                return []
            target = inner[0]
        check = _check_call(target, flags)
        return [f"validator={check}"] if check else []

    def is_nullable_property(self, prop: Any) -> bool:
        return _is_nullable(prop)

    def as_required(self, prop: Any) -> Any:
        """The same property marked required (its templates then skip the UNSET branches)."""
        return attrs.evolve(prop, required=True)

    def model_imports(self, model: Any) -> list[str]:
        """Names from bill_sdk._runtime the model's field declarations use."""
        names = set()
        for prop in model.required_properties + model.optional_properties:
            declaration = self.declare_field(model, prop)
            names.update(
                re.findall(r"\b(expect(?:_model|_enum|_number)?|(?:optional_|clearable_)?number_arg)\(?", declaration)
            )
        return sorted(names)


def _is_nullable(prop: Any) -> bool:
    return isinstance(prop, UnionProperty) and any(isinstance(p, NoneProperty) for p in prop.inner_properties)


_SCALARS: dict[type, str] = {
    StringProperty: "str",
    BooleanProperty: "bool",
    IntProperty: "int",
    DateProperty: "datetime.date",
    DateTimeProperty: "datetime.datetime",
}


def _check_call(prop: Any, flags: str) -> str | None:
    """The validator expression for one (non-list, non-union) property, or None when nothing is checked."""
    if type(prop) in _SCALARS:
        return f"expect({_SCALARS[type(prop)]}{flags})"
    if isinstance(prop, ModelProperty):
        return f'expect_model("{prop.class_info.name}"{flags})'
    if isinstance(prop, EnumProperty):
        return f"expect_enum({prop.class_info.name}{flags})"
    return None


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
        "query_fields",
        "page_item_class",
        "page_item_import",
        "resource_path",
        "resource_parent",
        "resource_children",
        "resource_class",
        "tag_description",
        "model_role",
        "field_kind",
        "field_type",
        "field_doc",
        "declare_field",
        "as_required",
        "is_nullable_property",
        "model_imports",
    ):
        openapi_python_client.TEMPLATE_FILTERS[name] = getattr(filters, name)
    openapi_python_client.TEMPLATE_FILTERS["namespaces"] = lambda _: FAMILY_PREFIXES


# --------------------------------------------------------------------------- generation
def generate_into(out_dir: Path, doc: dict[str, Any] | None = None) -> Path:
    """Write the bundle (of spec/, or `doc`) and the generated package under out_dir; return the package folder."""
    check_generator_version()
    doc = load_bundle() if doc is None else doc
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
    ops = sum(1 for _ in read_operations(load_document(BUNDLE)))
    print(f"generated {count} modules for {ops} operations into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
