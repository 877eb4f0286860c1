"""Money moving between objects: bill and invoice amounts, payments of bills, payments received on invoices.

* A bill's ``amount`` defaults to the sum of its line items; ``paidAmount`` starts at 0, ``dueAmount`` follows.
* ``createPayment`` / ``bulkCreatePayments`` pay bills (``billId`` + ``amount``, ``billPayments``, bulk ``payments``
  items, or ``createBill: true`` with a ``vendorId``, which makes the bill first): each bill's
  ``paidAmount``/``dueAmount`` move and ``paymentStatus`` becomes PAID when nothing is due, PARTIAL otherwise.
  With ``require_trusted_session_for_payments`` an untrusted session gets 403 ``BDC_1361``.
* ``recordInvoicePayment`` lowers each invoice's ``dueAmount`` and sets its status.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bill_sdk.testing.bdc import ApiError, missing, not_found
from bill_sdk.testing.calls import Call, Reply
from bill_sdk.testing.schemas import now_iso

PAID = ("PAID",)
PARTIAL = ("PARTIAL", "PARTIALLY_PAID")
INVOICE_PAID = ("PAID_IN_FULL", "PAID")
INVOICE_PARTIAL = ("PARTIAL_PAYMENT", "PARTIALLY_PAID", "PARTIAL")


def money(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApiError(400, "BDC_1124", f"Invalid field datatype: {field}") from None
    if not number.is_finite():
        raise ApiError(400, "BDC_1124", f"Invalid field datatype: {field}")
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


# -- hooks (engine) -----------------------------------------------------------------------------------------


def bill_hook(call: Call, data: dict[str, Any], action: str) -> None:
    if data.get("amount") is None:
        total = _line_total(data.get("billLineItems"), "billLineItems")
        if total is not None:
            data["amount"] = total
    if action == "created":
        data.setdefault("paidAmount", Decimal(0))
        status = call.fake.engine.enum_value("bills", "paymentStatus", "UNPAID")
        if status and "paymentStatus" not in data:
            data["paymentStatus"] = status
    if data.get("amount") is not None:
        data["dueAmount"] = money(data["amount"], "amount") - money(data.get("paidAmount") or 0, "paidAmount")


def invoice_hook(call: Call, data: dict[str, Any], action: str) -> None:
    if data.get("totalAmount") is None:
        total = _line_total(data.get("invoiceLineItems"), "invoiceLineItems")
        if total is not None:
            data["totalAmount"] = total
    if action == "created":
        if data.get("totalAmount") is not None:
            data.setdefault("dueAmount", money(data["totalAmount"], "totalAmount"))
        status = call.fake.engine.enum_value("invoices", "status", "OPEN")
        if status and "status" not in data:
            data["status"] = status


def organization_hook(call: Call, data: dict[str, Any], action: str) -> None:
    """A partner-created organization becomes a scope of its own that login-as-user can enter."""
    if action == "created" and call.principal.kind == "partner":
        call.fake.state.partner_orgs.add(data["id"])
        call.fake.state.add(data["id"], "organizations", data, record_id=data["id"])


HOOKS = {"bills": [bill_hook], "invoices": [invoice_hook], "organizations": [organization_hook]}


# -- payments -----------------------------------------------------------------------------------------------


def _require_trusted(call: Call) -> None:
    if not call.fake.require_trusted_session_for_payments:
        return
    session = call.principal.session
    if session is None or not session.trusted:
        raise ApiError(403, "BDC_1361", "Untrusted session.", category="DOWNSTREAM")


def _allocations(call: Call, body: dict[str, Any], where: str) -> list[tuple[dict[str, Any], Decimal]]:
    """(bill, amount) pairs a payment body asks for, checked against what is due."""
    wanted: list[tuple[Any, Any, str]] = []
    if isinstance(body.get("billPayments"), list) and body["billPayments"]:
        for i, item in enumerate(body["billPayments"]):
            item = item if isinstance(item, dict) else {}
            wanted.append((item.get("billId"), item.get("amount"), f"{where}billPayments[{i}]."))
    elif not body.get("billId") and body.get("createBill") is True and body.get("vendorId"):
        return [(_bill_for(call, body), money(body.get("amount"), f"{where}amount"))]
    else:
        wanted.append((body.get("billId"), body.get("amount"), where))
    out = []
    for bill_id, amount, prefix in wanted:
        if not bill_id:
            raise missing(f"{prefix}billId")
        found = call.fake.state.find(call.scope, "bills", str(bill_id))
        if found is None:
            raise not_found(f"billId {bill_id}")
        bill = found[1].data
        if body.get("vendorId") and bill.get("vendorId") and body["vendorId"] != bill["vendorId"]:
            raise ApiError(400, "BDC_1119", f"Invalid field,value: {where}vendorId,{body['vendorId']}")
        due = money(bill.get("dueAmount", bill.get("amount", 0)) or 0, "dueAmount")
        paying = due if amount is None else money(amount, f"{prefix}amount")
        if paying < 0 or paying > due or (paying == 0 and not where):
            raise ApiError(400, "BDC_1119", f"Invalid field,value: {prefix}amount,{paying}")
        out.append((bill, paying))
    return out


def _bill_for(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """createBill: true - BILL makes the bill the payment pays."""
    amount = money(body.get("amount"), "amount")
    if amount <= 0:
        raise ApiError(400, "BDC_1119", f"Invalid field,value: amount,{amount}")
    due_date = body.get("processDate") or date.today().isoformat()
    bill = {"vendorId": body["vendorId"], "amount": amount, "dueDate": due_date, "billLineItems": [{"amount": amount}]}
    return call.fake.engine.create(call, bill, "bills").data


def _pay(call: Call, body: dict[str, Any], allocations: list[tuple[dict[str, Any], Decimal]]) -> dict[str, Any]:
    engine = call.fake.engine
    first = allocations[0][0]
    payment = dict(body)
    payment.setdefault("vendorId", first.get("vendorId"))
    if first.get("vendorName") is not None:
        payment.setdefault("vendorName", first.get("vendorName"))
    payment["amount"] = sum((amount for _, amount in allocations), Decimal(0))
    payment.setdefault("processDate", date.today().isoformat())
    status = engine.enum_value("payments", "status", "SCHEDULED", "PAID")
    if status:
        payment["status"] = status
    record = engine.create(call, {k: v for k, v in payment.items() if v is not None}, "payments")
    for bill, amount in allocations:
        if amount == 0:
            continue
        bill["paidAmount"] = money(bill.get("paidAmount") or 0, "paidAmount") + amount
        total = money(bill.get("amount") or 0, "amount")
        bill["dueAmount"] = total - bill["paidAmount"]
        wanted = PAID if bill["dueAmount"] <= 0 else PARTIAL
        new_status = engine.enum_value("bills", "paymentStatus", *wanted)
        if new_status:
            bill["paymentStatus"] = new_status
        bill["updatedTime"] = now_iso()
        engine.emit(call, "bills", "updated", bill)
    return record.data


async def create_payment(call: Call) -> Reply:
    _require_trusted(call)
    body = call.body if isinstance(call.body, dict) else {}
    allocations = _allocations(call, body, "")
    return call.fake.engine.respond(call, _pay(call, body, allocations))


async def bulk_create_payments(call: Call) -> Reply:
    _require_trusted(call)
    body = call.body
    if isinstance(body, dict) and isinstance(body.get("payments"), list):
        shared = {k: v for k, v in body.items() if k != "payments"}
        bodies = [{**shared, **item} if isinstance(item, dict) else shared for item in body["payments"]]
    else:
        bodies = body if isinstance(body, list) else [body or {}]
    planned = [(item, _allocations(call, item, f"[{i}].")) for i, item in enumerate(bodies)]
    created = [_pay(call, item, allocations) for item, allocations in planned]
    return call.fake.engine.respond_many(call, created)


async def record_invoice_payment(call: Call) -> Reply:
    engine = call.fake.engine
    body = call.body if isinstance(call.body, dict) else {}
    entries = body.get("invoices") if isinstance(body.get("invoices"), list) else []
    if not entries:
        raise missing("invoices")
    planned = []
    for i, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        invoice_id = entry.get("id") or entry.get("invoiceId")
        if not invoice_id:
            raise missing(f"invoices[{i}].id")
        found = call.fake.state.find(call.scope, "invoices", str(invoice_id))
        if found is None:
            raise not_found(f"invoiceId {invoice_id}")
        invoice = found[1].data
        due = money(invoice.get("dueAmount", invoice.get("totalAmount", 0)) or 0, "dueAmount")
        amount = due if entry.get("amount") is None else money(entry["amount"], f"invoices[{i}].amount")
        if amount <= 0:
            raise ApiError(400, "BDC_1119", f"Invalid field,value: invoices[{i}].amount,{amount}")
        planned.append((invoice, amount))
    total = (
        money(body["amount"], "amount") if body.get("amount") is not None else sum((a for _, a in planned), Decimal(0))
    )
    payment_id = call.fake.state.new_id("received-payments")
    paid_on = body.get("paymentDate") or date.today().isoformat()
    answer_invoices = []
    for invoice, amount in planned:
        due = money(invoice.get("dueAmount", invoice.get("totalAmount", 0)) or 0, "dueAmount") - amount
        invoice["dueAmount"] = max(due, Decimal(0))
        entry = {"id": payment_id, "amount": amount, "date": paid_on}
        invoice.setdefault("payments", []).append(entry)
        status = engine.enum_value("invoices", "status", *(INVOICE_PAID if due <= 0 else INVOICE_PARTIAL))
        if status:
            invoice["status"] = status
        invoice["updatedTime"] = now_iso()
        engine.emit(call, "invoices", "updated", invoice)
        answer_invoices.append({"id": invoice["id"], "payments": [entry]})
    answer = {
        "id": payment_id,
        "customerId": body.get("customerId"),
        "paymentType": body.get("paymentType")
        if engine.response_allows(call, "paymentType", body.get("paymentType"))
        else None,
        "paymentDate": paid_on,
        "amount": total,
        "unappliedAmount": max(total - sum((a for _, a in planned), Decimal(0)), Decimal(0)),
        "description": body.get("description"),
        "invoices": answer_invoices,
    }
    call.fake.state.add(call.scope, "received-payments", dict(answer), record_id=payment_id)
    return engine.respond(call, {k: v for k, v in answer.items() if v is not None})


HANDLERS = {
    "createPayment": create_payment,
    "bulkCreatePayments": bulk_create_payments,
    "recordInvoicePayment": record_invoice_payment,
}
