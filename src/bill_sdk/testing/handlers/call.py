"""What a handler gets: :class:`Call`, the request as read and validated by the app (no services in it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bill_sdk.testing.catalog import Route
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.spec import SpecOperation


@dataclass
class Call:
    op: SpecOperation
    route: Route
    path_params: dict[str, str]
    params: dict[str, Any]  # declared parameters, converted to their schema types
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any  # parsed JSON (floats as Decimal), or None
    raw_body: bytes
    principal: Principal

    @property
    def scope(self) -> str:
        return self.principal.scope

    def parents(self) -> dict[str, str]:
        return {name: self.path_params[name] for name in self.route.parent_params if name in self.path_params}

    @property
    def item_id(self) -> str | None:
        return self.path_params.get(self.route.id_param) if self.route.id_param else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_object(self) -> dict[str, Any]:
        """The body when it is a JSON object, else ``{}``."""
        return self.body if isinstance(self.body, dict) else {}


Handler = Callable[[Call], Awaitable[Reply]]
