"""资产配置标准: refused with the standard named when a project's asset need or a procurement plan asks for more
than the standard allows a unit of that size (unit price cap; quantity per person in service, counting the cards
the unit already holds)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ibms.core.errors import ValidationFailed
from ibms.masterdata.models import ExpenditureStandard, Person
from ibms.procurement import hooks
from ibms.procurement.models import ProcurementPlan
from ibms.projects.domain import NeedData
from ibms.projects.services import project_create
from tests.projects.helpers import project_data
from tests.treasury.builders import school

from .builders import YEAR, opening


@pytest.mark.django_db
def test_standards_are_loaded_as_masterdata_for_each_year():
    std = ExpenditureStandard.objects.get(region_code="", fiscal_year=YEAR, code="ZCPZ-2010104")
    assert (std.category, std.amount) == ("asset", 500_000)


@pytest.mark.django_db
def test_project_asset_need_above_the_standard_is_refused_naming_it(user):
    clerk = user("school_clerk")
    with pytest.raises(ValidationFailed) as exc:
        project_create(actor=clerk, data=project_data(is_gov_pur=True, needs=[
            NeedData(kind="asset", item="台式计算机", quantity=Decimal(2), unit_price=650_000, catalogue_code="2010104")]))
    [v] = exc.value.violations
    assert v.code == "asset_over_standard" and "ZCPZ-2010104" in v.message and "台式计算机" in v.message
    p = project_create(actor=clerk, data=project_data(is_gov_pur=True, needs=[
        NeedData(kind="asset", item="台式计算机", quantity=Decimal(2), unit_price=480_000, catalogue_code="2010104")]))
    assert p.procurement_needs.count() == 1


@pytest.mark.django_db
def test_plan_check_refuses_above_price_and_above_the_units_size(clerk):
    unit = school()
    people = Person.objects.filter(unit=unit, is_active=True, status="in_service").count()
    plan = ProcurementPlan(unit=unit, asset_class="2010105", quantity=1, amount=800_000, name="笔记本电脑")
    [v] = hooks.run_plan_checks(plan)
    assert v.code == "asset_over_standard" and "ZCPZ-2010105" in v.message and "7,000.00" in v.message
    cap = int(Decimal("0.5") * people)
    opening(clerk, 600_000, asset_class="2010105", name="便携式计算机", quantity=max(cap, 1))
    plan = ProcurementPlan(unit=unit, asset_class="2010105", quantity=1, amount=600_000, name="笔记本电脑")
    [v] = hooks.run_plan_checks(plan)
    assert v.code == "asset_over_standard" and f"在职 {people} 人" in v.message
    ok = ProcurementPlan(unit=unit, asset_class="2061800", quantity=1, amount=400_000, name="空调")
    assert hooks.run_plan_checks(ok) == []
