"""Project library writers: enter and edit projects with their parts, submit, review (approve / 退回 with a
reason) along the configurable chain, rank within a department, generate the computed basic projects,
import from Excel, attachments, and the status moves budgeting uses. Every function is its own durable
transaction unless its docstring says it runs inside the caller's."""

from __future__ import annotations

import os
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.numbering import next_value
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm
from ibms.core.services import ImportFailed, RowProblem
from ibms.masterdata.models import ExpenditureStandard, Person, Region, Unit
from ibms.masterdata.selectors import classification_violation, region_chain

from . import domain
from .domain import CostLineData, ProjectData
from .models import (
    Attachment,
    BasicRule,
    CostLine,
    FunctionDefault,
    PerformanceTarget,
    ProcurementNeed,
    Project,
    ProjectYearPlan,
    ReviewRecord,
)
from .setup import PROJECT_DOC

S = Project.Status
CHILD_MODELS = (ProjectYearPlan, CostLine, PerformanceTarget, ProcurementNeed)
DEFAULT_BASIC_FUND_NATURE = "111"  # 一般公共预算资金: basic expenditure is funded from the general budget
ATTACHMENT_TYPES = {  # extension → accepted leading bytes (docx/xlsx are zip containers, doc/xls OLE2)
    ".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",), ".zip": (b"PK\x03\x04",),
    ".doc": (b"\xd0\xcf\x11\xe0",), ".xls": (b"\xd0\xcf\x11\xe0",), ".ofd": (b"PK\x03\x04",),
}
DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024


# --- helpers -----------------------------------------------------------------------------------

def _unit_for_write(actor, unit_id: int) -> Unit:
    unit = get_in_scope(Unit.objects.select_related("department"), actor, VIEW, what="单位", pk=unit_id)
    check_write_scope(actor, region_code=unit.region_code, unit_path=unit.path, spec=Project.scope_spec)
    return unit


def _department_of(unit: Unit) -> Unit:
    return (unit.department or unit) if unit.parent_id else unit


def _project_for_change(actor, pk: int) -> Project:
    return get_in_scope(Project.objects.select_for_update(), actor, CHANGE, what="项目", pk=pk)


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


def _event(code: str, p: Project, message: str = "", **payload) -> None:
    audit.record_event(f"projects.{code}", obj=p, message=message, payload={"code": p.code, **payload})


def _review_record(p: Project, *, actor, action: str, from_status: str, to_status: str, step: workflow.Step | None,
                   reason: str = "", score: Decimal | None = None) -> ReviewRecord:
    rec = ReviewRecord.objects.create(
        project=p, region_code=p.region_code, step=step.order if step else 0, step_name=step.name if step else "",
        action=action, from_status=from_status, to_status=to_status, actor=actor if getattr(actor, "pk", None) else None,
        actor_name=(str(actor) if getattr(actor, "pk", None) else "系统")[:150], reason=reason[:500], score=score)
    audit.record_change(rec, "create")
    return rec


def _detail_url(p: Project) -> str:
    return reverse("projects:detail", args=[p.pk])


# --- validation and writing of a project with its parts ----------------------------------------

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
        if n.standard_id and std is None:
            out.append(Violation("standard_unknown", f"第 {i} 条资产需求选择的配置标准不存在或不适用本级", "needs"))
        elif std is not None and n.unit_price > std.amount:
            out.append(Violation("asset_over_standard", f"第 {i} 条资产需求单价超过配置标准“{std.name}”", "needs"))
    return out, standards


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


# --- submission and review ---------------------------------------------------------------------

def _steps(p: Project) -> list[workflow.Step]:
    steps = workflow.approval_steps(PROJECT_DOC, p.region_code)
    if not steps:
        raise invalid("no_chain", "未配置项目入库的审批流程")
    return steps


def _todo_unit_path(p: Project, step: workflow.Step) -> str:
    if step.holder == "department":
        return p.department.path
    if step.holder == "unit":
        return p.unit_path
    return ""


def _open_step_todo(p: Project, step: workflow.Step) -> None:
    workflow.todo_open(doc_type=PROJECT_DOC, obj=p, title=f"项目{step.name}：{p.name}（{p.code}）", url=_detail_url(p),
                       step=step, region_code=p.region_code, unit_path=_todo_unit_path(p, step))


def _open_returned_todo(p: Project, reason: str) -> None:
    role = "dept_clerk" if p.unit_id == p.department_id else "unit_clerk"
    step = workflow.Step(0, "退回修改", role, "unit")
    workflow.todo_open(doc_type=PROJECT_DOC, obj=p, title=f"项目被退回：{p.name}（{reason[:60]}）", url=_detail_url(p),
                       step=step, region_code=p.region_code, unit_path=p.unit_path)


def _project_parts(p: Project) -> tuple[dict[int, int], dict[int, int]]:
    plans = dict(p.year_plans.values_list("year", "amount"))
    costs = domain.cost_by_year(list(p.cost_lines.values_list("year", "amount")))
    return plans, costs


def project_submit(*, actor, pk: int) -> Project:
    """申报: a complete draft goes to the first step of the chain, with a to-do for that step's holder."""
    require_perm(actor, "projects.change_project")
    with transaction.atomic(durable=True):
        p = _project_for_change(actor, pk)
        if p.status != S.DRAFT:
            raise Conflict("not_draft", "只有草稿或被退回的项目可以申报")
        plans, costs = _project_parts(p)
        violations = domain.submission_violations(
            category=p.category, plans=plans, costs=costs, target_count=p.performance_targets.count(),
            is_gov_pur=p.is_gov_pur, procurement_count=p.procurement_needs.filter(kind="procurement").count())
        if not p.fund_nature_code:
            violations.append(Violation("fund_nature_code_required", "申报前须填写资金性质", "fund_nature_code"))
        if not p.exp_func_code:
            violations.append(Violation("exp_func_code_required", "申报前须填写支出功能分类", "exp_func_code"))
        if violations:
            raise ValidationFailed(violations, message="项目不满足申报条件")
        steps = _steps(p)
        before = audit.snapshot(p)
        p.submitted_by, p.submitted_at, p.review_step = actor, timezone.now(), 1
        p.save(update_fields=["submitted_by", "submitted_at", "review_step", "updated_at"])
        audit.record_change(p, "update", before)
        workflow.transition(p, S.SUBMITTED, transitions=Project.TRANSITIONS, event_code="projects.project_submitted",
                            message=f"申报项目 {p.code}")
        _review_record(p, actor=actor, action=ReviewRecord.Action.SUBMIT, from_status=S.DRAFT, to_status=S.SUBMITTED,
                       step=None)
        workflow.todo_close(doc_type=PROJECT_DOC, obj=p, user=actor)
        _open_step_todo(p, steps[0])
        return p


def current_step(p: Project) -> workflow.Step | None:
    if p.status not in domain.REVIEW_STATUSES or not p.review_step:
        return None
    steps = workflow.approval_steps(PROJECT_DOC, p.region_code)
    return steps[min(p.review_step, len(steps)) - 1] if steps else None


def project_review(*, actor, pk: int, approve: bool, reason: str = "", score: Decimal | None = None) -> Project:
    """One step of the chain: approve (to the next step, or into the library after the last) or 退回 with a
    mandatory reason to the previous holder (the first step returns the project to its unit as a draft).
    Only the step's role may act, never the submitter; finance steps may record an expert review score."""
    require_perm(actor, "projects.review_project")
    reason = (reason or "").strip()
    with transaction.atomic(durable=True):
        p = _project_for_change(actor, pk)
        if p.status not in domain.REVIEW_STATUSES:
            raise Conflict("not_under_review", f"项目当前状态为“{p.get_status_display()}”，不在审核中")
        steps = _steps(p)
        k = min(max(p.review_step, 1), len(steps))
        step = steps[k - 1]
        workflow.check_step_actor(actor, step, submitted_by_id=p.submitted_by_id)
        if step.holder == "department" and getattr(actor, "unit_path", "") != p.department.path:
            raise PermissionDenied("只有项目所属主管部门可以办理该步骤", code="workflow_holder")
        if step.holder == "finance" and getattr(actor, "region_code", "") != p.region_code:
            raise PermissionDenied("只有本级财政部门可以办理该步骤", code="workflow_holder")
        if not approve and not reason:
            raise invalid("reason_required", "退回必须填写原因", "reason")
        if score is not None:
            if step.holder != "finance":
                raise invalid("score_not_allowed", "专家评审得分只能在财政审核环节填写", "score")
            if not (Decimal(0) <= score <= Decimal(100)):
                raise invalid("score_range", "专家评审得分应在 0 到 100 之间", "score")
        holders = [s.holder for s in steps]
        from_status = p.status
        before = audit.snapshot(p)
        fields = ["review_step", "updated_at"]
        if approve:
            to = domain.approved_status(holders, k)
            p.review_step = 0 if to == S.IN_LIBRARY else k + 1
            if to == S.IN_LIBRARY:
                p.admitted_at = timezone.now()
                fields.append("admitted_at")
        else:
            to = S.DRAFT if k == 1 else domain.pending_status(holders, k - 1)
            p.review_step = 0 if k == 1 else k - 1
        if score is not None:
            p.expert_score = score
            fields.append("expert_score")
        p.save(update_fields=fields)
        audit.record_change(p, "update", before)
        event = "project_admitted" if to == S.IN_LIBRARY else ("project_approved" if approve else "project_returned")
        workflow.transition(p, to, transitions=Project.TRANSITIONS, event_code=f"projects.{event}",
                            message=reason[:300], payload={"step": step.name})
        action = (ReviewRecord.Action.APPROVE if approve else ReviewRecord.Action.RETURN)
        _review_record(p, actor=actor, action=action, from_status=from_status, to_status=to, step=step, reason=reason,
                       score=score)
        workflow.todo_close(doc_type=PROJECT_DOC, obj=p, user=actor)
        if approve and to != S.IN_LIBRARY:
            _open_step_todo(p, steps[k])
        elif not approve and k > 1:
            _open_step_todo(p, steps[k - 2])
        elif not approve:
            _open_returned_todo(p, reason)
        return p


def project_close(*, actor, pk: int, terminate: bool, reason: str) -> Project:
    """结项 (an executing project is finished) or 终止 (a library / budgeted / executing project is stopped),
    by the budget division (`projects.close_project`), with a reason kept in the review history."""
    if not (actor and actor.is_authenticated and actor.has_perm("projects.close_project")):
        raise PermissionDenied("只有预算处可以结项或终止项目", code="workflow_role")
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason_required", "结项或终止必须填写原因", "reason")
    with transaction.atomic(durable=True):
        p = _project_for_change(actor, pk)
        to = S.TERMINATED if terminate else S.CLOSED
        from_status = p.status
        workflow.transition(p, to, transitions=Project.TRANSITIONS,
                            event_code=f"projects.project_{'terminated' if terminate else 'closed'}", message=reason)
        _review_record(p, actor=actor, action=ReviewRecord.Action.TERMINATE if terminate else ReviewRecord.Action.CLOSE,
                       from_status=from_status, to_status=to, step=None, reason=reason)
        workflow.todo_close(doc_type=PROJECT_DOC, obj=p, user=actor)
        return p


# --- status moves used by budgeting (inside the caller's transaction) ----------------------------

def _bulk_move(project_ids: list[int], *, to: str, allowed_from: set[str], done: set[str], action: str,
               event: str, error_code: str, error_message: str) -> list[Project]:
    with transaction.atomic():
        projects = list(Project.objects.select_for_update().filter(pk__in=set(project_ids)).order_by("pk"))
        missing = set(project_ids) - {p.pk for p in projects}
        if missing:
            raise NotFound("项目")
        bad = [p for p in projects if p.status not in allowed_from | done]
        if bad:
            raise Conflict(error_code, error_message.format(codes="、".join(p.code for p in bad[:5])),
                           {"codes": [p.code for p in bad]})
        moving = [p for p in projects if p.status in allowed_from]
        if not moving:
            return []
        before = audit.snapshot_rows(Project, [p.pk for p in moving])
        from_status = {p.pk: p.status for p in moving}
        Project.objects.filter(pk__in=[p.pk for p in moving]).update(status=to, updated_at=timezone.now())
        for p in moving:
            p.status = to
        audit.record_changes(moving, "update", before)
        records = [ReviewRecord(project=p, region_code=p.region_code, action=action, from_status=from_status[p.pk],
                                to_status=to, actor_name="系统") for p in moving]
        ReviewRecord.objects.bulk_create(records)
        audit.record_changes(records, "create")
        for region in sorted({p.region_code for p in moving}):
            codes = [p.code for p in moving if p.region_code == region]
            audit.record_event(f"projects.{event}", region_code=region, message=f"{len(codes)} 个项目",
                               payload={"codes": codes[:1000], "count": len(codes)})
        return moving


def projects_enter_budget(*, project_ids: list[int]) -> list[Project]:
    """纳入预算: library projects move to in_budget. Runs inside the caller's transaction (savepoint);
    idempotent (projects already in the budget or executing are left as they are); a project not in the
    library refuses the whole call."""
    return _bulk_move(project_ids, to=S.IN_BUDGET, allowed_from={S.IN_LIBRARY}, done={S.IN_BUDGET, S.EXECUTING},
                      action=ReviewRecord.Action.ENTER_BUDGET, event="projects_entered_budget",
                      error_code="project_not_in_library", error_message="项目未入库，不能纳入预算：{codes}")


def projects_start_execution(*, project_ids: list[int]) -> list[Project]:
    """批复 → 执行: library or budgeted projects move to executing. Inside the caller's transaction; idempotent."""
    return _bulk_move(project_ids, to=S.EXECUTING, allowed_from={S.IN_LIBRARY, S.IN_BUDGET}, done={S.EXECUTING},
                      action=ReviewRecord.Action.EXECUTE, event="projects_started_execution",
                      error_code="project_not_budgetable", error_message="项目未入库或已结项，不能执行：{codes}")


# --- ranking -----------------------------------------------------------------------------------

RANKABLE = (S.DRAFT, S.SUBMITTED, S.DEPT_REVIEWED, S.FINANCE_REVIEWED, S.IN_LIBRARY, S.IN_BUDGET)


def project_rank(*, actor, department_id: int, ordered_ids: list[int]) -> int:
    """排序: the given projects take priorities 1..n in that order; the department's other rankable projects
    follow in their previous order. Returns how many priorities changed."""
    require_perm(actor, "projects.rank_project")
    if len(set(ordered_ids)) != len(ordered_ids):
        raise invalid("duplicate_ids", "排序列表中有重复的项目", "ordered_ids")
    with transaction.atomic(durable=True):
        department = get_in_scope(Unit.objects, actor, VIEW, what="主管部门", pk=department_id)
        if department.parent_id is not None:
            raise invalid("not_department", "只能在主管部门内排序", "department")
        qs = (Project.objects.restrict(actor, CHANGE).select_for_update()
              .filter(department=department, status__in=RANKABLE).order_by("priority", "code"))
        rows = list(qs)
        by_id = {p.pk: p for p in rows}
        unknown = [i for i in ordered_ids if i not in by_id]
        if unknown:
            raise invalid("rank_unknown", "排序列表中有不属于本部门或不可排序的项目", "ordered_ids")
        order = [by_id[i] for i in ordered_ids] + [p for p in rows if p.pk not in set(ordered_ids)]
        changed = [p for n, p in enumerate(order, 1) if p.priority != n]
        if not changed:
            return 0
        before = audit.snapshot_rows(Project, [p.pk for p in changed])
        for n, p in enumerate(order, 1):
            if p.priority != n:
                p.priority = n
                Project.objects.filter(pk=p.pk).update(priority=n)
        audit.record_changes(changed, "update", before)
        audit.record_event("projects.projects_ranked", region_code=department.region_code, obj=department,
                           message=f"{department.name} 项目排序", payload={"order": [p.code for p in order[:500]]})
        return len(changed)


# --- computed basic projects -------------------------------------------------------------------

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


def basic_cost_lines(unit: Unit, year: int) -> tuple[list[CostLineData], list[CostLineData], dict]:
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
        personnel, operating, facts = basic_cost_lines(unit, year)
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


# --- Excel import ------------------------------------------------------------------------------

def projects_import(*, actor, rows: list[dict]) -> dict[str, int]:
    """All or nothing: every row becomes a draft project (code assigned); any bad row rolls the whole file back
    and every problem is reported with its row and column. `rows` come from `core.excel.read_rows` with the
    columns of `resources.IMPORT_COLUMNS`."""
    from .resources import HEADERS, row_to_data

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


# --- attachments -------------------------------------------------------------------------------

def attachment_add(*, actor, project_id: int, upload) -> Attachment:
    """An attachment (立项依据、测算说明…) on a draft; size and type checked by extension and content."""
    require_perm(actor, "projects.change_project")
    name = os.path.basename(getattr(upload, "name", "") or "")
    ext = os.path.splitext(name)[1].lower()
    limit = getattr(settings, "IBMS_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES)
    if ext not in ATTACHMENT_TYPES:
        raise invalid("attachment_type", "附件类型不允许，只能上传 " + "、".join(sorted(ATTACHMENT_TYPES)), "file")
    size = getattr(upload, "size", 0) or 0
    if size <= 0:
        raise invalid("attachment_empty", "附件是空文件", "file")
    if size > limit:
        raise invalid("attachment_too_large", f"附件不能超过 {limit // (1024 * 1024)} MB", "file")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in ATTACHMENT_TYPES[ext]):
        raise invalid("attachment_content", "附件内容与扩展名不符", "file")
    with transaction.atomic(durable=True):
        p = _project_for_change(actor, project_id)
        if p.status != S.DRAFT:
            raise Conflict("not_editable", "只有草稿或被退回的项目可以上传附件")
        att = Attachment(project=p, region_code=p.region_code, name=name[:200], size=size,
                         content_type=(getattr(upload, "content_type", "") or "")[:100], uploaded_by=actor)
        att.file.save(name, upload, save=False)
        att.save()
        audit.record_change(att, "create")
        return att


def attachment_remove(*, actor, attachment_id: int) -> None:
    require_perm(actor, "projects.change_project")
    with transaction.atomic(durable=True):
        att = get_in_scope(Attachment.objects.select_related("project"), actor, CHANGE, what="附件", pk=attachment_id)
        p = _project_for_change(actor, att.project_id)
        if p.status != S.DRAFT:
            raise Conflict("not_editable", "只有草稿或被退回的项目可以删除附件")
        before = audit.snapshot_rows(Attachment, [att.pk])
        storage, path, pk = att.file.storage, att.file.name, att.pk
        att.delete()
        att.pk = pk  # the log names the deleted row
        audit.record_changes([att], "delete", before)
        transaction.on_commit(lambda: storage.delete(path))

