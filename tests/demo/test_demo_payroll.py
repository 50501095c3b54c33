"""The demo's payroll: against a real simulator process, the school's people have pay profiles and this month's
run went generated → reviewed → approved → paid as the run's batch requests that the bank paid (net pay per card,
the tax and the other withholdings to their collectors), the books agree and every invariant `ibms verify` checks still holds."""

from __future__ import annotations

from ibms.core import clock
from ibms.core.verify import run_all
from ibms.demo.bank import connect_demo_banks
from ibms.demo.payroll import load_demo_payroll
from ibms.masterdata.models import Person
from ibms.payroll.models import PayProfile, PayrollRun
from ibms.treasury.models import PaymentVoucher
from tests.banksim_process import BankSim


def test_demo_pays_a_month_of_the_schools_payroll(committed_db, tmp_path):
    sim = BankSim.start(tmp_path / "sim", pay_delay=0.0)
    try:
        assert connect_demo_banks(sim) >= 1
        out = load_demo_payroll(sim)
        assert load_demo_payroll(sim) == {}  # idempotent
    finally:
        sim.stop()
    people = Person.objects.filter(unit__region_code="990000000", unit__code="001001", is_active=True).count()
    assert out["profiles"] == people == PayProfile.objects.filter(unit__code="001001",
                                                                  region_code="990000000").count()
    today = clock.today("990000000")
    [run] = PayrollRun.objects.filter(unit__code="001001", region_code="990000000")
    assert (run.year, run.month, run.status, run.headcount) == (today.year, today.month, "paid", people)
    assert run.gross > run.net > 0 and run.tax > 0
    reqs = [p.request for p in run.payments.select_related("request")]
    assert all(r.is_payroll for r in reqs) and sum(r.amount for r in reqs) == run.gross
    assert run.payment_request.business_type == "salary" and run.payment_request.lines.count() == people
    assert out["lines"] > people  # net pay per card, then the collectors
    assert out["paid"] == out["requests"] == len(reqs) >= 2
    assert {v.state for v in PaymentVoucher.objects.filter(request__in=reqs)} == {"paid"}
    assert {name: problems for name, problems in run_all().items() if problems} == {}
