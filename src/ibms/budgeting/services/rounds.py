"""Rounds and their stages: 一上 opens with the round, closes once finance accepted every department; 一下 issues
ceilings; 二上 starts from a copy of the 一上 lines; finance consolidates; the legislature (人大) approves.

Concurrency: a stage change locks the round and then every submission of the round, so it waits for line writes
in flight and they, once they get their lock, see the new stage."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, ValidationFailed, Violation, invalid
from ibms.core.scoping import CHANGE, check_write_scope, require_perm
from ibms.masterdata.models import Region, Unit

from .. import domain
from ..models import BudgetLine, BudgetRound, Ceiling, Submission, Version
from ._common import (
    ROUND_DOC,
    VERSION_LABEL,
    Stage,
    _close_version_todos,
    _deadline,
    _lock_all_submissions,
    _lock_round,
    _open_prepare_todos,
    _require_doc,
    _round_todo,
)
from .ceilings import _ceiling_problems


def round_create(*, actor, year: int, name: str = "") -> BudgetRound:
    """A round for the actor's own region; submissions and to-dos for every department and unit (一上)."""
    require_perm(actor, "budgeting.add_budgetround")
    region_code = actor.region_code
    check_write_scope(actor, region_code=region_code)
    with transaction.atomic(durable=True):
        if BudgetRound.objects.filter(region_code=region_code, year=year).exists():
            raise Conflict("round_exists", f"{year}年度预算编制已存在")
        region = Region.objects.get(code=region_code)
        rnd = BudgetRound.objects.create(
            region_code=region_code, year=year, name=(name.strip() or f"{region.name}{year}年预算编制")[:100],
            dept_reply_days=_deadline(region_code, "department") or 20,
            unit_reply_days=_deadline(region_code, "unit") or 15)
        audit.record_change(rnd, "create")
        audit.record_event("budgeting.round_created", obj=rnd, payload={"year": year})
        _open_prepare_todos(rnd, Version.FIRST_UP)
        return rnd


def _not_accepted(rnd: BudgetRound, version: str) -> list[Violation]:
    """Departments with lines in this version whose submission finance has not accepted."""
    with_lines = set(BudgetLine.objects.filter(round=rnd, version=version).order_by()
                     .values_list("department_id", flat=True).distinct())
    subs = {s.unit_id: s for s in Submission.objects.filter(round=rnd, version=version, is_department=True)}
    out = []
    for dept in Unit.objects.filter(pk__in=with_lines).order_by("code"):
        sub = subs.get(dept.pk)
        status = sub.get_status_display() if sub else "编制中"
        if sub is None or sub.status != Submission.Status.ACCEPTED:
            out.append(Violation("submission_not_accepted",
                                 f"{dept.code} {dept.name} 的{VERSION_LABEL[version]}预算尚未审核（{status}）",
                                 str(dept.pk)))
    return out


def round_first_up_close(*, actor, round_id: int) -> BudgetRound:
    """一上 closes once finance has accepted every department's submission; finance then issues ceilings (一下)."""
    require_perm(actor, "budgeting.change_budgetround")
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        _lock_all_submissions(rnd)
        if rnd.stage != Stage.FIRST_UP:
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能结束一上")
        problems = _not_accepted(rnd, Version.FIRST_UP)
        if problems:
            raise ValidationFailed(problems, "还有部门的一上预算未审核")
        workflow.transition(rnd, Stage.CEILINGS, transitions=BudgetRound.TRANSITIONS, field="stage",
                            event_code="budgeting.first_up_closed")
        _close_version_todos(rnd, Version.FIRST_UP, actor)
        _round_todo(rnd, "下达控制数（一下）")
        return rnd


def _copy_lines(rnd: BudgetRound, source: str, target: str) -> int:
    lines = list(BudgetLine.objects.filter(round=rnd, version=source).order_by("pk"))
    copies = []
    for line in lines:
        copy = BudgetLine(**{f.attname: getattr(line, f.attname) for f in BudgetLine._meta.concrete_fields
                             if f.attname not in ("id", "created_at", "updated_at", "version", "origin_id",
                                                  "indicator_id")})
        copy.version, copy.origin_id = target, line.pk
        copies.append(copy)
    BudgetLine.objects.bulk_create(copies, batch_size=1000)
    audit.record_changes(copies, "create")
    return len(copies)


def round_second_up_start(*, actor, round_id: int) -> BudgetRound:
    """Release the ceilings: 一上 lines are copied into the 二上 version for departments to revise."""
    require_perm(actor, "budgeting.change_budgetround")
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        _lock_all_submissions(rnd)
        if rnd.stage != Stage.CEILINGS:
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能开始二上")
        with_lines = set(BudgetLine.objects.filter(round=rnd, version=Version.FIRST_UP).order_by()
                         .values_list("department_id", flat=True).distinct())
        with_ceiling = set(Ceiling.objects.filter(round=rnd).values_list("department_id", flat=True))
        missing = Unit.objects.filter(pk__in=with_lines - with_ceiling).order_by("code")
        if missing:
            raise ValidationFailed([Violation("ceiling_missing", f"{d.code} {d.name} 尚未下达控制数", str(d.pk))
                                    for d in missing], "还有部门未下达控制数")
        copied = _copy_lines(rnd, Version.FIRST_UP, Version.SECOND_UP)
        workflow.transition(rnd, Stage.SECOND_UP, transitions=BudgetRound.TRANSITIONS, field="stage",
                            event_code="budgeting.second_up_started", payload={"lines": copied})
        workflow.todo_close(doc_type=ROUND_DOC, obj=rnd, user=actor)
        _open_prepare_todos(rnd, Version.SECOND_UP)
        return rnd


def round_consolidate(*, actor, round_id: int) -> BudgetRound:
    """Finance consolidates the government budget: every department's 二上 accepted and within its ceilings;
    the 二上 lines become the draft of the reply version (finance may still adjust it until approval)."""
    require_perm(actor, "budgeting.change_budgetround")
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        _lock_all_submissions(rnd)
        if rnd.stage != Stage.SECOND_UP:
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能汇总")
        problems = _not_accepted(rnd, Version.SECOND_UP)
        for dept_id in BudgetLine.objects.filter(round=rnd, version=Version.SECOND_UP).order_by().values_list(
                "department_id", flat=True).distinct():
            problems += _ceiling_problems(rnd, Unit.objects.get(pk=dept_id))
        if problems:
            raise ValidationFailed(problems, "不能汇总")
        _close_version_todos(rnd, Version.SECOND_UP, actor)
        copied = _copy_lines(rnd, Version.SECOND_UP, Version.REPLY)
        workflow.transition(rnd, Stage.CONSOLIDATED, transitions=BudgetRound.TRANSITIONS, field="stage",
                            event_code="budgeting.consolidated", payload={"lines": copied})
        _round_todo(rnd, "报人大审批后登记批准文号")
        return rnd


def round_approval_record(*, actor, round_id: int, doc_no: str, approval_date: dt.date) -> BudgetRound:
    """The legislature (人大) approved the budget: its document number and date."""
    require_perm(actor, "budgeting.change_budgetround")
    doc_no = _require_doc(doc_no, approval_date, what="人大批准", date_field="approval_date")
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        if rnd.stage != Stage.CONSOLIDATED:
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能登记人大批准")
        if approval_date.year not in (rnd.year - 1, rnd.year):
            raise invalid("date_invalid", f"批准日期应在{rnd.year - 1}年或{rnd.year}年", "approval_date")
        audit.update_fields(rnd, approval_doc_no=doc_no[:60], approval_date=approval_date)
        workflow.transition(rnd, Stage.APPROVED, transitions=BudgetRound.TRANSITIONS, field="stage",
                            event_code="budgeting.approved", payload={"doc_no": doc_no,
                                                                      "date": approval_date.isoformat()})
        due = domain.due_date(approval_date, rnd.dept_reply_days)
        _round_todo(rnd, f"批复部门预算（{due:%Y-%m-%d} 前）")
        return rnd
