"""Issue 14's unit-funds check, through the API and the bank simulator: a school registers its own account, records
an income, gets an indicator of fund nature 31 (单位资金), pays from the account through request → unit review →
voucher 8209 → bank → receipt without the finance treasury (the default policy), then again with the treasury's
review once the region's policy asks for it; the books move 7201 / 8001 and 5001 / 1002, never 6001 / 1011 nor
the finance's own set. Then the bank takes money from the account on a cheque no request explains, and the worker's
daily T+1 job reads yesterday's statement over the network: the two paid debits match, the cheque raises alert UF-01,
which waits on the school clerk's to-do list; running the job again books nothing twice; `ibms verify` is clean."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ibms.accounting.models import Voucher
from ibms.core import audit, clock, outbox, workflow
from ibms.core.verify import run_all
from ibms.masterdata.models import AgentBank, BankAccount
from ibms.monitoring.models import Alert
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from ibms.unitfunds import feed
from ibms.unitfunds.models import StatementDay, StatementLine, UnitAccount
from ibms.unitfunds.setup import chain_apply
from tests.constants import DEMO_PIN, PROVINCE
from tests.treasury.builders import payee, school, work
from tests.treasury.conftest import sim  # noqa: F401 - the bank simulator fixture
from tests.treasury.test_scenario import connect

from .builders import W, balance, fresh, own_indicator

API = "/api/v1"
pytestmark = pytest.mark.django_db


def post(c, url, body=None, **headers):
    return c.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


def _bank_account() -> BankAccount:
    unit = school()
    bank = AgentBank.objects.filter(is_active=True).order_by("id").first()
    ba = BankAccount.objects.create(region_code=unit.region_code, unit=unit, account_type="63",
                                    account_no="621700100188880001", account_name=f"{unit.name}（实有资金）",
                                    bank=bank, bank_name=bank.name)
    audit.record_change(ba, "create")
    return ba


def _pay(clerk, ind, amount: str, key: str) -> PaymentRequest:
    r = post(clerk, f"{API}/treasury/requests", {"indicator_id": ind.pk, "amount": amount, "purpose": "购买实验耗材",
                                                "payee": {"payee_id": payee().pk}})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    r = post(clerk, f"{API}/treasury/requests/{pk}/submit", HTTP_IDEMPOTENCY_KEY=key)
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.content
    return PaymentRequest.objects.get(pk=pk)


def _review(c, pk: int) -> str:
    r = post(c, f"{API}/treasury/requests/{pk}/review", {"approve": True, "pin": DEMO_PIN})
    assert r.status_code == 200, r.content
    return r.json()["status"]


def _fiscal_vouchers() -> int:
    return Voucher.objects.filter(account_set__kind="fiscal").count()


def test_unit_funds_payment_and_the_daily_statement_feed(client_as, user, sim):  # noqa: F811
    clerk, reviewer, treasury = client_as("school_clerk"), client_as("school_reviewer"), client_as("fin_treasury")
    ba = _bank_account()

    # the unit registers its own account and records an income into it
    r = post(clerk, f"{API}/unitfunds/accounts", {"bank_account_id": ba.pk})
    assert r.status_code == 201, r.content
    ua = UnitAccount.objects.get(pk=r.json()["id"])
    r = post(clerk, f"{API}/unitfunds/incomes", {"account_id": ua.pk, "kind_code": "shiye", "amount": "100000.00",
                                                 "payer_name": "家长委员会", "summary": "课后服务费"})
    assert r.status_code == 201, r.content
    # the budget executes it as an indicator of the unit's own funds
    ind = own_indicator(user("fin_budget"), 50 * W)
    before = {c: balance(c) for c in ("1002", "8001", "7201", "5001", "6001", "1011", "4001")}
    fiscal_before = _fiscal_vouchers()

    # 1. the default policy: the unit's review is the only step
    req1 = _pay(clerk, ind, "30000.00", "uf-scn-1")
    assert req1.pay_acct_no == ba.account_no and req1.pay_method != "authorized"
    connect(sim, user, req1.agent_bank_code)
    assert _review(reviewer, req1.pk) == "approved"
    v1 = PaymentVoucher.objects.get(request=req1)
    assert v1.vt_code == "8209"
    work(sim)
    assert fresh(req1).status == "paid" and fresh(ua).balance == 7 * W

    # 2. the region's policy adds the finance treasury's review
    chain_apply(PROVINCE, True)
    req2 = _pay(clerk, ind, "20000.00", "uf-scn-2")
    assert _review(reviewer, req2.pk) == "submitted"  # waits for the treasury division now
    assert not PaymentVoucher.objects.filter(request=req2).exists()
    assert _review(treasury, req2.pk) == "approved"
    v2 = PaymentVoucher.objects.get(request=req2)
    assert v2.vt_code == "8209"
    work(sim)
    assert fresh(req2).status == "paid" and fresh(ua).balance == 5 * W

    # the books: non-fiscal budget accounting and the bank deposit, never fiscal appropriation nor zero-balance money
    d = {c: balance(c) - before[c] for c in before}
    assert d["7201"] == 5 * W and d["8001"] == -5 * W
    assert d["5001"] == 5 * W and d["1002"] == -5 * W
    assert d["6001"] == 0 and d["1011"] == 0 and d["4001"] == 0
    assert _fiscal_vouchers() == fiscal_before  # the finance's own books do not move for a unit's own money
    acc = clerk.get(f"{API}/unitfunds/accounts/{ua.pk}").json()
    assert (acc["balance"], acc["held"], acc["available"]) == ("50000.00", "0.00", "50000.00")

    # the bank pays a cheque from the account that no request in the system explains
    bank_day = dt.date.fromisoformat(sim.settled_day(v2.number))
    got = sim.admin("/admin/account-debit", {"adm": PROVINCE, "acct": ba.account_no, "amount": 888_800,
                                             "counter_acct": "6222000099998888", "counter_name": "张某",
                                             "summary": "现金支票取现", "day": bank_day.isoformat()})
    assert got["created"] is True

    # the worker's daily job reads yesterday's statement over the network (its periodic job, forced)
    with clock.travel(bank_day + dt.timedelta(days=1)):
        outbox.run_periodic(force=True)
        day = StatementDay.objects.get(account=ua, statement_date=bank_day)
        assert (day.lines, day.unmatched, day.alerts) == (3, 1, 1)
        lines = {sl.serial: sl for sl in StatementLine.objects.filter(account=ua)}
        matched = {sl.request_id for sl in lines.values() if sl.match == "matched"}
        assert matched == {req1.pk, req2.pk}
        [odd] = [sl for sl in lines.values() if sl.match == "unmatched"]
        assert (odd.serial, odd.amount, odd.counterparty_name) == (got["serial"], 888_800, "张某")
        # idempotent per account and day: again by the job and by hand through the API, nothing new
        assert feed.feed_daily() == 0
        r = post(treasury, f"{API}/unitfunds/statement-feed", {"statement_date": bank_day.isoformat()})
        assert r.status_code == 200 and r.json()["read"] == 0 and r.json()["skipped"] == 1, r.content
    assert StatementLine.objects.filter(account=ua).count() == 3
    assert StatementDay.objects.filter(account=ua).count() == 1

    # the alert: UF-01 on the cheque, waiting on the school clerk's to-do list (not the hospital's)
    [alert] = Alert.objects.filter(subject_kind="unit_statement_line")
    assert (alert.rule_code, alert.subject_amount, alert.subject_id) == ("UF-01", 888_800, str(odd.pk))
    todo = workflow.todo_for_user(user("school_clerk")).filter(doc_type="monitoring.alert", object_id=str(alert.pk))
    assert [(t.role_code, alert.number in t.title) for t in todo] == [("unit_clerk", True)]
    assert not workflow.todo_for_user(user("hospital_clerk")).filter(object_id=str(alert.pk)).exists()
    assert not workflow.todo_for_user(user("fin_treasury")).filter(object_id=str(alert.pk)).exists()
    assert [a["rule_code"] for a in clerk.get(f"{API}/unitfunds/alerts").json()] == ["UF-01"]
    page = clerk.get(f"/unitfunds/accounts/{ua.pk}/").content.decode()
    assert "未匹配" in page and "现金支票取现" in page and "已匹配" in page

    # the statement feed needs its permission; a unit clerk may not run it
    assert post(clerk, f"{API}/unitfunds/statement-feed", {}).status_code == 403

    # the bank clears nothing with the treasury single account for a unit's own money
    assert sim.admin("/admin/clear", {"date": bank_day.isoformat()})["clearings"] == []

    problems = run_all()
    assert {k: v for k, v in problems.items() if v} == {}
    assert sim.invariants()["ok"]
