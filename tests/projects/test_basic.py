"""The computed basic projects: 人员类 from the unit's people (salary items × 12, employer contributions as rates of
the salary base, retiree pay) and 公用经费 from the per-head standard × in-service headcount; admitted directly;
rerunning updates instead of duplicating. Amounts are recomputed here from the demo people themselves."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from ibms.core import verify
from ibms.core.errors import Conflict, PermissionDenied
from ibms.core.resources import get_resource
from ibms.core.services import resource_create, resource_update
from ibms.masterdata.models import Person
from ibms.projects.models import BasicRule, Project
from ibms.projects.services import project_generate_basic, project_update, projects_enter_budget

from .helpers import YEAR as CURRENT
from .helpers import project_data, standard, unit

# the demo budget already computed and executed the current year's basic projects: these tests compute the next
YEAR = CURRENT + 1

pytestmark = pytest.mark.django_db
SALARY = {"30101": "basic_salary", "30102": "allowance", "30103": "bonus", "30107": "performance_pay"}
RATES = {"30108": Decimal(16), "30109": Decimal(8), "30110": Decimal(8), "30112": Decimal("0.7"),
         "30113": Decimal(12)}


def expected_personnel(u) -> dict[str, int]:
    people = Person.objects.filter(unit=u, is_active=True)
    active = [p for p in people if p.status == "in_service"]
    retired = [p for p in people if p.status == "retired"]
    out = {eco: sum(getattr(p, f) for p in active) * 12 for eco, f in SALARY.items()}
    out = {k: v for k, v in out.items() if v}
    base = sum(out.values())
    for eco, rate in RATES.items():
        out[eco] = int((Decimal(base) * rate / 100).quantize(Decimal(1), ROUND_HALF_UP))
    pension = sum(p.monthly_total for p in retired) * 12
    if pension:
        out["30302"] = pension
    return out


def lines_by_eco(p: Project) -> dict[str, int]:
    return dict(p.cost_lines.values_list("dep_eco_code", "amount"))


def test_generate_for_an_institution(user):
    school = unit("001001")
    personnel, operating = project_generate_basic(actor=user("school_clerk"), unit_id=school.pk, year=YEAR)
    assert (personnel.category, operating.category) == ("1", "21")
    assert personnel.status == operating.status == "in_library" and personnel.origin == "generated"
    assert personnel.code.startswith("990000") and len(personnel.code) == 21
    want = expected_personnel(school)
    assert lines_by_eco(personnel) == want
    assert personnel.total_amount == sum(want.values()) == personnel.plan_amount(YEAR)
    headcount = Person.objects.filter(unit=school, is_active=True, status="in_service").count()
    gy002 = standard("GY002")
    assert school.unit_type == "institution" and headcount > 0
    assert operating.total_amount == gy002.amount * headcount  # 事业单位 9,000 元/人·年
    line = operating.cost_lines.get()
    assert line.standard_id == gy002.pk and line.quantity == headcount and f"在职 {headcount} 人" in line.formula
    basic_line = personnel.cost_lines.get(dep_eco_code="30101")
    assert "× 12 个月" in basic_line.formula and basic_line.unit_price * 12 == basic_line.amount
    assert personnel.reviews.get().action == "admit"
    assert personnel.exp_func_code == "2050299"  # the institution default of an 教育 department (data)


def test_generate_for_an_organ_uses_the_organ_standard(user):
    dept = unit("001")
    _, operating = project_generate_basic(actor=user("edu_clerk"), unit_id=dept.pk, year=YEAR)
    headcount = Person.objects.filter(unit=dept, is_active=True, status="in_service").count()
    assert operating.total_amount == standard("GY001").amount * headcount
    assert operating.exp_func_code == "2050101"


def test_rerun_updates_instead_of_duplicating(user):
    clerk, school = user("school_clerk"), unit("001001")
    first = project_generate_basic(actor=clerk, unit_id=school.pk, year=YEAR)
    person = Person.objects.filter(unit=school, status="in_service").first()
    resource_update(actor=clerk, resource=get_resource("people"), pk=person.pk, data={
        "unit": school.code, "name": person.name, "id_number": person.id_number, "status": person.status,
        "staffing": person.staffing, "post": person.post, "grade": person.grade,
        "basic_salary": str((person.basic_salary + 100_000) // 100), "allowance": str(person.allowance // 100),
        "bonus": str(person.bonus // 100), "performance_pay": str(person.performance_pay // 100),
        "is_active": "on"})
    second = project_generate_basic(actor=clerk, unit_id=school.pk, year=YEAR)
    assert [p.pk for p in second] == [p.pk for p in first] and [p.code for p in second] == [p.code for p in first]
    assert Project.objects.filter(unit=school, origin="generated", year=YEAR).count() == 2
    # 1,000 元 more a month: 12,000 元 more basic salary plus 44.7% contributions
    assert second[0].total_amount - first[0].total_amount == 1_200_000 + int(
        (Decimal(1_200_000) * Decimal("0.447")).quantize(Decimal(1), ROUND_HALF_UP))
    assert lines_by_eco(second[0]) == expected_personnel(school)
    assert all(not problems for problems in verify.run_all().values())


def test_rates_are_data_and_a_province_may_override_them(user):
    """The budget division sets its own housing-fund rate (5%) over the national default (12%)."""
    school = unit("001001")
    resource_create(actor=user("fin_budget"), resource=get_resource("project-basic-rules"), data={
        "fiscal_year": YEAR, "kind": "contribution", "code": "C30113", "name": "住房公积金", "dep_eco_code": "30113",
        "rate": "5", "months": "12", "seq": "9", "is_active": "on"})
    assert BasicRule.objects.get(region_code="990000000", code="C30113").rate == 5
    personnel, _ = project_generate_basic(actor=user("school_clerk"), unit_id=school.pk, year=YEAR)
    lines = lines_by_eco(personnel)
    base = sum(v for k, v in lines.items() if k in SALARY)
    assert lines["30113"] == int((Decimal(base) * 5 / 100).quantize(Decimal(1), ROUND_HALF_UP))
    assert "5%" in personnel.cost_lines.get(dep_eco_code="30113").formula


def test_generated_projects_are_not_edited_by_hand_and_lock_once_budgeted(user):
    clerk, school = user("school_clerk"), unit("001001")
    personnel, _ = project_generate_basic(actor=clerk, unit_id=school.pk, year=YEAR)
    with pytest.raises(Conflict):
        project_update(actor=clerk, pk=personnel.pk, data=project_data())
    projects_enter_budget(project_ids=[personnel.pk])
    with pytest.raises(Conflict) as exc:
        project_generate_basic(actor=clerk, unit_id=school.pk, year=YEAR)
    assert exc.value.code == "basic_locked"


def test_scope_and_permission(user, client_as):
    with pytest.raises(PermissionDenied):
        project_generate_basic(actor=user("school_reviewer"), unit_id=unit("001001").pk, year=YEAR)
    r = client_as("school_clerk").post("/api/v1/projects/generate-basic",
                                       data=json.dumps({"unit_id": unit("002001").pk, "year": YEAR}),
                                       content_type="application/json")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client_as("school_clerk").post("/api/v1/projects/generate-basic",
                                       data=json.dumps({"unit_id": unit("001001").pk, "year": YEAR}),
                                       content_type="application/json")
    assert r.status_code == 201, r.content
    assert [p["category"] for p in r.json()] == ["1", "21"]
    page = client_as("school_clerk").post("/projects/generate/", {"unit": unit("001001").pk, "year": YEAR})
    assert page.status_code == 200 and "公用经费" in page.content.decode()
