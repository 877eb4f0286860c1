"""The models of the BILL API (attrs classes generated from spec/): ``from bill_sdk.models import VendorCreate``.

Each model is imported on first use.
"""

from typing import TYPE_CHECKING, Any

from ._generated import models as _models

if TYPE_CHECKING:
    from ._generated.models import *  # noqa: F403


def __getattr__(name: str) -> Any:
    return getattr(_models, name)


def __dir__() -> list[str]:
    return dir(_models)


__all__ = _models.__all__
