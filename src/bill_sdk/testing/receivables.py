"""Receivables beyond invoices: credit memos applied to invoices, charge authorizations, charging customers.

* A credit memo's ``amount`` is the sum of its lines (``quantity`` x ``price``, or ``ratePercent`` of the lines
  above it); ``appliedAmount`` starts at 0 and ``status`` at NOT_APPLIED.
* An invoice's ``creditAmount`` (create, update, replace) draws on the customer's credit memos, oldest first:
  the invoice's ``dueAmount`` goes down by it, each memo's ``appliedAmount``, ``usage`` and ``status`` follow.
  Lowering ``creditAmount`` gives the credit back (newest use first). More credit than the customer has left is
  refused with 400 ``BDC_1119`` (FakeBill's assumption: BILL's code is not documented).
* ``setCustomerChargeAuthorization`` records ``authorizedToCharge`` per customer (false until set).
* A new customer bank account needs the customer's ``billingAddress`` (BILL's docs); FakeBill refuses one
  without it with 400 ``BDC_1119`` (FakeBill's assumption) and marks new accounts VERIFIED (in production BILL
  may take up to 2 business days).
* ``chargeCustomer`` needs ``authorizedToCharge`` true and ``fundingAccount`` naming an unarchived bank account of
  that customer; otherwise 400 :data:`NOT_AUTHORIZED_CODE` / 400 ``BDC_1119`` (FakeBill's assumptions: BILL's codes
  are not documented). It lowers each invoice's ``dueAmount`` like a recorded payment and stores the received
  payment (``receivable-payments``), where ``listReceivablePayments`` finds it, as it finds payments recorded with
  ``recordInvoicePayment``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from bill_sdk.testing.bdc import ErrorReply, missing, not_found
from bill_sdk.testing.ledger import INVOICE_PAID, INVOICE_PARTIAL, money
from bill_sdk.testing.resources import Hook, Resources
from bill_sdk.testing.schemas import now_iso
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import State
from bill_sdk.testing.vocabulary import Vocabulary

CREDIT_MEMOS = "credit-memos"
INVOICES = "invoices"
CUSTOMERS = "customers"
BANK_ACCOUNTS = "customers/bank-accounts"
RECEIVED = "receivable-payments"
# FakeBill's assumption: BILL documents the refusal ("needs authorizedToCharge") but not its code.
NOT_AUTHORIZED_CODE = "BDC_1119"


def invalid(field: str, value: Any, why: str = "") -> ErrorReply:
    return ErrorReply(400, "BDC_1119", f"Invalid field,value: {field},{value}" + (f" ({why})" if why else ""))


def memo_total(lines: Any) -> Decimal:
    """BILL's credit memo arithmetic: price lines are quantity x price, ratePercent lines a share of those above."""
    total = Decimal(0)
    if not isinstance(lines, list):
        return total
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            continue
        if line.get("ratePercent") is not None:
            amount = (total * money(line["ratePercent"], f"creditMemoLineItems[{i}].ratePercent") / 100).quantize(
                Decimal("0.01")
            )
        elif line.get("price") is not None:
            quantity = money(line.get("quantity", 1), f"creditMemoLineItems[{i}].quantity")
            amount = money(line["price"], f"creditMemoLineItems[{i}].price") * quantity
        else:
            amount = money(line.get("amount") or 0, f"creditMemoLineItems[{i}].amount")
        line["amount"] = amount
        total += amount
    return total


class Receivables:
    def __init__(self, state: State, resources: Resources, vocabulary: Vocabulary) -> None:
        self.state = state
        self.resources = resources
        self.vocabulary = vocabulary
        self.authorized: dict[tuple[str, str], bool] = {}  # (scope, customerId) -> authorizedToCharge
        # (scope, credit memo id) -> its usage [{invoiceId, amount}]: kept here, so that replacing or updating a
        # memo cannot lose or forge what was applied; the memo's usage and appliedAmount are copies.
        self.usage: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def hooks(self) -> dict[str, list[Hook]]:
        return {
            CREDIT_MEMOS: [self.credit_memo_hook],
            INVOICES: [self.invoice_hook],
            BANK_ACCOUNTS: [self.bank_account_hook],
        }

    # -- credit memos --------------------------------------------------------------------------------

    def credit_memo_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        if "creditMemoLineItems" in data:
            data["amount"] = memo_total(data["creditMemoLineItems"])
        self._sync(who.scope, data)

    def _sync(self, scope: str, memo: dict[str, Any]) -> None:
        """The memo's usage, appliedAmount and status from :attr:`usage`."""
        usage = self.usage.get((scope, str(memo.get("id"))), [])
        memo["usage"] = [dict(u) for u in usage]
        memo["appliedAmount"] = sum((u["amount"] for u in usage), Decimal(0))
        self._memo_status(memo)

    def _memo_status(self, memo: dict[str, Any]) -> None:
        applied = money(memo.get("appliedAmount") or 0, "appliedAmount")
        amount = money(memo.get("amount") or 0, "amount")
        wanted = "NOT_APPLIED" if applied <= 0 else ("FULLY_APPLIED" if applied >= amount else "PARTIALLY_APPLIED")
        status = self.vocabulary.enum_value(CREDIT_MEMOS, "status", wanted)
        if status:
            memo["status"] = status

    def _memos(self, scope: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's unarchived credit memos, oldest first."""
        memos = [r.data for r in self.state.records(scope, CREDIT_MEMOS) if r.data.get("customerId") == customer_id]
        return sorted((m for m in memos if not m.get("archived")), key=lambda m: str(m.get("createdTime") or ""))

    def credit_used(self, scope: str, invoice_id: str) -> Decimal:
        """Credit already applied to an invoice (the sum of the memos' usage for it)."""
        return sum(
            (
                use["amount"]
                for (where, _), usage in self.usage.items()
                if where == scope
                for use in usage
                if use["invoiceId"] == invoice_id
            ),
            Decimal(0),
        )

    def credit_available(self, scope: str, customer_id: str) -> Decimal:
        return sum(
            (
                money(m.get("amount") or 0, "amount") - money(m.get("appliedAmount") or 0, "appliedAmount")
                for m in self._memos(scope, customer_id)
            ),
            Decimal(0),
        )

    def check_invoice_credit(self, scope: str, invoice: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """400 when `body` asks an invoice for more credit than its customer's credit memos have left."""
        if body.get("creditAmount") is None:
            return
        wanted = money(body["creditAmount"], "creditAmount")
        if wanted < 0:
            raise invalid("creditAmount", wanted)
        invoice_id = str(invoice.get("id") or "")
        used = self.credit_used(scope, invoice_id) if invoice_id else Decimal(0)
        customer_id = str(self._customer_of({**invoice, **body}) or "")
        if wanted - used > self.credit_available(scope, customer_id):
            raise invalid("creditAmount", wanted, "more than the customer's unapplied credit memos")

    @staticmethod
    def _customer_of(invoice: Mapping[str, Any]) -> str | None:
        customer = invoice.get("customer")
        if isinstance(customer, dict) and customer.get("id"):
            return str(customer["id"])
        return str(invoice["customerId"]) if invoice.get("customerId") else None

    def invoice_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        """Apply the change in `creditAmount` to the customer's credit memos and the invoice's dueAmount."""
        if data.get("creditAmount") is None or not data.get("id"):
            return
        customer_id = self._customer_of(data)
        if customer_id and not data.get("customerId"):
            data["customerId"] = customer_id
        invoice_id = str(data["id"])
        wanted = money(data["creditAmount"], "creditAmount")
        used = self.credit_used(who.scope, invoice_id)
        if wanted == used:
            return
        if wanted > used:
            if wanted - used > self.credit_available(who.scope, customer_id or ""):
                raise invalid("creditAmount", wanted, "more than the customer's unapplied credit memos")
            self._apply(who, customer_id or "", invoice_id, wanted - used)
        else:
            self._release(who, invoice_id, used - wanted)
        total = data.get("totalAmount")
        paid = sum((money(p.get("amount") or 0, "payments.amount") for p in data.get("payments") or []), Decimal(0))
        if total is not None:
            due = money(total, "totalAmount") - wanted - paid
            data["dueAmount"] = max(due, Decimal(0))
            if due <= 0:
                status = self.vocabulary.enum_value(INVOICES, "status", *INVOICE_PAID)
                if status:
                    data["status"] = status
            elif paid > 0:
                status = self.vocabulary.enum_value(INVOICES, "status", *INVOICE_PARTIAL)
                if status:
                    data["status"] = status

    def _apply(self, who: Principal, customer_id: str, invoice_id: str, amount: Decimal) -> None:
        for memo in self._memos(who.scope, customer_id):
            if amount <= 0:
                break
            left = money(memo.get("amount") or 0, "amount") - money(memo.get("appliedAmount") or 0, "appliedAmount")
            take = min(left, amount)
            if take <= 0:
                continue
            self.usage.setdefault((who.scope, str(memo["id"])), []).append({"invoiceId": invoice_id, "amount": take})
            amount -= take
            self._changed(who, memo)

    def _release(self, who: Principal, invoice_id: str, amount: Decimal) -> None:
        memos = sorted(
            (r.data for r in self.state.records(who.scope, CREDIT_MEMOS)),
            key=lambda m: str(m.get("createdTime") or ""),
            reverse=True,
        )
        for memo in memos:
            key = (who.scope, str(memo.get("id")))
            usage = self.usage.get(key, [])
            if amount <= 0 or not any(u["invoiceId"] == invoice_id for u in usage):
                continue
            for use in reversed(usage):
                if amount > 0 and use["invoiceId"] == invoice_id:
                    give = min(use["amount"], amount)
                    use["amount"] -= give
                    amount -= give
            self.usage[key] = [u for u in usage if u["amount"] > 0]
            self._changed(who, memo)

    def _changed(self, who: Principal, memo: dict[str, Any]) -> None:
        self._sync(who.scope, memo)
        memo["updatedTime"] = now_iso()
        self.resources.publish(who, CREDIT_MEMOS, "updated", memo)

    # -- charge authorization and customer bank accounts ---------------------------------------------

    def set_authorization(self, who: Principal, customer_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if self.state.find(who.scope, CUSTOMERS, customer_id) is None:
            raise not_found(f"customerId {customer_id}")
        value = body.get("authorizedToCharge")
        if not isinstance(value, bool):
            raise missing("authorizedToCharge")
        self.authorized[(who.scope, customer_id)] = value
        return {"authorizedToCharge": value}

    def bank_account_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        if action != "created":
            return
        customer_id = str(data.get("customerId") or "")
        found = self.state.find(who.scope, CUSTOMERS, customer_id)
        if found is None:
            raise not_found(f"customerId {customer_id}")
        if not found[1].data.get("billingAddress"):
            raise invalid("customerId", customer_id, "the customer needs a billingAddress first")
        if data.get("nickname") is None and data.get("bankName") is not None:
            data["nickname"] = data["bankName"]
        status = self.vocabulary.enum_value(BANK_ACCOUNTS, "status", "VERIFIED")
        if status:
            data.setdefault("status", status)

    # -- charging a customer -------------------------------------------------------------------------

    def charge(self, who: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        """Check everything first (nothing changes when anything is wrong), then pay the invoices."""
        customer_id = str(body.get("customerId") or "")
        if not customer_id:
            raise missing("customerId")
        if self.state.find(who.scope, CUSTOMERS, customer_id) is None:
            raise not_found(f"customerId {customer_id}")
        if not self.authorized.get((who.scope, customer_id), False):
            raise ErrorReply(
                400,
                NOT_AUTHORIZED_CODE,
                f"Invalid field,value: customerId,{customer_id} (the organization is not authorized to charge this "
                "customer: set authorizedToCharge first)",
            )
        account = body.get("fundingAccount")
        account_id = str(account.get("id") or "") if isinstance(account, dict) else ""
        if not account_id:
            raise missing("fundingAccount.id")
        found = self.state.find(who.scope, BANK_ACCOUNTS, account_id)
        if found is None or found[1].data.get("customerId") != customer_id or found[1].data.get("archived"):
            raise invalid("fundingAccount.id", account_id, "not a bank account of this customer")
        planned = self._planned(who.scope, customer_id, body.get("invoicePayments"))
        paid_on = str(body.get("paymentDate") or date.today().isoformat())
        payment_id = self.state.new_id(RECEIVED)
        applied = []
        for invoice, amount in planned:
            due = money(invoice.get("dueAmount", invoice.get("totalAmount", 0)) or 0, "dueAmount") - amount
            invoice["dueAmount"] = max(due, Decimal(0))
            invoice.setdefault("payments", []).append({"id": payment_id, "amount": amount, "date": paid_on})
            status = self.vocabulary.enum_value(INVOICES, "status", *(INVOICE_PAID if due <= 0 else INVOICE_PARTIAL))
            if status:
                invoice["status"] = status
            invoice["updatedTime"] = now_iso()
            self.resources.publish(who, INVOICES, "updated", invoice)
            applied.append({"invoiceId": invoice["id"], "amount": amount, "paymentDate": paid_on})
        now = now_iso()
        payment: dict[str, Any] = {
            "id": payment_id,
            "customerId": customer_id,
            "amount": sum((a for _, a in planned), Decimal(0)),
            "unappliedAmount": Decimal(0),
            "paymentDate": paid_on,
            "fundingAccount": {"id": account_id, "type": "BANK_ACCOUNT"},
            "invoicePayments": applied,
            "onlinePayment": True,
            "createdTime": now,
            "updatedTime": now,
        }
        if body.get("description") is not None:
            payment["description"] = body["description"]
        status = self.vocabulary.enum_value(RECEIVED, "status", "PAID")
        if status:
            payment["status"] = status
        self.state.add(who.scope, RECEIVED, payment, record_id=payment_id)
        self.resources.publish(who, RECEIVED, "created", payment)
        return payment

    def mirror_recorded(self, who: Principal, answer: Any) -> None:
        """A payment recorded with recordInvoicePayment is a received payment too (listReceivablePayments)."""
        if not isinstance(answer, dict) or not answer.get("id"):
            return
        paid_on = answer.get("paymentDate")
        applied = [
            {"invoiceId": entry.get("id"), "amount": payment.get("amount"), "paymentDate": paid_on}
            for entry in answer.get("invoices") or []
            if isinstance(entry, dict)
            for payment in entry.get("payments") or []
            if isinstance(payment, dict)
        ]
        now = now_iso()
        payment = {
            "id": answer["id"],
            "customerId": answer.get("customerId"),
            "amount": answer.get("amount"),
            "unappliedAmount": answer.get("unappliedAmount"),
            "description": answer.get("description"),
            "paymentDate": paid_on,
            "invoicePayments": applied,
            "onlinePayment": False,
            "createdTime": now,
            "updatedTime": now,
        }
        status = self.vocabulary.enum_value(RECEIVED, "status", "PAID")
        if status:
            payment["status"] = status
        payment = {k: v for k, v in payment.items() if v is not None}
        self.state.add(who.scope, RECEIVED, payment, record_id=str(answer["id"]))

    def _planned(self, scope: str, customer_id: str, items: Any) -> list[tuple[dict[str, Any], Decimal]]:
        if not isinstance(items, list) or not items:
            raise missing("invoicePayments")
        planned = []
        for i, item in enumerate(items):
            item = item if isinstance(item, dict) else {}
            invoice_id = str(item.get("invoiceId") or "")
            if not invoice_id:
                raise missing(f"invoicePayments[{i}].invoiceId")
            found = self.state.find(scope, INVOICES, invoice_id)
            if found is None:
                raise not_found(f"invoiceId {invoice_id}")
            invoice = found[1].data
            if self._customer_of(invoice) not in (None, customer_id):
                raise invalid(f"invoicePayments[{i}].invoiceId", invoice_id, "an invoice of another customer")
            due = money(invoice.get("dueAmount", invoice.get("totalAmount", 0)) or 0, "dueAmount")
            amount = money(item.get("amount"), f"invoicePayments[{i}].amount")
            if amount <= 0 or amount > due:
                raise invalid(f"invoicePayments[{i}].amount", amount)
            planned.append((invoice, amount))
        return planned
