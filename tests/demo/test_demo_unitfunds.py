"""The demo's unit funds: against a real simulator process, the school's own account is registered with an income
in it, a unit-funds payment (voucher 8209) is paid from it, the day's statement read from the bank matches the
payment and raises one alert on the cash cheque no request explains (on the school clerk's to-do list) — and every
invariant `ibms verify` checks still holds."""

from __future__ import annotations

from ibms.core.models import TodoItem
from ibms.core.verify import run_all
from ibms.demo.bank import connect_demo_banks
from ibms.demo.unitfunds import ACCOUNT_NO, CHEQUE_SERIAL, load_demo_unitfunds
from ibms.monitoring.models import Alert
from ibms.treasury.models import PaymentVoucher
from ibms.unitfunds.models import Income, StatementLine, UnitAccount
from tests.banksim_process import BankSim


def test_demo_has_a_unit_account_an_income_a_paid_payment_and_an_alert(committed_db, tmp_path):
    sim = BankSim.start(tmp_path / "sim", pay_delay=0.0)
    try:
        assert connect_demo_banks(sim) >= 1
        out = load_demo_unitfunds(sim)
        assert out == {"accounts": 1, "incomes": 1, "paid": 1, "statement_lines": 2, "alerts": 1}
        assert load_demo_unitfunds(sim) == {}  # idempotent
        assert sim.invariants()["ok"]
    finally:
        sim.stop()
    ua = UnitAccount.objects.get(bank_account__account_no=ACCOUNT_NO)
    assert Income.objects.filter(account=ua).count() == 1
    [v] = PaymentVoucher.objects.filter(pay_acct_no=ACCOUNT_NO)
    assert (v.vt_code, v.state) == ("8209", "paid")
    assert ua.balance == 20_000_000 - 1_500_000
    lines = {sl.serial: sl.match for sl in StatementLine.objects.filter(account=ua)}
    assert lines.pop(CHEQUE_SERIAL) == "unmatched" and list(lines.values()) == ["matched"]
    [alert] = Alert.objects.filter(subject_kind="unit_statement_line")
    assert (alert.rule_code, alert.subject_amount) == ("UF-01", 320_000)
    assert TodoItem.objects.filter(doc_type="monitoring.alert", object_id=str(alert.pk), status="open",
                                   role_code="unit_clerk").exists()
    assert {name: problems for name, problems in run_all().items() if problems} == {}
