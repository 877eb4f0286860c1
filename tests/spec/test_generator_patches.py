"""codegen/generate.py patches openapi-python-client internals; these tests fail loudly when a patch stops working.

Each patch is documented in generate.py with the generator version it was checked against. A tiny spec is
generated with our templates into a temporary folder, and the output is read for what each patch promises:
a JSON number is a ``Decimal`` (FloatProperty type strings and imports), BILL's ``max`` query parameter keeps
its name (RESERVED_WORDS), the spec filters reach the templates (TEMPLATE_FILTERS), and each tag's resource
classes are rendered a second time, synchronous, into ``api/<tag>/_blocking.py`` (Project._build_api).
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "codegen"))

import generate  # noqa: E402

ERROR = {"$ref": "#/components/responses/Error"}


def tiny_spec() -> dict[str, Any]:
    """One list operation with a bounded `max` parameter and a model holding a money amount."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "tiny", "version": "1"},
        "tags": [{"name": "things", "description": "Things."}],
        "paths": {
            "/v3/things": {
                "get": {
                    "operationId": "listThings",
                    "tags": ["things"],
                    "x-bill-family": "connect",
                    "x-sdk-method": "list",
                    "security": [],
                    "parameters": [
                        {
                            "name": "max",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                        },
                        "4XX": ERROR,
                        "5XX": ERROR,
                    },
                }
            }
        },
        "components": {
            "responses": {
                "Error": {
                    "description": "errors",
                    "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
                }
            },
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "amount": {"type": "number", "format": "decimal"}},
                }
            },
        },
    }


@functools.cache
def generated(tmp: str) -> Path:
    return generate.generate_into(Path(tmp), tiny_spec())


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(str(tmp_path_factory.mktemp("tiny")))


def test_the_installed_generator_is_the_version_the_patches_were_checked_on() -> None:
    assert importlib.metadata.version("openapi-python-client") == generate.GENERATOR_VERSION
    pin = (REPO / "codegen" / "requirements.txt").read_text()
    assert f"openapi-python-client=={generate.GENERATOR_VERSION}" in pin, "the pin and GENERATOR_VERSION disagree"


def test_generation_refuses_another_generator_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9")
    with pytest.raises(SystemExit, match=r"openapi-python-client 9\.9\.9 is installed.*0\.29\.1"):
        generate.check_generator_version()


def test_a_json_number_becomes_a_decimal(package: Path) -> None:
    model = (package / "models" / "thing.py").read_text()
    assert "from decimal import Decimal" in model
    assert "from bill_sdk._json import to_decimal" in model
    assert re.search(r"amount: Decimal\b", model), model
    assert "float" not in model, "a number was typed as float: FloatProperty's patch no longer applies"


def test_the_max_query_parameter_keeps_its_name(package: Path) -> None:
    (endpoint,) = (package / "api" / "things").glob("list_things.py")
    text = endpoint.read_text()
    assert "max: int | Unset = UNSET" in text, text
    assert "max_" not in text, "`max` was renamed: strings.RESERVED_WORDS no longer holds the builtin"


def test_the_spec_filters_reach_the_templates(package: Path) -> None:
    text = (package / "api" / "things" / "list_things.py").read_text()
    assert 'operation_id="listThings"' in text  # spec_operation
    assert 'path="/v3/things"' in text  # spec_path
    assert "idempotent=True" in text  # is_idempotent
    assert "100" in text  # param_bounds: the maximum of `max` is checked


def test_each_tag_gets_sync_resources_beside_the_async_ones(package: Path) -> None:
    sync_resources = (package / "api" / "things" / "_blocking.py").read_text()
    assert "class SyncThingsResource:" in sync_resources
    assert "from .list_things import sync as _call" in sync_resources
    assert "async def" not in sync_resources and "await " not in sync_resources
    assert "class ThingsResource:" in (package / "api" / "things" / "__init__.py").read_text()
    endpoint = (package / "api" / "things" / "list_things.py").read_text()
    assert "async def asyncio(" in endpoint and "\ndef sync(" in endpoint and "\ndef sync_raw(" in endpoint
    assert "class SyncResources:" in (package / "__init__.py").read_text()
