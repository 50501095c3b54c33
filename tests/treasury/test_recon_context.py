"""Reconciliation differences as work items (missing at bank, amount mismatch, paid twice, not ours), and the
monitoring context's history aggregates."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ibms.core import clock
from ibms.monitoring.context import HISTORY_KEYS
from ibms.treasury import monitoring_context
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest, ReconDifference

from .builders import create, fresh, indicator, paid

pytestmark = pytest.mark.django_db


def test_reconciliation_lists_every_difference(user):
    ind = indicator(user("fin_budget"), 10_000_000)
    good, missing, differs, twice = (paid(user, ind, a, k) for a, k in
                                     ((10_000, "r1"), (20_000, "r2"), (30_000, "r3"), (40_000, "r4")))
    line = lambda v, amt, serial: {"VoucherNo": v.number, "Kind": "pay", "PayAmt": amt,  # noqa: E731
                                   "AgentBusinessNo": serial}
    s.statement_apply(region_code="990000000", agent_bank_code=good.agent_bank_code, statement_date=clock.today(),
                      message_id="st-1", lines=[line(good, 10_000, "S1"), line(differs, 30_500, "S3"),
                                                line(twice, 40_000, "S4"), line(twice, 40_000, "S5"),
                                                {"VoucherNo": "ZF-NOT-OURS", "Kind": "pay", "PayAmt": 99,
                                                 "AgentBusinessNo": "S9"}])
    run = s.reconciliation_run(actor=user("fin_treasury"), region_code="990000000", date=clock.today())
    found = {(d.voucher_no, d.kind) for d in run.differences.all()}
    assert (missing.number, ReconDifference.Kind.MISSING_AT_BANK) in found
    assert (differs.number, ReconDifference.Kind.AMOUNT_MISMATCH) in found
    assert (twice.number, ReconDifference.Kind.PAID_TWICE) in found
    assert ("ZF-NOT-OURS", ReconDifference.Kind.MISSING_RECEIPT) in found
    assert not any(no == good.number for no, _ in found)
    assert fresh(good).state == "reconciled" and fresh(missing).state == "paid"
    d = run.differences.get(voucher_no=missing.number)
    s.difference_resolve(actor=user("fin_treasury"), pk=d.pk, resolution="已与银行核实，次日补记")
    assert fresh(d).status == "resolved"
    from ibms.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied) as e:
        s.reconciliation_run(actor=user("school_clerk"), region_code="990000000", date=clock.today())
    assert e.value.code == "permission_denied"


def test_history_aggregates(user):
    clerk = user("school_clerk")
    ind = indicator(user("fin_budget"), 10_000_000)
    for n, amount in enumerate((10_000, 25_000), 1):
        r = create(clerk, ind, amount)
        s.payment_request_submit(actor=clerk, pk=r.pk, idempotency_key=f"h-{n}")
    cash = create(clerk, ind, 3_000, set_mode_code="3")
    s.payment_request_submit(actor=clerk, pk=cash.pk, idempotency_key="h-cash")
    probe = create(clerk, ind, 7_000)
    probe.submitted_at = timezone.now()
    h = monitoring_context.history(probe, HISTORY_KEYS, when=timezone.now())
    assert h["payee_30d_count"] == 3 and h["payee_30d_amount"] == 38_000
    assert sorted(h["payee_30d_amounts"]) == [3_000, 10_000, 25_000]
    assert h["payee_units_90d"] == 1
    assert (h["unit_cash_30d_count"], h["unit_cash_30d_amount"]) == (1, 3_000)
    assert h["indicator_paid_ytd"] == 38_000
    assert h["unit_eco_paid_ytd"] >= 38_000 and h["unit_eco_budget"] >= 10_000_000
    ctx = monitoring_context.build(probe, indicator=fresh(ind))
    assert ctx["payment"]["amount"] == 7_000 and ctx["indicator"]["available"] == 10_000_000 - 38_000
    assert ctx["payee"]["in_directory"] is True and ctx["unit"]["code"] == "001001"
    assert set(ctx["history"]) <= HISTORY_KEYS
    assert PaymentRequest.objects.filter(indicator=ind, status="submitted").count() == 3
