"""T+1 monitoring of unit accounts: a statement debit matched to an approved request raises nothing; an unmatched
debit raises an alert through the monitoring engine (rule UF-01, data/unitfunds/rules.csv); reading the same
statement again adds nothing; the T+1 batch sees the unmatched line through the registered payment source."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ibms.core import clock
from ibms.core.errors import DomainError, NotFound, PermissionDenied
from ibms.core.verify import run_all
from ibms.monitoring import services as mon
from ibms.monitoring.models import Alert
from ibms.unitfunds import services as uf
from ibms.unitfunds.domain import StatementLineIn
from ibms.unitfunds.models import StatementLine
from tests.treasury.builders import paid, payee

from .builders import W, income, own_account, own_indicator

API = "/api/v1"


@pytest.mark.django_db
def test_unmatched_statement_debit_raises_an_alert_matched_does_not(user, client_as):
    clerk, treasury = user("school_clerk"), user("fin_treasury")
    ua = own_account(clerk)
    income(clerk, ua, 10 * W)
    ind = own_indicator(user("fin_budget"), 5 * W)
    v = paid(user, ind, 2 * W, "uf-mon-1")
    assert v.pay_acct_no == ua.bank_account.account_no and v.vt_code == "8209"
    day = clock.today()
    p = payee()
    lines = [StatementLineIn("S1", "debit", 2 * W, p.account_no, p.name, v.number, "实验耗材"),
             StatementLineIn("S2", "debit", 88_800, "6222000099998888", "张三", "", "转个人"),
             StatementLineIn("S3", "credit", 30_000, "", "家长", "", "收费")]
    out = uf.statement_read(actor=treasury, account_id=ua.pk, statement_date=day, lines=lines)
    match = {sl.serial: sl.match for sl in out}
    assert match == {"S1": "matched", "S2": "unmatched", "S3": "credit"}
    assert StatementLine.objects.get(serial="S1").request_id == v.request_id
    alerts = Alert.objects.filter(subject_kind="unit_statement_line")
    assert [(a.rule_code, a.subject_amount) for a in alerts] == [("UF-01", 88_800)]
    assert alerts[0].subject_id == str(StatementLine.objects.get(serial="S2").pk)
    # read again (the feed repeats): nothing new
    assert uf.statement_read(actor=treasury, account_id=ua.pk, statement_date=day, lines=lines) == []
    assert Alert.objects.filter(subject_kind="unit_statement_line").count() == 1
    # the T+1 batch reads the same line through the source and adds no second alert
    run = mon.batch_run(actor=treasury, date=day)
    assert run.scanned >= 1 and Alert.objects.filter(subject_kind="unit_statement_line").count() == 1
    # the unit sees its alert on the API; another unit does not
    got = client_as("school_clerk").get(f"{API}/unitfunds/alerts").json()
    assert [a["rule_code"] for a in got] == ["UF-01"]
    assert client_as("hospital_clerk").get(f"{API}/unitfunds/alerts").json() == []
    # `ibms verify`: each matched debit is its request's amount from its account; a corrupted line is reported
    assert run_all()["unitfunds.statement_matches"] == []
    StatementLine.objects.filter(serial="S1").update(amount=2 * W + 1)
    assert len(run_all()["unitfunds.statement_matches"]) == 1


@pytest.mark.django_db
def test_statement_refusals(user):
    clerk, treasury = user("school_clerk"), user("fin_treasury")
    ua = own_account(clerk)
    day = dt.date.today()
    with pytest.raises(PermissionDenied):  # a unit clerk does not read the bank's statement
        uf.statement_read(actor=clerk, account_id=ua.pk, statement_date=day, lines=[StatementLineIn("X", "debit", 1)])
    with pytest.raises(DomainError) as e:
        uf.statement_read(actor=treasury, account_id=ua.pk, statement_date=day,
                          lines=[StatementLineIn("X", "debit", 1), StatementLineIn("X", "sideways", 0)])
    codes = {v.code for v in e.value.violations}
    assert codes == {"serial_duplicate", "direction_invalid", "amount_not_positive"}
    with pytest.raises(NotFound):
        uf.statement_read(actor=user("county_treasury"), account_id=ua.pk, statement_date=day,
                          lines=[StatementLineIn("Y", "debit", 1)])
    assert StatementLine.objects.count() == 0


@pytest.mark.django_db
def test_api_and_pages(user, client_as):
    clerk = user("school_clerk")
    ua = own_account(clerk)
    c = client_as("school_clerk")
    r = c.post(f"{API}/unitfunds/incomes", data=json.dumps({"account_id": ua.pk, "kind_code": "shiye",
                                                            "amount": "1234.56", "payer_name": "家长",
                                                            "summary": "课后服务费"}), content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["voucher_id"] and r.json()["amount"] == "1234.56"
    r = c.post(f"{API}/unitfunds/incomes", data=json.dumps({"account_id": ua.pk, "kind_code": "shiye", "amount": "0",
                                                            "payer_name": "家长", "summary": "x"}),
               content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] in ("amount_not_positive", "validation_failed")
    assert c.get(f"{API}/unitfunds/accounts").json()[0]["balance"] == "1234.56"
    other = client_as("hospital_clerk")
    assert other.get(f"{API}/unitfunds/accounts/{ua.pk}").status_code == 404
    assert other.get(f"{API}/unitfunds/accounts").json() == []
    r = other.post(f"{API}/unitfunds/incomes", data=json.dumps({"account_id": ua.pk, "kind_code": "shiye",
                                                                "amount": "1.00", "payer_name": "某", "summary": "x"}),
                   content_type="application/json")
    assert r.status_code == 404
    assert client_as("school_reviewer").post(f"{API}/unitfunds/incomes", data="{}",
                                             content_type="application/json").status_code == 403
    page = c.get("/unitfunds/").content.decode()
    assert "实有资金账户" in page and ua.bank_account.account_no in page and "1,234.56" in page
    assert c.get(f"/unitfunds/accounts/{ua.pk}/").status_code == 200
    assert other.get(f"/unitfunds/accounts/{ua.pk}/").status_code == 404
    assert c.get("/unitfunds/incomes/new/").status_code == 200
    r = c.post("/unitfunds/incomes/new/", {"account_id": ua.pk, "kind_code": "qita", "amount": "100.00",
                                           "income_date": clock.today().isoformat(), "payer_name": "某公司",
                                           "summary": "租金"})
    assert r.status_code == 302
    assert c.get("/unitfunds/alerts/").status_code == 200
    assert client_as("school_reviewer").get("/unitfunds/incomes/new/").status_code == 403
