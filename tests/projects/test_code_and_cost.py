"""Project codes (21 characters, gap-free per region and year, assigned once and never changed) and the cost
estimate (standard × quantity × frequency, computed not typed; year plans equal the estimate for the years
estimated; total = sum of the year plans)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibms.core.errors import ValidationFailed
from ibms.core.models import Sequence
from ibms.projects import domain
from ibms.projects.domain import CostLineData, NeedData
from ibms.projects.models import CostLine, Project
from ibms.projects.services import project_create, project_submit, project_update

from .helpers import COUNTY, YEAR, project_data, standard

pytestmark = pytest.mark.django_db
YY = f"{YEAR % 100:02d}"


def serial(p: Project) -> int:
    return int(p.code[8:])


@given(region=st.from_regex(r"[1-9][0-9]{8}", fullmatch=True), year=st.integers(2000, 2099),
       n=st.integers(1, 10**13 - 1))
def test_code_format_property(region, year, n):
    code = domain.project_code(region, year, n)
    assert len(code) == 21 and code.isdigit()
    assert code[:6] == region[:6] and code[6:8] == f"{year % 100:02d}" and int(code[8:]) == n


def test_code_out_of_range_is_refused():
    with pytest.raises(ValueError):
        domain.project_code("990000000", 2026, 10**13)
    with pytest.raises(ValueError):
        domain.project_code("990000000", 2026, 0)


def test_codes_are_gap_free_per_region_and_year(user):
    clerk = user("school_clerk")
    a = project_create(actor=clerk, data=project_data())
    with pytest.raises(ValidationFailed):  # a refused entry gives its number back
        project_create(actor=clerk, data=project_data(category="2"))  # 运转类 is not a leaf
    b = project_create(actor=clerk, data=project_data(name="第二个项目"))
    assert a.code.startswith(f"990000{YY}") and b.code.startswith(f"990000{YY}")
    assert serial(b) == serial(a) + 1
    county = project_create(actor=user("county_school_clerk"), data=project_data(region=COUNTY))
    assert county.code.startswith(f"990102{YY}") and serial(county) == 1  # its own sequence
    nxt = project_create(actor=clerk, data=project_data(start_year=YEAR + 1, end_year=YEAR + 1, cost_lines=[]))
    assert nxt.code[6:8] == f"{(YEAR + 1) % 100:02d}" and serial(nxt) == 1  # a new year starts at 1
    assert Sequence.objects.get(key=domain.code_sequence_key("990000000", YEAR)).last_value == serial(b)


def test_code_never_changes_on_edit(user, client_as):
    clerk = user("school_clerk")
    p = project_create(actor=clerk, data=project_data())
    code = p.code
    project_update(actor=clerk, pk=p.pk, data=project_data(name="改名后的项目", unit_code="001001"))
    p.refresh_from_db()
    assert p.code == code and p.name == "改名后的项目"
    # the API has no way to send a code: it is ignored
    payload = {"unit_id": p.unit_id, "name": "再改名", "category": "3", "start_year": YEAR, "end_year": YEAR,
               "level": 1, "code": "990000" + YY + "9" * 13, "fund_nature_code": "111", "exp_func_code": "2050801"}
    r = client_as("school_clerk").put(f"/api/v1/projects/{p.pk}", data=json.dumps(payload),
                                      content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["code"] == code
    # nor the edit form
    form = {"unit": p.unit_id, "name": "表单改名", "category": "3", "level": "1", "start_year": YEAR,
            "end_year": YEAR, "code": "X" * 21, **{f"{pre}-TOTAL_FORMS": "0" for pre in ("plans", "costs",
                                                                                        "targets", "needs")},
            **{f"{pre}-INITIAL_FORMS": "0" for pre in ("plans", "costs", "targets", "needs")}}
    r = client_as("school_clerk").post(f"/projects/{p.pk}/edit/", form)
    assert r.status_code == 302, r.content.decode()[:3000]
    p.refresh_from_db()
    assert p.code == code and p.name == "表单改名"


def test_cost_lines_are_computed_from_the_standard(user):
    p = project_create(actor=user("school_clerk"), data=project_data(cost_lines=[
        CostLineData(year=YEAR, item="培训费", standard_id=standard("PX001").pk, unit_price=1, quantity=Decimal(40),
                     frequency=Decimal(3)),
        CostLineData(year=YEAR, item="资料费", unit_price=333, quantity=Decimal("0.5"), frequency=Decimal(1)),
    ]))
    training, material = CostLine.objects.filter(project=p).order_by("seq")
    # the typed price is ignored when a standard is chosen: 550 元 × 40 × 3
    assert (training.unit_price, training.amount, training.measure) == (55_000, 6_600_000, "人·天")
    assert training.dep_eco_code == "30216" and "PX001" in training.formula
    assert material.amount == 167  # 3.33 元 × 0.5 = 1.665 元, rounded half up to the fen
    assert p.plan_amount(YEAR) == 6_600_167 == p.total_amount
    assert p.plan_amount(YEAR + 1) == 0


def test_a_line_without_standard_needs_a_price(user):
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=user("school_clerk"), data=project_data(cost_lines=[
            CostLineData(year=YEAR, item="无标准无单价", quantity=Decimal(2))]))
    assert "cost_price_required" in {v.code for v in exc.value.violations}
    assert not Project.objects.filter(name="教师信息化能力提升培训").exists()


def test_multi_year_plans_and_the_estimate(user):
    """Years with an estimate must plan exactly the estimate; other years may be planned ahead freely."""
    clerk = user("school_clerk")
    data = project_data(end_year=YEAR + 2, year_plans={YEAR: None, YEAR + 1: 5_000_000, YEAR + 2: 3_000_000})
    p = project_create(actor=clerk, data=data)
    assert dict(p.year_plans.values_list("year", "amount")) == {YEAR: 7_600_000, YEAR + 1: 5_000_000,
                                                                 YEAR + 2: 3_000_000}
    assert p.total_amount == 15_600_000
    project_submit(actor=clerk, pk=p.pk)  # consistent: may be submitted

    typed = project_data(name="计划与测算不符", year_plans={YEAR: 7_000_000})
    q = project_create(actor=clerk, data=typed)
    assert q.total_amount == 7_000_000
    with pytest.raises(ValidationFailed) as exc:
        project_submit(actor=clerk, pk=q.pk)
    assert [v.code for v in exc.value.violations] == ["plan_cost_mismatch"]
    assert Project.objects.get(pk=q.pk).status == "draft"


def test_plans_outside_the_period_are_refused(user):
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=user("school_clerk"), data=project_data(year_plans={YEAR + 3: 100}))
    assert "plan_outside_period" in {v.code for v in exc.value.violations}


def test_submission_needs_targets_for_specific_projects_and_procurement_when_flagged(user):
    clerk = user("school_clerk")
    p = project_create(actor=clerk, data=project_data(targets=[], is_gov_pur=True))
    with pytest.raises(ValidationFailed) as exc:
        project_submit(actor=clerk, pk=p.pk)
    assert {v.code for v in exc.value.violations} == {"targets_required", "procurement_required"}
    # 其他运转类 needs no targets
    q = project_create(actor=clerk, data=project_data(category="22", targets=[]))
    project_submit(actor=clerk, pk=q.pk)
    assert Project.objects.get(pk=q.pk).status == "submitted"


def test_procurement_needs_and_asset_standard(user):
    clerk = user("school_clerk")
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=clerk, data=project_data(needs=[NeedData(kind="procurement", item="台式计算机",
                                                                        quantity=Decimal(10), unit_price=500_000)]))
    assert {v.code for v in exc.value.violations} == {"gov_pur_flag"}
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=clerk, data=project_data(is_gov_pur=True, needs=[
            NeedData(kind="asset", item="台式计算机", quantity=Decimal(10), unit_price=700_000,
                     standard_id=standard("ZC001").pk)]))
    assert {v.code for v in exc.value.violations} == {"asset_over_standard"}
    p = project_create(actor=clerk, data=project_data(is_gov_pur=True, needs=[
        NeedData(kind="procurement", item="台式计算机", quantity=Decimal(10), unit_price=550_000,
                 standard_id=standard("ZC001").pk, catalogue_code="A02010104")]))
    need = p.procurement_needs.get()
    assert need.amount == 5_500_000
    project_submit(actor=clerk, pk=p.pk)


def test_classification_must_be_leaf_codes(user):
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=user("school_clerk"), data=project_data(exp_func_code="20508", fund_nature_code="11",
                                                                     dep_eco_code="99999"))
    got = {(v.field, v.code) for v in exc.value.violations}
    assert got == {("exp_func_code", "classification_not_leaf"), ("fund_nature_code", "classification_not_leaf"),
                   ("dep_eco_code", "classification_unknown")}


def test_level_two_needs_a_first_level_parent_of_the_same_department(user, make_user):
    edu_clerk, clerk = user("edu_clerk"), user("school_clerk")
    policy = project_create(actor=edu_clerk, data=project_data(unit_code="001", name="教育现代化一级项目"))
    child = project_create(actor=clerk, data=project_data(level=2, parent_id=policy.pk, name="学校实施的二级项目"))
    assert child.parent_id == policy.pk and child.department_id == policy.department_id
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=clerk, data=project_data(level=2, parent_id=None))
    assert "parent_required" in {v.code for v in exc.value.violations}
    hospital = project_create(actor=user("hospital_clerk"), data=project_data(unit_code="002001", name="医院项目"))
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=user("hospital_clerk"),
                       data=project_data(unit_code="002001", level=2, parent_id=policy.pk))
    assert "parent_other_department" in {v.code for v in exc.value.violations}
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=clerk, data=project_data(level=2, parent_id=child.pk))
    assert "parent_invalid" in {v.code for v in exc.value.violations}
    assert hospital.level == 1


def test_transfer_projects_name_a_lower_region(user):
    edu_clerk = user("edu_clerk")
    p = project_create(actor=edu_clerk, data=project_data(unit_code="001", is_transfer=True,
                                                          transfer_region_code="990102000", name="对下转移支付"))
    assert p.is_transfer and p.transfer_region_code == "990102000"
    for bad in ("990000000", "123456789"):
        with pytest.raises(ValidationFailed) as exc:
            project_create(actor=edu_clerk, data=project_data(unit_code="001", is_transfer=True,
                                                              transfer_region_code=bad))
        assert "transfer_region_invalid" in {v.code for v in exc.value.violations}
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=edu_clerk, data=project_data(unit_code="001", is_transfer=True))
    assert "transfer_region_required" in {v.code for v in exc.value.violations}
