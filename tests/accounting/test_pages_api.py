"""The accounting pages (Chinese) and /api/v1/accounting/: scope, manual entry through the form, review and
posting, the to-do item, period close, business events over the API (idempotent), errors with codes."""

from __future__ import annotations

import json

from ibms.accounting.models import AccountSet, Period, Voucher
from ibms.core import clock
from tests.constants import PROVINCE

YEAR = clock.fiscal_year()


def school_set() -> AccountSet:
    return AccountSet.objects.get(unit__region_code=PROVINCE, unit__code="001001", year=YEAR)


def test_set_list_and_chart_respect_scope(client_as):
    school = school_set()
    page = client_as("school_clerk").get("/accounting/sets/")
    assert page.status_code == 200
    text = page.content.decode()
    assert school.name in text and "人民医院" not in text
    assert "人民医院" in client_as("fin_accounting").get("/accounting/sets/").content.decode()
    detail = client_as("school_clerk").get(f"/accounting/sets/{school.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200 and "7201.01" in body and "事业支出" in body and "12月" in body
    hospital = AccountSet.objects.get(unit__region_code=PROVINCE, unit__code="002001", year=YEAR)
    assert client_as("school_clerk").get(f"/accounting/sets/{hospital.pk}/").status_code == 404


def test_manual_voucher_through_the_pages(client_as):
    school = school_set()
    form = {"set": school.pk, "date": f"{YEAR}-02-03", "summary": "购买办公用品", "attachments": "2",
            "lines-TOTAL_FORMS": "6", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "200",
            "lines-0-account": "5001", "lines-0-debit": "1,200.50",
            "lines-1-account": "1011", "lines-1-credit": "1200.50",
            "lines-2-account": "7201.01", "lines-2-debit": "1200.5", "lines-2-exp_func": "2050203",
            "lines-2-dep_eco": "30201", "lines-2-fund_nature": "111",
            "lines-3-account": "8001.02", "lines-3-credit": "1200.50"}
    clerk = client_as("school_clerk")
    bad = clerk.post(f"/accounting/vouchers/new/?set={school.pk}", {**form, "lines-3-credit": "1000"})
    assert bad.status_code == 422 and "借贷不平衡" in bad.content.decode()
    r = clerk.post(f"/accounting/vouchers/new/?set={school.pk}", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    v = Voucher.objects.filter(account_set=school, summary="购买办公用品").get()
    assert (v.status, v.financial_total, v.budget_total, v.attachments) == ("draft", 120_050, 120_050, 2)

    reviewer = client_as("school_reviewer")
    assert "购买办公用品" in reviewer.get("/").content.decode()  # to-do on the home page
    detail = reviewer.get(f"/accounting/vouchers/{v.pk}/").content.decode()
    assert "btn-review" in detail and "1,200.50" in detail
    assert "btn-review" not in clerk.get(f"/accounting/vouchers/{v.pk}/").content.decode()
    assert reviewer.post(f"/accounting/vouchers/{v.pk}/review/").status_code == 302
    assert reviewer.post(f"/accounting/vouchers/{v.pk}/post/").status_code == 302
    v.refresh_from_db()
    assert v.status == "posted" and v.number == 1
    listing = clerk.get(f"/accounting/vouchers/?set={school.pk}&status=posted&period=2").content.decode()
    assert "购买办公用品" in listing and "记-0001" in listing
    r = reviewer.post(f"/accounting/vouchers/{v.pk}/reverse/", {"reason": "退货"})
    assert r.status_code == 302
    assert Voucher.objects.get(reversal_of=v).summary.endswith("退货")


def test_period_close_page(client_as):
    school = school_set()
    jan = Period.objects.get(account_set=school, number=1)
    feb = Period.objects.get(account_set=school, number=2)
    reviewer = client_as("school_reviewer")
    r = reviewer.post(f"/accounting/periods/{feb.pk}/close/")
    assert r.status_code == 422 and "请先结账1月" in r.content.decode()
    # January holds the demo's unposted manual voucher
    r = reviewer.post(f"/accounting/periods/{jan.pk}/close/")
    assert r.status_code == 422 and "未记账" in r.content.decode()
    assert client_as("school_clerk").post(f"/accounting/periods/{jan.pk}/close/").status_code == 403


def test_rules_page(client_as):
    text = client_as("fin_accounting").get("/accounting/rules/").content.decode()
    assert "payment.receipted.authorized" in text and "8001.02" in text
    # the rules (CEL, data files) are the accounting division's: a unit's clerk neither sees them in the menu nor opens them
    clerk = client_as("school_clerk")
    assert "/accounting/rules/" not in clerk.get("/").content.decode()
    assert clerk.get("/accounting/rules/").status_code == 403


def _json(client, method, url, body=None):
    r = getattr(client, method)(url, data=json.dumps(body) if body is not None else None,
                                content_type="application/json")
    return r.status_code, r.json() if r.content else None


def test_event_api_is_idempotent_and_scoped(client_as):
    body = {"event_id": "api-bank-1", "event_type": "payment.receipted", "date": f"{YEAR}-03-05",
            "amounts": {"amount": "3,480.00"}, "unit_id": school_set().unit_id, "attrs": {"pay_method": "direct"},
            "dimensions": {"exp_func": "2050203", "dep_eco": "30213", "fund_nature": "111", "payee": "某公司"}}
    fin = client_as("fin_accounting")
    status, out = _json(fin, "post", "/api/v1/accounting/events", body)
    assert status == 201 and out["posted"] and out["voucher"]["status"] == "posted"
    assert [(ln["account_code"], ln["debit"], ln["credit"]) for ln in out["voucher"]["lines"]] == [
        ("5001", "3480.00", "0.00"), ("4001.01", "0.00", "3480.00"), ("7201.01", "3480.00", "0.00"),
        ("6001.01", "0.00", "3480.00")]
    status, again = _json(fin, "post", "/api/v1/accounting/events", body)
    assert status == 200 and again["voucher"]["id"] == out["voucher"]["id"]
    status, err = _json(fin, "post", "/api/v1/accounting/events", {**body, "event_id": "api-bank-2",
                                                                  "dimensions": {"fund_nature": "111"}})
    assert status == 422 and {d["code"] for d in err["detail"]} == {"missing_dimension"}
    assert _json(client_as("school_clerk"), "post", "/api/v1/accounting/events", body)[0] == 403
    assert _json(client_as("county_treasury"), "post", "/api/v1/accounting/events", body)[0] == 404
    status, out = _json(client_as("fin_treasury"), "post", "/api/v1/accounting/events", {
        "event_id": "api-treasury-1", "event_type": "treasury.paid", "date": f"{YEAR}-03-05",
        "amounts": {"amount": "3480"}, "region_code": PROVINCE,
        "dimensions": {"exp_func": "2050203", "fund_nature": "111"}})
    assert status == 201 and out["voucher"]["rule_code"] == "treasury.paid.general"
    status, out = _json(fin, "post", "/api/v1/accounting/events", {**body, "event_id": "api-quota-1",
                                                                  "event_type": "quota.received"})
    assert status == 200 and out == {"posted": False, "voucher": None}


def test_voucher_api_flow(client_as):
    school = school_set()
    body = {"account_set_id": school.pk, "date": f"{YEAR}-02-10", "summary": "接口录入",
            "lines": [{"account_code": "5001", "debit": "10.00"}, {"account_code": "1002", "credit": "10.00"}]}
    status, v = _json(client_as("school_clerk"), "post", "/api/v1/accounting/vouchers", body)
    assert status == 201 and v["status"] == "draft" and v["number"] is None
    status, err = _json(client_as("school_clerk"), "post", "/api/v1/accounting/vouchers",
                        {**body, "lines": body["lines"][:1]})
    assert status == 422 and err["detail"][0]["code"] == "unbalanced"
    reviewer = client_as("school_reviewer")
    assert _json(reviewer, "post", f"/api/v1/accounting/vouchers/{v['id']}/review")[1]["status"] == "reviewed"
    posted = _json(reviewer, "post", f"/api/v1/accounting/vouchers/{v['id']}/post")[1]
    assert posted["status"] == "posted" and posted["number"] == 1
    status, r = _json(reviewer, "post", f"/api/v1/accounting/vouchers/{v['id']}/reverse", {"reason": "错账"})
    assert status == 201 and r["reversal_of_id"] == v["id"] and r["lines"][0]["debit"] == "-10.00"
    status, page = _json(client_as("auditor"), "get", f"/api/v1/accounting/vouchers?account_set_id={school.pk}"
                                                       "&source=reversal")
    assert status == 200 and page["count"] == 1
    status, tree = _json(reviewer, "get", f"/api/v1/accounting/sets/{school.pk}/accounts")
    rows = {a["code"]: a for a in tree}
    assert rows["1002"]["debit"] == "0.00" and rows["1002"]["credit"] == "0.00"  # 10 − 10 reversed
    assert rows["4001"]["is_leaf"] is False and rows["4001.01"]["export_code"] == "400101"
    assert _json(client_as("hospital_clerk"), "get", f"/api/v1/accounting/vouchers/{v['id']}")[0] == 404


def test_entry_form_account_page_and_set_creation_pages(client_as):
    school = school_set()
    form = client_as("school_clerk").get(f"/accounting/vouchers/new/?set={school.pk}").content.decode()
    assert 'id="leaf-accounts"' in form and 'value="7201.01"' in form and 'value="4001"' not in form
    reviewer = client_as("school_reviewer")
    acc = school.accounts.get(code="1002")
    assert "增加明细科目" in reviewer.get(f"/accounting/accounts/{acc.pk}/").content.decode()
    r = reviewer.post(f"/accounting/accounts/{acc.pk}/", {"action": "add_child", "suffix": "01",
                                                          "child_name": "工商银行基本户", "dim_payee": "on"})
    assert r.status_code == 302
    child = school.accounts.get(code="1002.01")
    assert child.aux_dims == ["payee"] and not school.accounts.get(code="1002").is_leaf
    fin = client_as("fin_accounting")
    assert fin.get("/accounting/sets/new/").status_code == 200
    r = fin.post("/accounting/sets/new/", {"year": YEAR + 1, "kind": "unit", "unit_code": "002001"})
    assert r.status_code == 302
    made = AccountSet.objects.get(unit__region_code=PROVINCE, unit__code="002001", year=YEAR + 1)
    assert made.accounts.count() > 130 and made.periods.count() == 12
    again = fin.post("/accounting/sets/new/", {"year": YEAR + 1, "kind": "unit", "unit_code": "002001"})
    assert again.status_code == 409 and "已有" in again.content.decode()
    assert client_as("school_clerk").get("/accounting/sets/new/").status_code == 403
