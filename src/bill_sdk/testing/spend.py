"""Spend & Expense behaviour: custom-field selections sent on a reimbursement become assigned custom fields."""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.resources import Hook
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import State

CUSTOM_FIELDS = "spend/custom-fields"


class Spend:
    def __init__(self, state: State) -> None:
        self.state = state

    def hooks(self) -> dict[str, list[Hook]]:
        return {"spend/reimbursements": [self.reimbursement_hook]}

    def reimbursement_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        fields = data.get("customFields")
        if isinstance(fields, list):
            data["customFields"] = [self._assigned(who.scope, selection) for selection in fields]

    def _assigned(self, scope: str, selection: Any) -> Any:
        """A ``CustomFieldSelection`` (ids) as the ``AssignedCustomField`` (objects) BILL answers with."""
        if not isinstance(selection, dict) or "customFieldId" not in selection:
            return selection  # already assigned (an update echoing what it read)
        field_id = str(selection["customFieldId"])
        found = self.state.find(scope, CUSTOM_FIELDS, field_id)
        known = found[1].data if found is not None else {}
        assigned: dict[str, Any] = {"id": field_id}
        if isinstance(known.get("name"), str):
            assigned["name"] = known["name"]
        if isinstance(selection.get("note"), str):
            assigned["note"] = selection["note"]
        values = selection.get("selectedValues")
        if isinstance(values, list):
            assigned["selectedValues"] = [{"id": str(value)} for value in values]
        return assigned
