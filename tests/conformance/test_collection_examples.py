"""Replay BILL's Postman examples of the spec operations beyond the required list.

test_postman_examples.py replays the 180 required operations; BILL's collection has more (credit memos,
recurring invoices, received payments, card freeze, receipts, ...). Every spec operation the collection has a
request for is replayed here the same way (requests and 200/201 responses, KNOWN_EXAMPLE_DEFECTS with their
reasons and CORRECTED_EXAMPLES shared with that module). Operations documented only on developer.bill.com
have no collection example; the list of them is checked so that a new one is a conscious decision.
"""

from __future__ import annotations

import pytest

from tests.conformance import test_postman_examples as base

pytestmark = base.pytestmark

# Spec operations BILL's collection does not have: documented on developer.bill.com only (docs-drift §4b).
DOCS_ONLY = {
    "archiveCustomerBankAccount",
    "chargeCustomer",
    "createCustomerBankAccount",
    "createMassPayment",
    "getCustomerBankAccount",
    "getExchangeRates",
    "getMassPayment",
    "listCustomerBankAccounts",
    "listLoginOrganizations",
    "setCustomerChargeAuthorization",
    "updateCustomerBankAccount",
}


def spec_operation_ids() -> list[str]:
    return sorted(op["operationId"] for _, _, op in base.spec_operations().values())


def extra_operation_ids() -> list[str]:
    """Spec operations that are not required (sorted)."""
    required = set(base.required_operation_ids())
    return [op_id for op_id in spec_operation_ids() if op_id not in required]


def test_operations_without_collection_examples_are_the_documented_ones() -> None:
    without = {op_id for op_id in extra_operation_ids() if base.examples_for(op_id) is None}
    assert without <= DOCS_ONLY | set(base.KNOWN_EXAMPLE_DEFECTS), sorted(without - DOCS_ONLY)
    stale = DOCS_ONLY - without
    assert not stale, f"DOCS_ONLY names operations the collection has (or the spec lacks): {sorted(stale)}"


@pytest.mark.parametrize(
    "op_id", [o for o in extra_operation_ids() if o not in DOCS_ONLY] if base.REQUIRED.is_file() else []
)
def test_collection_examples_fit_the_spec(op_id: str) -> None:
    assert base.examples_for(op_id) is not None or op_id in base.KNOWN_EXAMPLE_DEFECTS
    base.test_postman_examples_fit_the_spec(op_id)
