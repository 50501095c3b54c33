"""批复: finance replies the approved budget to the departments (creating the indicators) and each department
replies to its units, late after the deadline."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace

from django.db import transaction

from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import Unit
from ibms.projects.services import projects_start_execution

from .. import domain
from ..models import BudgetLine, BudgetRound, Reply, Version
from ._common import (
    ROUND_DOC,
    UNIT_REPLY_DOC,
    Stage,
    _department_of,
    _lock_round,
    _require_doc,
    _round_url,
    _step,
)


def round_reply(*, actor, round_id: int, doc_no: str, title: str, doc_date: dt.date) -> BudgetRound:
    """批复: in one transaction the reply document (indicators.SourceDocument, kind budget_reply), one indicator
    per reply expenditure line, projects to executing, a reply record per department (late when after the
    deadline) and pending replies of the departments to their units."""
    from ibms.indicators.services import IndicatorSpec, indicators_create, source_document_create

    require_perm(actor, "budgeting.change_budgetround")
    doc_no, title = _require_doc(doc_no, doc_date, what="批复", date_field="doc_date"), (title or "").strip()
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        if rnd.stage != Stage.APPROVED:
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能批复（须先登记人大批准）")
        if doc_date < rnd.approval_date:
            raise invalid("date_before_approval", f"批复日期不能早于人大批准日期 {rnd.approval_date:%Y-%m-%d}",
                          "doc_date")
        lines = list(BudgetLine.objects.select_for_update(of=("self",)).filter(round=rnd, version=Version.REPLY)
                     .select_related("unit", "department", "project").order_by("pk"))
        expenditure = [ln for ln in lines if ln.direction == BudgetLine.Direction.EXPENDITURE]
        if not expenditure:
            raise invalid("no_lines", "批复版本没有支出预算，不能批复")
        source = source_document_create(actor=actor, region_code=rnd.region_code, year=rnd.year, kind="budget_reply",
                                        doc_no=doc_no, title=title or f"关于批复{rnd.year}年部门预算的通知",
                                        doc_date=doc_date)
        specs = [IndicatorSpec(**_indicator_fields(ln)) for ln in expenditure]
        indicators = indicators_create(actor=actor, source=source, specs=specs)
        for ln, ind in zip(expenditure, indicators, strict=True):
            ln.indicator = ind
        BudgetLine.objects.bulk_update(expenditure, ["indicator"], batch_size=1000)
        audit.record_changes(expenditure, "update")
        projects_start_execution(project_ids=sorted({ln.project_id for ln in expenditure}))
        audit.update_fields(rnd, reply_doc_no=doc_no[:60], reply_title=(title or source.title)[:200],
                            reply_date=doc_date)
        _create_replies(actor, rnd, expenditure, doc_no, doc_date)
        workflow.transition(rnd, Stage.REPLIED, transitions=BudgetRound.TRANSITIONS, field="stage",
                            event_code="budgeting.replied",
                            payload={"doc_no": doc_no, "indicators": len(indicators),
                                     "amount": sum(ln.amount for ln in expenditure)})
        workflow.todo_close(doc_type=ROUND_DOC, obj=rnd, user=actor)
        return rnd


def _indicator_fields(line: BudgetLine) -> dict:
    return {"unit_id": line.unit_id, "department_id": line.department_id, "project_id": line.project_id,
            "fund_nature_code": line.fund_nature_code, "exp_func_code": line.exp_func_code,
            "gov_eco_code": line.gov_eco_code, "dep_eco_code": line.dep_eco_code, "amount": line.amount,
            "is_executable": not line.is_transfer, "is_gov_pur": line.is_gov_pur, "is_sangong": line.is_sangong,
            "rec_region_code": line.sub_region_code if line.is_transfer else "",
            "summary": line.project.name if line.project_id else ""}


def _create_replies(actor, rnd: BudgetRound, lines: list[BudgetLine], doc_no: str, doc_date: dt.date) -> None:
    today = clock.today(rnd.region_code)
    dept_due = domain.due_date(rnd.approval_date, rnd.dept_reply_days)
    unit_due = domain.due_date(doc_date, rnd.unit_reply_days)
    by_dept: dict[int, int] = defaultdict(int)
    by_unit: dict[int, int] = defaultdict(int)
    units: dict[int, Unit] = {}
    for ln in lines:
        by_dept[ln.department_id] += ln.amount
        units[ln.department_id] = ln.department
        if ln.unit_id != ln.department_id:
            by_unit[ln.unit_id] += ln.amount
            units[ln.unit_id] = ln.unit
    replies = []
    for dept_id, amount in sorted(by_dept.items()):
        d = units[dept_id]
        replies.append(Reply(round=rnd, region_code=rnd.region_code, level=Reply.Level.DEPARTMENT, unit=d,
                             department=d, unit_path=d.path, amount=amount, due_date=dept_due, reply_date=doc_date,
                             doc_no=doc_no[:60], is_late=domain.is_late(doc_date, dept_due, today),
                             replied_by=actor))
    for unit_id, amount in sorted(by_unit.items()):
        u = units[unit_id]
        replies.append(Reply(round=rnd, region_code=rnd.region_code, level=Reply.Level.UNIT, unit=u,
                             department=_department_of(u), unit_path=u.path, amount=amount, due_date=unit_due))
    Reply.objects.bulk_create(replies, batch_size=1000)
    audit.record_changes(replies, "create")
    for r in replies:
        if r.level == Reply.Level.DEPARTMENT and r.unit_id in {u.department_id for u in replies
                                                               if u.level == Reply.Level.UNIT}:
            workflow.todo_open(doc_type=UNIT_REPLY_DOC, obj=r, title=f"{rnd.name}：向所属单位批复预算"
                               f"（{unit_due:%Y-%m-%d} 前）", url=_round_url(rnd),
                               step=_step("部门批复单位", "dept_clerk", "department"), region_code=rnd.region_code,
                               unit_path=r.unit_path)


def unit_replies_record(*, actor, round_id: int, department_id: int, reply_date: dt.date, doc_no: str = "",
                   unit_ids: list[int] | None = None) -> list[Reply]:
    """A department replies to its units (all pending ones, or those named); late after the deadline."""
    require_perm(actor, "budgeting.change_reply")
    if reply_date is None:
        raise invalid("date_required", "请填写批复日期", "reply_date")
    with transaction.atomic(durable=True):
        rnd = get_in_scope(BudgetRound.objects, actor, VIEW, what="预算编制", pk=round_id)
        if rnd.stage != Stage.REPLIED:
            raise Conflict("wrong_stage", "财政批复后部门才能向所属单位批复")
        dept_reply = get_in_scope(Reply.objects.select_for_update(), actor, VIEW, what="部门批复", round=rnd,
                                  level=Reply.Level.DEPARTMENT, unit_id=department_id)
        check_write_scope(actor, region_code=rnd.region_code, unit_path=dept_reply.unit_path,
                          spec=replace(Reply.scope_spec, unit_writable=True))
        if reply_date < dept_reply.reply_date:
            raise invalid("date_before_reply", f"批复日期不能早于财政批复日期 {dept_reply.reply_date:%Y-%m-%d}",
                          "reply_date")
        qs = Reply.objects.select_for_update().filter(round=rnd, level=Reply.Level.UNIT, department_id=department_id,
                                                      reply_date__isnull=True)
        if unit_ids:
            qs = qs.filter(unit_id__in=unit_ids)
        pending = list(qs.order_by("pk"))
        if not pending:
            raise Conflict("nothing_pending", "没有待批复的单位")
        before = audit.snapshot_rows(Reply, [r.pk for r in pending])
        today = clock.today(rnd.region_code)
        for r in pending:
            r.reply_date, r.doc_no, r.replied_by = reply_date, (doc_no or rnd.reply_doc_no)[:60], actor
            r.is_late = domain.is_late(reply_date, r.due_date, today)
            r.save(update_fields=["reply_date", "doc_no", "replied_by", "is_late", "updated_at"])
        audit.record_changes(pending, "update", before)
        audit.record_event("budgeting.replied_to_units", obj=dept_reply,
                           payload={"units": [r.unit_id for r in pending], "date": reply_date.isoformat(),
                                    "late": [r.unit_id for r in pending if r.is_late]})
        if not Reply.objects.filter(round=rnd, level=Reply.Level.UNIT, department_id=department_id,
                                    reply_date__isnull=True).exists():
            workflow.todo_close(doc_type=UNIT_REPLY_DOC, obj=dept_reply, user=actor)
        return pending
