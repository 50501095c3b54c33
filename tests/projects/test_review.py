"""The review life cycle: draft → submitted → 主管部门审核 → 财政业务处室审核 → 预算处入库, with 退回 and a mandatory
reason at each step back to the previous holder, to-do items opening and closing for the right role, region and
unit, segregation of duties, and the approval chain as data."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ibms.core import verify, workflow
from ibms.core.errors import Conflict, PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent, TodoItem
from ibms.projects.models import Project, ReviewRecord
from ibms.projects.services import project_create, project_review, project_submit, project_update
from ibms.projects.setup import PROJECT_DOC

from .helpers import COUNTY, PROVINCE, open_todos, project_data

pytestmark = pytest.mark.django_db


def todo_key(project) -> list[tuple[str, str, str]]:
    return [(t.role_code, t.region_code, t.unit_path) for t in open_todos(project)]


def home_of(client_as, username: str) -> str:
    return client_as(username).get("/").content.decode()


def test_full_flow_with_a_return_at_every_step(user, client_as):
    clerk, dept, sector, budget = user("school_clerk"), user("edu_reviewer"), user("fin_sector"), user("fin_budget")
    p = project_create(actor=clerk, data=project_data())
    assert p.status == "draft" and open_todos(p) == []
    project_submit(actor=clerk, pk=p.pk)
    p.refresh_from_db()
    assert (p.status, p.review_step, p.submitted_by) == ("submitted", 1, clerk)
    assert todo_key(p) == [("dept_reviewer", PROVINCE, "/001/")]
    assert p.name in home_of(client_as, "edu_reviewer")
    assert p.name not in home_of(client_as, "county_edu_reviewer")  # another region's education bureau
    assert p.name not in home_of(client_as, "fin_sector")  # not yet their step

    # 主管部门 returns: back to the unit as a draft, reason mandatory and kept, a to-do for the unit clerk
    with pytest.raises(ValidationFailed) as exc:
        project_review(actor=dept, pk=p.pk, approve=False, reason="  ")
    assert exc.value.violations[0].code == "reason_required"
    project_review(actor=dept, pk=p.pk, approve=False, reason="测算依据不足，请补充培训方案")
    p.refresh_from_db()
    assert (p.status, p.review_step) == ("draft", 0)
    assert todo_key(p) == [("unit_clerk", PROVINCE, "/001/001001/")]
    assert "测算依据不足" in home_of(client_as, "school_clerk")

    # the clerk corrects it (allowed again in draft) and resubmits: the return to-do closes
    project_update(actor=clerk, pk=p.pk, data=project_data(description="补充：培训方案见附件"))
    project_submit(actor=clerk, pk=p.pk)
    p.refresh_from_db()
    assert p.status == "submitted" and todo_key(p) == [("dept_reviewer", PROVINCE, "/001/")]

    project_review(actor=dept, pk=p.pk, approve=True, reason="同意")
    p.refresh_from_db()
    assert (p.status, p.review_step) == ("dept_reviewed", 2)
    assert todo_key(p) == [("sector_division", PROVINCE, "")]

    # 财政业务处室 returns to the department (the previous holder), not to the unit
    project_review(actor=sector, pk=p.pk, approve=False, reason="请主管部门复核绩效目标")
    p.refresh_from_db()
    assert (p.status, p.review_step) == ("submitted", 1)
    assert todo_key(p) == [("dept_reviewer", PROVINCE, "/001/")]
    project_review(actor=dept, pk=p.pk, approve=True)
    project_review(actor=sector, pk=p.pk, approve=True, score=Decimal("86.5"))
    p.refresh_from_db()
    assert (p.status, p.review_step, p.expert_score) == ("finance_reviewed", 3, Decimal("86.5"))
    assert todo_key(p) == [("budget_division", PROVINCE, "")]

    # 预算处 returns to the sector division
    project_review(actor=budget, pk=p.pk, approve=False, reason="与年度重点不符，请业务处室复核")
    p.refresh_from_db()
    assert (p.status, p.review_step) == ("dept_reviewed", 2)
    assert todo_key(p) == [("sector_division", PROVINCE, "")]
    project_review(actor=sector, pk=p.pk, approve=True)
    project_review(actor=budget, pk=p.pk, approve=True, reason="入库")
    p.refresh_from_db()
    assert (p.status, p.review_step) == ("in_library", 0) and p.admitted_at is not None
    assert open_todos(p) == []
    assert TodoItem.objects.filter(doc_type=PROJECT_DOC, object_id=str(p.pk), status="done").count() == 9

    history = list(ReviewRecord.objects.filter(project=p).order_by("id").values_list("action", "step_name", "reason"))
    assert [a for a, *_ in history] == ["submit", "return", "submit", "approve", "return", "approve", "approve",
                                        "return", "approve", "approve"]
    returns = [(s, r) for a, s, r in history if a == "return"]
    assert returns == [("主管部门审核", "测算依据不足，请补充培训方案"), ("财政业务处室审核", "请主管部门复核绩效目标"),
                       ("预算处入库", "与年度重点不符，请业务处室复核")]
    page = client_as("school_clerk").get(f"/projects/{p.pk}/").content.decode()
    for _, reason in returns:
        assert reason in page
    assert "已入库" in page and p.code in page
    events = set(BusinessEvent.objects.filter(object_type="projects.project", object_id=str(p.pk))
                 .values_list("code", flat=True))
    assert {"projects.project_submitted", "projects.project_returned", "projects.project_approved",
            "projects.project_admitted"} <= events
    assert all(not problems for problems in verify.run_all().values())


def test_review_through_the_pages(user, client_as):
    p = project_create(actor=user("school_clerk"), data=project_data())
    r = client_as("school_clerk").post(f"/projects/{p.pk}/submit/")
    assert r.status_code == 302
    reviewer = client_as("edu_reviewer")
    page = reviewer.get(f"/projects/{p.pk}/").content.decode()
    assert 'id="review-form"' in page and "主管部门审核" in page
    r = reviewer.post(f"/projects/{p.pk}/review/", {"decision": "return", "reason": ""}, follow=True)
    assert "退回必须填写原因" in r.content.decode()
    assert Project.objects.get(pk=p.pk).status == "submitted"
    reviewer.post(f"/projects/{p.pk}/review/", {"decision": "approve", "reason": "同意"})
    assert Project.objects.get(pk=p.pk).status == "dept_reviewed"
    # the unit clerk sees no review form and cannot post one
    assert 'id="review-form"' not in client_as("school_clerk").get(f"/projects/{p.pk}/").content.decode()
    assert client_as("school_clerk").post(f"/projects/{p.pk}/review/", {"decision": "approve"}).status_code == 403


def test_only_the_step_holder_acts(user):
    p = project_create(actor=user("school_clerk"), data=project_data())
    project_submit(actor=user("school_clerk"), pk=p.pk)
    with pytest.raises(PermissionDenied) as exc:
        project_review(actor=user("fin_budget"), pk=p.pk, approve=True)  # step 1 is the department's
    assert exc.value.code == "workflow_role"
    with pytest.raises(PermissionDenied):
        project_review(actor=user("school_clerk"), pk=p.pk, approve=True)  # no review permission
    project_review(actor=user("edu_reviewer"), pk=p.pk, approve=True)
    with pytest.raises(PermissionDenied) as exc:
        project_review(actor=user("edu_reviewer"), pk=p.pk, approve=True)  # step 2 is finance's
    assert exc.value.code == "workflow_role"
    with pytest.raises(ValidationFailed) as exc:
        project_review(actor=user("fin_sector"), pk=p.pk, approve=True, score=Decimal("120"))
    assert exc.value.violations[0].code == "score_range"
    p.refresh_from_db()
    assert p.status == "dept_reviewed" and p.expert_score is None


def test_segregation_reviewer_cannot_review_own_submission(user, make_user):
    both = make_user("tp_edu_both", "edu_reviewer", ["dept_clerk", "dept_reviewer"])
    p = project_create(actor=both, data=project_data(unit_code="001", name="教育信息化一级项目"))
    assert p.unit_id == p.department_id
    project_submit(actor=both, pk=p.pk)
    with pytest.raises(PermissionDenied) as exc:
        project_review(actor=both, pk=p.pk, approve=True)
    assert exc.value.code == "segregation_of_duties"
    p.refresh_from_db()
    assert p.status == "submitted" and len(open_todos(p)) == 1
    project_review(actor=user("edu_reviewer"), pk=p.pk, approve=True)  # another reviewer may
    p.refresh_from_db()
    assert p.status == "dept_reviewed"


def test_department_reviewer_of_another_department_cannot_see_it(user, make_user):
    health = make_user("tp_health_reviewer", "hospital_clerk", ["dept_reviewer"])  # a unit-level org of 002001
    p = project_create(actor=user("school_clerk"), data=project_data())
    project_submit(actor=user("school_clerk"), pk=p.pk)
    from ibms.core.errors import NotFound

    with pytest.raises(NotFound):
        project_review(actor=health, pk=p.pk, approve=True)


def test_no_edit_after_submission_and_no_double_submit(user):
    clerk = user("school_clerk")
    p = project_create(actor=clerk, data=project_data())
    project_submit(actor=clerk, pk=p.pk)
    with pytest.raises(Conflict) as exc:
        project_update(actor=clerk, pk=p.pk, data=project_data(name="改名"))
    assert exc.value.code == "not_editable"
    with pytest.raises(Conflict):
        project_submit(actor=clerk, pk=p.pk)
    assert Project.objects.get(pk=p.pk).name == "教师信息化能力提升培训"


def test_the_chain_is_data_per_region(user):
    """青山区 configures a one-step chain (预算股 admits directly); the province keeps the default."""
    workflow.set_chain(PROJECT_DOC, COUNTY, "青山区项目入库", [("预算股入库", "budget_division", "finance")])
    clerk = user("county_school_clerk")
    p = project_create(actor=clerk, data=project_data(region=COUNTY))
    assert p.code.startswith("990102")
    project_submit(actor=clerk, pk=p.pk)
    p.refresh_from_db()
    assert [(t.role_code, t.region_code) for t in open_todos(p)] == [("budget_division", COUNTY)]
    with pytest.raises(PermissionDenied):
        project_review(actor=user("county_edu_reviewer"), pk=p.pk, approve=True)
    project_review(actor=user("county_budget"), pk=p.pk, approve=True)
    p.refresh_from_db()
    assert p.status == "in_library" and open_todos(p) == []
    # the province's own chain is untouched
    assert [s.role_code for s in workflow.approval_steps(PROJECT_DOC, PROVINCE)] == [
        "dept_reviewer", "sector_division", "budget_division"]
