"""Mass payments, exchange rates for several vendors and the organizations of a login (documented on
developer.bill.com only, so their shapes are the spec's assumptions).

* ``createMassPayment`` pays its bills at once through the :class:`~..ledger.Ledger` (like a bulk payment: all
  checked first, an MFA-trusted session when the fake requires one) and stores the batch (id bbq...), COMPLETED,
  with one COMPLETED entry per bill; ``getMassPayment`` reads it back (404 for an unknown batch). BILL processes
  the payments asynchronously; FakeBill's batches are done when created.
* ``getExchangeRates`` quotes 1 (FakeBill's assumption) in each vendor's ``paymentCurrency`` (USD when unset),
  valid 30 minutes, under a new exchangeRateBatchId.
* ``listLoginOrganizations`` lists the organizations of the caller's scope.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bill_sdk.testing.bdc import missing, not_found
from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.ledger import Ledger, money
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.schemas import now_iso
from bill_sdk.testing.state import State

MASS = "payments/mass"


class PaymentBatchHandlers:
    def __init__(self, state: State, ledger: Ledger, answers: Answers) -> None:
        self.state = state
        self.ledger = ledger
        self.answers = answers

    def routes(self) -> dict[str, Handler]:
        return {
            "createMassPayment": self.create_mass_payment,
            "getExchangeRates": self.exchange_rates,
            "listLoginOrganizations": self.login_organizations,
        }

    async def create_mass_payment(self, call: Call) -> Reply:
        body = call.json_object()
        items = body.get("payments")
        if not isinstance(items, list) or not items:
            raise missing("payments")
        shared = {k: v for k, v in body.items() if k not in ("payments", "exchangeRateBatchId")}
        bodies = [{**shared, **item} if isinstance(item, dict) else dict(shared) for item in items]
        made = self.ledger.pay_bills(call.principal, bodies, bulk=True)
        batch_id = self.state.new_id(MASS)
        entries = [
            {"billId": b.get("billId"), "paymentId": p.get("id"), "amount": p.get("amount"), "status": "COMPLETED"}
            for b, p in zip(bodies, made, strict=True)
        ]
        n = len(entries)
        batch: dict[str, Any] = {
            "id": batch_id,
            "paymentBatchId": batch_id,
            "batchStatus": "COMPLETED",
            "count": {"scheduled": 0, "failed": 0, "completed": n, "total": n},
            "payments": entries,
            "updatedTime": now_iso(),
        }
        self.state.add(call.scope, MASS, batch, record_id=batch_id)
        return self.answers.respond(call.op, batch)

    async def exchange_rates(self, call: Call) -> Reply:
        items = call.body if isinstance(call.body, list) else []
        if not items:
            raise missing("vendorId")
        expires = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
        rates = []
        for i, item in enumerate(items):
            item = item if isinstance(item, dict) else {}
            vendor_id = str(item.get("vendorId") or "")
            found = self.state.find(call.scope, "vendors", vendor_id)
            if found is None:
                raise not_found(f"[{i}].vendorId {vendor_id}")
            amount = money(item.get("amount"), f"[{i}].amount")
            account = found[1].data.get("bankAccount") if isinstance(found[1].data.get("bankAccount"), dict) else {}
            currency = str((account or {}).get("paymentCurrency") or "USD")
            rates.append(
                {
                    "vendorId": vendor_id,
                    "paymentCurrency": currency,
                    "baseCurrency": "USD",
                    "exchangeRate": Decimal(1),
                    "amountRange": {"from": Decimal(0), "to": amount},
                    "expirationTime": expires,
                }
            )
        return self.answers.respond(call.op, {"exchangeRateBatchId": str(uuid.uuid4()), "exchangeRates": rates})

    async def login_organizations(self, call: Call) -> Reply:
        orgs = [
            {"id": r.data.get("id"), "name": r.data.get("name")}
            for r in self.state.records(call.scope, "organizations")
        ]
        return self.answers.respond(call.op, {"results": orgs})
