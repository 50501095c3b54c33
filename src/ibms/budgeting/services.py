"""Budget preparation writers: rounds and their stages, budget lines of the open version, ceilings,
submissions (unit → department → finance), legislature approval and the 批复 that creates indicators.

Concurrency: a line write locks its department's submission row of that version; a stage change locks the
round and then every submission of the round, so it waits for line writes in flight and they, once they get
their lock, see the new stage."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, fields, replace

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.money import format_fen
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm, scope_of
from ibms.masterdata.models import Region, Unit, ValueSetItem
from ibms.masterdata.selectors import (
    classification_violation,
    gov_eco_for,
    is_sangong,
    region_chain,
    sangong_eco_codes,
)
from ibms.projects.models import Project
from ibms.projects.selectors import budgetable_projects
from ibms.projects.services import projects_enter_budget, projects_start_execution

from . import domain
from .models import BudgetLine, BudgetRound, Ceiling, Reply, ReplyDeadline, Submission, Version
from .setup import DEPT_SUBMISSION_DOC, UNIT_SUBMISSION_DOC, defaults, revenue_fund_natures

Stage = BudgetRound.Stage
PREPARE_DOC = "budget_prepare"  # to-do: a unit/department prepares (or corrects) its submission
ROUND_DOC = "budget_round"  # to-do: finance's next step on a round
UNIT_REPLY_DOC = "budget_unit_reply"  # to-do: a department replies to its units
VERSION_LABEL = dict(Version.choices)


@dataclass
class LineData:
    """What a person enters for a budget line; money in fen. Blank classification takes the project's."""

    direction: str = BudgetLine.Direction.EXPENDITURE
    unit_id: int | None = None
    project_id: int | None = None
    revenue_code: str = ""
    fund_nature_code: str = ""
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""
    amount: int = 0
    is_gov_pur: bool | None = None
    sub_region_code: str = ""
    transfer_type_code: str = ""
    remark: str = ""

    @classmethod
    def of(cls, line: BudgetLine) -> LineData:
        return cls(**{f.name: getattr(line, f.name) for f in fields(cls)})


# --- helpers ------------------------------------------------------------------------------------

def _step(name: str, role: str, holder: str) -> workflow.Step:
    return workflow.Step(0, name, role, holder)


def _round_url(rnd: BudgetRound) -> str:
    return reverse("budgeting:round", args=[rnd.pk])


def _workbench_url(rnd: BudgetRound, department_id: int) -> str:
    return reverse("budgeting:workbench", args=[rnd.pk, department_id])


def _department_of(unit: Unit) -> Unit:
    return unit if unit.parent_id is None else (unit.department or unit.parent)


def _is_finance(actor) -> bool:
    scope = scope_of(actor)
    return not scope.unit_path


def _lock_round(actor, round_id: int, action: str = VIEW) -> BudgetRound:
    return get_in_scope(BudgetRound.objects.select_for_update(), actor, action, what="预算编制", pk=round_id)


def _refresh_round(rnd: BudgetRound) -> BudgetRound:
    return BudgetRound.objects.get(pk=rnd.pk)


def _submission(rnd: BudgetRound, version: str, unit: Unit, *, lock: bool = False) -> Submission:
    qs = Submission.objects.select_for_update() if lock else Submission.objects
    sub = qs.filter(round=rnd, version=version, unit=unit).first()
    if sub is None:
        sub = Submission.objects.create(round=rnd, version=version, region_code=rnd.region_code, unit=unit,
                                        unit_path=unit.path, is_department=unit.parent_id is None)
        audit.record_change(sub, "create")
        if lock:
            sub = Submission.objects.select_for_update().get(pk=sub.pk)
    return sub


def _lock_all_submissions(rnd: BudgetRound) -> list[Submission]:
    return list(Submission.objects.select_for_update().filter(round=rnd).order_by("pk"))


def _departments(region_code: str) -> list[Unit]:
    return list(Unit.objects.filter(region_code=region_code, parent__isnull=True, is_active=True).order_by("code"))


def _units(region_code: str) -> list[Unit]:
    return list(Unit.objects.filter(region_code=region_code, parent__isnull=False, is_active=True).order_by("path"))


def _open_prepare_todos(rnd: BudgetRound, version: str) -> None:
    """A submission row and a to-do for every department and unit of the region."""
    label = VERSION_LABEL[version]
    for unit in [*_departments(rnd.region_code), *_units(rnd.region_code)]:
        sub = _submission(rnd, version, unit)
        dept = _department_of(unit)
        if unit.parent_id is None:
            step, title = _step("部门编报", "dept_clerk", "department"), f"{rnd.name}：汇总报送本部门{label}预算"
        else:
            step, title = _step("单位编报", "unit_clerk", "unit"), f"{rnd.name}：编报本单位{label}预算"
        workflow.todo_open(doc_type=PREPARE_DOC, obj=sub, title=title, url=_workbench_url(rnd, dept.pk), step=step,
                           region_code=rnd.region_code, unit_path=unit.path)


def _close_version_todos(rnd: BudgetRound, version: str, actor) -> None:
    """The version is closed: whatever was still to prepare or review in it is done."""
    for sub in Submission.objects.filter(round=rnd, version=version):
        for doc_type in (PREPARE_DOC, UNIT_SUBMISSION_DOC, DEPT_SUBMISSION_DOC):
            workflow.todo_close(doc_type=doc_type, obj=sub, user=actor)


def _round_todo(rnd: BudgetRound, title: str) -> None:
    workflow.todo_close(doc_type=ROUND_DOC, obj=rnd, user=None)
    workflow.todo_open(doc_type=ROUND_DOC, obj=rnd, title=f"{rnd.name}：{title}", url=_round_url(rnd),
                       step=_step("预算处", "budget_division", "finance"), region_code=rnd.region_code)


def _deadline(region_code: str, level: str) -> int | None:
    chain = region_chain(region_code)
    rows = {d.region_code: d.days for d in ReplyDeadline.objects.filter(level=level, region_code__in=chain)}
    best = max(rows, key=len, default=None)
    return rows[best] if best is not None else None


def _value_set_codes(value_set: str, year: int) -> set[str]:
    return set(ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year, is_active=True)
               .values_list("code", flat=True))


def _code_names(value_set: str, year: int) -> dict[str, str]:
    return dict(ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year)
                .values_list("code", "name"))


# --- rounds -------------------------------------------------------------------------------------

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


def round_close_first_up(*, actor, round_id: int) -> BudgetRound:
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


def ceiling_set(*, actor, round_id: int, department_id: int, fund_nature_code: str, amount: int,
                remark: str = "") -> Ceiling:
    """Issue (or change) a department's ceiling for a fund nature; a code covers its children, '' all."""
    require_perm(actor, "budgeting.add_ceiling")
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        if rnd.stage not in (Stage.CEILINGS, Stage.SECOND_UP):
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能下达控制数（一下、二上阶段可以）")
        dept = Unit.objects.filter(pk=department_id, region_code=rnd.region_code, parent__isnull=True).first()
        problems = []
        if dept is None:
            problems.append(Violation("department_unknown", "主管部门不存在或不属于本级", "department_id"))
        code = (fund_nature_code or "").strip()
        if code and code not in _value_set_codes("fund_type", rnd.year):
            problems.append(Violation("fund_nature_unknown", f"资金性质 {code} 不存在", "fund_nature_code"))
        if amount is None or amount < 0:
            problems.append(Violation("amount_negative", "控制数不能为负数", "amount"))
        if problems:
            raise ValidationFailed(problems)
        ceiling = Ceiling.objects.select_for_update().filter(round=rnd, department=dept, fund_nature_code=code).first()
        if ceiling is None:
            ceiling = Ceiling.objects.create(round=rnd, region_code=rnd.region_code, department=dept,
                                             fund_nature_code=code, amount=amount, remark=remark[:200])
            audit.record_change(ceiling, "create")
        else:
            before = audit.snapshot(ceiling)
            ceiling.amount, ceiling.remark = amount, remark[:200]
            ceiling.save(update_fields=["amount", "remark", "updated_at"])
            audit.record_change(ceiling, "update", before)
        audit.record_event("budgeting.ceiling_issued", obj=ceiling,
                           payload={"department": dept.code, "fund_nature": code, "amount": amount})
        return ceiling


def ceiling_delete(*, actor, ceiling_id: int) -> None:
    require_perm(actor, "budgeting.delete_ceiling")
    with transaction.atomic(durable=True):
        ceiling = get_in_scope(Ceiling.objects.select_for_update(of=("self",)), actor, CHANGE, what="控制数", pk=ceiling_id)
        rnd = _lock_round(actor, ceiling.round_id, CHANGE)
        if rnd.stage not in (Stage.CEILINGS, Stage.SECOND_UP):
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能修改控制数")
        before, pk = audit.snapshot(ceiling), ceiling.pk
        ceiling.delete()
        ceiling.pk = pk
        audit.record_change(ceiling, "delete", before)


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


def round_start_second_up(*, actor, round_id: int) -> BudgetRound:
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


def _require_doc(doc_no: str, doc_date: dt.date | None, *, what: str, date_field: str) -> str:
    """A document's number and date are both required; returns the stripped number."""
    doc_no = (doc_no or "").strip()
    problems = []
    if not doc_no:
        problems.append(Violation("doc_no_required", f"请填写{what}文号", "doc_no"))
    if doc_date is None:
        problems.append(Violation("date_required", f"请填写{what}日期", date_field))
    if problems:
        raise ValidationFailed(problems)
    return doc_no


def round_record_approval(*, actor, round_id: int, doc_no: str, approval_date: dt.date) -> BudgetRound:
    """The legislature (人大) approved the budget: its document number and date."""
    require_perm(actor, "budgeting.change_budgetround")
    doc_no = _require_doc(doc_no, approval_date, what="人大批准", date_field="approval_date")
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        if rnd.stage != Stage.CONSOLIDATED:
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能登记人大批准")
        if approval_date.year not in (rnd.year - 1, rnd.year):
            raise invalid("date_invalid", f"批准日期应在{rnd.year - 1}年或{rnd.year}年", "approval_date")
        before = audit.snapshot(rnd)
        rnd.approval_doc_no, rnd.approval_date = doc_no[:60], approval_date
        rnd.save(update_fields=["approval_doc_no", "approval_date", "updated_at"])
        audit.record_change(rnd, "update", before)
        workflow.transition(rnd, Stage.APPROVED, transitions=BudgetRound.TRANSITIONS, field="stage",
                            event_code="budgeting.approved", payload={"doc_no": doc_no,
                                                                      "date": approval_date.isoformat()})
        due = domain.due_date(approval_date, rnd.dept_reply_days)
        _round_todo(rnd, f"批复部门预算（{due:%Y-%m-%d} 前）")
        return rnd


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
        before = audit.snapshot(rnd)
        rnd.reply_doc_no, rnd.reply_title, rnd.reply_date = doc_no[:60], (title or source.title)[:200], doc_date
        rnd.save(update_fields=["reply_doc_no", "reply_title", "reply_date", "updated_at"])
        audit.record_change(rnd, "update", before)
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


def reply_to_units(*, actor, round_id: int, department_id: int, reply_date: dt.date, doc_no: str = "",
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


# --- submissions --------------------------------------------------------------------------------

def _totals(rnd: BudgetRound, version: str, path: str) -> tuple[int, int]:
    rows = dict(BudgetLine.objects.filter(round=rnd, version=version, unit_path__startswith=path)
                .values_list("direction").annotate(s=Sum("amount")).values_list("direction", "s"))
    return rows.get(BudgetLine.Direction.EXPENDITURE) or 0, rows.get(BudgetLine.Direction.REVENUE) or 0


def fund_totals(rnd: BudgetRound, version: str, department: Unit) -> dict[str, int]:
    return dict(BudgetLine.objects.filter(round=rnd, version=version, department=department,
                                          direction=BudgetLine.Direction.EXPENDITURE)
                .values_list("fund_nature_code").annotate(s=Sum("amount")).values_list("fund_nature_code", "s"))


def ceiling_uses(rnd: BudgetRound, department: Unit, version: str = Version.SECOND_UP) -> list[domain.CeilingUse]:
    ceilings = dict(Ceiling.objects.filter(round=rnd, department=department)
                    .values_list("fund_nature_code", "amount"))
    return domain.ceiling_uses(fund_totals(rnd, version, department), ceilings, _code_names("fund_type", rnd.year))


def _ceiling_problems(rnd: BudgetRound, dept: Unit) -> list[Violation]:
    totals = fund_totals(rnd, Version.SECOND_UP, dept)
    ceilings = dict(Ceiling.objects.filter(round=rnd, department=dept).values_list("fund_nature_code", "amount"))
    names = _code_names("fund_type", rnd.year)
    label = f"{dept.code} {dept.name}"
    problems = domain.ceiling_violations(label, domain.ceiling_uses(totals, ceilings, names))
    for code in domain.uncovered_fund_natures(totals, list(ceilings)):
        problems.append(Violation("no_ceiling", f"{label}（资金性质 {code} {names.get(code, '')}）二上支出 "
                                                f"{format_fen(totals[code])} 元，但未下达该资金性质的控制数（控制数 0.00 元）",
                                  code))
    return problems


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
        before = audit.snapshot(sub)
        sub.expenditure_total, sub.revenue_total = expenditure, revenue
        sub.submitted_by, sub.submitted_at = actor, timezone.now()
        sub.save(update_fields=["expenditure_total", "revenue_total", "submitted_by", "submitted_at", "updated_at"])
        audit.record_change(sub, "update", before)
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


def _open_version_or_fail(rnd: BudgetRound) -> str:
    version = rnd.open_version
    if version is None:
        raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能编报或报送预算")
    return version


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
        before = audit.snapshot(sub)
        sub.review_comment = reason[:300]
        sub.save(update_fields=["review_comment", "updated_at"])
        audit.record_change(sub, "update", before)
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


# --- lines --------------------------------------------------------------------------------------

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

