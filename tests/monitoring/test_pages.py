"""Pages: queues, alert detail with the actions each role may take, rule list/editor with back-test and its
results, whitelist; navigation entries under 动态监控."""

from __future__ import annotations

import pytest

from ibms.monitoring.models import Alert, BacktestRun, Rule, WhitelistEntry

from .builders import raise_alert

pytestmark = pytest.mark.django_db


def test_queues_and_alert_actions(client_as, user):
    rule = Rule.objects.get(region_code="", code="MON-05")
    a = raise_alert(user("school_clerk"), rule)
    unit, fin = client_as("school_clerk"), client_as("fin_treasury")
    r = unit.get("/monitoring/alerts/?queue=explain")
    assert r.status_code == 200 and a.number in r.content.decode() and "待说明" in r.content.decode()
    page = unit.get(f"/monitoring/alerts/{a.pk}/").content.decode()
    assert 'id="explain-form"' in page and 'id="verify-form"' not in page
    assert 'id="explain-form"' not in fin.get(f"/monitoring/alerts/{a.pk}/").content.decode()
    r = unit.post(f"/monitoring/alerts/{a.pk}/explain/", {"explanation": ""})
    assert r.status_code == 422 and "请填写情况说明" in r.content.decode()
    r = unit.post(f"/monitoring/alerts/{a.pk}/explain/", {"explanation": "按规定支付"})
    assert r.status_code == 302
    assert f"疑点 {a.number} 已办理，当前状态：待财政核实" in unit.get(r["Location"]).content.decode()
    assert 'id="verify-form"' in fin.get(f"/monitoring/alerts/{a.pk}/").content.decode()
    r = fin.post(f"/monitoring/alerts/{a.pk}/verify/", {"outcome": "violation", "comment": ""})
    assert r.status_code == 422 and "核实意见" in r.content.decode()
    assert fin.post(f"/monitoring/alerts/{a.pk}/verify/", {"outcome": "violation", "comment": "违规"}).status_code == 302
    assert fin.post(f"/monitoring/alerts/{a.pk}/rectify/", {"ask": "退回"}).status_code == 302
    r = unit.post(f"/monitoring/alerts/{a.pk}/rectify/", {"detail": "已退回", "return_amt": "abc"})
    assert r.status_code == 422
    assert unit.post(f"/monitoring/alerts/{a.pk}/rectify/", {"detail": "已退回", "return_amt": "10"}).status_code == 302
    assert fin.post(f"/monitoring/alerts/{a.pk}/close/", {"comment": "办结"}).status_code == 302
    assert Alert.objects.get(pk=a.pk).status == "closed" and Alert.objects.get(pk=a.pk).return_amt == 1000
    assert client_as("hospital_clerk").get(f"/monitoring/alerts/{a.pk}/").status_code == 404
    r = fin.post(f"/monitoring/alerts/{a.pk}/close/", {})
    assert r.status_code == 409 and "已办结" in r.content.decode()


def test_rule_editor_backtest_and_results(client_as):
    fin = client_as("fin_treasury")
    r = fin.get("/monitoring/rules/")
    assert r.status_code == 200 and "MON-17" in r.content.decode()
    form = {"code": "PG-1", "name": "页面规则", "level": "region", "stage": "inline", "action": "notice",
            "condition": "payment.amount >", "params": '{"limit": 1}', "message": "x"}
    r = fin.post("/monitoring/rules/new/", form)
    assert r.status_code == 422 and "触发条件不是有效的 CEL 表达式" in r.content.decode()
    r = fin.post("/monitoring/rules/new/", {**form, "params": "{bad"})
    assert r.status_code == 422 and "参数不是有效的 JSON" in r.content.decode()
    r = fin.post("/monitoring/rules/new/", {**form, "condition": "payment.amount > params.limit"})
    assert r.status_code == 302
    rule = Rule.objects.get(code="PG-1")
    page = fin.get(f"/monitoring/rules/{rule.pk}/").content.decode()
    assert "当前版本未回测" in page and 'id="backtest-form"' in page
    r = fin.post(f"/monitoring/rules/{rule.pk}/enable/")
    assert r.status_code == 409 and "回测" in r.content.decode()
    r = fin.post(f"/monitoring/rules/{rule.pk}/backtest/", {"date_from": "2026-06-01", "date_to": "2026-06-30"})
    run = BacktestRun.objects.get(rule=rule)
    assert r.status_code == 302 and r["Location"].endswith(f"/monitoring/backtests/{run.pk}/")
    r = fin.get(f"/monitoring/backtests/{run.pk}/")
    assert r.status_code == 200 and 'id="hits"' in r.content.decode()
    assert fin.post(f"/monitoring/rules/{rule.pk}/enable/").status_code == 302
    assert Rule.objects.get(pk=rule.pk).enabled
    r = fin.post(f"/monitoring/rules/{rule.pk}/", {**form, "condition": "payment.amount >= params.limit"})
    assert r.status_code == 302
    rule.refresh_from_db()
    assert rule.version == 2 and not rule.enabled
    assert client_as("school_clerk").get("/monitoring/rules/").status_code == 403
    national = Rule.objects.get(region_code="", code="MON-05")
    assert 'id="rule-form"' not in fin.get(f"/monitoring/rules/{national.pk}/").content.decode()


def test_whitelist_page(client_as):
    fin = client_as("fin_treasury")
    rule = Rule.objects.get(region_code="", code="MON-05")
    r = fin.get(f"/monitoring/whitelist/?rule={rule.pk}")
    assert r.status_code == 200 and 'id="whitelist-form"' in r.content.decode()
    r = fin.post("/monitoring/whitelist/", {"rule_id": rule.pk, "legal_basis": "", "unit_code": "001001"})
    assert r.status_code == 422
    r = fin.post("/monitoring/whitelist/", {"rule_id": rule.pk, "legal_basis": "省文件", "unit_code": "001001"})
    assert r.status_code == 302
    entry = WhitelistEntry.objects.get(rule=rule, unit_code="001001")
    assert fin.post(f"/monitoring/whitelist/{entry.pk}/deactivate/").status_code == 302
    assert not WhitelistEntry.objects.get(pk=entry.pk).is_active
    assert 'id="whitelist-form"' not in client_as("auditor").get("/monitoring/whitelist/").content.decode()


def test_navigation(client_as):
    home = client_as("fin_treasury").get("/").content.decode()
    assert "动态监控" in home and "/monitoring/alerts/?queue=verify" in home and "/monitoring/rules/" in home
    unit = client_as("school_clerk").get("/").content.decode()
    assert "/monitoring/alerts/?queue=explain" in unit and "/monitoring/rules/" not in unit


def test_read_only_roles_see_but_cannot_act(client_as, user):
    rule = Rule.objects.get(region_code="", code="MON-05")
    a = raise_alert(user("school_clerk"), rule)
    for who in ("school_reviewer", "school_head", "edu_reviewer", "auditor"):
        c = client_as(who)
        assert a.number in c.get("/monitoring/alerts/").content.decode(), who
        page = c.get(f"/monitoring/alerts/{a.pk}/").content.decode()
        assert "-form" not in page.split('id="alert-info"')[1], who
        assert c.post(f"/monitoring/alerts/{a.pk}/explain/", {"explanation": "x"}).status_code == 403
    auditor = client_as("auditor")
    page = auditor.get(f"/monitoring/rules/{rule.pk}/").content.decode()
    assert "MON-05" in page and 'id="backtest-form"' not in page and 'id="enable-btn"' not in page
    assert auditor.post(f"/monitoring/rules/{rule.pk}/disable/").status_code == 403
    assert client_as("fin_treasury").post(f"/monitoring/rules/{rule.pk}/explode/").status_code == 404


def test_alert_queue_exports_what_it_shows(client_as, user):
    import io

    import openpyxl

    rule = Rule.objects.get(region_code="", code="MON-05")
    a = raise_alert(user("school_clerk"), rule)
    r = client_as("school_clerk").get("/monitoring/alerts/", {"queue": "explain", "export": "xlsx"})
    assert r.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("疑点编号", "业务日期") and a.number in {row[0] for row in rows}
    assert rows[-1][0] == "合计" and any(row[7] == "待单位说明" for row in rows[1:-1])  # statuses in Chinese
    other = client_as("hospital_clerk").get("/monitoring/alerts/", {"queue": "explain", "export": "xlsx"})
    assert a.number not in {row[0] for row in openpyxl.load_workbook(io.BytesIO(other.content)).active.iter_rows(
        values_only=True)}
