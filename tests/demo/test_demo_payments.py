"""The demo's payments: against a real simulator process, the school's payments go through the whole chain at
start-up — paid, paid with an explained warning, paid then partly refunded, returned for a bad account, one
waiting for review — the day is reconciled, and every invariant `ibms verify` checks still holds."""

from __future__ import annotations

from ibms.accounting.models import Voucher, VoucherLine
from ibms.core.verify import run_all
from ibms.demo.bank import connect_demo_banks
from ibms.demo.payments import load_demo_payments
from ibms.monitoring.selectors import alert_list_for_subject
from ibms.treasury.models import PaymentRequest, PaymentVoucher, ReconciliationRun
from tests.banksim_process import BankSim


def test_demo_payments_run_through_the_chain(committed_db, tmp_path):
    sim = BankSim.start(tmp_path / "sim", pay_delay=0.0)
    try:
        assert connect_demo_banks(sim) >= 1
        assert load_demo_payments(sim) == {"payments": 5, "paid": 3}
        assert load_demo_payments(sim) == {}  # idempotent
    finally:
        sim.stop()
    status = dict(PaymentRequest.objects.values_list("purpose", "status"))
    assert status["购买打印耗材"] == "returned" and status["购买实验耗材"] == "submitted"
    refunded = PaymentVoucher.objects.get(request__purpose="教学楼维修工程进度款")
    assert (refunded.state, refunded.refunded_amt) == ("partly_refunded", 500_000)
    warned = PaymentRequest.objects.get(purpose="购买教师节慰问品")
    assert any(a.status == "unit_explained" for a in alert_list_for_subject("payment_request", warned.pk))
    assert ReconciliationRun.objects.exists()
    # the finance bureau's 总预算会计: one voucher per receipt and per refund, Dr 5001 本级支出 / Cr 1001 国库存款
    paid = PaymentVoucher.objects.filter(state__in=PaymentVoucher.PAID_STATES, request__isnull=False)
    fin = Voucher.objects.filter(account_set__kind="fiscal", event_type__in=["treasury.paid", "treasury.refunded"])
    assert fin.filter(event_type="treasury.paid").count() == paid.count() == 3
    assert fin.filter(event_type="treasury.refunded").count() == 1
    net = sum(v.xpay_amt - v.refunded_amt for v in paid)
    lines = VoucherLine.objects.filter(voucher__in=fin, account_code="5001")
    assert sum(ln.debit - ln.credit for ln in lines) == net > 0
    assert {name: problems for name, problems in run_all().items() if problems} == {}
