"""The books of a paid month: accrued (Dr 5001 / Cr 2201 the gross) and withheld (Dr 2201 / Cr 2102 the tax,
Cr 2307 the other withholdings) when the run is paid; the bank's receipts of the three requests book the net pay
against 2201 (business type salary), the tax against 2102 (remit_tax) and the rest against 2307 (remit_withheld),
each Cr 4001 and, in budget accounting, Dr 7201 / Cr 6001 — so every liability is zero once the bank has paid."""

from __future__ import annotations

from django.db import transaction

from ibms.accounting.models import VoucherLine
from ibms.banks import services as banks
from ibms.banks.models import BankEndpoint
from ibms.core import clock
from ibms.core.crypto import generate_sm2_keypair
from ibms.core.verify import run_all
from ibms.payroll import services as ps
from ibms.treasury import selectors as tsel
from ibms.treasury import services as ts
from ibms.treasury.models import PaymentVoucher
from tests.constants import DEMO_PIN
from tests.treasury.builders import school

from .builders import YUAN, approved_run, fresh, personnel_indicator, staff

YEAR = clock.fiscal_year()


def balances(*codes: str) -> dict[str, int]:
    """Credit minus debit of the school's lines on each account (sub-accounts included) this year."""
    out = {}
    for code in codes:
        lines = VoucherLine.objects.filter(voucher__account_set__unit=school(), voucher__year=YEAR,
                                           account__code__startswith=code)
        out[code] = sum(ln.credit - ln.debit for ln in lines)
    return out


def receipt(req, user) -> None:
    """The bank's receipt of a request, applied as the worker would (the bank itself is in test_returns)."""
    if not BankEndpoint.objects.filter(agent_bank_code=req.agent_bank_code, region_code=req.region_code).exists():
        banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=req.agent_bank_code,
                                region_code=req.region_code, base_url="http://127.0.0.1:9",
                                public_pem=generate_sm2_keypair().public_pem.decode())
    ts.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    v = tsel.voucher_find(req.region_code, None, PaymentVoucher.objects.get(request=req).number)
    with transaction.atomic():
        ts.voucher_receipt_apply(v, xpay_amt=req.amount, xpay_date=clock.today(), business_no=f"B-{req.number}")


def test_a_paid_month_leaves_no_liability(clerk, reviewer, head, budget, user):
    staff(clerk, 3)
    ind = personnel_indicator(budget)
    accounts = ("2201", "2102", "2307", "4001", "5001", "6001", "7201")
    before = balances(*accounts)
    run = ps.payroll_run_pay(actor=clerk, pk=approved_run(clerk, reviewer, head, 9).pk, indicator_id=ind.pk)
    # 3 × 8,000 gross; tax 3 × 36; social and housing 3 × 1,800; union 3 × 30 (test_tax)
    assert (run.gross, run.tax, run.social, run.other, run.net) == (
        24_000 * YUAN, 108 * YUAN, 5_400 * YUAN, 90 * YUAN, 18_402 * YUAN)

    def moved():
        now = balances(*accounts)
        return {k: now[k] - before[k] for k in accounts}

    # paid (submitted) but not yet through the bank: accrued and withheld, nothing spent
    assert moved() == {"2201": run.net, "2102": run.tax, "2307": run.social + run.other, "4001": 0,
                       "5001": -run.gross, "6001": 0, "7201": 0}
    pays = {p.kind: p.request for p in run.payments.select_related("request")}
    assert {k: r.business_type for k, r in pays.items()} == {"net": "salary", "tax": "remit_tax",
                                                             "withheld": "remit_withheld"}
    receipt(pays["net"], user)
    assert moved()["2201"] == 0 and moved()["2102"] == run.tax and moved()["7201"] == -run.net
    receipt(pays["tax"], user)
    receipt(pays["withheld"], user)
    assert moved() == {"2201": 0, "2102": 0, "2307": 0, "4001": run.gross, "5001": -run.gross,
                       "6001": run.gross, "7201": -run.gross}
    assert fresh(ind).spent == run.gross
    problems = run_all()
    for name in ("payroll.runs", "treasury.spent", "treasury.paid_once", "treasury.reservations",
                 "accounting.balanced", "indicators.balances"):
        assert problems[name] == [], (name, problems[name])
