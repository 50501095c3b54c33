"""Submission (申报) and review along the configurable chain: approve to the next step or into the
library, 退回 with a reason to the previous holder; 结项 / 终止 by the budget division."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.scoping import require_perm

from .. import domain
from ..models import Project, ReviewRecord
from ..setup import PROJECT_DOC
from ._common import S, _detail_url, _project_for_change, _review_record


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
        audit.update_fields(p, submitted_by=actor, submitted_at=timezone.now(), review_step=1)
        workflow.transition(p, S.SUBMITTED, transitions=Project.TRANSITIONS, event_code="projects.project_submitted",
                            message=f"申报项目 {p.code}")
        _review_record(p, actor=actor, action=ReviewRecord.Action.SUBMIT, from_status=S.DRAFT, to_status=S.SUBMITTED,
                       step=None)
        workflow.todo_close(doc_type=PROJECT_DOC, obj=p, user=actor)
        _open_step_todo(p, steps[0])
        return p


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
        if approve:
            to = domain.approved_status(holders, k)
            values = {"review_step": 0 if to == S.IN_LIBRARY else k + 1}
            if to == S.IN_LIBRARY:
                values["admitted_at"] = timezone.now()
        else:
            to = S.DRAFT if k == 1 else domain.pending_status(holders, k - 1)
            values = {"review_step": 0 if k == 1 else k - 1}
        if score is not None:
            values["expert_score"] = score
        audit.update_fields(p, **values)
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
