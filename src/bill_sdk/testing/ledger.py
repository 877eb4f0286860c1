"""Money moving between objects: bill and invoice amounts, payments of bills, payments received on invoices.

* A bill's ``amount`` defaults to the sum of its line items; ``paidAmount`` starts at 0, ``dueAmount`` follows.
* :meth:`Ledger.pay_bills` (``createPayment`` / ``bulkCreatePayments``) pays bills (``billId`` + ``amount``,
  ``billPayments``, bulk ``payments`` items, or ``createBill: true`` with a ``vendorId``, which makes the bill
  first): each bill's ``paidAmount``/``dueAmount`` move and ``paymentStatus`` becomes PAID when nothing is due,
  PARTIAL otherwise. With ``require_trusted_session`` an untrusted session gets 403 ``BDC_1361``.
* :meth:`Ledger.record_invoice_payment` lowers each invoice's ``dueAmount`` and sets its status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bill_sdk.testing.bdc import ErrorReply, missing, not_found
from bill_sdk.testing.resources import Hook, Resources
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import State
from bill_sdk.testing.vocabulary import Vocabulary

PAID = ("PAID",)
PARTIAL = ("PARTIAL", "PARTIALLY_PAID")
INVOICE_PAID = ("PAID_IN_FULL", "PAID")
INVOICE_PARTIAL = ("PARTIAL_PAYMENT", "PARTIALLY_PAID", "PARTIAL")

# (bill, amount) pairs one payment pays
Allocations = list[tuple[dict[str, Any], Decimal]]


def money(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ErrorReply(400, "BDC_1124", f"Invalid field datatype: {field}") from None
    if not number.is_finite():
        raise ErrorReply(400, "BDC_1124", f"Invalid field datatype: {field}")
    return number


def _line_total(lines: Any, field: str) -> Decimal | None:
    if not isinstance(lines, list) or not lines:
        return None
    total = Decimal(0)
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            continue
        if line.get("amount") is not None:
            total += money(line["amount"], f"{field}[{i}].amount")
        elif line.get("price") is not None:
            total += money(line["price"], f"{field}[{i}].price") * money(
                line.get("quantity", 1), f"{field}[{i}].quantity"
            )
    return total


def _due(obj: Mapping[str, Any], total_field: str) -> Decimal:
    return money(obj.get("dueAmount", obj.get(total_field, 0)) or 0, "dueAmount")


class Ledger:
    def __init__(
        self, state: State, resources: Resources, vocabulary: Vocabulary, *, require_trusted_session: bool = False
    ) -> None:
        self.state = state
        self.resources = resources
        self.vocabulary = vocabulary
        self.require_trusted_session = require_trusted_session
        # check(who, payment body, bills it pays) -> None, or raises ErrorReply; run before any payment is made
        self.payment_checks: list[Callable[[Principal, dict[str, Any], list[dict[str, Any]]], None]] = []

    def hooks(self) -> dict[str, list[Hook]]:
        return {"bills": [self.bill_hook], "invoices": [self.invoice_hook]}

    # -- hooks (resources) ---------------------------------------------------------------------------

    def bill_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        if data.get("amount") is None:
            total = _line_total(data.get("billLineItems"), "billLineItems")
            if total is not None:
                data["amount"] = total
        if action == "created":
            data.setdefault("paidAmount", Decimal(0))
            status = self.vocabulary.enum_value("bills", "paymentStatus", "UNPAID")
            if status and "paymentStatus" not in data:
                data["paymentStatus"] = status
        if data.get("amount") is not None:
            data["dueAmount"] = money(data["amount"], "amount") - money(data.get("paidAmount") or 0, "paidAmount")

    def invoice_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        if data.get("totalAmount") is None:
            total = _line_total(data.get("invoiceLineItems"), "invoiceLineItems")
            if total is not None:
                data["totalAmount"] = total
        if action == "created":
            if data.get("totalAmount") is not None:
                data.setdefault("dueAmount", money(data["totalAmount"], "totalAmount"))
            status = self.vocabulary.enum_value("invoices", "status", "OPEN")
            if status and "status" not in data:
                data["status"] = status

    # -- paying bills --------------------------------------------------------------------------------

    def check_trusted(self, who: Principal) -> None:
        if not self.require_trusted_session:
            return
        if who.session is None or not who.session.trusted:
            raise ErrorReply(403, "BDC_1361", "Untrusted session.", category="DOWNSTREAM")

    def pay_bills(self, who: Principal, bodies: Sequence[dict[str, Any]], *, bulk: bool) -> list[dict[str, Any]]:
        """Check every payment first (nothing changes when one is wrong), then make them; the payments made."""
        self.check_trusted(who)
        planned = [(body, self._allocations(who, body, f"[{i}]." if bulk else "")) for i, body in enumerate(bodies)]
        for body, allocations in planned:
            for check in self.payment_checks:
                check(who, body, [bill for bill, _ in allocations])
        return [self._pay(who, body, allocations) for body, allocations in planned]

    def _allocations(self, who: Principal, body: dict[str, Any], where: str) -> Allocations:
        """(bill, amount) pairs a payment body asks for, checked against what is due."""
        wanted: list[tuple[Any, Any, str]] = []
        if isinstance(body.get("billPayments"), list) and body["billPayments"]:
            for i, item in enumerate(body["billPayments"]):
                item = item if isinstance(item, dict) else {}
                wanted.append((item.get("billId"), item.get("amount"), f"{where}billPayments[{i}]."))
        elif not body.get("billId") and body.get("createBill") is True and body.get("vendorId"):
            return [(self._bill_for(who, body), money(body.get("amount"), f"{where}amount"))]
        else:
            wanted.append((body.get("billId"), body.get("amount"), where))
        out = []
        for bill_id, amount, prefix in wanted:
            if not bill_id:
                raise missing(f"{prefix}billId")
            found = self.state.find(who.scope, "bills", str(bill_id))
            if found is None:
                raise not_found(f"billId {bill_id}")
            bill = found[1].data
            if body.get("vendorId") and bill.get("vendorId") and body["vendorId"] != bill["vendorId"]:
                raise ErrorReply(400, "BDC_1119", f"Invalid field,value: {where}vendorId,{body['vendorId']}")
            due = money(bill.get("dueAmount", bill.get("amount", 0)) or 0, "dueAmount")
            paying = due if amount is None else money(amount, f"{prefix}amount")
            if paying < 0 or paying > due or (paying == 0 and not where):
                raise ErrorReply(400, "BDC_1119", f"Invalid field,value: {prefix}amount,{paying}")
            out.append((bill, paying))
        return out

    def _bill_for(self, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        """createBill: true - BILL makes the bill the payment pays."""
        amount = money(body.get("amount"), "amount")
        if amount <= 0:
            raise ErrorReply(400, "BDC_1119", f"Invalid field,value: amount,{amount}")
        due_date = body.get("processDate") or date.today().isoformat()
        bill = {
            "vendorId": body["vendorId"],
            "amount": amount,
            "dueDate": due_date,
            "billLineItems": [{"amount": amount}],
        }
        return self.resources.create(who, "bills", bill).data

    def _pay(self, who: Principal, body: dict[str, Any], allocations: Allocations) -> dict[str, Any]:
        first = allocations[0][0]
        payment = dict(body)
        payment.setdefault("vendorId", first.get("vendorId"))
        if first.get("vendorName") is not None:
            payment.setdefault("vendorName", first.get("vendorName"))
        payment["amount"] = sum((amount for _, amount in allocations), Decimal(0))
        payment.setdefault("processDate", date.today().isoformat())
        status = self.vocabulary.enum_value("payments", "status", "SCHEDULED", "PAID")
        if status:
            payment["status"] = status
        record = self.resources.create(who, "payments", {k: v for k, v in payment.items() if v is not None})
        for bill, amount in allocations:
            if amount == 0:
                continue
            bill["paidAmount"] = money(bill.get("paidAmount") or 0, "paidAmount") + amount
            bill["dueAmount"] = money(bill.get("amount") or 0, "amount") - bill["paidAmount"]
            wanted = PAID if bill["dueAmount"] <= 0 else PARTIAL
            new_status = self.vocabulary.enum_value("bills", "paymentStatus", *wanted)
            if new_status:
                bill["paymentStatus"] = new_status
            bill["updatedTime"] = self.resources.now()
            self.resources.publish(who, "bills", "updated", bill)
        return record.data

    # -- payments received ---------------------------------------------------------------------------

    def record_invoice_payment(
        self, who: Principal, body: dict[str, Any], keep_payment_type: Callable[[Any], bool]
    ) -> dict[str, Any]:
        """Apply a received payment to invoices; the payment as answered (``paymentType`` only if kept)."""
        planned = self._invoice_allocations(who, body)
        applied = sum((a for _, a in planned), Decimal(0))
        total = money(body["amount"], "amount") if body.get("amount") is not None else applied
        payment_id = self.state.new_id("received-payments")
        paid_on = body.get("paymentDate") or date.today().isoformat()
        answer_invoices = []
        for invoice, amount in planned:
            due = _due(invoice, "totalAmount") - amount
            invoice["dueAmount"] = max(due, Decimal(0))
            entry = {"id": payment_id, "amount": amount, "date": paid_on}
            invoice.setdefault("payments", []).append(entry)
            status = self.vocabulary.enum_value("invoices", "status", *(INVOICE_PAID if due <= 0 else INVOICE_PARTIAL))
            if status:
                invoice["status"] = status
            invoice["updatedTime"] = self.resources.now()
            self.resources.publish(who, "invoices", "updated", invoice)
            answer_invoices.append({"id": invoice["id"], "payments": [entry]})
        answer = {
            "id": payment_id,
            "customerId": body.get("customerId"),
            "paymentType": body.get("paymentType") if keep_payment_type(body.get("paymentType")) else None,
            "paymentDate": paid_on,
            "amount": total,
            "unappliedAmount": max(total - applied, Decimal(0)),
            "description": body.get("description"),
            "invoices": answer_invoices,
        }
        self.state.add(who.scope, "received-payments", dict(answer), record_id=payment_id)
        return answer

    def _invoice_allocations(self, who: Principal, body: dict[str, Any]) -> Allocations:
        entries = body.get("invoices") if isinstance(body.get("invoices"), list) else []
        if not entries:
            raise missing("invoices")
        planned = []
        for i, entry in enumerate(entries):
            entry = entry if isinstance(entry, dict) else {}
            invoice_id = entry.get("id") or entry.get("invoiceId")
            if not invoice_id:
                raise missing(f"invoices[{i}].id")
            found = self.state.find(who.scope, "invoices", str(invoice_id))
            if found is None:
                raise not_found(f"invoiceId {invoice_id}")
            due = _due(found[1].data, "totalAmount")
            amount = due if entry.get("amount") is None else money(entry["amount"], f"invoices[{i}].amount")
            if amount <= 0:
                raise ErrorReply(400, "BDC_1119", f"Invalid field,value: invoices[{i}].amount,{amount}")
            planned.append((found[1].data, amount))
        return planned
