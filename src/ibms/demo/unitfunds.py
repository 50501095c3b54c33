"""Demo unit funds (单位资金): 省第一实验中学 (unit 001001 of 华夏省) has its own 实有资金账户 at its bank, registered by
its clerk; a 事业收入 (after-school service fees) recorded into it; an indicator of fund nature 31 (单位资金·事业收入,
a budget reply of the budget division) paid from the account through request → unit review → voucher 8209 → the
running bank simulator → receipt; then the bank pays a cash cheque from the account that no request explains, and
the T+1 feed reads the day's statement from the bank: the payment matches, the cheque raises alert UF-01 on the
school clerk's to-do list. Everything goes through the services, as the users would (the bank account itself is
master data the treasury division keeps, created as its resource page would)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction

from ibms.banks.simprocess import SimProcess
from ibms.core import audit, clock
from ibms.iam.models import User
from ibms.indicators import services as ins
from ibms.masterdata.models import AgentBank, BankAccount, Payee, Unit
from ibms.treasury import services as t
from ibms.treasury.models import PaymentVoucher
from ibms.unitfunds import feed
from ibms.unitfunds import services as uf
from ibms.unitfunds.domain import IncomeIn
from ibms.unitfunds.models import StatementLine, UnitAccount

from .payments import _worker_pass
from .users import DEMO_PIN

PROVINCE = "990000000"
SCHOOL = "001001"
ACCOUNT_NO = "621700100100000063"
CHEQUE_SERIAL = "DEMO-ZP-0001"


def _bank_account(school: Unit) -> BankAccount:
    ba = BankAccount.objects.filter(account_no=ACCOUNT_NO).first()
    if ba is None:
        bank = AgentBank.objects.filter(region_code=PROVINCE, is_active=True).order_by("id").first()
        with transaction.atomic():
            ba = BankAccount.objects.create(region_code=PROVINCE, unit=school, account_type="63", account_no=ACCOUNT_NO,
                                            account_name=school.name, bank=bank,
                                            bank_name=bank.name if bank else "")
            audit.record_change(ba, "create")
    return ba


def _indicator(budget: User, school: Unit, year: int):
    with transaction.atomic():
        src = ins.source_document_create(actor=budget, region_code=PROVINCE, year=year, kind="budget_reply",
                                         doc_no=f"华财预〔{year}〕92号", title="关于省第一实验中学单位资金收支预算的批复",
                                         doc_date=clock.today(PROVINCE))
        [ind] = ins.indicators_create(actor=budget, source=src, specs=[ins.IndicatorSpec(
            amount=10_000_000, unit_id=school.pk, fund_nature_code="31", exp_func_code="2050202",
            dep_eco_code="30201", gov_eco_code="50201", summary="单位资金（事业收入）安排的公用经费")])
    return ind


def load_demo_unitfunds(sim: SimProcess) -> dict[str, int]:
    """Idempotent: does nothing when the school already has its unit account."""
    school = Unit.objects.get(region_code=PROVINCE, code=SCHOOL)
    if UnitAccount.objects.filter(unit=school).exists():
        return {}
    users = {u.username: u for u in User.objects.filter(username__in=[
        "school_clerk", "school_reviewer", "fin_budget", "fin_treasury"])}
    clerk, reviewer = users["school_clerk"], users["school_reviewer"]
    today = clock.today(PROVINCE)

    ua = uf.unit_account_register(actor=clerk, bank_account_id=_bank_account(school).pk)
    uf.income_record(actor=clerk, data=IncomeIn(account_id=ua.pk, kind_code="shiye", amount=20_000_000,
                                                income_date=today, payer_name="学生家长（代收）",
                                                summary="课后服务费收入"))

    ind = _indicator(users["fin_budget"], school, today.year)
    payee = Payee.objects.filter(unit=school, is_active=True).order_by("name").first()
    req = t.payment_request_create(actor=clerk, data=t.DraftIn(
        indicator_id=ind.pk, amount=1_500_000, purpose="购买课后服务活动器材（单位资金）",
        payee=t.PayeeIn(payee_id=payee.pk)))
    t.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=uuid.uuid4().hex)
    t.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    for _ in range(10):
        _worker_pass(sim)
        if PaymentVoucher.objects.filter(request=req, state="paid").exists():
            break

    # a cash cheque the bank pays from the account outside the system, then the day's statement read from the bank
    v = PaymentVoucher.objects.filter(request=req).first()
    bank_day = _settled_day(sim, v.number if v else "") or today
    sim.admin("/admin/account-debit", {"adm": PROVINCE, "acct": ACCOUNT_NO, "amount": 320_000,
                                       "counter_acct": "6222021001000088", "counter_name": "王某某",
                                       "summary": "现金支票取现（未经支付申请）", "day": bank_day.isoformat(),
                                       "serial": CHEQUE_SERIAL})
    res = feed.feed_run(actor=users["fin_treasury"], date=bank_day)
    return {"accounts": 1, "incomes": 1, "paid": PaymentVoucher.objects.filter(request=req, state="paid").count(),
            "statement_lines": StatementLine.objects.filter(account=ua).count(), "alerts": res.alerts}


def _settled_day(sim: SimProcess, voucher_no: str) -> dt.date | None:
    """The bank's business day the voucher settled on (a run may cross midnight in Beijing)."""
    for row in sim.admin("/admin/vouchers").get("vouchers", []):
        if row.get("voucher_no") == voucher_no and row.get("settled_day"):
            return dt.date.fromisoformat(row["settled_day"])
    return None
