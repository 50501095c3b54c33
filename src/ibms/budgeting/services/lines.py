"""Budget lines of the open version: create, update, delete, and 生成 from the project library.

Concurrency: a line write locks its department's submission row of that version (finance's reply version: the
round), then re-reads the stage."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from ibms.core import audit
from ibms.core.errors import Conflict, PermissionDenied, ValidationFailed, Violation
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm, scope_of
from ibms.masterdata.models import Unit
from ibms.projects.models import Project
from ibms.projects.selectors import budgetable_projects
from ibms.projects.services import projects_enter_budget

from ..models import BudgetLine, BudgetRound, Submission, Version
from ._common import (
    VERSION_LABEL,
    _department_of,
    _is_finance,
    _open_version_or_fail,
    _refresh_round,
    _submission,
)
from .line_values import LineData, _Codes, _resolve


def _check_editable(actor, rnd: BudgetRound, version: str, unit: Unit, dept_sub: Submission | None) -> None:
    if rnd.open_version != version:
        raise Conflict("version_closed",
                       f"当前阶段“{rnd.get_stage_display()}”不能修改{VERSION_LABEL[version]}预算")
    if version == Version.REPLY:
        if not _is_finance(actor):
            raise PermissionDenied("批复版本由财政部门在汇总阶段调整", code="finance_only")
        return
    if _is_finance(actor):
        raise PermissionDenied("一上、二上预算由部门和单位编报，财政可退回", code="department_only")
    if dept_sub is not None and dept_sub.status in Submission.LOCKED:
        raise Conflict("submission_locked", f"{dept_sub.unit.name}的{VERSION_LABEL[version]}预算已报送，"
                                            f"退回后才能修改")
    actor_path = scope_of(actor).unit_path or ""
    if unit.parent_id is not None and actor_path.startswith(unit.path):
        own = Submission.objects.filter(round=rnd, version=version, unit=unit).first()
        if own is not None and own.status in Submission.LOCKED:
            raise Conflict("submission_locked", f"{unit.name}的{VERSION_LABEL[version]}预算已报送主管部门，"
                                                f"退回后才能修改")


def _prepare_write(actor, rnd: BudgetRound, unit: Unit) -> tuple[BudgetRound, str]:
    """Lock the department's submission of the open version (or the round, for finance's reply version), then
    re-read the stage and check that this actor may edit this unit's lines now."""
    version = _open_version_or_fail(rnd)
    check_write_scope(actor, region_code=rnd.region_code, unit_path=unit.path, spec=BudgetLine.scope_spec)
    dept_sub = None
    if version == Version.REPLY:
        BudgetRound.objects.select_for_update().filter(pk=rnd.pk).first()
    else:
        dept_sub = _submission(rnd, version, _department_of(unit), lock=True)
    rnd = _refresh_round(rnd)
    _check_editable(actor, rnd, version, unit, dept_sub)
    return rnd, version


def line_create(*, actor, round_id: int, data: LineData) -> BudgetLine:
    """A line in the open version. An expenditure line only from a library project of the unit, fully and
    consistently classified; the project moves to in_budget."""
    require_perm(actor, "budgeting.add_budgetline")
    with transaction.atomic(durable=True):
        rnd = get_in_scope(BudgetRound.objects, actor, VIEW, what="预算编制", pk=round_id)
        _open_version_or_fail(rnd)
        values = _resolve(actor, rnd, data)
        rnd, version = _prepare_write(actor, rnd, values["unit"])
        line = BudgetLine.objects.create(round=rnd, version=version, **values)
        audit.record_change(line, "create")
        if line.project_id:
            projects_enter_budget(project_ids=[line.project_id])
        return line


def line_update(*, actor, line_id: int, data: LineData) -> BudgetLine:
    require_perm(actor, "budgeting.change_budgetline")
    with transaction.atomic(durable=True):
        line = get_in_scope(BudgetLine.objects.select_related("unit", "round"), actor, CHANGE, what="预算明细",
                            pk=line_id)
        rnd = line.round
        if line.version != rnd.open_version:
            raise Conflict("version_closed", f"{VERSION_LABEL[line.version]}版本已不能修改")
        values = _resolve(actor, rnd, data)
        for unit in sorted({line.unit, values["unit"]}, key=lambda u: u.pk):
            rnd, _ = _prepare_write(actor, rnd, unit)
        if line.version != rnd.open_version:
            raise Conflict("version_closed", f"{VERSION_LABEL[line.version]}版本已不能修改")
        line = BudgetLine.objects.select_for_update().get(pk=line.pk)
        before = audit.snapshot(line)
        for k, value in values.items():
            setattr(line, k, value)
        line.save()
        audit.record_change(line, "update", before)
        if line.project_id:
            projects_enter_budget(project_ids=[line.project_id])
        return line


def line_delete(*, actor, line_id: int) -> None:
    require_perm(actor, "budgeting.delete_budgetline")
    with transaction.atomic(durable=True):
        line = get_in_scope(BudgetLine.objects.select_related("unit", "round"), actor, CHANGE, what="预算明细",
                            pk=line_id)
        rnd, version = _prepare_write(actor, line.round, line.unit)
        if line.version != version:
            raise Conflict("version_closed", f"{VERSION_LABEL[line.version]}版本已不能修改")
        line = BudgetLine.objects.select_for_update().get(pk=line.pk)
        before, pk = audit.snapshot(line), line.pk
        line.delete()
        line.pk = pk
        audit.record_change(line, "delete", before)


def _plan_lines(project: Project, year: int) -> list[tuple[str, int]]:
    """(dep_eco_code, amount) of a project's year plan: split by its cost estimate's economic classes when the
    estimate adds up to the plan, else one line on the project's own class."""
    plan = project.plan_amount(year)
    if plan <= 0:
        return []
    by_eco: dict[str, int] = defaultdict(int)
    for c in project.cost_lines.all():
        if c.year == year:
            by_eco[c.dep_eco_code or project.dep_eco_code] += c.amount
    if by_eco and sum(by_eco.values()) == plan and all(by_eco):
        return sorted((eco, amount) for eco, amount in by_eco.items() if amount > 0)
    return [(project.dep_eco_code, plan)]


def lines_generate(*, actor, round_id: int, unit_id: int) -> list[BudgetLine]:
    """生成 ("generate from library"): for the unit (a department: itself and its units), one line per economic class
    of each budgetable project's year plan that has no expenditure line in the open version yet. 人员类/运转类
    projects give 基本支出, 特定目标类 项目支出. All lines or none: a project that cannot be classified stops it."""
    require_perm(actor, "budgeting.add_budgetline")
    with transaction.atomic(durable=True):
        rnd = get_in_scope(BudgetRound.objects, actor, VIEW, what="预算编制", pk=round_id)
        unit = get_in_scope(Unit.objects, actor, VIEW, what="单位", pk=unit_id, region_code=rnd.region_code)
        rnd, version = _prepare_write(actor, rnd, unit)
        taken = set(BudgetLine.objects.filter(round=rnd, version=version, direction=BudgetLine.Direction.EXPENDITURE,
                                              unit_path__startswith=unit.path).values_list("project_id", flat=True))
        projects = (budgetable_projects(actor, rnd.year).filter(region_code=rnd.region_code,
                                                                unit_path__startswith=unit.path)
                    .exclude(pk__in=taken).prefetch_related("cost_lines")
                    .order_by("unit_path", "priority", "code"))
        created: list[BudgetLine] = []
        problems: list[Violation] = []
        codes = _Codes(rnd.year, rnd.region_code)
        ready = {unit.pk}
        for project in projects:
            for eco, amount in _plan_lines(project, rnd.year):
                if project.unit_id not in ready:
                    _prepare_write(actor, rnd, project.unit)
                    ready.add(project.unit_id)
                try:
                    values = _resolve(actor, rnd, LineData(project_id=project.pk, unit_id=project.unit_id,
                                                           dep_eco_code=eco, amount=amount), codes)
                except ValidationFailed as exc:
                    problems += [Violation(p.code, f"项目 {project.code} {project.name}：{p.message}", p.field)
                                 for p in exc.violations]
                    continue
                created.append(BudgetLine(round=rnd, version=version, **values))
        if problems:
            raise ValidationFailed(problems, "部分项目不能生成预算明细，未生成任何明细")
        BudgetLine.objects.bulk_create(created, batch_size=1000)
        audit.record_changes(created, "create")
        if created:
            projects_enter_budget(project_ids=sorted({ln.project_id for ln in created}))
        audit.record_event("budgeting.lines_generated", obj=rnd, payload={"unit": unit.code, "lines": len(created)})
        return created
