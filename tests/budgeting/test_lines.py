"""Budget lines: only from library projects, fully and consistently classified, in the open version, within
the actor's scope; every refusal names its reason and nothing partial is saved."""

from __future__ import annotations

import pytest

from ibms.budgeting import services as bs
from ibms.budgeting.models import BudgetLine, Version
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import TodoItem
from ibms.core.money import parse_yuan
from ibms.projects.models import Project

from .builders import expenditure, revenue, unit

pytestmark = pytest.mark.django_db


def codes(exc: ValidationFailed) -> set[str]:
    return {v.code for v in exc.violations}


def test_expenditure_line_from_library_project_is_classified_and_moves_project_into_budget(rnd, user,
                                                                                            library_project):
    p = library_project("001001", "300000.00", eco="30201")
    line = bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(p, "280000.00"))
    assert line.version == Version.FIRST_UP
    assert (line.unit, line.department) == (unit("001001"), unit("001"))
    assert line.exp_kind == "project"  # 特定目标类 → 项目支出
    assert (line.exp_func_code, line.dep_eco_code, line.fund_nature_code) == ("2050204", "30201", "111")
    assert line.gov_eco_code == "50502"  # 302 for an institution (事业单位), from the eco mapping
    assert line.amount == 28_000_000
    p.refresh_from_db()
    assert p.status == Project.Status.IN_BUDGET


def test_line_without_project_is_refused(rnd, user):
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk,
                       data=bs.LineData(unit_id=unit("001001").pk, exp_func_code="2050204", dep_eco_code="30201",
                                        fund_nature_code="111", amount=100_00))
    assert codes(e.value) == {"project_required"}
    assert "无项目不预算" in e.value.message
    assert not BudgetLine.objects.filter(round=rnd).exists()


def test_project_not_in_library_is_refused_with_its_status(rnd, user, library_project):
    draft = library_project("001001", "1000.00", admit=False)
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(draft, "1000.00"))
    assert codes(e.value) == {"project_not_in_library"}
    assert "草稿" in e.value.message
    draft.refresh_from_db()
    assert draft.status == Project.Status.DRAFT


def test_unknown_project_id_is_refused(rnd, user):
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk,
                       data=bs.LineData(project_id=10**9, amount=100))
    assert codes(e.value) == {"project_not_in_library"}


@pytest.mark.parametrize(("changes", "code"), [
    ({"exp_func_code": "20502"}, "exp_func_mismatch"),  # differs from the project's 2050204
    ({"dep_eco_code": "302"}, "classification_not_leaf"),
    ({"fund_nature_code": "11"}, "classification_not_leaf"),
    ({"fund_nature_code": "999"}, "classification_unknown"),
    ({"gov_eco_code": "50101"}, "gov_eco_mismatch"),  # 30201 for an institution maps to 50502
    ({"sub_region_code": "990102000"}, "not_transfer"),
])
def test_mismatched_or_non_leaf_classification_is_refused(rnd, user, library_project, changes, code):
    p = library_project("001001", "5000.00", eco="30201")
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(p, "5000.00", **changes))
    assert code in codes(e.value)
    assert not BudgetLine.objects.filter(round=rnd).exists()
    p.refresh_from_db()
    assert p.status == Project.Status.IN_LIBRARY  # nothing partial: the project did not move either


def test_project_whose_function_class_is_not_to_xiang_is_refused(rnd, user, library_project):
    p = library_project("001001", "5000.00", func="2050204")
    Project.objects.filter(pk=p.pk).update(exp_func_code="20599")  # a 款 without 项 (a leaf in the data)
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(p, "5000.00"))
    assert "exp_func_not_xiang" in codes(e.value)


def test_every_problem_is_reported_at_once(rnd, user, library_project):
    p = library_project("001001", "5000.00", eco="30201")
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk,
                       data=expenditure(p, "0", dep_eco_code="302", fund_nature_code="1"))
    assert {"amount_invalid", "classification_not_leaf"} <= codes(e.value)
    assert len(e.value.violations) >= 3


def test_project_of_another_unit_is_refused(rnd, user, library_project):
    p = library_project("001002", "5000.00")
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("edu_clerk"), round_id=rnd.pk,
                       data=expenditure(p, "5000.00", unit_id=unit("001001").pk))
    assert codes(e.value) == {"project_unit_mismatch"}


def test_out_of_scope_project_and_unit_are_refused(rnd, user, library_project):
    school = library_project("001001", "5000.00")
    # the hospital's clerk does not see the school's project: not in the library as far as it can tell
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("hospital_clerk"), round_id=rnd.pk, data=expenditure(school, "10.00"))
    assert codes(e.value) == {"project_not_in_library"}
    # nor may it write the school's revenue
    with pytest.raises(PermissionDenied):
        bs.line_create(actor=user("hospital_clerk"), round_id=rnd.pk, data=revenue("001001", "10.00"))
    line = bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(school, "10.00"))
    with pytest.raises(NotFound):
        bs.line_delete(actor=user("hospital_clerk"), line_id=line.pk)
    with pytest.raises(NotFound):  # another region's round is not found at all
        bs.line_create(actor=user("county_school_clerk"), round_id=rnd.pk, data=revenue("001001", "10.00"))


def test_finance_does_not_edit_departments_versions(rnd, user, library_project):
    p = library_project("001001", "5000.00")
    with pytest.raises(PermissionDenied) as e:
        bs.line_create(actor=user("fin_budget"), round_id=rnd.pk, data=expenditure(p, "10.00"))
    assert e.value.code == "department_only"


def test_revenue_line_takes_its_fund_nature_from_the_source(rnd, user):
    line = bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=revenue("001001", "1000.00", "3"))
    assert (line.direction, line.revenue_code, line.fund_nature_code, line.project_id) == ("revenue", "3", "31", None)
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=revenue("001001", "1.00", "1"))
    assert "classification_not_leaf" in codes(e.value)  # 财政拨款收入 has children


def test_transfer_line_needs_a_lower_region_and_carries_the_transfer_type(rnd, user, library_project):
    p = library_project("001", "100000.00", func="2050202", eco="39999", transfer_region="990102000")
    line = bs.line_create(actor=user("edu_clerk"), round_id=rnd.pk, data=expenditure(p, "100000.00"))
    assert (line.is_transfer, line.sub_region_code, line.transfer_type_code, line.gov_eco_code) == (
        True, "990102000", "3", "51301")
    with pytest.raises(ValidationFailed) as e:
        bs.line_create(actor=user("edu_clerk"), round_id=rnd.pk,
                       data=expenditure(p, "1.00", sub_region_code="990000000"))
    assert codes(e.value) == {"sub_region_invalid"}


def test_sangong_flag_comes_from_the_economic_class(rnd, user, library_project):
    p = library_project("001001", "20000.00", eco="30217")
    line = bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(p, "20000.00"))
    assert line.is_sangong is True


def test_generate_from_library_splits_basic_projects_by_economic_class(rnd, user):
    from ibms.projects.services import project_generate_basic

    school = unit("001001")
    basics = project_generate_basic(actor=user("fin_budget"), unit_id=school.pk, year=rnd.year)
    created = bs.lines_generate(actor=user("school_clerk"), round_id=rnd.pk, unit_id=school.pk)
    # the demo's two-year 特定目标类 project of the school is in the library for this year too
    kinds = {(ln.project.category, ln.exp_kind) for ln in created}
    assert kinds == {("1", "basic"), ("21", "basic"), ("3", "project")}
    for p in basics:
        mine = [ln for ln in created if ln.project_id == p.pk]
        assert sum(ln.amount for ln in mine) == p.plan_amount(rnd.year)
    personnel = next(p for p in basics if p.category == "1")
    assert len({ln.dep_eco_code for ln in created if ln.project_id == personnel.pk}) > 1  # 30101, 30102 …
    # generating again adds nothing: every project already has its lines in this version
    assert bs.lines_generate(actor=user("school_clerk"), round_id=rnd.pk, unit_id=school.pk) == []


def test_generate_is_all_or_nothing(rnd, user, library_project):
    good = library_project("001001", "1000.00")
    bad = library_project("001001", "2000.00")
    Project.objects.filter(pk=bad.pk).update(fund_nature_code="11")  # became non-leaf behind the library's back
    with pytest.raises(ValidationFailed) as e:
        bs.lines_generate(actor=user("school_clerk"), round_id=rnd.pk, unit_id=unit("001001").pk)
    assert bad.code in e.value.message
    assert not BudgetLine.objects.filter(round=rnd).exists()
    good.refresh_from_db()
    assert good.status == Project.Status.IN_LIBRARY


def test_submitted_unit_is_locked_until_returned(rnd, user, library_project):
    p = library_project("001001", "1000.00")
    line = bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(p, "1000.00"))
    sub = bs.submission_submit(actor=user("school_clerk"), round_id=rnd.pk, unit_id=unit("001001").pk)
    assert TodoItem.objects.filter(doc_type="budget_unit_submission", object_id=str(sub.pk), status="open",
                                   role_code="dept_reviewer", unit_path="/001/").exists()
    with pytest.raises(Conflict) as e:
        bs.line_update(actor=user("school_clerk"), line_id=line.pk, data=expenditure(p, "900.00"))
    assert e.value.code == "submission_locked"
    with pytest.raises(ValidationFailed):  # a return needs a reason
        bs.submission_return(actor=user("edu_reviewer"), submission_id=sub.pk, reason=" ")
    bs.submission_return(actor=user("edu_reviewer"), submission_id=sub.pk, reason="测算依据不足")
    assert TodoItem.objects.filter(doc_type="budget_prepare", object_id=str(sub.pk), status="open",
                                   title__contains="测算依据不足").exists()
    updated = bs.line_update(actor=user("school_clerk"), line_id=line.pk, data=expenditure(p, "900.00"))
    assert updated.amount == parse_yuan("900.00")


def test_department_submission_locks_its_units_and_finance_may_return_it(rnd, user, library_project):
    p = library_project("001001", "1000.00")
    line = bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(p, "1000.00"))
    sub = bs.submission_submit(actor=user("edu_clerk"), round_id=rnd.pk, unit_id=unit("001").pk)
    assert (sub.status, sub.expenditure_total) == ("submitted", 100_000)
    for who in ("edu_clerk", "school_clerk"):
        with pytest.raises(Conflict) as e:
            bs.line_delete(actor=user(who), line_id=line.pk)
        assert e.value.code == "submission_locked"
    with pytest.raises(PermissionDenied):  # the department does not review its own submission
        bs.submission_accept(actor=user("edu_reviewer"), submission_id=sub.pk)
    bs.submission_return(actor=user("fin_budget"), submission_id=sub.pk, reason="请补充绩效目标")
    bs.line_delete(actor=user("edu_clerk"), line_id=line.pk)
    assert not BudgetLine.objects.filter(pk=line.pk).exists()
