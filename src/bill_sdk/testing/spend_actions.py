"""Spend & Expense actions: freezing cards, receipts of transactions and reimbursements, 3-D Secure answers.

* ``freezeCard`` sets a card's ``status`` to FROZEN, ``unfreezeCard`` back to ACTIVATED; both are idempotent. A
  DELETED card is refused with 400 ``BDC_1119`` (FakeBill's assumption: BILL's code is not documented).
* Receipts work like attachments: ``createTransactionReceiptUploadUrl`` (and the reimbursement
  ``createReimbursementImageUploadUrl``) hand out an upload URL; ``add*Receipt`` with that URL attaches a receipt
  (``filename``, ``url``, a new ``uuid``) to the object's ``receipts`` and a transaction's ``receiptStatus``
  becomes ATTACHED; ``delete*Receipt`` removes it by uuid (404 when unknown), NOT_ATTACHED once none is left.
  FakeBill does not serve the upload URL itself (BILL's is a storage address outside the API): tests attach
  without uploading bytes. A URL FakeBill never handed out is accepted too (BILL's own examples use
  placeholders), and remembered in :attr:`SpendActions.uploads`.
* ``answerThreeDsChallenge`` answers ``{id, status}``: ACCEPTED for ACCEPT, REJECTED for REJECT.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from bill_sdk.testing.bdc import ErrorReply, missing, not_found
from bill_sdk.testing.resources import Resources
from bill_sdk.testing.schemas import now_iso
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import State
from bill_sdk.testing.vocabulary import Vocabulary

CARDS = "spend/cards"
TRANSACTIONS = "spend/transactions"
REIMBURSEMENTS = "spend/reimbursements"
UPLOAD_ORIGIN = "https://fakebill-uploads.example"


class SpendActions:
    def __init__(self, state: State, resources: Resources, vocabulary: Vocabulary) -> None:
        self.state = state
        self.resources = resources
        self.vocabulary = vocabulary
        self.uploads: list[str] = []  # upload URLs handed out, in order

    def _require(self, scope: str, collection: str, object_id: str, param: str) -> dict[str, Any]:
        """An object by id or uuid (Spend & Expense accepts both), or 404."""
        found = self.state.find(scope, collection, object_id)
        if found is not None:
            return found[1].data
        for record in self.state.records(scope, collection):
            if record.data.get("uuid") == object_id:
                return record.data
        raise not_found(f"{param} {object_id}")

    # -- cards ---------------------------------------------------------------------------------------

    def set_frozen(self, who: Principal, card_id: str, frozen: bool) -> dict[str, Any]:
        card = self._require(who.scope, CARDS, card_id, "cardId")
        if card.get("status") == "DELETED":
            raise ErrorReply(400, "BDC_1119", f"Invalid field,value: cardId,{card_id} (the card is deleted)")
        status = self.vocabulary.enum_value(CARDS, "status", "FROZEN" if frozen else "ACTIVATED")
        if status and card.get("status") != status:
            card["status"] = status
            card["updatedTime"] = now_iso()
            self.resources.publish(who, CARDS, "updated", card)
        return card

    # -- receipts ------------------------------------------------------------------------------------

    def upload_url(self, kind: str) -> dict[str, Any]:
        url = f"{UPLOAD_ORIGIN}/{kind}/{uuid.uuid4()}"
        self.uploads.append(url)
        return {"url": url}

    def add_receipt(
        self, who: Principal, collection: str, object_id: str, param: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        target = self._require(who.scope, collection, object_id, param)
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise missing("url")
        filename = body.get("filename") or url.rstrip("/").rsplit("/", 1)[-1]
        receipt = {"uuid": str(uuid.uuid4()), "url": url, "filename": str(filename)}
        target.setdefault("receipts", []).append(receipt)
        self._receipt_status(collection, target)
        target["updatedTime"] = now_iso()
        self.resources.publish(who, collection, "updated", target)
        return receipt

    def delete_receipt(self, who: Principal, collection: str, object_id: str, param: str, receipt_id: str) -> None:
        target = self._require(who.scope, collection, object_id, param)
        receipts = target.get("receipts") or []
        kept = [r for r in receipts if not (isinstance(r, dict) and r.get("uuid") == receipt_id)]
        if len(kept) == len(receipts):
            raise not_found(f"receiptId {receipt_id}")
        target["receipts"] = kept
        self._receipt_status(collection, target)
        target["updatedTime"] = now_iso()
        self.resources.publish(who, collection, "updated", target)

    def _receipt_status(self, collection: str, target: dict[str, Any]) -> None:
        if collection != TRANSACTIONS:
            return
        status = self.vocabulary.enum_value(
            collection, "receiptStatus", "ATTACHED" if target["receipts"] else "NOT_ATTACHED"
        )
        if status:
            target["receiptStatus"] = status

    # -- 3-D Secure ----------------------------------------------------------------------------------

    @staticmethod
    def answer_challenge(challenge_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        action = body.get("action")
        if action not in ("ACCEPT", "REJECT"):
            raise missing("action")
        return {"id": challenge_id, "status": "ACCEPTED" if action == "ACCEPT" else "REJECTED"}
