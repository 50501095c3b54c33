"""Unit funds in Chromium: the school clerk records an income into the school's 实有资金账户 on its page, pays from
it against an indicator of fund nature 31 (单位资金) on the payment form, the reviewer approves with the signing PIN
(no finance step), the worker sends the voucher to the bank simulator (its own process) and applies the receipt;
the bank then pays a cheque from the account that no request explains, and the next day's worker pass reads the
account's statement: the account page shows the payment 已匹配 and the cheque 未匹配, the alert waits on the clerk's
to-do list and on the unit-funds alert page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.db import transaction

from ibms.core import audit, clock
from ibms.masterdata.models import BankAccount, Unit
from ibms.treasury.models import PaymentRequest
from ibms.unitfunds import services as uf
from ibms.unitfunds.models import StatementLine
from tests.constants import DEMO_PIN
from tests.e2e.test_payment_flow import run_worker_until_paid, sim, switch_user  # noqa: F401 - the sim fixture
from tests.unitfunds.builders import own_indicator

pytestmark = pytest.mark.e2e


def test_unit_funds_income_payment_and_the_t1_alert(page, login, sim, user):  # noqa: F811
    school = Unit.objects.get(region_code="990000000", code="001001")
    bank = BankAccount.objects.get(region_code="990000000", unit__isnull=True, account_type="11").bank
    with transaction.atomic():
        ba = BankAccount.objects.create(region_code="990000000", unit=school, account_type="63",
                                        account_no="621700100100770063", account_name="省第一实验中学（实有资金）",
                                        bank=bank, bank_name=bank.name)
        audit.record_change(ba, "create")
    ua = uf.unit_account_register(actor=user("school_clerk"), bank_account_id=ba.pk)
    ind = own_indicator(user("fin_budget"), 5_000_000)

    login("school_clerk")
    page.goto("/unitfunds/incomes/new/")
    page.select_option("#id_account_id", str(ua.pk))
    page.select_option("#id_kind_code", "shiye")
    page.fill("#id_amount", "30000.00")
    page.fill("#id_payer_name", "家长委员会")
    page.fill("#id_summary", "课后服务费")
    page.click("#income-form button")
    page.wait_for_url(re.compile(rf"/unitfunds/accounts/{ua.pk}/$"))
    assert "30,000.00" in page.inner_text("#balance") and "课后服务费" in page.inner_text("#incomes")

    page.goto("/treasury/new/")
    page.fill("#indicator-search", ind.code)
    page.press("#indicator-search", "End")
    page.locator(f"#indicator-choices input[value='{ind.pk}']").check()
    page.fill("#id_amount", "1200.00")
    page.fill("#id_purpose", "购买课后服务活动器材")
    page.fill("#id_payee_name", "华夏文体用品有限公司")
    page.fill("#id_payee_account_no", "6222000012347788")
    page.fill("#id_payee_bank_name", "工商银行华夏省分行")
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r"/treasury/requests/\d+/$"))
    req = PaymentRequest.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert req.pay_acct_no == ba.account_no
    page.click("#submit-form button[type=submit]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('审核中')")

    switch_user(page, login, "school_reviewer")
    page.goto(f"/treasury/requests/{req.pk}/")
    page.fill("#id_pin", DEMO_PIN)
    page.click("#review-form button[value=approve]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('已生成凭证')")
    v = run_worker_until_paid(req)
    assert v.vt_code == "8209"

    bank_day = dt.date.fromisoformat(sim.settled_day(v.number))
    sim.admin("/admin/account-debit", {"adm": "990000000", "acct": ba.account_no, "amount": 66_600,
                                       "counter_acct": "6222000099990066", "counter_name": "赵某",
                                       "summary": "现金支票取现", "day": bank_day.isoformat()})
    with clock.travel(bank_day + dt.timedelta(days=1)):
        call_command("worker", "--once")  # the worker's daily job reads yesterday's statement
    assert {sl.match for sl in StatementLine.objects.filter(account=ua)} == {"matched", "unmatched"}

    switch_user(page, login, "school_clerk")
    page.goto(f"/unitfunds/accounts/{ua.pk}/")
    statement = page.inner_text("#statement")
    assert "已匹配" in statement and "未匹配" in statement and "现金支票取现" in statement and "666.00" in statement
    page.goto("/")
    assert "疑点待单位说明" in page.inner_text("#todo-list")
    page.goto("/unitfunds/alerts/")
    assert "实有资金账户未经审批的支出" in page.inner_text("#alerts") and "666.00" in page.inner_text("#alerts")
