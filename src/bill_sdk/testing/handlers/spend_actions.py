"""Card freeze/unfreeze, receipt upload URLs and receipts, 3-D Secure answers: read the call, ask
:class:`~..spend_actions.SpendActions`, answer."""

from __future__ import annotations

from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.spend_actions import REIMBURSEMENTS, TRANSACTIONS, SpendActions


class SpendActionHandlers:
    def __init__(self, actions: SpendActions, answers: Answers) -> None:
        self.actions = actions
        self.answers = answers

    def routes(self) -> dict[str, Handler]:
        return {
            "freezeCard": self.freeze,
            "unfreezeCard": self.unfreeze,
            "createTransactionReceiptUploadUrl": self.transaction_upload_url,
            "createReimbursementImageUploadUrl": self.reimbursement_upload_url,
            "addTransactionReceipt": self.add_transaction_receipt,
            "deleteTransactionReceipt": self.delete_transaction_receipt,
            "addReimbursementReceipt": self.add_reimbursement_receipt,
            "deleteReimbursementReceipt": self.delete_reimbursement_receipt,
            "answerThreeDsChallenge": self.answer_challenge,
        }

    async def freeze(self, call: Call) -> Reply:
        return self.answers.respond(call.op, self.actions.set_frozen(call.principal, call.path_params["cardId"], True))

    async def unfreeze(self, call: Call) -> Reply:
        card = self.actions.set_frozen(call.principal, call.path_params["cardId"], False)
        return self.answers.respond(call.op, card)

    async def transaction_upload_url(self, call: Call) -> Reply:
        return self.answers.respond(call.op, self.actions.upload_url("transactions"))

    async def reimbursement_upload_url(self, call: Call) -> Reply:
        return self.answers.respond(call.op, self.actions.upload_url("reimbursements"))

    async def add_transaction_receipt(self, call: Call) -> Reply:
        receipt = self.actions.add_receipt(
            call.principal, TRANSACTIONS, call.path_params["transactionId"], "transactionId", call.json_object()
        )
        return self.answers.respond(call.op, receipt)

    async def delete_transaction_receipt(self, call: Call) -> Reply:
        self.actions.delete_receipt(
            call.principal,
            TRANSACTIONS,
            call.path_params["transactionId"],
            "transactionId",
            call.path_params["receiptId"],
        )
        return self.answers.respond(call.op, None)

    async def add_reimbursement_receipt(self, call: Call) -> Reply:
        receipt = self.actions.add_receipt(
            call.principal, REIMBURSEMENTS, call.path_params["reimbursementId"], "reimbursementId", call.json_object()
        )
        return self.answers.respond(call.op, receipt)

    async def delete_reimbursement_receipt(self, call: Call) -> Reply:
        self.actions.delete_receipt(
            call.principal,
            REIMBURSEMENTS,
            call.path_params["reimbursementId"],
            "reimbursementId",
            call.path_params["receiptId"],
        )
        return self.answers.respond(call.op, None)

    async def answer_challenge(self, call: Call) -> Reply:
        answer = self.actions.answer_challenge(call.path_params["acsTransactionId"], call.json_object())
        return self.answers.respond(call.op, answer)
