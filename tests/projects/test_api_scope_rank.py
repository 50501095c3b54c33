"""The REST API with its stable error codes, data scope (another unit's project is 404), priority ranking within
a department, the status moves budgeting uses, the list page with filters and its Excel export."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from ibms.core.errors import Conflict, NotFound
from ibms.projects.models import Project, ReviewRecord
from ibms.projects.selectors import budgetable_projects
from ibms.projects.services import (
    RANKABLE,
    project_create,
    project_review,
    project_submit,
    projects_enter_budget,
    projects_start_execution,
)

from .helpers import YEAR, project_data, standard, unit

pytestmark = pytest.mark.django_db


def post(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def payload(**kw) -> dict:
    body = {"unit_id": unit("001001").pk, "name": "校园网络升级", "category": "3", "start_year": YEAR,
            "end_year": YEAR + 1, "level": 1, "fund_nature_code": "111", "exp_func_code": "2050203",
            "dep_eco_code": "30201",
            "year_plans": [{"year": YEAR, "amount": None}, {"year": YEAR + 1, "amount": "30000.00"}],
            "cost_lines": [{"year": YEAR, "item": "培训", "standard_id": standard("PX001").pk, "quantity": "20",
                            "frequency": "2"},
                           {"year": YEAR, "item": "网络设备运维", "unit_price": "1500.50", "quantity": "12"}],
            "targets": [{"kind": "output", "name": "覆盖教室数", "value": "60", "measure": "间"}]}
    body.update(kw)
    return body


def admitted(user, **kw) -> Project:
    p = project_create(actor=user("school_clerk"), data=project_data(**kw))
    project_submit(actor=user("school_clerk"), pk=p.pk)
    for reviewer in ("edu_reviewer", "fin_sector", "fin_budget"):
        project_review(actor=user(reviewer), pk=p.pk, approve=True)
    p.refresh_from_db()
    return p


class TestApi:
    def test_create_get_submit_review(self, client_as):
        clerk = client_as("school_clerk")
        r = post(clerk, "/api/v1/projects/", payload())
        assert r.status_code == 201, r.content
        body = r.json()
        assert len(body["code"]) == 21 and body["status"] == "draft"
        # 550 × 20 × 2 = 22,000; 1,500.50 × 12 = 18,006: the first year is the estimate, the second typed
        assert body["year_plans"] == [{"year": YEAR, "amount": "40006.00"}, {"year": YEAR + 1, "amount": "30000.00"}]
        assert body["total_amount"] == "70006.00"
        assert [c["amount"] for c in body["cost_lines"]] == ["22000.00", "18006.00"]
        pk = body["id"]
        assert clerk.get(f"/api/v1/projects/{pk}").json()["code"] == body["code"]
        r = clerk.post(f"/api/v1/projects/{pk}/submit")
        assert r.status_code == 200 and r.json()["status"] == "submitted"
        reviewer = client_as("edu_reviewer")
        r = post(reviewer, f"/api/v1/projects/{pk}/review", {"decision": "return"})
        assert r.status_code == 422 and r.json()["detail"][0]["code"] == "reason_required"
        r = post(reviewer, f"/api/v1/projects/{pk}/review", {"decision": "return", "reason": "请细化测算"})
        assert r.status_code == 200 and r.json()["status"] == "draft"
        assert r.json()["reviews"][-1]["reason"] == "请细化测算"
        listing = clerk.get("/api/v1/projects/", {"status": "draft", "q": "网络"}).json()
        assert [i["id"] for i in listing["items"]] == [pk] and listing["count"] == 1

    def test_error_codes(self, client_as):
        clerk = client_as("school_clerk")
        r = post(clerk, "/api/v1/projects/", payload(category="2", exp_func_code="205"))
        assert r.status_code == 422 and r.json()["code"] == "validation_failed"
        assert {d["code"] for d in r.json()["detail"]} == {"classification_not_leaf"}
        r = post(clerk, "/api/v1/projects/", payload(year_plans=[{"year": YEAR, "amount": "12.345"}]))
        assert r.status_code == 422 and r.json()["detail"][0]["code"] == "amount_invalid"
        r = post(clerk, "/api/v1/projects/", payload(unit_id=unit("002001").pk))
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = post(clerk, "/api/v1/projects/", {"name": "缺字段"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_request"
        pk = post(clerk, "/api/v1/projects/", payload(targets=[])).json()["id"]
        r = clerk.post(f"/api/v1/projects/{pk}/submit")
        assert r.status_code == 422 and [d["code"] for d in r.json()["detail"]] == ["targets_required"]
        r = post(clerk, f"/api/v1/projects/{pk}/review", {"decision": "approve"})
        assert r.status_code == 403 and r.json()["code"] == "permission_denied"
        r = post(client_as("edu_reviewer"), f"/api/v1/projects/{pk}/review", {"decision": "maybe"})
        assert r.status_code == 422 and r.json()["detail"][0]["code"] == "decision_invalid"
        r = post(client_as("edu_reviewer"), f"/api/v1/projects/{pk}/review", {"decision": "approve"})
        assert r.status_code == 409 and r.json()["code"] == "not_under_review"
        assert clerk.get("/api/v1/projects/999999").status_code == 404


class TestScope:
    def test_other_units_project_is_not_found(self, user, client_as):
        p = project_create(actor=user("school_clerk"), data=project_data())
        for who in ("hospital_clerk", "county_school_clerk", "county_budget"):
            c = client_as(who)
            assert c.get(f"/projects/{p.pk}/").status_code == 404
            r = c.get(f"/api/v1/projects/{p.pk}")
            assert r.status_code == 404 and r.json()["code"] == "not_found"
            assert p.code not in c.get("/projects/").content.decode()
        # the department, the province's finance and oversight see it (read)
        for who in ("edu_reviewer", "fin_budget", "auditor"):
            assert client_as(who).get(f"/projects/{p.pk}/").status_code == 200
        # oversight reads but cannot act
        r = client_as("auditor").post(f"/api/v1/projects/{p.pk}/submit")
        assert r.status_code == 403

    def test_province_sees_county_projects_read_only(self, user, client_as):
        county = project_create(actor=user("county_school_clerk"), data=project_data(region="990102000"))
        assert client_as("fin_budget").get(f"/projects/{county.pk}/").status_code == 200
        project_submit(actor=user("county_school_clerk"), pk=county.pk)
        with pytest.raises(NotFound):  # the province's finance cannot act in the county
            project_review(actor=user("fin_budget"), pk=county.pk, approve=True)


class TestRanking:
    def test_department_ranks_its_projects(self, user, client_as):
        clerk = user("school_clerk")
        a = project_create(actor=clerk, data=project_data(name="A"))
        b = project_create(actor=clerk, data=project_data(name="B"))
        c = project_create(actor=user("edu_clerk"), data=project_data(unit_code="001", name="C"))
        assert a.priority < b.priority < c.priority
        dept = unit("001")
        r = post(client_as("edu_reviewer"), "/api/v1/projects/rank", {"department_id": dept.pk,
                                                                      "ordered_ids": [c.pk, a.pk]})
        assert r.status_code == 200, r.content
        rankable = Project.objects.filter(department=dept, status__in=RANKABLE).order_by("priority")
        before = [n for n in rankable.values_list("name", flat=True) if n not in "ABC"]
        order = list(rankable.values_list("name", flat=True))
        # the named ones first, the others (demo projects included) after them in their previous order, B last
        assert order[:2] == ["C", "A"] and order[-1] == "B"
        assert [n for n in order if n not in "ABC"] == before
        assert r.json()["changed"] >= 2
        # the page shows the new order and saves typed positions
        page = client_as("edu_clerk").get(f"/projects/rank/?department={dept.pk}").content.decode()
        assert page.index(c.code) < page.index(a.code) < page.index(b.code)
        form = {"department": dept.pk, f"rank-{a.pk}": "1", f"rank-{b.pk}": "2", f"rank-{c.pk}": "3"}
        assert client_as("edu_clerk").post("/projects/rank/", form).status_code == 302
        assert list(rankable.values_list("name", flat=True))[:3] == ["A", "B", "C"]

    def test_ranking_errors(self, user, client_as):
        hospital = project_create(actor=user("hospital_clerk"), data=project_data(unit_code="002001", name="医院"))
        r = post(client_as("edu_reviewer"), "/api/v1/projects/rank", {"department_id": unit("001").pk,
                                                                      "ordered_ids": [hospital.pk]})
        assert r.status_code == 422 and r.json()["detail"][0]["code"] == "rank_unknown"
        r = post(client_as("school_clerk"), "/api/v1/projects/rank", {"department_id": unit("001").pk,
                                                                      "ordered_ids": []})
        assert r.status_code == 403
        assert client_as("school_clerk").get("/projects/rank/").status_code == 403
        r = post(client_as("edu_reviewer"), "/api/v1/projects/rank", {"department_id": unit("002").pk,
                                                                      "ordered_ids": []})
        assert r.status_code == 404


class TestBudgetMoves:
    def test_budgetable_enter_budget_and_execution_are_idempotent(self, user):
        p = admitted(user, end_year=YEAR + 1, year_plans={YEAR + 1: 1_000_000})
        draft = project_create(actor=user("school_clerk"), data=project_data(name="草稿"))
        assert p in budgetable_projects(user("fin_budget"), YEAR)
        assert p in budgetable_projects(user("fin_budget"), YEAR + 1)
        assert p not in budgetable_projects(user("fin_budget"), YEAR + 2)
        assert draft not in budgetable_projects(user("fin_budget"), YEAR)
        assert p not in budgetable_projects(user("hospital_clerk"), YEAR)  # scope
        got = budgetable_projects(user("fin_budget"), YEAR).get(pk=p.pk)
        assert (got.plan_amount(YEAR), got.plan_amount(YEAR + 1)) == (7_600_000, 1_000_000)

        with pytest.raises(Conflict) as exc:
            projects_enter_budget(project_ids=[p.pk, draft.pk])
        assert exc.value.code == "project_not_in_library"
        assert Project.objects.get(pk=p.pk).status == "in_library"  # nothing partial
        assert [m.pk for m in projects_enter_budget(project_ids=[p.pk])] == [p.pk]
        assert projects_enter_budget(project_ids=[p.pk]) == []  # idempotent
        assert Project.objects.get(pk=p.pk).status == "in_budget"
        projects_start_execution(project_ids=[p.pk])
        projects_start_execution(project_ids=[p.pk])
        assert Project.objects.get(pk=p.pk).status == "executing"
        assert p in budgetable_projects(user("fin_budget"), YEAR)
        actions = list(ReviewRecord.objects.filter(project=p).order_by("id").values_list("action", flat=True))
        assert actions[-2:] == ["enter_budget", "execute"]

    def test_close_and_terminate(self, user, client_as):
        p = admitted(user)
        r = client_as("school_clerk").post(f"/projects/{p.pk}/close/", {"terminate": "1", "reason": "不再需要"})
        assert r.status_code == 403
        r = client_as("fin_budget").post(f"/projects/{p.pk}/close/", {"terminate": "1", "reason": ""}, follow=True)
        assert "必须填写原因" in r.content.decode()
        client_as("fin_budget").post(f"/projects/{p.pk}/close/", {"terminate": "1", "reason": "政策调整，终止"})
        p.refresh_from_db()
        assert p.status == "terminated"
        assert p not in budgetable_projects(user("fin_budget"), YEAR)


class TestListPage:
    def test_filters_and_export(self, user, client_as):
        p = admitted(user, name="已入库的培训项目")
        project_create(actor=user("school_clerk"), data=project_data(name="仍是草稿的项目", category="22"))
        c = client_as("edu_reviewer")
        html = c.get("/projects/", {"status": "in_library"}).content.decode()
        assert "已入库的培训项目" in html and "仍是草稿的项目" not in html
        html = c.get("/projects/", {"category": "22"}).content.decode()
        assert "仍是草稿的项目" in html and "已入库的培训项目" not in html
        html = c.get("/projects/", {"q": p.code}).content.decode()
        assert "已入库的培训项目" in html and "仍是草稿的项目" not in html
        assert "共 0 条" in c.get("/projects/", {"year": YEAR + 5}).content.decode()
        r = c.get("/projects/", {"status": "in_library", "q": p.code, "export": "xlsx"})
        rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
        assert rows[0][:2] == ("项目代码", "项目名称")
        assert [row[0] for row in rows[1:]] == [p.code]
        assert rows[1][17] == 76000
