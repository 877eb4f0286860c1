"""AP operations with behaviour of their own (approvals, vendor credits, classifications in bulk, exchange rates,
recorded payments, bank-account users): read the call, ask :class:`~..payables.Payables` or the generic
:class:`~..resources.Resources`, shape the answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bill_sdk.testing.bdc import missing
from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.payables import BANK_ACCOUNT_USERS, Payables, invalid
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.resources import Resources
from bill_sdk.testing.state import Record

SUCCESS = {"status": "SUCCESS"}
CLASSIFICATION_TYPES = (
    "ChartOfAccounts",
    "AccountingClasses",
    "Departments",
    "Employees",
    "Items",
    "Jobs",
    "Locations",
)


class PayablesHandlers:
    def __init__(self, payables: Payables, resources: Resources, answers: Answers) -> None:
        self.payables = payables
        self.resources = resources
        self.answers = answers

    def routes(self) -> dict[str, Handler]:
        routes: dict[str, Handler] = {
            "createBillApprovalPolicy": self.create_policy,
            "updateBillApprovalPolicy": self.replace_policy,
            "deleteBillApprovalPolicy": self.delete_policy,
            "listBillApprovalPolicies": self.list_policies,
            "approveOrDenyBills": self.approve_or_deny,
            "listPendingBillApprovals": self.list_pending,
            "getExchangeRate": self.exchange_rate,
            "recordBillPayment": self.record_payment,
            "nominateBankAccountUser": self.nominate,
            "archiveBankAccountUser": self.archive_bank_account_user,
            "deleteAttachment": self.delete_attachment,
            "bulkUpdateVendorCredits": self.bulk_update,
            "bulkReplaceVendorCredits": self.bulk_replace,
            "bulkArchiveVendorCredits": self.bulk_archive,
        }
        for kind in CLASSIFICATION_TYPES:
            routes[f"bulkUpdate{kind}"] = self.bulk_update
            routes[f"bulkArchive{kind}"] = self.bulk_archive
            routes[f"bulkRestore{kind}"] = self.bulk_restore
        return routes

    # -- approvals -----------------------------------------------------------------------------------

    async def create_policy(self, call: Call) -> Reply:
        return self.answers.respond(call.op, self.payables.create_policy(call.principal, call.json_object()))

    async def replace_policy(self, call: Call) -> Reply:
        policy = self.payables.replace_policy(call.principal, call.path_params["policyId"], call.json_object())
        return self.answers.respond(call.op, policy)

    async def delete_policy(self, call: Call) -> Reply:
        self.payables.delete_policy(call.principal, call.path_params["policyId"])
        return self.answers.respond(call.op, SUCCESS)

    async def list_policies(self, call: Call) -> Reply:
        return self.answers.respond(call.op, self.payables.policies(call.principal))

    async def approve_or_deny(self, call: Call) -> Reply:
        actions = [a for a in call.body if isinstance(a, dict)] if isinstance(call.body, list) else []
        self.payables.approve_or_deny(call.principal, actions)
        return self.answers.respond(call.op, SUCCESS)

    async def list_pending(self, call: Call) -> Reply:
        return self.answers.respond(call.op, {"bills": self.payables.pending(call.principal)})

    # -- payments ------------------------------------------------------------------------------------

    async def exchange_rate(self, call: Call) -> Reply:
        vendor_id = call.query.get("vendorId") or ""
        try:
            amount = Decimal(call.query.get("amount") or "")
        except ArithmeticError:
            raise invalid("amount", call.query.get("amount")) from None
        if not vendor_id:
            raise missing("vendorId")
        return self.answers.respond(call.op, self.payables.exchange_rate(call.principal, vendor_id, amount))

    async def record_payment(self, call: Call) -> Reply:
        return self.answers.respond(call.op, self.payables.record_payment(call.principal, call.json_object()))

    async def nominate(self, call: Call) -> Reply:
        self.payables.nominate(call.principal, call.json_object())
        return self.answers.respond(call.op, SUCCESS)

    async def archive_bank_account_user(self, call: Call) -> Reply:
        collection, record = self._require(call, BANK_ACCOUNT_USERS, call.path_params["bankAccountUserId"])
        data = self.resources.set_archived(call.principal, collection, record, True)
        return self.answers.respond(call.op, self.payables.unverify(data))

    async def delete_attachment(self, call: Call) -> Reply:
        collection, record = self._require(call, "attachments", call.path_params["attachmentId"])
        self.resources.delete(call.scope, collection, record)
        return self.answers.respond(call.op, SUCCESS)

    # -- bulk changes (all checked before anything changes) ------------------------------------------

    @staticmethod
    def _collection(call: Call) -> str:
        """`classifications/items/bulk/archive` -> `classifications/items`."""
        return call.route.collection.split("/bulk", 1)[0]

    def _require(self, call: Call, collection: str, record_id: str) -> tuple[str, Record]:
        return self.resources.require(call.scope, collection, record_id, {}, "id")

    def _elements(self, call: Call) -> list[tuple[str, Record, dict[str, Any]]]:
        bodies = call.body if isinstance(call.body, list) else []
        found = []
        for i, body in enumerate(bodies):
            if not isinstance(body, dict) or not body.get("id"):
                raise missing(f"[{i}].id")
            collection, record = self._require(call, self._collection(call), str(body["id"]))
            found.append((collection, record, body))
        return found

    def _ids(self, call: Call) -> list[tuple[str, Record]]:
        ids = [i.strip() for i in (call.query.get("ids") or "").split(",") if i.strip()]
        if not ids:
            raise missing("ids")
        return [self._require(call, self._collection(call), record_id) for record_id in ids]

    async def bulk_update(self, call: Call) -> Reply:
        changed = [self.resources.update(call.principal, c, r, b) for c, r, b in self._elements(call)]
        return self.answers.respond_many(call.op, changed)

    async def bulk_replace(self, call: Call) -> Reply:
        changed = [self.resources.replace(call.principal, c, r, b) for c, r, b in self._elements(call)]
        return self.answers.respond_many(call.op, changed)

    async def bulk_archive(self, call: Call) -> Reply:
        return self._set_archived(call, True)

    async def bulk_restore(self, call: Call) -> Reply:
        return self._set_archived(call, False)

    def _set_archived(self, call: Call, archived: bool) -> Reply:
        targets = self._ids(call)
        changed = [self.resources.set_archived(call.principal, c, r, archived) for c, r in targets]
        return self.answers.respond_many(call.op, changed)


__all__ = ["PayablesHandlers"]
