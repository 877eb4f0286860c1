"""Credit memos (bulk), invoices' creditAmount, charge authorizations and charging customers: read the call, ask
:class:`~..receivables.Receivables` (or the generic resource service), answer."""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.bdc import missing
from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.handlers.resources import ResourceHandlers
from bill_sdk.testing.receivables import CREDIT_MEMOS, INVOICES, Receivables
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.resources import Resources
from bill_sdk.testing.state import Record


class ReceivableHandlers:
    def __init__(
        self,
        receivables: Receivables,
        resources: Resources,
        generic: ResourceHandlers,
        answers: Answers,
        record_payment: Handler,
    ) -> None:
        self.receivables = receivables
        self.resources = resources
        self.generic = generic
        self.answers = answers
        self.record_payment = record_payment  # the ledger's recordInvoicePayment

    def routes(self) -> dict[str, Handler]:
        return {
            "updateInvoice": self.change_invoice,
            "replaceInvoice": self.change_invoice,
            "bulkReplaceCreditMemos": self.bulk_replace,
            "bulkUpdateCreditMemos": self.bulk_update,
            "bulkArchiveCreditMemos": self.bulk_archive,
            "bulkRestoreCreditMemos": self.bulk_restore,
            "setCustomerChargeAuthorization": self.set_charge_authorization,
            "chargeCustomer": self.charge_customer,
            "getInvoicePaymentLink": self.payment_link,
            "recordInvoicePayment": self.record_invoice_payment,
        }

    async def record_invoice_payment(self, call: Call) -> Reply:
        """The ledger records the payment; it is then listed among the received payments too."""
        reply = await self.record_payment(call)
        if reply.status < 300:
            self.receivables.mirror_recorded(call.principal, reply.body)
        return reply

    async def change_invoice(self, call: Call) -> Reply:
        """Refuse more credit than the customer has before anything changes; the hook then applies it."""
        found = self.resources.find(call.scope, INVOICES, call.item_id or "")
        if found is not None:
            self.receivables.check_invoice_credit(call.scope, found[1].data, call.json_object())
        return await self.generic.handle(call)

    # -- bulk credit memos (all-or-nothing: every id is checked first) --------------------------------

    def _records(self, call: Call, ids: list[str]) -> list[Record]:
        return [self.resources.require(call.scope, CREDIT_MEMOS, i, {}, "id")[1] for i in ids]

    def _bodies(self, call: Call) -> list[dict[str, Any]]:
        bodies = [b for b in call.body if isinstance(b, dict)] if isinstance(call.body, list) else []
        for i, body in enumerate(bodies):
            if not body.get("id"):
                raise missing(f"[{i}].id")
        return bodies

    def _answer(self, call: Call, memos: list[dict[str, Any]]) -> Reply:
        return self.answers.respond(call.op, {"creditMemos": memos})

    async def bulk_replace(self, call: Call) -> Reply:
        bodies = self._bodies(call)
        records = self._records(call, [str(b["id"]) for b in bodies])
        return self._answer(
            call,
            [self.resources.replace(call.principal, CREDIT_MEMOS, r, b) for r, b in zip(records, bodies, strict=True)],
        )

    async def bulk_update(self, call: Call) -> Reply:
        bodies = self._bodies(call)
        records = self._records(call, [str(b["id"]) for b in bodies])
        return self._answer(
            call,
            [self.resources.update(call.principal, CREDIT_MEMOS, r, b) for r, b in zip(records, bodies, strict=True)],
        )

    def _ids(self, call: Call) -> list[str]:
        ids = [i.strip() for i in str(call.query.get("ids") or "").split(",") if i.strip()]
        if not ids:
            raise missing("ids")
        return ids

    async def bulk_archive(self, call: Call) -> Reply:
        records = self._records(call, self._ids(call))
        return self._answer(call, [self.resources.set_archived(call.principal, CREDIT_MEMOS, r, True) for r in records])

    async def bulk_restore(self, call: Call) -> Reply:
        records = self._records(call, self._ids(call))
        return self._answer(
            call, [self.resources.set_archived(call.principal, CREDIT_MEMOS, r, False) for r in records]
        )

    # -- charging customers --------------------------------------------------------------------------

    async def set_charge_authorization(self, call: Call) -> Reply:
        customer_id = call.path_params.get("customerId", "")
        answer = self.receivables.set_authorization(call.principal, customer_id, call.json_object())
        return self.answers.respond(call.op, answer)

    async def charge_customer(self, call: Call) -> Reply:
        return self.answers.respond(call.op, self.receivables.charge(call.principal, call.json_object()))

    async def payment_link(self, call: Call) -> Reply:
        invoice_id = call.path_params.get("invoiceId", "")
        self.resources.require(call.scope, INVOICES, invoice_id, {}, "invoiceId")
        return self.answers.respond(call.op, {"paymentLink": f"https://fakebill-pay.example/invoices/{invoice_id}"})
