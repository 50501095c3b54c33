"""The computed basic projects (基本支出): a unit's 人员类 project from its people and the salary rules,
and its 公用经费 project from the per-head standard; they enter the library directly."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.errors import Conflict, ValidationFailed, invalid
from ibms.core.numbering import next_value
from ibms.core.scoping import require_perm
from ibms.masterdata.models import ExpenditureStandard, Person, Unit
from ibms.masterdata.selectors import region_chain

from .. import domain
from ..domain import CostLineData, ProjectData
from ..models import BasicRule, FunctionDefault, Project, ReviewRecord
from ._common import S, _department_of, _event, _review_record, _unit_for_write
from .entry import _apply_fields, _next_priority, _replace_children, _validate

DEFAULT_BASIC_FUND_NATURE = "111"  # 一般公共预算资金: basic expenditure is funded from the general budget


def _rules(region_code: str, year: int) -> list[BasicRule]:
    """The year's rules, a region's own rule replacing an upper level's (or the national one) of the same code."""
    chain = region_chain(region_code)
    best: dict[str, BasicRule] = {}
    for r in BasicRule.objects.filter(fiscal_year=year, region_code__in=chain, is_active=True):
        if r.code not in best or len(r.region_code) > len(best[r.code].region_code):
            best[r.code] = r
    return sorted(best.values(), key=lambda r: (r.seq, r.code))


def _function_default(department: Unit, unit: Unit) -> str:
    chain = region_chain(unit.region_code)
    rows = sorted(FunctionDefault.objects.filter(region_code__in=chain),
                  key=lambda f: (-len(f.region_code), f.seq))
    for f in rows:
        if not f.keyword or f.keyword in department.name:
            return f.organ_func_code if unit.unit_type == "organ" else f.institution_func_code
    return ""


def _standard_for(code: str, region_code: str, year: int) -> ExpenditureStandard | None:
    """The nearest level's standard of that code for the year (falling back to the latest earlier year)."""
    chain = region_chain(region_code)
    rows = list(ExpenditureStandard.objects.filter(code=code, region_code__in=chain, fiscal_year__lte=year))
    return max(rows, key=lambda s: (s.fiscal_year, len(s.region_code)), default=None)


def basic_costs_estimate(unit: Unit, year: int) -> tuple[list[CostLineData], list[CostLineData], dict]:
    """The 人员类 and 公用经费 estimate lines of a unit, with how each amount was computed."""
    people = list(Person.objects.filter(unit=unit, is_active=True))
    active = [p for p in people if p.status == Person.Status.IN_SERVICE]
    retired = [p for p in people if p.status == Person.Status.RETIRED]
    rules = _rules(unit.region_code, year)
    personnel: list[CostLineData] = []
    salary_base = 0
    for r in rules:
        if r.kind not in (BasicRule.Kind.SALARY, BasicRule.Kind.RETIREE):
            continue
        group = active if r.kind == BasicRule.Kind.SALARY else retired
        fields = [f.strip() for f in r.person_fields.split("+") if f.strip()]
        monthly = sum(getattr(p, f) for p in group for f in fields)
        if not monthly:
            continue
        amount = monthly * r.months
        if r.kind == BasicRule.Kind.SALARY:
            salary_base += amount
        who = "在职" if r.kind == BasicRule.Kind.SALARY else "离退休"
        personnel.append(CostLineData(
            year=year, item=r.name, unit_price=monthly, quantity=Decimal(r.months), frequency=Decimal(1), measure="月",
            dep_eco_code=r.dep_eco_code,
            formula=f"{who} {len(group)} 人月{r.name}合计 {monthly / 100:,.2f} 元 × {r.months} 个月"))
    for r in rules:
        if r.kind != BasicRule.Kind.CONTRIBUTION or not salary_base or not r.rate:
            continue
        rate = Decimal(r.rate) / 100
        personnel.append(CostLineData(
            year=year, item=r.name, unit_price=salary_base, quantity=rate, frequency=Decimal(1), measure="元",
            dep_eco_code=r.dep_eco_code,
            formula=f"在职人员年工资总额 {salary_base / 100:,.2f} 元 × 单位缴费比例 {domain.fmt_qty(r.rate)}%"))
    operating: list[CostLineData] = []
    op_rule = next((r for r in rules if r.kind == BasicRule.Kind.OPERATING and r.unit_type == unit.unit_type), None)
    std = _standard_for(op_rule.standard_code, unit.region_code, year) if op_rule else None
    if std is not None and active:
        operating.append(CostLineData(
            year=year, item=std.name, standard_id=std.pk, quantity=Decimal(len(active)), frequency=Decimal(1),
            dep_eco_code=std.dep_eco_code,
            formula=f"{std.code} {std.name} {std.amount / 100:,.2f} 元/{std.measure} × 在职 {len(active)} 人 × 1 年"))
    facts = {"in_service": len(active), "retired": len(retired), "salary_base": salary_base,
             "standard": std.code if std else ""}
    return personnel, operating, facts


def project_generate_basic(*, actor, unit_id: int, year: int) -> list[Project]:
    """The unit's 人员类 project (salary items × months + employer contributions + retiree pay, from its people)
    and 公用经费 project (per-head standard × in-service headcount). Computed, not proposed, so they enter the
    library directly. Running it again for the same unit and year updates them (same code) instead of adding."""
    require_perm(actor, "projects.generate_project")
    with transaction.atomic(durable=True):
        unit = _unit_for_write(actor, unit_id)
        department = _department_of(unit)
        personnel, operating, facts = basic_costs_estimate(unit, year)
        if not personnel and not operating:
            raise invalid("no_basis", f"{unit.name}没有在职或离退休人员，无法测算基本支出")
        func = _function_default(department, unit)
        out = []
        for category, label, lines in ((domain.PERSONNEL, "人员经费", personnel), (domain.PUBLIC, "公用经费", operating)):
            if not lines:
                continue
            data = ProjectData(unit_id=unit.pk, name=f"{unit.name}{year}年{label}", category=category, start_year=year,
                               end_year=year, year=year, level=1, fund_nature_code=DEFAULT_BASIC_FUND_NATURE,
                               exp_func_code=func, dep_eco_code=lines[0].dep_eco_code, cost_lines=lines,
                               description=f"系统按人员信息和支出标准测算（在职 {facts['in_service']} 人，"
                                           f"离退休 {facts['retired']} 人）")
            violations, standards = _validate(data, unit, department, None)
            if violations:
                raise ValidationFailed(violations, message="基本支出项目测算失败")
            existing = (Project.objects.select_for_update()
                        .filter(unit=unit, year=year, category=category, origin=Project.Origin.GENERATED).first())
            if existing is None:
                p = Project(year=year, origin=Project.Origin.GENERATED, status=S.IN_LIBRARY, admitted_at=timezone.now())
                _apply_fields(p, data, unit, department)
                p.code = domain.project_code(unit.region_code, year,
                                             next_value(domain.code_sequence_key(unit.region_code, year)))
                p.priority = _next_priority(department.pk)
                p.save()
                _replace_children(p, data, standards)
                audit.record_change(p, "create")
                _review_record(p, actor=actor, action=ReviewRecord.Action.ADMIT, from_status=S.DRAFT,
                               to_status=S.IN_LIBRARY, step=None, reason="系统按人员和支出标准测算，直接入库")
                _event("basic_generated", p, f"测算入库 {p.code}", total=p.total_amount)
            else:
                p = existing
                if p.status != S.IN_LIBRARY:
                    raise Conflict("basic_locked", f"项目 {p.code} 已{p.get_status_display()}，不能重新测算")
                before = audit.snapshot(p)
                code = p.code
                _apply_fields(p, data, unit, department)
                p.code = code
                p.save()
                _replace_children(p, data, standards)
                audit.record_change(p, "update", before)
                _event("basic_regenerated", p, f"重新测算 {p.code}", total=p.total_amount)
            out.append(p)
        return out
