"""A budget line's values: what a person enters (`LineData`) checked against the project library and the
classifications, every problem at once, and turned into the model's fields."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ibms.core.errors import ValidationFailed, Violation, invalid
from ibms.core.money import Fen
from ibms.masterdata.models import Region, Unit
from ibms.masterdata.selectors import classification_violation, gov_eco_for, is_sangong, sangong_eco_codes
from ibms.projects.models import Project
from ibms.projects.selectors import budgetable_projects

from .. import domain
from ..models import BudgetLine, BudgetRound
from ..setup import defaults, revenue_fund_natures
from ._common import _department_of


@dataclass(kw_only=True)
class LineData:
    """What a person enters for a budget line. Blank classification takes the project's."""

    direction: str = BudgetLine.Direction.EXPENDITURE
    unit_id: int | None = None
    project_id: int | None = None
    revenue_code: str = ""
    fund_nature_code: str = ""
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""
    amount: Fen  # fen (the API's schema, built from this class, takes a yuan string)
    is_gov_pur: bool | None = None
    sub_region_code: str = ""
    transfer_type_code: str = ""
    remark: str = ""

    @classmethod
    def of(cls, line: BudgetLine) -> LineData:
        return cls(**{f.name: getattr(line, f.name) for f in fields(cls)})


class _Codes:
    """Classification look-ups of one service call, cached: generating a department's lines asks the same
    questions for every line."""

    def __init__(self, year: int, region_code: str):
        self.year, self.region_code = year, region_code
        self._leaf: dict[tuple[str, str], Violation | None] = {}
        self._gov: dict[tuple[str, str], str | None] = {}
        self._sangong: frozenset[str] | None = None
        self._regions: dict[str, Region | None] = {}

    def leaf_problem(self, value_set: str, code: str) -> Violation | None:
        key = (value_set, code)
        if key not in self._leaf:
            self._leaf[key] = classification_violation(value_set, code, fiscal_year=self.year,
                                                       region_code=self.region_code)
        return self._leaf[key]

    def gov_eco(self, dep: str, unit_type: str) -> str | None:
        key = (dep, unit_type)
        if key not in self._gov:
            self._gov[key] = gov_eco_for(dep, unit_type, fiscal_year=self.year, region_code=self.region_code)
        return self._gov[key]

    def is_sangong(self, dep: str) -> bool:
        """三公 follows the economic class (masterdata), never the caller: a line cannot set or clear it."""
        if self._sangong is None:
            self._sangong = sangong_eco_codes(fiscal_year=self.year, region_code=self.region_code)
        return is_sangong(dep, fiscal_year=self.year, codes=self._sangong)

    def region(self, code: str) -> Region | None:
        if code not in self._regions:
            self._regions[code] = Region.objects.filter(code=code).first()
        return self._regions[code]


def _resolve(actor, rnd: BudgetRound, data: LineData, codes: _Codes | None = None) -> dict:
    """Validate a line against the library and the classifications; every problem at once. Returns the model
    fields (classification defaults from the project, government economic class from the mapping)."""
    v: list[Violation] = []
    year, region = rnd.year, rnd.region_code
    codes = codes or _Codes(year, region)
    direction = data.direction
    if direction not in BudgetLine.Direction.values:
        raise invalid("direction_invalid", "收支方向只能是收入或支出", "direction")
    unit = None
    if data.unit_id:
        unit = Unit.objects.filter(pk=data.unit_id, region_code=region, is_active=True).first()
        if unit is None:
            v.append(Violation("unit_unknown", "单位不存在或不属于本级", "unit_id"))
    if data.amount is None or data.amount <= 0:
        v.append(Violation("amount_invalid", "金额必须大于零", "amount"))
    out: dict = {"direction": direction, "amount": data.amount, "remark": (data.remark or "")[:200],
                 "revenue_code": "", "exp_kind": "", "exp_func_code": "", "dep_eco_code": "", "gov_eco_code": "",
                 "is_transfer": False, "sub_region_code": "", "transfer_type_code": "", "is_sangong": False,
                 "is_gov_pur": bool(data.is_gov_pur), "project": None}

    def leaf(value_set: str, code: str, field: str, label: str) -> None:
        if not code:
            v.append(Violation(f"{field}_required", f"{label}不能为空", field))
            return
        problem = codes.leaf_problem(value_set, code)
        if problem:
            v.append(Violation(problem.code, f"{label}：{problem.message}", field))

    if direction == BudgetLine.Direction.REVENUE:
        if data.project_id:
            v.append(Violation("revenue_project", "收入预算不对应项目", "project_id"))
        if unit is None and not data.unit_id:
            v.append(Violation("unit_required", "请选择单位", "unit_id"))
        code = (data.revenue_code or "").strip()
        leaf("bgt_revenue", code, "revenue_code", "收入来源")
        fund = (data.fund_nature_code or "").strip() or revenue_fund_natures().get(code, "")
        leaf("fund_type", fund, "fund_nature_code", "资金性质")
        out.update(revenue_code=code, fund_nature_code=fund)
    else:
        project = None
        if not data.project_id:
            v.append(Violation("project_required", "支出预算必须选择项目库中的项目（无项目不预算）", "project_id"))
        else:
            project = (budgetable_projects(actor, year).filter(pk=data.project_id, region_code=region)
                       .select_related("unit").first())
            if project is None:
                seen = Project.objects.restrict(actor).filter(pk=data.project_id).first()
                if seen is None:
                    v.append(Violation("project_not_in_library", "项目不存在或不在项目库中，不能编入预算", "project_id"))
                elif seen.region_code != region:
                    v.append(Violation("project_not_in_library", f"项目 {seen.code} 不属于本级财政区划", "project_id"))
                else:
                    v.append(Violation("project_not_in_library",
                                       f"项目 {seen.code or ''} {seen.name} 当前状态为“{seen.get_status_display()}”，"
                                       f"或项目周期（{seen.start_year}–{seen.end_year}）不含 {year} 年度，"
                                       f"未入库的项目不能编入预算", "project_id"))
        if project is not None:
            if unit is None and not data.unit_id:
                unit = project.unit
            elif unit is not None and unit.pk != project.unit_id:
                v.append(Violation("project_unit_mismatch", f"项目 {project.code} 属于 {project.unit.name}，"
                                                            f"不能编入其他单位的预算", "unit_id"))
            kind = domain.exp_kind_for(project.category)
            if kind is None:
                v.append(Violation("project_category", f"项目类别 {project.category} 不能编入支出预算", "project_id"))
            func = (data.exp_func_code or "").strip() or project.exp_func_code
            if project.exp_func_code and func != project.exp_func_code:
                v.append(Violation("exp_func_mismatch", f"支出功能分类 {func} 与项目的功能分类 "
                                                        f"{project.exp_func_code} 不一致", "exp_func_code"))
            dep = (data.dep_eco_code or "").strip() or project.dep_eco_code
            fund = (data.fund_nature_code or "").strip() or project.fund_nature_code
            out.update(project=project, exp_kind=kind or "", exp_func_code=func, dep_eco_code=dep,
                       fund_nature_code=fund, is_gov_pur=project.is_gov_pur if data.is_gov_pur is None
                       else bool(data.is_gov_pur))
            leaf("exp_func", func, "exp_func_code", "支出功能分类")
            if func and len(func) < 7:
                v.append(Violation("exp_func_not_xiang", f"支出功能分类 {func} 必须细化到项（7 位）", "exp_func_code"))
            leaf("dep_eco", dep, "dep_eco_code", "部门经济分类")
            leaf("fund_type", fund, "fund_nature_code", "资金性质")
            gov = (data.gov_eco_code or "").strip()
            mapped = codes.gov_eco(dep, unit.unit_type) if dep and unit else None
            if project.is_transfer:
                mapped = defaults().get("transfer_gov_eco_code") or mapped
            if gov and mapped and gov != mapped:
                v.append(Violation("gov_eco_mismatch", f"政府经济分类 {gov} 与部门经济分类 {dep} 不对应"
                                                       f"（{unit.get_unit_type_display()}应为 {mapped}）", "gov_eco_code"))
            gov = gov or mapped or ""
            if not gov and dep:
                v.append(Violation("gov_eco_required", f"部门经济分类 {dep} 没有对照的政府经济分类，请填写",
                                   "gov_eco_code"))
            elif gov:
                leaf("gov_eco", gov, "gov_eco_code", "政府经济分类")
            out["gov_eco_code"] = gov
            out["is_sangong"] = codes.is_sangong(dep)
            sub = (data.sub_region_code or "").strip()
            if project.is_transfer:
                sub = sub or project.transfer_region_code
                target, mine = codes.region(sub), codes.region(region)
                if target is None or target.code == region or not target.path.startswith(mine.path):
                    v.append(Violation("sub_region_invalid", f"接收区划 {sub} 不是本级的下级区划", "sub_region_code"))
                ttype = (data.transfer_type_code or "").strip() or defaults().get("transfer_type_code", "")
                leaf("transfer_type", ttype, "transfer_type_code", "转移支付类型")
                out.update(is_transfer=True, sub_region_code=sub, transfer_type_code=ttype)
            elif sub or data.transfer_type_code:
                v.append(Violation("not_transfer", "非转移支付项目不能填写接收区划或转移支付类型", "sub_region_code"))
    if v:
        raise ValidationFailed(v, "预算明细不符合要求")
    out["unit"] = unit
    out["department"] = _department_of(unit)
    out["unit_path"] = unit.path
    out["region_code"] = region
    return out
