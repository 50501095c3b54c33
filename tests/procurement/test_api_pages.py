"""The plan API and pages: the flow through /api/v1/procurement/ and the contract filing through treasury's, the
write gate (wrong role 403), scope (another unit's plan 404), the pages and the verify check."""

from __future__ import annotations

import json

import pytest

from ibms.core import verify
from ibms.procurement.models import ProcurementPlan
from tests.treasury.builders import payee, school

from .builders import YUAN, approved_plan, buckets, gov_indicator, plan

pytestmark = pytest.mark.django_db
W = 10_000 * YUAN


def _post(c, url, body=None):
    return c.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_plan_and_contract_through_the_api(client_as, user):
    ind = gov_indicator(user("fin_budget"), 100 * W)
    clerk, budget = client_as("school_clerk"), client_as("fin_budget")
    r = _post(clerk, "/api/v1/procurement/plans", {"indicator_id": ind.pk, "catalogue_code": "C16070000",
                                                   "method": "公开招标", "name": "信息系统运维", "amount": "500000.00",
                                                   "quantity": 1})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert _post(clerk, f"/api/v1/procurement/plans/{pk}/submit").json()["status"] == "submitted"
    r = _post(budget, f"/api/v1/procurement/plans/{pk}/review", {"approve": True, "comment": "同意"})
    assert r.status_code == 200 and r.json()["frozen"] == "500000.00"
    r = _post(clerk, "/api/v1/treasury/contracts", {
        "unit_id": school().pk, "number": "HT-API-1", "name": "便携式计算机采购合同", "amount": "480000.00",
        "payee_id": payee().pk, "plan_id": pk,
        "milestones": [{"name": "预付款", "amount": "100000.00"}, {"name": "验收款", "amount": "380000.00"}]})
    assert r.status_code == 201, r.content
    assert r.json()["plan_id"] == pk and [m["amount"] for m in r.json()["schedule"]] == ["100000.00", "380000.00"]
    assert r.json()["status"] == "pending" and buckets(ind) == (50 * W, 50 * W, 0, 0)
    cid = r.json()["id"]
    assert _post(clerk, f"/api/v1/treasury/contracts/{cid}/review", {"approve": True}).status_code == 403
    r = _post(budget, f"/api/v1/treasury/contracts/{cid}/review", {"approve": True, "comment": "准予备案"})
    assert r.status_code == 200 and r.json()["status"] == "active"
    detail = clerk.get(f"/api/v1/procurement/plans/{pk}").json()
    assert detail["status"] == "contracted" and detail["frozen"] == "480000.00" and detail["released"] == "20000.00"
    assert [e["d_frozen"] for e in detail["entries"]] == ["500000.00", "-20000.00"]
    assert buckets(ind) == (52 * W, 48 * W, 0, 0)
    r = _post(clerk, f"/api/v1/treasury/contracts/{r.json()['id']}/close", {})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert buckets(ind) == (100 * W, 0, 0, 0)
    assert verify.run_all()["procurement.frozen"] == []


def test_api_refusals_have_stable_codes(client_as, user):
    ind = gov_indicator(user("fin_budget"), 10 * W)
    clerk = client_as("school_clerk")
    body = {"indicator_id": ind.pk, "catalogue_code": "C16070000", "method": "公开招标", "name": "x", "amount": "1.00"}
    r = _post(client_as("fin_budget"), "/api/v1/procurement/plans", body)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    r = _post(clerk, "/api/v1/procurement/plans", {**body, "catalogue_code": "NOPE"})
    assert r.status_code == 422 and "catalogue_unknown" in r.content.decode()
    pk = _post(clerk, "/api/v1/procurement/plans", {**body, "amount": "200000.00"}).json()["id"]
    r = _post(clerk, f"/api/v1/procurement/plans/{pk}/submit")
    assert r.status_code == 422 and "overdraw" in r.content.decode()
    r = _post(client_as("fin_budget"), f"/api/v1/procurement/plans/{pk}/review", {"approve": True})
    assert r.status_code == 409 and r.json()["code"] == "not_submitted"


def test_another_units_plan_is_not_found(client_as, user):
    p = plan(user("school_clerk"), gov_indicator(user("fin_budget"), 10 * W), 1 * W)
    other = client_as("hospital_clerk")
    assert other.get(f"/api/v1/procurement/plans/{p.pk}").status_code == 404
    assert other.get(f"/procurement/{p.pk}/").status_code == 404
    assert _post(other, f"/api/v1/procurement/plans/{p.pk}/submit").status_code == 404
    assert p.pk not in [x["id"] for x in other.get("/api/v1/procurement/plans").json()["items"]]
    assert ProcurementPlan.objects.get(pk=p.pk).status == ProcurementPlan.Status.DRAFT


def test_pages_create_submit_approve(client_as, user):
    ind = gov_indicator(user("fin_budget"), 100 * W)
    clerk, budget = client_as("school_clerk"), client_as("fin_budget")
    page = clerk.get("/procurement/new/")
    assert page.status_code == 200 and ind.code in page.content.decode()
    r = clerk.post("/procurement/new/", {"indicator_id": ind.pk, "catalogue_code": "C23120000", "method": "公开招标",
                                          "name": "物业管理服务", "quantity": 1, "amount": "60000.00"})
    assert r.status_code == 302
    p = ProcurementPlan.objects.get(indicator=ind)
    assert clerk.post(f"/procurement/{p.pk}/submit/").status_code == 302
    assert budget.post(f"/procurement/{p.pk}/approve/", {"comment": "同意"}).status_code == 302
    assert buckets(ind) == (94 * W, 6 * W, 0, 0)
    listing = clerk.get("/procurement/?status=approved").content.decode()
    assert p.number in listing
    assert clerk.post(f"/procurement/{p.pk}/approve/").status_code == 403  # the write gate: clerks don't review
    assert clerk.post(f"/procurement/{p.pk}/nope/").status_code == 404
    contracts = clerk.get(f"/treasury/contracts/?plan={p.pk}").content.decode()
    assert p.number in contracts
    r = clerk.post("/treasury/contracts/", {"unit_id": school().pk, "number": "HT-PAGE-1", "name": "台式计算机合同",
                                            "amount": "58000.00", "sign_date": "2026-03-01", "payee_name": "华夏电脑公司",
                                            "plan_id": p.pk, "milestones": "验收款,58000.00"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert buckets(ind) == (94 * W, 6 * W, 0, 0)  # waiting for the review
    from ibms.treasury.models import Contract

    c = Contract.objects.get(number="HT-PAGE-1")
    assert clerk.post(f"/treasury/contracts/{c.pk}/review/", {"approve": "1"}).status_code == 403
    assert budget.post(f"/treasury/contracts/{c.pk}/review/", {"approve": "1"}).status_code == 302
    assert buckets(ind) == (94.2 * W, 5.8 * W, 0, 0)


def test_approved_plan_listed_for_budget_division(client_as, user):
    ind = gov_indicator(user("fin_budget"), 10 * W)
    p = approved_plan(user("school_clerk"), user("fin_budget"), ind, 1 * W)
    body = client_as("fin_budget").get(f"/procurement/{p.pk}/").content.decode()
    assert p.number in body and "已批准" in body


def test_detail_page_shows_the_split_warning_to_the_reviewer(client_as, user):
    from ibms.procurement import services as ps

    clerk = user("school_clerk")
    ind = gov_indicator(user("fin_budget"), 1000 * W)
    ps.plan_submit(actor=clerk, pk=plan(clerk, ind, 250 * W).pk)
    p = ps.plan_submit(actor=clerk, pk=plan(clerk, ind, 200 * W).pk)
    body = client_as("fin_budget").get(f"/procurement/{p.pk}/").content.decode()
    assert 'data-code="split_purchase"' in body and 'id="plan-approve"' in body
