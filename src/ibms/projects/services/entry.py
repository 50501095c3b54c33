"""Entering and editing a project with its parts (year plans, cost lines, targets, procurement needs),
and the all-or-nothing Excel import."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from ibms.core import audit
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.numbering import next_value
from ibms.core.scoping import VIEW, require_perm
from ibms.core.services import ImportFailed, RowProblem
from ibms.masterdata.models import ExpenditureStandard, Region, Unit
from ibms.masterdata.selectors import classification_violation, region_chain

from .. import domain
from ..domain import CostLineData, ProjectData
from ..models import CostLine, PerformanceTarget, ProcurementNeed, Project, ProjectYearPlan
from ..resources import HEADERS, row_to_data
from ._common import S, _department_of, _event, _project_for_change, _unit_for_write

CHILD_MODELS = (ProjectYearPlan, CostLine, PerformanceTarget, ProcurementNeed)


def _classification(value_set: str, code: str, year: int, region_code: str, field: str,
                    required: bool = False, label: str = "") -> list[Violation]:
    if not code:
        return [Violation(f"{field}_required", f"{label}不能为空", field)] if required else []
    v = classification_violation(value_set, code, fiscal_year=year, region_code=region_code, field=field)
    return [v] if v else []


def _standards(ids: set[int], region_code: str) -> dict[int, ExpenditureStandard]:
    """Standards visible from the region (its own and its upper levels', national '')."""
    if not ids:
        return {}
    return {s.pk: s for s in ExpenditureStandard.objects.filter(pk__in=ids, region_code__in=region_chain(region_code))}


def _validate(data: ProjectData, unit: Unit, department: Unit, instance: Project | None
              ) -> tuple[list[Violation], dict[int, ExpenditureStandard]]:
    region = unit.region_code
    year = data.year or data.start_year
    out = domain.shape_violations(data)
    out += _classification("pro_kind", data.category, year, region, "category", True, "项目类别")
    out += _classification("fund_type", data.fund_nature_code, year, region, "fund_nature_code")
    out += _classification("exp_func", data.exp_func_code, year, region, "exp_func_code")
    out += _classification("dep_eco", data.dep_eco_code, year, region, "dep_eco_code")
    if data.level == 2 and data.parent_id:
        parent = Project.objects.filter(pk=data.parent_id, region_code=region).first()
        if parent is None or parent.level != 1:
            out.append(Violation("parent_invalid", "所属一级项目不存在或不是一级项目", "parent"))
        elif parent.department_id != department.pk:
            out.append(Violation("parent_other_department", "二级项目只能挂在本部门的一级项目下", "parent"))
        elif parent.status in (S.CLOSED, S.TERMINATED):
            out.append(Violation("parent_closed", "所属一级项目已结项或终止", "parent"))
        elif instance is not None and parent.pk == instance.pk:
            out.append(Violation("parent_self", "项目不能挂在自身下", "parent"))
    if instance is not None and data.level == 2 and instance.children.exists():
        out.append(Violation("has_children", "已有二级项目的一级项目不能改为二级项目", "level"))
    if data.is_transfer and data.transfer_region_code:
        below = Region.objects.filter(code=data.transfer_region_code, path__contains=f"/{region}/").exclude(
            code=region).exists()
        if not below:
            out.append(Violation("transfer_region_invalid", f"接收区划 {data.transfer_region_code} 不是本级的下级区划",
                                 "transfer_region_code"))
    wanted = {c.standard_id for c in data.cost_lines if c.standard_id} | {n.standard_id for n in data.needs
                                                                          if n.standard_id}
    standards = _standards(wanted, region)
    for i, c in enumerate(data.cost_lines, 1):
        if c.standard_id and c.standard_id not in standards:
            out.append(Violation("standard_unknown", f"第 {i} 条测算选择的支出标准不存在或不适用本级", "cost_lines"))
        if c.dep_eco_code:
            out += _classification("dep_eco", c.dep_eco_code, year, region, "cost_lines")
    for i, n in enumerate(data.needs, 1):
        std = standards.get(n.standard_id) if n.standard_id else None
        if std is None and not n.standard_id and n.kind == "asset":
            std = _asset_standard(n.catalogue_code, unit, year)
        if n.standard_id and std is None:
            out.append(Violation("standard_unknown", f"第 {i} 条资产需求选择的配置标准不存在或不适用本级", "needs"))
        elif std is not None and n.unit_price > std.amount:
            out.append(Violation("asset_over_standard", f"第 {i} 条资产需求单价 {n.unit_price / 100:,.2f} 元超过资产配置标准"
                                                        f"《{std.name}》（{std.code}）规定的 {std.amount / 100:,.2f} "
                                                        f"{std.measure}", "needs"))
    return out, standards


def _asset_standard(asset_class: str, unit: Unit, year: int) -> ExpenditureStandard | None:
    """The 资产配置标准 of an asset need's class when none was chosen: category asset, code `ZCPZ-<class prefix>`
    (data/assets/config_standards.csv), the longest class prefix, the unit's type before any, nearest level."""
    code = (asset_class or "").strip()
    if not code:
        return None
    wanted = [f"ZCPZ-{code[:k]}" for k in range(len(code), 0, -1)]
    rows = list(ExpenditureStandard.objects.filter(
        category=ExpenditureStandard.Category.ASSET, code__in=wanted, fiscal_year__lte=year,
        region_code__in=region_chain(unit.region_code), unit_type__in=["", unit.unit_type]))
    return max(rows, key=lambda s: (len(s.code), bool(s.unit_type), s.fiscal_year, len(s.region_code)), default=None)


def _cost_line(p: Project, seq: int, c: CostLineData, standards: dict[int, ExpenditureStandard]) -> CostLine:
    std = standards.get(c.standard_id) if c.standard_id else None
    price = std.amount if std else c.unit_price  # a chosen standard fixes the price: computed, not typed
    measure = std.measure if std else c.measure
    eco = c.dep_eco_code or (std.dep_eco_code if std else "")
    amount = domain.cost_amount(price, c.quantity, c.frequency)
    basis = f"{std.code} {std.name}" if std else "单价"
    formula = c.formula or (f"{basis} {price / 100:,.2f}元/{measure or '单位'} × 数量 {domain.fmt_qty(c.quantity)}"
                            f" × 频次 {domain.fmt_qty(c.frequency)}")
    return CostLine(project=p, region_code=p.region_code, year=c.year, seq=seq, item=c.item.strip()[:120],
                    dep_eco_code=eco, standard=std, unit_price=price, measure=measure[:20], quantity=c.quantity,
                    frequency=c.frequency, amount=amount, formula=formula[:300])


def _replace_children(p: Project, data: ProjectData, standards: dict[int, ExpenditureStandard]) -> None:
    """Children are written only with their project: the old set is deleted and the new one created, both audited."""
    for model in CHILD_MODELS:
        old = list(model.objects.filter(project=p))
        if old:
            before = audit.snapshot_rows(model, [o.pk for o in old])
            model.objects.filter(pk__in=[o.pk for o in old]).delete()
            audit.record_changes(old, "delete", before)
    lines = [_cost_line(p, i, c, standards) for i, c in enumerate(data.cost_lines, 1)]
    costs = domain.cost_by_year([(c.year, c.amount) for c in lines])
    plans = domain.fill_plans(data.year_plans, costs)
    children: list = [ProjectYearPlan(project=p, region_code=p.region_code, year=y, amount=a)
                      for y, a in plans.items()]
    children += lines
    children += [PerformanceTarget(project=p, region_code=p.region_code, kind=t.kind, sub_kind=t.sub_kind[:40],
                                   name=t.name.strip()[:120], operator=t.operator[:4], value=t.value.strip()[:40],
                                   measure=t.measure[:20]) for t in data.targets]
    children += [ProcurementNeed(project=p, region_code=p.region_code, kind=n.kind, item=n.item.strip()[:120],
                                 catalogue_code=n.catalogue_code[:30], quantity=n.quantity, unit_price=n.unit_price,
                                 amount=domain.cost_amount(n.unit_price, n.quantity, Decimal(1)),
                                 standard=standards.get(n.standard_id) if n.standard_id else None,
                                 existing_quantity=n.existing_quantity, remark=n.remark[:200]) for n in data.needs]
    for model in CHILD_MODELS:
        rows = [c for c in children if isinstance(c, model)]
        if rows:
            for r in rows:
                r.save()
            audit.record_changes(rows, "create")
    total = sum(plans.values())
    if p.total_amount != total:
        Project.objects.filter(pk=p.pk).update(total_amount=total)
        p.total_amount = total


def _apply_fields(p: Project, data: ProjectData, unit: Unit, department: Unit) -> None:
    p.unit, p.department, p.unit_path, p.region_code = unit, department, unit.path, unit.region_code
    p.name = data.name.strip()[:200]
    p.category, p.level = data.category, data.level
    p.parent_id = data.parent_id if data.level == 2 else None
    p.is_transfer, p.transfer_region_code = data.is_transfer, data.transfer_region_code.strip()
    p.start_year, p.end_year = data.start_year, data.end_year
    p.fund_nature_code, p.exp_func_code, p.dep_eco_code = data.fund_nature_code, data.exp_func_code, data.dep_eco_code
    p.is_gov_pur, p.description, p.basis = data.is_gov_pur, data.description, data.basis


def _next_priority(department_id: int) -> int:
    return (Project.objects.filter(department_id=department_id).aggregate(m=Max("priority"))["m"] or 0) + 1


def _create(actor, data: ProjectData, origin: str) -> Project:
    unit = _unit_for_write(actor, data.unit_id)
    department = _department_of(unit)
    violations, standards = _validate(data, unit, department, None)
    if violations:
        raise ValidationFailed(violations)
    year = data.year or data.start_year
    p = Project(year=year, origin=origin, status=S.DRAFT)
    _apply_fields(p, data, unit, department)
    p.code = domain.project_code(unit.region_code, year, next_value(domain.code_sequence_key(unit.region_code, year)))
    p.priority = _next_priority(department.pk)
    p.save()
    _replace_children(p, data, standards)
    audit.record_change(p, "create")
    _event("project_entered", p, f"录入项目 {p.code}")
    return p


def project_create(*, actor, data: ProjectData) -> Project:
    """Enter a project (draft). Its 21-character code is assigned now, gap-free per region and year, for life."""
    require_perm(actor, "projects.add_project")
    with transaction.atomic(durable=True):
        return _create(actor, data, Project.Origin.MANUAL)


def project_update(*, actor, pk: int, data: ProjectData) -> Project:
    """Edit a draft (new or returned). The code, the region, the declaration year and the status are not
    the editor's to change."""
    require_perm(actor, "projects.change_project")
    with transaction.atomic(durable=True):
        p = _project_for_change(actor, pk)
        if p.status != S.DRAFT:
            raise Conflict("not_editable", f"项目当前状态为“{p.get_status_display()}”，只有草稿或被退回的项目可以修改")
        if p.origin == Project.Origin.GENERATED:
            raise Conflict("generated_not_editable", "系统测算的项目不能手工修改，请重新测算")
        unit = _unit_for_write(actor, data.unit_id)
        if unit.region_code != p.region_code:
            raise invalid("region_immutable", "项目不能转到其他财政区划", "unit")
        department = _department_of(unit)
        data.year = p.year
        violations, standards = _validate(data, unit, department, p)
        if violations:
            raise ValidationFailed(violations)
        before = audit.snapshot(p)
        code, moved = p.code, p.department_id != department.pk
        _apply_fields(p, data, unit, department)
        p.code = code  # assigned once, at entry
        if moved:  # ranks are per department: it joins the end of its new department's list
            p.priority = _next_priority(department.pk)
        p.save()
        _replace_children(p, data, standards)
        audit.record_change(p, "update", before)
        return p


def projects_import(*, actor, rows: list[dict]) -> dict[str, int]:
    """All or nothing: every row becomes a draft project (code assigned); any bad row rolls the whole file back
    and every problem is reported with its row and column. `rows` come from `core.excel.read_rows` with the
    columns of `resources.import_columns()`."""
    require_perm(actor, "projects.add_project")
    problems: list[RowProblem] = []
    created = 0
    units = {u.code: u for u in Unit.objects.restrict(actor, VIEW).filter(region_code=getattr(actor, "region_code", ""))}
    with transaction.atomic(durable=True):
        for row in rows:
            n = row.get("_row", 0)
            try:
                data = row_to_data(row, units)
                with transaction.atomic():
                    _create(actor, data, Project.Origin.IMPORTED)
                created += 1
            except ValidationFailed as exc:
                for v in exc.violations:
                    problems.append(RowProblem(n, HEADERS.get(v.field, "整行"), v.message))
            except (PermissionDenied, NotFound) as exc:
                problems.append(RowProblem(n, HEADERS.get("unit_code", "整行"), exc.message))
        if problems:
            raise ImportFailed(problems)
    return {"created": created, "updated": 0}
