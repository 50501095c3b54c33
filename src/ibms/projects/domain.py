"""Pure rules of the project library on plain values: the code format, cost arithmetic, what a project
needs before it may be submitted, and where each approval step leaves a project. No database here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ibms.core.errors import Violation

CODE_LENGTH = 21
SERIAL_WIDTH = 13
MAX_PERIOD_YEARS = 10

PERSONNEL, PUBLIC, OTHER_OPERATING, SPECIFIC = "1", "21", "22", "3"
BASIC_CATEGORIES = {PERSONNEL, PUBLIC, OTHER_OPERATING}  # 基本支出; 特定目标类 are 项目支出

# where a project is while step k (1-based) of its chain waits; after the last step it is in the library
SUBMITTED, DEPT_REVIEWED, FINANCE_REVIEWED, IN_LIBRARY = "submitted", "dept_reviewed", "finance_reviewed", "in_library"
REVIEW_STATUSES = (SUBMITTED, DEPT_REVIEWED, FINANCE_REVIEWED)


def project_code(region_code: str, year: int, serial: int) -> str:
    """6-digit region + 2-digit year + 13-digit serial (gap-free per region and year): 21 characters."""
    if not (1 <= serial < 10**SERIAL_WIDTH):
        raise ValueError(f"project serial out of range: {serial}")
    return f"{region_code[:6]}{year % 100:02d}{serial:0{SERIAL_WIDTH}d}"


def code_sequence_key(region_code: str, year: int) -> str:
    return f"project-code:{region_code[:6]}:{year % 100:02d}"


def cost_amount(unit_price: int, quantity: Decimal, frequency: Decimal) -> int:
    """Standard (fen) × quantity × frequency, rounded half-up to the fen. Decimal throughout, never float."""
    return int((Decimal(unit_price) * Decimal(quantity) * Decimal(frequency)).quantize(Decimal(1), ROUND_HALF_UP))


def fmt_qty(value: Decimal) -> str:
    """2.50 → '2.5', 12.00 → '12'."""
    return format(Decimal(value).normalize(), "f")


@dataclass
class CostLineData:
    year: int
    item: str
    quantity: Decimal = Decimal(1)
    frequency: Decimal = Decimal(1)
    standard_id: int | None = None
    unit_price: int = 0  # fen; only used when no standard is chosen
    measure: str = ""
    dep_eco_code: str = ""
    formula: str = ""


@dataclass
class TargetData:
    kind: str  # output | benefit | satisfaction
    name: str
    value: str
    measure: str = ""
    sub_kind: str = ""
    operator: str = "≥"


@dataclass
class NeedData:
    kind: str  # procurement | asset
    item: str
    quantity: Decimal = Decimal(1)
    unit_price: int = 0
    catalogue_code: str = ""
    standard_id: int | None = None
    existing_quantity: Decimal = Decimal(0)
    remark: str = ""


@dataclass
class ProjectData:
    """What a person (or an import row) enters. Amounts in fen; codes as text."""

    unit_id: int
    name: str
    category: str
    start_year: int
    end_year: int
    year: int | None = None  # 申报年度; defaults to start_year
    level: int = 2
    parent_id: int | None = None
    is_transfer: bool = False
    transfer_region_code: str = ""
    fund_nature_code: str = ""
    exp_func_code: str = ""
    dep_eco_code: str = ""
    is_gov_pur: bool = False
    description: str = ""
    basis: str = ""
    year_plans: dict[int, int | None] = field(default_factory=dict)  # None = take the cost estimate
    cost_lines: list[CostLineData] = field(default_factory=list)
    targets: list[TargetData] = field(default_factory=list)
    needs: list[NeedData] = field(default_factory=list)


def shape_violations(d: ProjectData) -> list[Violation]:
    """What can be checked without the database."""
    out: list[Violation] = []
    if not d.name.strip():
        out.append(Violation("name_required", "项目名称不能为空", "name"))
    if d.end_year < d.start_year:
        out.append(Violation("years_order", "结束年度不能早于开始年度", "end_year"))
    elif d.end_year - d.start_year + 1 > MAX_PERIOD_YEARS:
        out.append(Violation("period_too_long", f"项目周期不能超过 {MAX_PERIOD_YEARS} 年", "end_year"))
    if d.level not in (1, 2):
        out.append(Violation("level_invalid", "项目级次只能是一级或二级", "level"))
    if d.level == 2 and not d.parent_id:
        out.append(Violation("parent_required", "二级项目必须选择所属的一级项目", "parent"))
    if d.level == 1 and d.parent_id:
        out.append(Violation("parent_not_allowed", "一级项目不能有上级项目", "parent"))
    if d.is_transfer and not d.transfer_region_code.strip():
        out.append(Violation("transfer_region_required", "转移支付项目必须填写接收区划", "transfer_region_code"))
    if not d.is_transfer and d.transfer_region_code.strip():
        out.append(Violation("transfer_region_not_allowed", "非转移支付项目不能填写接收区划", "transfer_region_code"))
    for y, amount in d.year_plans.items():
        if not (d.start_year <= y <= d.end_year):
            out.append(Violation("plan_outside_period", f"{y}年度不在项目周期（{d.start_year}–{d.end_year}）内",
                                 "year_plans"))
        if amount is not None and amount < 0:
            out.append(Violation("amount_negative", f"{y}年度计划金额不能为负数", "year_plans"))
    for i, c in enumerate(d.cost_lines, 1):
        if not c.item.strip():
            out.append(Violation("cost_item_required", f"第 {i} 条测算的测算内容不能为空", "cost_lines"))
        if not (d.start_year <= c.year <= d.end_year):
            out.append(Violation("cost_outside_period", f"第 {i} 条测算的年度 {c.year} 不在项目周期内", "cost_lines"))
        if c.quantity <= 0 or c.frequency <= 0:
            out.append(Violation("cost_quantity", f"第 {i} 条测算的数量和频次必须大于 0", "cost_lines"))
        if c.standard_id is None and c.unit_price <= 0:
            out.append(Violation("cost_price_required", f"第 {i} 条测算未选支出标准，须填写单价", "cost_lines"))
    for i, t in enumerate(d.targets, 1):
        if t.kind not in ("output", "benefit", "satisfaction"):
            out.append(Violation("target_kind", f"第 {i} 条绩效目标的一级指标无效", "targets"))
        if not t.name.strip() or not t.value.strip():
            out.append(Violation("target_incomplete", f"第 {i} 条绩效目标须填写指标名称和指标值", "targets"))
    for i, n in enumerate(d.needs, 1):
        if n.kind not in ("procurement", "asset"):
            out.append(Violation("need_kind", f"第 {i} 条采购/资产需求的类型无效", "needs"))
        if not n.item.strip():
            out.append(Violation("need_item", f"第 {i} 条采购/资产需求须填写名称", "needs"))
        if n.quantity <= 0 or n.unit_price < 0:
            out.append(Violation("need_amount", f"第 {i} 条采购/资产需求的数量须大于 0、单价不能为负", "needs"))
    if any(n.kind == "procurement" for n in d.needs) and not d.is_gov_pur:
        out.append(Violation("gov_pur_flag", "填写了政府采购需求的项目须勾选“政府采购”", "is_gov_pur"))
    return out


def cost_by_year(lines: list[tuple[int, int]]) -> dict[int, int]:
    """[(year, amount)] → {year: sum}."""
    out: dict[int, int] = defaultdict(int)
    for y, amount in lines:
        out[y] += amount
    return dict(out)


def fill_plans(plans: dict[int, int | None], costs: dict[int, int]) -> dict[int, int]:
    """A year left blank takes its cost estimate; a typed year is kept as typed (checked at submission)."""
    out = {y: a for y, a in plans.items() if a is not None}
    for y, amount in costs.items():
        if plans.get(y) is None:
            out[y] = amount
    return dict(sorted(out.items()))


def submission_violations(*, category: str, plans: dict[int, int], costs: dict[int, int], target_count: int,
                          is_gov_pur: bool, procurement_count: int) -> list[Violation]:
    """Before submission (入库要件): a cost estimate, year plans equal to it for every estimated year, a
    positive total, performance targets for 特定目标类, and a procurement need when flagged 政府采购."""
    out: list[Violation] = []
    if not costs:
        out.append(Violation("cost_required", "项目须有支出测算才能申报", "cost_lines"))
    for y, amount in sorted(costs.items()):
        if plans.get(y, 0) != amount:
            out.append(Violation("plan_cost_mismatch", f"{y}年度支出计划与支出测算合计不一致", "year_plans"))
    if sum(plans.values()) <= 0:
        out.append(Violation("total_required", "项目总额须大于 0", "year_plans"))
    if category == SPECIFIC and target_count == 0:
        out.append(Violation("targets_required", "特定目标类项目须填写绩效目标", "targets"))
    if is_gov_pur and procurement_count == 0:
        out.append(Violation("procurement_required", "政府采购项目须填写采购需求", "needs"))
    return out


def pending_status(holders: list[str], step: int) -> str:
    """The status while step `step` (1-based) waits: submitted for the first step, else what the previous
    approval left (a department step leaves 主管部门已审, a finance step 财政已审)."""
    return SUBMITTED if step <= 1 else approved_status(holders, step - 1)


def approved_status(holders: list[str], step: int) -> str:
    if step >= len(holders):
        return IN_LIBRARY
    return {"finance": FINANCE_REVIEWED, "department": DEPT_REVIEWED}.get(holders[step - 1], SUBMITTED)
