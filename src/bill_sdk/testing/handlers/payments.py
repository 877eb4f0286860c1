"""Payments of bills and payments received on invoices: read the body, ask the :class:`~..ledger.Ledger`, answer."""

from __future__ import annotations

from functools import partial

from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.ledger import Ledger
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.vocabulary import Vocabulary


class PaymentHandlers:
    def __init__(self, ledger: Ledger, vocabulary: Vocabulary, answers: Answers) -> None:
        self.ledger = ledger
        self.vocabulary = vocabulary
        self.answers = answers

    def routes(self) -> dict[str, Handler]:
        return {
            "createPayment": self.create_payment,
            "bulkCreatePayments": self.bulk_create_payments,
            "recordInvoicePayment": self.record_invoice_payment,
        }

    async def create_payment(self, call: Call) -> Reply:
        (payment,) = self.ledger.pay_bills(call.principal, [call.json_object()], bulk=False)
        return self.answers.respond(call.op, payment)

    async def bulk_create_payments(self, call: Call) -> Reply:
        body = call.body
        if isinstance(body, dict) and isinstance(body.get("payments"), list):
            shared = {k: v for k, v in body.items() if k != "payments"}
            bodies = [{**shared, **item} if isinstance(item, dict) else shared for item in body["payments"]]
        else:
            bodies = body if isinstance(body, list) else [body or {}]
        created = self.ledger.pay_bills(call.principal, bodies, bulk=True)
        return self.answers.respond_many(call.op, created)

    async def record_invoice_payment(self, call: Call) -> Reply:
        keep = partial(self.vocabulary.response_allows, call.op, "paymentType")
        answer = self.ledger.record_invoice_payment(call.principal, call.json_object(), keep)
        return self.answers.respond(call.op, {k: v for k, v in answer.items() if v is not None})
