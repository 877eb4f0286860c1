"""AP behaviour beyond the generic resources: bill approvals, vendor credits, GL classifications, international
payments, recorded AP payments and bank-account users.

* **Approval policies** (``bill-approvals/policies``): a new bill that matches every rule of a policy gets the
  policy's approvers (``WAITING``) and ``approvalStatus`` ``ASSIGNED``; :meth:`Payables.approve_or_deny` moves
  it to ``APPROVED`` once every approver approved, or ``DENIED``. Paying a bill whose approvals are not complete
  is refused (:meth:`Payables.check_payment`, run by the ledger before any payment is made).
* **Vendor credits** (``vendor-credits``): ``amount`` is the sum of the lines; a bill's ``vendorCredits``
  ``[{id, amount}]`` applies them: the credit's ``appliedAmount``/``status``/``usage`` move, and the bill's
  ``creditAmount`` and ``paidAmount`` rise by what is applied, so its ``dueAmount`` falls. Credits left out on a
  replace are un-applied.
* **Classifications** (``classifications/<type>``): a bill or bill line that names a classification id that does
  not exist, or is archived, is refused.
* **International payments**: paying a vendor whose ``billCurrency`` is not USD needs an ``exchangeRateBatchId``
  that :meth:`Payables.exchange_rate` issued for that vendor.

BILL documents none of the error codes for these refusals. FakeBill's assumptions: 400 ``BDC_1119`` ("Invalid
field,value: ...") for a bill whose approvals are not complete, an unknown or archived classification, a credit of
another vendor or more credit than is left, and an exchange-rate batch issued for another vendor; 400
``BDC_1108`` ("Missing parameter value ...") for a missing ``exchangeRateBatchId``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bill_sdk.testing.bdc import ErrorReply, missing, not_found
from bill_sdk.testing.ledger import money
from bill_sdk.testing.resources import Hook, Resources
from bill_sdk.testing.schemas import now_iso
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import Record, State
from bill_sdk.testing.vocabulary import Vocabulary

POLICIES = "bill-approvals/policies"
VENDOR_CREDITS = "vendor-credits"
BANK_ACCOUNT_USERS = "funding-accounts/banks/users"
# classification field of a bill (or line) -> the collection it names
CLASSIFICATION_FIELDS = {
    "chartOfAccountId": "classifications/chart-of-accounts",
    "accountingClassId": "classifications/accounting-classes",
    "departmentId": "classifications/departments",
    "employeeId": "classifications/employees",
    "itemId": "classifications/items",
    "jobId": "classifications/jobs",
    "locationId": "classifications/locations",
}
# approval rule key -> classification field it compares
RULE_FIELDS = {
    "CHART_OF_ACCOUNT_ID": "chartOfAccountId",
    "JOB_ID": "jobId",
    "LOCATION_ID": "locationId",
}
# FakeBill's exchange rates (units of the currency per USD); any other currency gets 1.
RATES = {"EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "CAD": Decimal("1.36"), "MXN": Decimal("17.1")}
RATE_LIFETIME = timedelta(hours=1)


def invalid(field_name: str, value: object, why: str = "") -> ErrorReply:
    suffix = f" ({why})" if why else ""
    return ErrorReply(400, "BDC_1119", f"Invalid field,value: {field_name},{value}{suffix}")


def _compare(op: str, actual: Any, values: Sequence[str]) -> bool:
    if op in ("eq", "in"):
        return str(actual) in values
    if op in ("ne", "nin"):
        return str(actual) not in values
    try:
        left, right = Decimal(str(actual)), Decimal(str(values[0]))
    except (ArithmeticError, ValueError, IndexError):
        return False
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}.get(op, False)


@dataclass
class _Batch:
    vendor_id: str
    expires: datetime


@dataclass
class Payables:
    state: State
    resources: Resources
    vocabulary: Vocabulary
    # (scope, bill id) -> {vendor credit id: amount applied to that bill}
    applied: dict[tuple[str, str], dict[str, Decimal]] = field(default_factory=dict)
    batches: dict[int, _Batch] = field(default_factory=dict)
    _batch_ids: Iterator[int] = field(default_factory=lambda: itertools.count(35664))

    def hooks(self) -> dict[str, list[Hook]]:
        return {"bills": [self.bill_hook], VENDOR_CREDITS: [self.vendor_credit_hook]}

    # -- bills ---------------------------------------------------------------------------------------

    def bill_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        """Runs after the ledger's bill hook: classifications, vendor credits, approval policies."""
        self._check_classifications(who.scope, data)
        if action == "replaced":
            data.setdefault("vendorCredits", [])  # a replace un-applies the credits it leaves out
        self._apply_credits(who, data)
        if action == "created" or not data.get("approvers"):
            self._assign_approvers(who.scope, data)

    def _check_classifications(self, scope: str, data: Mapping[str, Any]) -> None:
        places: list[tuple[str, Any]] = [("classifications", data.get("classifications"))]
        lines = data.get("billLineItems")
        places += [
            (f"billLineItems[{i}].classifications", line.get("classifications"))
            for i, line in enumerate(lines if isinstance(lines, list) else [])
            if isinstance(line, dict)
        ]
        for where, ids in places:
            if not isinstance(ids, dict):
                continue
            for name, collection in CLASSIFICATION_FIELDS.items():
                value = ids.get(name)
                if not value:
                    continue
                found = self.state.record(scope, collection, str(value))
                if found is None:
                    raise invalid(f"{where}.{name}", value, "no such classification")
                if found.data.get("archived"):
                    raise invalid(f"{where}.{name}", value, "the classification is archived")

    def _apply_credits(self, who: Principal, bill: dict[str, Any]) -> None:
        key = (who.scope, str(bill["id"]))
        before = self.applied.get(key, {})
        try:
            wanted = self._wanted_credits(who.scope, bill, before)
        except ErrorReply:
            # the resource service has already merged the refused request into the bill: put the credits back
            bill["vendorCredits"] = [{"id": k, "amount": v} for k, v in before.items()]
            raise
        if wanted == before and "vendorCredits" not in bill:
            return
        for credit_id in set(before) | set(wanted):
            delta = wanted.get(credit_id, Decimal(0)) - before.get(credit_id, Decimal(0))
            if delta:
                self._move_credit(who, credit_id, str(bill["id"]), delta)
        self.applied[key] = wanted
        previous_total = sum(before.values(), Decimal(0))
        total = sum(wanted.values(), Decimal(0))
        cash = max(money(bill.get("paidAmount") or 0, "paidAmount") - previous_total, Decimal(0))
        bill["creditAmount"] = total
        bill["paidAmount"] = cash + total
        if bill.get("amount") is not None:
            bill["dueAmount"] = money(bill["amount"], "amount") - bill["paidAmount"]
            if bill["paidAmount"] > 0:
                status = ("PAID",) if bill["dueAmount"] <= 0 else ("PARTIAL", "PARTIALLY_PAID")
                new = self.vocabulary.enum_value("bills", "paymentStatus", *status)
                if new:
                    bill["paymentStatus"] = new

    def _wanted_credits(self, scope: str, bill: Mapping[str, Any], before: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """The credits the bill asks for ({id: amount}), checked; `before` when it does not say."""
        if "vendorCredits" not in bill:
            return dict(before)
        entries = bill.get("vendorCredits") or []
        wanted: dict[str, Decimal] = {}
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            entry = entry if isinstance(entry, dict) else {}
            credit_id = entry.get("id")
            if not credit_id:
                raise missing(f"vendorCredits[{i}].id")
            credit = self._credit(scope, str(credit_id))
            if bill.get("vendorId") and credit.get("vendorId") and credit["vendorId"] != bill["vendorId"]:
                raise invalid(f"vendorCredits[{i}].id", credit_id, "a credit of another vendor")
            left = self._credit_left(credit) + before.get(str(credit_id), Decimal(0))
            amount = left if entry.get("amount") is None else money(entry["amount"], f"vendorCredits[{i}].amount")
            if amount <= 0 or amount > left:
                raise invalid(f"vendorCredits[{i}].amount", amount, f"{left} of the credit is left")
            wanted[str(credit_id)] = wanted.get(str(credit_id), Decimal(0)) + amount
        total = sum(wanted.values(), Decimal(0))
        if bill.get("amount") is not None and total > money(bill["amount"], "amount"):
            raise invalid("vendorCredits", total, "more credit than the bill's amount")
        return wanted

    def _credit(self, scope: str, credit_id: str) -> dict[str, Any]:
        found = self.state.record(scope, VENDOR_CREDITS, credit_id)
        if found is None:
            raise not_found(f"vendorCreditId {credit_id}")
        if found.data.get("archived"):
            raise invalid("vendorCredits.id", credit_id, "the vendor credit is archived")
        return found.data

    @staticmethod
    def _credit_left(credit: Mapping[str, Any]) -> Decimal:
        return money(credit.get("amount") or 0, "amount") - money(credit.get("appliedAmount") or 0, "appliedAmount")

    def _move_credit(self, who: Principal, credit_id: str, bill_id: str, delta: Decimal) -> None:
        credit = self._credit(who.scope, credit_id)
        self._refresh_credit(who.scope, credit, {(who.scope, bill_id): {credit_id: delta}})
        credit["updatedTime"] = now_iso()

    def _refresh_credit(
        self, scope: str, credit: dict[str, Any], pending: Mapping[tuple[str, str], Mapping[str, Decimal]] | None = None
    ) -> None:
        """appliedAmount, usage and status of a credit, from what bills hold of it (plus `pending` changes)."""
        pending = pending or {}
        credit_id = str(credit.get("id"))
        usage: list[dict[str, Any]] = []
        total = Decimal(0)
        for key in sorted(set(self.applied) | set(pending)):
            if key[0] != scope:
                continue
            amount = self.applied.get(key, {}).get(credit_id, Decimal(0)) + pending.get(key, {}).get(
                credit_id, Decimal(0)
            )
            if amount > 0:
                usage.append({"billId": key[1], "amount": amount})
                total += amount
        credit["usage"] = usage
        credit["appliedAmount"] = total
        self._credit_status(credit)

    def _credit_status(self, credit: dict[str, Any]) -> None:
        applied = money(credit.get("appliedAmount") or 0, "appliedAmount")
        if applied <= 0:
            wanted: tuple[str, ...] = ("NOT_APPLIED",)
        elif applied >= money(credit.get("amount") or 0, "amount"):
            wanted = ("FULLY_APPLIED",)
        else:
            wanted = ("PARTIALLY_APPLIED", "IN_PROCESS")
        status = self.vocabulary.enum_value(VENDOR_CREDITS, "status", *wanted)
        if status:
            credit["status"] = status

    def vendor_credit_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        lines = data.get("vendorCreditLineItems")
        if isinstance(lines, list):
            total = Decimal(0)
            for i, line in enumerate(lines):
                if isinstance(line, dict):
                    line.setdefault("id", self.state.new_id("vendor-credits/lines"))
                    total += money(line.get("amount") or 0, f"vendorCreditLineItems[{i}].amount")
            data["amount"] = total
        self._refresh_credit(who.scope, data)  # a replace keeps what bills already use of the credit
        if self._credit_left(data) < 0:
            raise invalid("vendorCreditLineItems", data.get("amount"), "less than what is already applied")

    # -- approvals -----------------------------------------------------------------------------------

    def _assign_approvers(self, scope: str, bill: dict[str, Any]) -> None:
        for record in self.state.records(scope, POLICIES):
            policy = record.data
            if not self._matches(policy, bill):
                continue
            bill["approvers"] = [
                {"userId": user, "status": "WAITING", "approverOrder": order, "statusChangedTime": now_iso()}
                for order, user in enumerate(policy.get("approvers") or [])
            ]
            bill["approvalStatus"] = "ASSIGNED"
            return

    def _matches(self, policy: Mapping[str, Any], bill: Mapping[str, Any]) -> bool:
        rules = policy.get("rules") or []
        return bool(rules) and all(self._rule_holds(rule, bill) for rule in rules)

    @staticmethod
    def _rule_holds(rule: Mapping[str, Any], bill: Mapping[str, Any]) -> bool:
        key, op, values = rule.get("key"), str(rule.get("op")), [str(v) for v in rule.get("values") or []]
        if key == "BILL_AMOUNT":
            return bill.get("amount") is not None and _compare(op, bill["amount"], values)
        if key == "VENDOR_ID":
            return _compare(op, bill.get("vendorId"), values)
        name = RULE_FIELDS.get(str(key))
        if name is None:
            return False  # FakeBill's assumption: a rule on a key it does not know never matches
        seen = [bill.get("classifications") or {}]
        seen += [
            line.get("classifications") or {} for line in bill.get("billLineItems") or [] if isinstance(line, dict)
        ]
        return any(ids.get(name) is not None and _compare(op, ids[name], values) for ids in seen)

    def create_policy(self, who: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        data = {**body, "id": self.state.new_id(POLICIES), "status": "ACTIVE"}
        self.state.add(who.scope, POLICIES, data)
        return self.present_policy(who.scope, data)

    def replace_policy(self, who: Principal, policy_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        record = self._policy(who.scope, policy_id)
        record.data.clear()
        record.data.update({**body, "id": policy_id, "status": "ACTIVE"})
        return self.present_policy(who.scope, record.data)

    def delete_policy(self, who: Principal, policy_id: str) -> None:
        self._policy(who.scope, policy_id)
        self.state.remove(who.scope, POLICIES, policy_id)

    def policies(self, who: Principal) -> list[dict[str, Any]]:
        return [self.present_policy(who.scope, r.data) for r in self.state.records(who.scope, POLICIES)]

    def _policy(self, scope: str, policy_id: str) -> Record:
        record = self.state.record(scope, POLICIES, policy_id)
        if record is None:
            raise not_found(f"policyId {policy_id}")
        return record

    def present_policy(self, scope: str, policy: Mapping[str, Any]) -> dict[str, Any]:
        """A stored policy (rule values as strings, approvers as user ids) the way BILL answers with it."""

        def display(key: Any, value: str) -> str:
            if key == "VENDOR_ID":
                vendor = self.state.record(scope, "vendors", value)
                if vendor is not None and vendor.data.get("name"):
                    return str(vendor.data["name"])
            return value

        def full_name(user_id: str) -> str:
            user = self.state.record(scope, "users", user_id)
            names = [user.data.get(k) for k in ("firstName", "lastName")] if user is not None else []
            return " ".join(str(n) for n in names if n) or user_id

        rules = [
            {
                **rule,
                "values": [
                    {"value": str(v), "displayName": display(rule.get("key"), str(v))} for v in rule.get("values") or []
                ],
            }
            for rule in policy.get("rules") or []
        ]
        users = [{"userId": u, "fullName": full_name(str(u))} for u in policy.get("approvers") or []]
        return {**policy, "rules": rules, "approvers": {"users": users, "groups": []}}

    def approve_or_deny(self, who: Principal, actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Apply approve/deny actions (all checked first); the bills changed.

        FakeBill's assumption: the signed-in user acts as their own approver entry when the bill has one, otherwise
        as the next WAITING approver (so a test need not sign in as each approver).
        """
        planned = []
        for i, action in enumerate(actions):
            bill_id = str(action.get("billId") or "")
            found = self.state.record(who.scope, "bills", bill_id)
            if found is None:
                raise not_found(f"billId {bill_id}")
            bill = found.data
            waiting = [a for a in bill.get("approvers") or [] if a.get("status") == "WAITING"]
            if bill.get("approvalStatus") != "ASSIGNED" or not waiting:
                raise invalid(f"[{i}].billId", bill_id, "the bill is not waiting for approval")
            mine = [a for a in waiting if who.session is not None and a.get("userId") == who.session.user_id]
            planned.append((bill, (mine or waiting)[0], action.get("action")))
        for bill, approver, verdict in planned:
            approver["status"] = "APPROVED" if verdict == "APPROVE" else "DENIED"
            approver["statusChangedTime"] = now_iso()
            if verdict != "APPROVE":
                bill["approvalStatus"] = "DENIED"
            elif all(a.get("status") == "APPROVED" for a in bill.get("approvers") or []):
                bill["approvalStatus"] = "APPROVED"
            bill["updatedTime"] = now_iso()
            self.resources.publish(who, "bills", "updated", bill)
        return [bill for bill, _, _ in planned]

    def pending(self, who: Principal) -> list[dict[str, Any]]:
        bills = [r.data for r in self.state.records(who.scope, "bills") if not r.data.get("archived")]
        return [
            {
                k: b.get(s)
                for k, s in (("billId", "id"), ("vendorId", "vendorId"), ("amount", "amount"), ("dueDate", "dueDate"))
                if b.get(s) is not None
            }
            for b in bills
            if b.get("approvalStatus") == "ASSIGNED"
        ]

    # -- payments ------------------------------------------------------------------------------------

    def check_payment(self, who: Principal, body: Mapping[str, Any], bills: Sequence[Mapping[str, Any]]) -> None:
        """Refuse a payment of a bill under approval, or of an international vendor without a valid batch."""
        for bill in bills:
            if bill.get("approvers") and bill.get("approvalStatus") not in (None, "APPROVED", "UNASSIGNED"):
                raise invalid("billId", bill.get("id"), "the bill's approvals are not complete")
        vendor_id = body.get("vendorId") or next((b.get("vendorId") for b in bills if b.get("vendorId")), None)
        vendor = self.state.record(who.scope, "vendors", str(vendor_id)) if vendor_id else None
        if vendor is None or str(vendor.data.get("billCurrency") or "USD").upper() == "USD":
            return
        batch_id = body.get("exchangeRateBatchId")
        if batch_id is None or batch_id == "":
            raise missing("exchangeRateBatchId")
        batch = self.batches.get(int(batch_id)) if str(batch_id).isdigit() else None
        if batch is None or batch.vendor_id != vendor.id:
            raise invalid("exchangeRateBatchId", batch_id, "not a batch issued for this vendor")
        if batch.expires < datetime.now(UTC):
            raise invalid("exchangeRateBatchId", batch_id, "the exchange-rate batch has expired")

    def exchange_rate(self, who: Principal, vendor_id: str, amount: Decimal) -> dict[str, Any]:
        vendor = self.state.record(who.scope, "vendors", vendor_id)
        if vendor is None:
            raise not_found(f"vendorId {vendor_id}")
        currency = str(vendor.data.get("billCurrency") or "USD").upper()
        batch_id = next(self._batch_ids)
        expires = datetime.now(UTC) + RATE_LIFETIME
        self.batches[batch_id] = _Batch(vendor_id, expires)
        return {
            "exchangeRateBatchId": batch_id,
            "exchangeRate": RATES.get(currency, Decimal(1)),
            "vendorId": vendor_id,
            "billCurrency": currency,
            "paymentCurrency": currency,
            "baseCurrency": "USD",
            "amountRange": {"from": Decimal(0), "to": max(amount * 5, Decimal(1))},
            "expirationTime": expires.isoformat(timespec="milliseconds"),
        }

    def record_payment(self, who: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        """A payment made outside BILL: lower each bill's dueAmount (all checked first); the payment recorded."""
        vendor_id = body.get("vendorId")
        planned = []
        for i, item in enumerate(body.get("payments") or []):
            bill_id = str(item.get("billId") or "")
            found = self.state.record(who.scope, "bills", bill_id)
            if found is None:
                raise not_found(f"billId {bill_id}")
            bill = found.data
            if vendor_id and bill.get("vendorId") and bill["vendorId"] != vendor_id:
                raise invalid(f"payments[{i}].billId", bill_id, "a bill of another vendor")
            amount = money(item.get("amount"), f"payments[{i}].amount")
            credits = [c for c in item.get("vendorCredits") or [] if isinstance(c, dict)]
            credit_total = sum((money(c.get("amount") or 0, "amount") for c in credits), Decimal(0))
            due = money(bill.get("dueAmount", bill.get("amount", 0)) or 0, "dueAmount")
            if amount < 0 or amount + credit_total > due:
                raise invalid(f"payments[{i}].amount", amount, f"{due} is due")
            planned.append((bill, amount, credits))
        bill_payments = []
        for bill, amount, credits in planned:
            if credits:  # apply them as the bill's own vendorCredits (kept on later updates)
                merged = dict(self.applied.get((who.scope, str(bill["id"])), {}))
                for credit in credits:
                    merged[str(credit["id"])] = merged.get(str(credit["id"]), Decimal(0)) + money(
                        credit.get("amount") or 0, "amount"
                    )
                bill["vendorCredits"] = [{"id": k, "amount": v} for k, v in merged.items()]
                self._apply_credits(who, bill)
            bill["paidAmount"] = money(bill.get("paidAmount") or 0, "paidAmount") + amount
            bill["dueAmount"] = money(bill.get("amount") or 0, "amount") - bill["paidAmount"]
            wanted = ("PAID",) if bill["dueAmount"] <= 0 else ("PARTIAL", "PARTIALLY_PAID")
            status = self.vocabulary.enum_value("bills", "paymentStatus", *wanted)
            if status:
                bill["paymentStatus"] = status
            bill["updatedTime"] = now_iso()
            self.resources.publish(who, "bills", "updated", bill)
            bill_payments.append({"billId": bill["id"], "amount": amount, "vendorCredits": credits})
        payment = {
            "vendorId": vendor_id,
            "billId": bill_payments[0]["billId"] if len(bill_payments) == 1 else None,
            "billPayments": bill_payments,
            "amount": sum((p["amount"] for p in bill_payments), Decimal(0)),
            "processDate": body.get("processDate") or date.today().isoformat(),
            "description": body.get("description"),
            "transactionNumber": body.get("transactionNumber"),
            "toPrintCheck": body.get("toPrintCheck"),
            "onlinePayment": False,
        }
        status = self.vocabulary.enum_value("payments", "status", "PAID", "SCHEDULED")
        if status:
            payment["status"] = status
        return self.resources.create(who, "payments", {k: v for k, v in payment.items() if v is not None}).data

    # -- bank account users --------------------------------------------------------------------------

    def nominate(self, who: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        bank_id, user_id = str(body.get("bankAccountId") or ""), str(body.get("userId") or "")
        bank = self.state.find(who.scope, "funding-accounts/banks", bank_id)
        if bank is None:
            raise not_found(f"bankAccountId {bank_id}")
        status = bank[1].data.get("status")
        if status not in (None, "VERIFIED"):
            raise invalid("bankAccountId", bank_id, "the bank account is not VERIFIED")
        data = {"bankAccountId": bank_id, "userId": user_id, "verificationStatus": "NOMINATED"}
        return self.resources.create(who, BANK_ACCOUNT_USERS, data).data

    @staticmethod
    def unverify(data: dict[str, Any]) -> dict[str, Any]:
        data["verificationStatus"] = "UNVERIFIED"
        return data
