"""Excel layout of the project library (import template, import rows → ProjectData, list export) and the
basic-expenditure rules declared as resources (list/edit/import/export/API through core)."""

from __future__ import annotations

from django import forms

from ibms.core import clock
from ibms.core.errors import ValidationFailed, Violation
from ibms.core.excel import Column
from ibms.core.forms import ScopedModelForm
from ibms.core.resources import Resource, register

from .domain import ProjectData
from .models import BasicRule, FunctionDefault, Project
from .selectors import value_set_leaves

C = Column
PLAN_YEARS = 5  # amount columns of the import template: 第1年 … 第5年 (relative to the start year)
LEVELS = [("1", "一级项目"), ("2", "二级项目")]


def import_columns(year: int | None = None) -> list[Column]:
    """The category choices come from the value set pro_kind (its leaves in the year)."""
    kinds = value_set_leaves("pro_kind", year or clock.fiscal_year())
    return _columns(kinds or [(c.value, c.label) for c in Project.Category])


def _columns(kinds: list[tuple[str, str]]) -> list[Column]:
    return [
        C("category", "项目类别", required=True, kind="choice", choices=kinds, help="取自要素“项目类别”的末级代码"),
        C("level", "项目级次", required=True, kind="choice", choices=LEVELS),
        C("parent_code", "一级项目代码", max_length=21, help="二级项目必填：本部门已录入的一级项目的 21 位代码"),
        C("name", "项目名称", required=True, max_length=200),
        C("unit_code", "单位代码", required=True, max_length=21, help="本级预算单位代码，如 001001"),
        C("start_year", "开始年度", required=True, kind="int"),
        C("end_year", "结束年度", required=True, kind="int"),
        C("exp_func_code", "支出功能分类", required=True, max_length=20, help="末级（项）代码，如 2050203"),
        C("fund_nature_code", "资金性质", required=True, max_length=20, help="末级代码，如 111 一般公共预算资金"),
        C("dep_eco_code", "部门经济分类", max_length=20, help="末级（款）代码，如 30201"),
        C("is_gov_pur", "政府采购", kind="bool"),
        C("is_transfer", "转移支付项目", kind="bool"),
        C("transfer_region_code", "接收区划", max_length=9, help="转移支付项目必填：下级财政区划代码"),
        *[C(f"amount_{i}", f"第{i}年金额", kind="money", help=f"开始年度起第 {i} 年的支出计划（元）")
          for i in range(1, PLAN_YEARS + 1)],
        C("description", "项目概况", max_length=2000),
    ]


HEADERS: dict[str, str] = {c.key: c.header for c in _columns([("", "")])} | {
    "parent": "一级项目代码", "year_plans": "第1年金额", "unit": "单位代码", "cost_lines": "整行",
    "targets": "整行", "needs": "整行"}


def row_to_data(row: dict, units: dict) -> ProjectData:
    """One import row → ProjectData, or ValidationFailed naming the columns (units: code → Unit in scope)."""
    problems: list[Violation] = []
    unit = units.get(row.get("unit_code") or "")
    if unit is None:
        problems.append(Violation("unit_unknown", f"单位代码 {row.get('unit_code')} 不存在或不在本人权限范围内",
                                  "unit_code"))
    parent_id = None
    level = int(row.get("level") or 2)
    if row.get("parent_code"):
        parent = Project.objects.filter(code=row["parent_code"]).only("pk", "region_code").first()
        if parent is None or (unit is not None and parent.region_code != unit.region_code):
            problems.append(Violation("parent_unknown", f"一级项目代码 {row['parent_code']} 不存在", "parent_code"))
        else:
            parent_id = parent.pk
    start, end = row.get("start_year") or 0, row.get("end_year") or 0
    plans: dict[int, int | None] = {}
    for i in range(1, PLAN_YEARS + 1):
        amount = row.get(f"amount_{i}")
        if amount is None:
            continue
        if start + i - 1 > end:
            problems.append(Violation("plan_outside_period", f"第{i}年超出项目周期（{start}–{end}）", f"amount_{i}"))
        elif amount < 0:
            problems.append(Violation("amount_negative", "金额不能为负数", f"amount_{i}"))
        else:
            plans[start + i - 1] = amount
    if problems:
        raise ValidationFailed(problems)
    return ProjectData(
        unit_id=unit.pk, name=row.get("name") or "", category=row.get("category") or "", start_year=start,
        end_year=end, level=level, parent_id=parent_id, is_transfer=bool(row.get("is_transfer")),
        transfer_region_code=row.get("transfer_region_code") or "", fund_nature_code=row.get("fund_nature_code") or "",
        exp_func_code=row.get("exp_func_code") or "", dep_eco_code=row.get("dep_eco_code") or "",
        is_gov_pur=bool(row.get("is_gov_pur")), description=row.get("description") or "", year_plans=plans)


EXPORT_COLUMNS = [
    C("code", "项目代码"), C("name", "项目名称"), C("unit_code", "单位代码"), C("unit_name", "单位名称"),
    C("department_name", "主管部门"), C("category", "项目类别"), C("level", "项目级次"), C("status", "状态"),
    C("start_year", "开始年度", kind="int"), C("end_year", "结束年度", kind="int"),
    C("exp_func_code", "支出功能分类"), C("fund_nature_code", "资金性质"), C("dep_eco_code", "部门经济分类"),
    C("is_gov_pur", "政府采购", kind="bool"), C("is_transfer", "转移支付", kind="bool"),
    C("transfer_region_code", "接收区划"), C("priority", "排序", kind="int"), C("total_amount", "项目总额", kind="money"),
    C("plans", "分年度计划"),
]


def export_row(p: Project) -> dict:
    plans = "；".join(f"{y.year}年 {y.amount / 100:,.2f}" for y in p.year_plans.all())
    return {"code": p.code, "name": p.name, "unit_code": p.unit.code, "unit_name": p.unit.name,
            "department_name": p.department.name, "category": p.get_category_display(),
            "level": p.get_level_display(), "status": p.get_status_display(), "start_year": p.start_year,
            "end_year": p.end_year, "exp_func_code": p.exp_func_code, "fund_nature_code": p.fund_nature_code,
            "dep_eco_code": p.dep_eco_code, "is_gov_pur": p.is_gov_pur, "is_transfer": p.is_transfer,
            "transfer_region_code": p.transfer_region_code, "priority": p.priority, "total_amount": p.total_amount,
            "plans": plans}


# --- the rules of the computed basic projects, maintained as reference data ---------------------

def _national_or_own(obj, user) -> None:
    if obj._state.adding and not obj.region_code:
        obj.region_code = getattr(user, "region_code", "") or ""


class BasicRuleForm(ScopedModelForm):
    class Meta:
        model = BasicRule
        fields = ["fiscal_year", "kind", "code", "name", "dep_eco_code", "person_fields", "months", "rate",
                  "unit_type", "standard_code", "seq", "is_active"]


class FunctionDefaultForm(ScopedModelForm):
    keyword = forms.CharField(label="部门名称关键字", max_length=20, required=False)

    class Meta:
        model = FunctionDefault
        fields = ["keyword", "organ_func_code", "institution_func_code", "seq"]


register(Resource(
    model=BasicRule, slug="project-basic-rules", title="基本支出测算规则", form=BasicRuleForm, group="项目库",
    list_fields=["code", "name", "fiscal_year", "kind", "dep_eco_code", "rate", "unit_type", "standard_code",
                 "region_code", "is_active"],
    filter_fields=["fiscal_year", "kind"], search_fields=["code", "name"], prepare=_national_or_own,
    natural_key=["fiscal_year", "code"],
    excel=[C("fiscal_year", "年度", required=True, kind="int"),
           C("kind", "类型", required=True, kind="choice", choices=BasicRule.Kind.choices),
           C("code", "规则代码", required=True, max_length=20), C("name", "名称", required=True, max_length=60),
           C("dep_eco_code", "部门经济分类", max_length=20), C("person_fields", "人员工资字段", max_length=120),
           C("months", "月数", kind="int"), C("rate", "缴费比例（%）"), C("unit_type", "适用单位类型", max_length=12),
           C("standard_code", "支出标准代码", max_length=20), C("seq", "顺序", kind="int"),
           C("is_active", "启用", kind="bool")],
))

register(Resource(
    model=FunctionDefault, slug="project-function-defaults", title="基本支出功能分类默认值", form=FunctionDefaultForm,
    group="项目库", list_fields=["keyword", "organ_func_code", "institution_func_code", "seq", "region_code"],
    search_fields=["keyword"], prepare=_national_or_own, natural_key=["keyword"],
    excel=[C("keyword", "部门名称关键字", max_length=20), C("organ_func_code", "行政单位功能分类", required=True),
           C("institution_func_code", "事业单位功能分类", required=True), C("seq", "顺序", kind="int")],
))
