"""/api/v1/monitoring/: rules (create with CEL errors, back-test, enable), whitelist, alert life cycle, batch."""

from __future__ import annotations

import json

import pytest

from ibms.monitoring.models import Rule

from .builders import raise_alert

pytestmark = pytest.mark.django_db
API = "/api/v1/monitoring"


def post(client, url, data=None, method="post"):
    return getattr(client, method)(url, data=json.dumps(data or {}), content_type="application/json")


def test_rule_create_backtest_enable(client_as):
    c = client_as("fin_treasury")
    r = post(c, f"{API}/rules", {"code": "API-1", "name": "接口规则", "action": "warn_yellow",
                                 "condition": "payment.amount >", "message": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "condition_syntax"
    assert "CEL" in r.json()["message"]
    r = post(c, f"{API}/rules", {"code": "API-1", "name": "接口规则", "action": "warn_yellow",
                                 "condition": "payment.amount > params.limit", "params": {"limit": 100},
                                 "message": "金额 {payment.amount:yuan}"})
    assert r.status_code == 201, r.content
    rule = r.json()
    assert not rule["enabled"] and rule["version"] == 1 and not rule["backtested"]
    r = post(c, f"{API}/rules/{rule['id']}/enable")
    assert r.status_code == 409 and r.json()["code"] == "backtest_required"
    r = post(c, f"{API}/rules/{rule['id']}/backtest", {"date_from": "2026-06-01", "date_to": "2026-06-30"})
    assert r.status_code == 201 and r.json()["rule_version"] == 1
    r = post(c, f"{API}/rules/{rule['id']}/enable")
    assert r.status_code == 200 and r.json()["enabled"]
    r = post(c, f"{API}/rules/{rule['id']}", {"params": {"limit": 200}}, method="patch")
    assert r.status_code == 200 and r.json()["version"] == 2 and not r.json()["enabled"]
    assert len(c.get(f"{API}/rules/{rule['id']}/backtests").json()) == 1
    assert any(x["code"] == "MON-05" for x in c.get(f"{API}/rules", {"q": "MON"}).json())
    r = post(c, f"{API}/rules/backtest-draft", {"date_from": "2026-06-01", "date_to": "2026-06-30",
                                                "rule": {"name": "草稿", "action": "notice", "message": "x",
                                                         "condition": "payment.amount > 1"}})
    assert r.status_code == 200 and r.json()["id"] is None


def test_whitelist_api(client_as):
    c = client_as("fin_treasury")
    rule = Rule.objects.get(region_code="", code="MON-05")
    r = post(c, f"{API}/whitelist", {"rule_id": rule.pk, "legal_basis": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "legal_basis_required"
    r = post(c, f"{API}/whitelist", {"rule_id": rule.pk, "legal_basis": "省文件", "payee_account": "622200"})
    assert r.status_code == 201 and r.json()["rule_code"] == "MON-05"
    assert [w["id"] for w in c.get(f"{API}/whitelist", {"rule_id": rule.pk}).json()] == [r.json()["id"]]
    r = post(c, f"{API}/whitelist/{r.json()['id']}/deactivate")
    assert r.status_code == 200 and not r.json()["is_active"]


def test_alert_life_cycle_api(client_as, user):
    rule = Rule.objects.get(region_code="", code="MON-05")
    a = raise_alert(user("school_clerk"), rule)
    unit, fin = client_as("school_clerk"), client_as("fin_treasury")
    r = unit.get(f"{API}/alerts", {"queue": "explain"})
    assert r.status_code == 200 and a.number in [x["number"] for x in r.json()["items"]]
    r = post(fin, f"{API}/alerts/{a.pk}/verify", {"outcome": "normal"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    r = post(fin, f"{API}/alerts/{a.pk}/explain", {"explanation": "x"})
    assert r.status_code == 403
    r = post(client_as("hospital_clerk"), f"{API}/alerts/{a.pk}/explain", {"explanation": "x"})
    assert r.status_code == 404
    assert client_as("hospital_clerk").get(f"{API}/alerts/{a.pk}").status_code == 404
    assert post(unit, f"{API}/alerts/{a.pk}/explain", {"explanation": "说明"}).json()["status"] == "unit_explained"
    r = post(fin, f"{API}/alerts/{a.pk}/verify", {"outcome": "violation", "comment": "违规"})
    assert r.json()["status"] == "violation"
    assert post(fin, f"{API}/alerts/{a.pk}/rectify", {"ask": "退回"}).json()["status"] == "rectifying"
    r = post(unit, f"{API}/alerts/{a.pk}/rectify", {"detail": "已退回", "return_amt": "1,000.00"})
    assert r.json()["status"] == "rectified" and r.json()["return_amt"] == "1000.00"
    r = post(fin, f"{API}/alerts/{a.pk}/close", {"comment": "办结"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert client_as("auditor").get(f"{API}/alerts/{a.pk}").json()["status_display"] == "已办结"


def test_rules_api_permissions(client_as):
    assert client_as("school_clerk").get(f"{API}/rules").status_code == 403
    assert client_as("auditor").get(f"{API}/rules").status_code == 200
    r = post(client_as("auditor"), f"{API}/rules", {"code": "X", "name": "x", "action": "notice",
                                                    "condition": "true", "message": "x"})
    assert r.status_code == 403


def test_batch_api(client_as):
    r = post(client_as("fin_treasury"), f"{API}/batch-runs", {"date": "2026-06-15"})
    assert r.status_code == 201 and r.json()["finished"]
    assert post(client_as("school_clerk"), f"{API}/batch-runs", {"date": "2026-06-15"}).status_code == 403
