"""Spend & Expense behaviour: custom-field selections sent on a reimbursement become assigned custom fields."""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.calls import Call


def _assigned(call: Call, selection: Any) -> Any:
    """A ``CustomFieldSelection`` (ids) as the ``AssignedCustomField`` (objects) BILL answers with."""
    if not isinstance(selection, dict) or "customFieldId" not in selection:
        return selection  # already assigned (an update echoing what it read)
    field_id = str(selection["customFieldId"])
    found = call.fake.state.find(call.scope, "spend/custom-fields", field_id)
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


def reimbursement_hook(call: Call, data: dict[str, Any], action: str) -> None:
    fields = data.get("customFields")
    if isinstance(fields, list):
        data["customFields"] = [_assigned(call, selection) for selection in fields]


HOOKS = {"spend/reimbursements": [reimbursement_hook]}
