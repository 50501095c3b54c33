"""Shared helpers for the project-library tests: a complete 特定目标类 project of 第一实验中学 (unit 001001 in the
province 990000000) that can be submitted as it is."""

from __future__ import annotations

from decimal import Decimal

from ibms.core import clock
from ibms.core.models import TodoItem
from ibms.masterdata.models import ExpenditureStandard, Unit
from ibms.projects.domain import CostLineData, ProjectData, TargetData
from ibms.projects.setup import PROJECT_DOC

PROVINCE, COUNTY = "990000000", "990102000"
YEAR = clock.fiscal_year()


def unit(code: str, region: str = PROVINCE) -> Unit:
    return Unit.objects.get(region_code=region, code=code)


def standard(code: str) -> ExpenditureStandard:
    return ExpenditureStandard.objects.get(region_code=PROVINCE, fiscal_year=YEAR, code=code)


def project_data(unit_code: str = "001001", region: str = PROVINCE, **overrides) -> ProjectData:
    """A 特定目标类 一级 project, one year, estimated with the training standard PX001 (550 元/人·天) × 40 人 × 3 天
    = 66,000 元 plus a typed line 2,000 元 × 5 × 1 = 10,000 元: 76,000 元."""
    fields = dict(
        unit_id=unit(unit_code, region).pk, name="教师信息化能力提升培训", category="3", start_year=YEAR,
        end_year=YEAR, level=1, fund_nature_code="111", exp_func_code="2050801", dep_eco_code="30216",
        cost_lines=[
            CostLineData(year=YEAR, item="培训费", standard_id=standard("PX001").pk, quantity=Decimal(40),
                         frequency=Decimal(3)),
            CostLineData(year=YEAR, item="讲课费", unit_price=200_000, quantity=Decimal(5), measure="课时",
                         dep_eco_code="30227"),
        ],
        targets=[TargetData(kind="output", name="培训教师人数", value="40", measure="人", sub_kind="数量指标"),
                 TargetData(kind="satisfaction", name="参训教师满意度", value="90", measure="%")],
    )
    fields.update(overrides)
    return ProjectData(**fields)


def open_todos(project) -> list[TodoItem]:
    return list(TodoItem.objects.filter(doc_type=PROJECT_DOC, object_id=str(project.pk), status="open"))
