"""Submissions (报送): a unit submits its lines to its department, a department its consolidated budget to
finance; the reviewer accepts or returns with a reason."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, PermissionDenied, ValidationFailed, invalid
from ibms.core.scoping import VIEW, check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import Unit

from ..models import BudgetLine, BudgetRound, Submission, Version
from ..setup import DEPT_SUBMISSION_DOC, UNIT_SUBMISSION_DOC
from ._common import (
    PREPARE_DOC,
    VERSION_LABEL,
    _department_of,
    _is_finance,
    _open_version_or_fail,
    _refresh_round,
    _step,
    _submission,
    _workbench_url,
)
from .ceilings import _ceiling_problems


def _totals(rnd: BudgetRound, version: str, path: str) -> tuple[int, int]:
    rows = dict(BudgetLine.objects.filter(round=rnd, version=version, unit_path__startswith=path)
                .values_list("direction").annotate(s=Sum("amount")).values_list("direction", "s"))
    return rows.get(BudgetLine.Direction.EXPENDITURE) or 0, rows.get(BudgetLine.Direction.REVENUE) or 0


def submission_submit(*, actor, round_id: int, unit_id: int) -> Submission:
    """A unit submits its lines to its department; a department submits its consolidated budget to finance.
    A department's 二上 above any of its ceilings is refused with the figures."""
    require_perm(actor, "budgeting.submit_submission")
    with transaction.atomic(durable=True):
        rnd = get_in_scope(BudgetRound.objects, actor, VIEW, what="预算编制", pk=round_id)
        unit = get_in_scope(Unit.objects, actor, VIEW, what="单位", pk=unit_id, region_code=rnd.region_code)
        check_write_scope(actor, region_code=rnd.region_code, unit_path=unit.path, spec=Submission.scope_spec)
        dept = _department_of(unit)
        dept_sub = _submission(rnd, _open_version_or_fail(rnd), dept, lock=True)
        rnd = _refresh_round(rnd)
        version = _open_version_or_fail(rnd)
        if version == Version.REPLY:
            raise Conflict("wrong_stage", "汇总阶段不需要报送")
        sub = dept_sub if unit.pk == dept.pk else _submission(rnd, version, unit, lock=True)
        if sub.status in Submission.LOCKED:
            raise Conflict("already_submitted", f"{unit.name}的{VERSION_LABEL[version]}预算已报送")
        if not sub.is_department and dept_sub.status in Submission.LOCKED:
            raise Conflict("department_submitted", f"{dept.name}已向财政报送{VERSION_LABEL[version]}预算")
        expenditure, revenue = _totals(rnd, version, unit.path if not sub.is_department else dept.path)
        if expenditure + revenue == 0:
            raise invalid("no_lines", f"{unit.name}还没有{VERSION_LABEL[version]}预算明细，不能报送")
        if sub.is_department and version == Version.SECOND_UP:
            problems = _ceiling_problems(rnd, dept)
            if problems:
                audit.record_event_now("budgeting.submission_refused", obj=sub,
                                       message="above ceiling", payload={"violations": [p.as_dict() for p in problems]})
                raise ValidationFailed(problems, "超过控制数，不能报送")
        audit.update_fields(sub, expenditure_total=expenditure, revenue_total=revenue, submitted_by=actor,
                            submitted_at=timezone.now())
        workflow.transition(sub, Submission.Status.SUBMITTED, transitions=Submission.TRANSITIONS,
                            event_code="budgeting.submitted", payload={"version": version, "amount": expenditure})
        workflow.todo_close(doc_type=PREPARE_DOC, obj=sub, user=actor)
        if sub.is_department:
            _consolidate_units(actor, rnd, version, dept)
        step = _review_step(sub)
        who = "财政" if sub.is_department else "主管部门"
        workflow.todo_open(doc_type=_review_doc(sub), obj=sub,
                           title=f"{rnd.name}：{unit.name}报送{VERSION_LABEL[version]}预算待{who}审核",
                           url=_workbench_url(rnd, dept.pk), step=step, region_code=rnd.region_code,
                           unit_path=dept.path)
        return sub


def _consolidate_units(actor, rnd: BudgetRound, version: str, dept: Unit) -> None:
    """The department's submission takes its units' pending submissions with it (汇总报送)."""
    pending = (Submission.objects.select_for_update().filter(round=rnd, version=version, is_department=False,
                                                             unit_path__startswith=dept.path,
                                                             status=Submission.Status.SUBMITTED).order_by("pk"))
    for unit_sub in pending:
        workflow.transition(unit_sub, Submission.Status.ACCEPTED, transitions=Submission.TRANSITIONS,
                            event_code="budgeting.submission_accepted", message="随部门汇总报送",
                            payload={"version": version})
        workflow.todo_close(doc_type=UNIT_SUBMISSION_DOC, obj=unit_sub, user=actor)


def _review_doc(sub: Submission) -> str:
    return DEPT_SUBMISSION_DOC if sub.is_department else UNIT_SUBMISSION_DOC


def _review_step(sub: Submission) -> workflow.Step:
    steps = workflow.approval_steps(_review_doc(sub), sub.region_code)
    if not steps:
        raise invalid("no_chain", "未配置预算报送的审核流程")
    return steps[0]


def _review(actor, submission_id: int, *, approve: bool, reason: str) -> Submission:
    require_perm(actor, "budgeting.review_submission")
    with transaction.atomic(durable=True):
        found = get_in_scope(Submission.objects, actor, VIEW, what="预算报送", pk=submission_id)
        rnd = get_in_scope(BudgetRound.objects, actor, VIEW, what="预算编制", pk=found.round_id)
        dept = _department_of(found.unit)
        _submission(rnd, found.version, dept, lock=True)
        sub = Submission.objects.select_for_update().get(pk=found.pk)
        rnd = _refresh_round(rnd)
        if rnd.open_version != sub.version:
            raise Conflict("wrong_stage", f"{VERSION_LABEL[sub.version]}阶段已结束，不能再审核")
        workflow.check_step_actor(actor, _review_step(sub), submitted_by_id=sub.submitted_by_id)
        if not sub.is_department:
            check_write_scope(actor, region_code=rnd.region_code, unit_path=sub.unit_path, spec=Submission.scope_spec)
            if approve is False and Submission.objects.filter(round=rnd, version=sub.version, unit=dept,
                                                              status__in=Submission.LOCKED).exists():
                raise Conflict("department_submitted", "部门已向财政报送，不能再退回单位")
        elif not _is_finance(actor):
            raise PermissionDenied("部门预算由财政部门审核", code="workflow_role")
        reason = (reason or "").strip()
        if not approve and not reason:
            raise invalid("reason_required", "退回必须填写原因", "reason")
        audit.update_fields(sub, review_comment=reason[:300])
        target = Submission.Status.ACCEPTED if approve else Submission.Status.RETURNED
        workflow.transition(sub, target, transitions=Submission.TRANSITIONS,
                            event_code="budgeting.submission_accepted" if approve else "budgeting.submission_returned",
                            message=reason[:300], payload={"version": sub.version})
        workflow.todo_close(doc_type=_review_doc(sub), obj=sub, user=actor)
        if not approve:
            role, holder = ("dept_clerk", "department") if sub.is_department else ("unit_clerk", "unit")
            workflow.todo_open(doc_type=PREPARE_DOC, obj=sub,
                               title=f"{rnd.name}：{VERSION_LABEL[sub.version]}预算被退回：{reason}"[:200],
                               url=_workbench_url(rnd, dept.pk), step=_step("修改后重新报送", role, holder),
                               region_code=rnd.region_code, unit_path=sub.unit_path)
        return sub


def submission_return(*, actor, submission_id: int, reason: str) -> Submission:
    """Finance returns a department's submission (a department returns a unit's) with a reason."""
    return _review(actor, submission_id, approve=False, reason=reason)


def submission_accept(*, actor, submission_id: int, comment: str = "") -> Submission:
    return _review(actor, submission_id, approve=True, reason=comment)
