"""What a handler gets (:class:`Call`) and gives back (:class:`Reply`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bill_sdk.testing.auth import Principal
    from bill_sdk.testing.classify import Route
    from bill_sdk.testing.fake import FakeBill
    from bill_sdk.testing.spec import Operation


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


@dataclass
class Reply:
    status: int
    body: Any = NO_BODY  # JSON-able value, bytes (sent as is), or NO_BODY
    headers: dict[str, str] = field(default_factory=dict)
    validate: bool = True  # False for deliberately off-spec bodies (fault injection)


@dataclass
class Call:
    fake: FakeBill
    op: Operation
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
