"""The monthly run: generated for a unit from its people's profiles and the items in force (tax by the cumulative
method on this year's earlier months), the changes since last month listed; submitted by the unit and reviewed
along the chain of `data/payroll/review_chains.csv` (the submitter never approves it)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, ValidationFailed, Violation, invalid
from ibms.core.money import fen_to_str
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import Unit

from .. import domain, rules
from ..models import UNIT_SCOPE, PayProfile, PayrollRun, PayrollSlip
from ..setup import DOC_RUN

P_ADD, P_SUBMIT, P_REVIEW = "payroll.add_payrollrun", "payroll.submit_payrollrun", "payroll.review_payrollrun"
S = PayrollRun.Status
FINAL = (S.APPROVED, S.PAYING, S.PAID)


def _actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def _previous(unit: Unit, year: int, month: int) -> PayrollRun | None:
    return (PayrollRun.objects.filter(unit=unit, year__lte=year).exclude(year=year, month__gte=month)
            .order_by("-year", "-month").first())


def _compute(run: PayrollRun) -> tuple[list[PayrollSlip], list[Violation]]:
    domain_rules = rules.item_rules(run.region_code, run.year)
    if not domain_rules:
        raise invalid("no_items", f"{run.year}年没有适用的工资项目（data/payroll/items.csv）")
    brackets, basic = rules.brackets(run.year), rules.basic_deduction(run.year)
    prior = {r["person_id"]: r for r in PayrollSlip.objects.filter(
        run__unit=run.unit, run__year=run.year, run__month__lt=run.month, run__status__in=FINAL)
        .values("person_id").annotate(income=Sum("gross"), social=Sum("social"), tax=Sum("tax"), n=Count("id"))}
    profiles = (PayProfile.objects.filter(unit=run.unit, is_active=True, person__is_active=True)
                .select_related("person").order_by("person_id"))
    slips, v = [], []
    for p in profiles:
        before = prior.get(p.person_id, {"income": 0, "social": 0, "tax": 0, "n": 0})
        pm = domain.person_month(domain_rules, p.items, prior_income=before["income"],
                                 prior_deductions=before["social"], prior_tax=before["tax"], months=before["n"] + 1,
                                 basic_month=basic, brackets=brackets)
        v += [Violation(x.code, f"{p.person.name}：{x.message}", x.field) for x in pm.violations]
        slips.append(PayrollSlip(run=run, region_code=run.region_code, unit_path=run.unit_path, person=p.person,
                                 name=p.person.name, id_number=p.person.id_number, post=p.post, grade=p.grade,
                                 status=p.status, card_no=p.card_no, card_bank=p.card_bank, amounts=pm.amounts,
                                 gross=pm.gross, social=pm.social, tax=pm.tax, other=pm.other, net=pm.net,
                                 cum_income=pm.cum_income, cum_deductions=pm.cum_deductions, cum_tax=pm.cum_tax,
                                 months=before["n"] + 1))
    if not slips:
        v.append(Violation("no_people", f"{run.unit.name}没有发放中的工资档案", "unit_id"))
    return slips, v


def _changes(run: PayrollRun, slips: list[PayrollSlip]) -> list[dict]:
    prev = _previous(run.unit, run.year, run.month)
    if prev is None:
        return []
    before = {s.person_id: domain.PersonSnap(s.person_id, s.name, s.grade, s.post, s.gross) for s in prev.slips.all()}
    now = {s.person_id: domain.PersonSnap(s.person_id, s.name, s.grade, s.post, s.gross) for s in slips}
    return domain.month_changes(before, now)


def payroll_run_generate(*, actor, unit_id: int, year: int, month: int) -> PayrollRun:
    """生成 (or regenerate while still 已生成/已退回) the month's run for a unit; refused, with nothing written, when an
    earlier month of the year is not yet approved (its tax is not final) or any person's figures are wrong."""
    require_perm(actor, P_ADD)
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise invalid("month_invalid", "月份必须为1至12", "month")
    with transaction.atomic(durable=True):
        unit = get_in_scope(Unit.objects.all(), actor, what="单位", pk=unit_id)
        check_write_scope(actor, region_code=unit.region_code, unit_path=unit.path, spec=UNIT_SCOPE)
        open_before = PayrollRun.objects.filter(unit=unit, year=year, month__lt=month).exclude(status__in=FINAL)
        if open_before.exists():
            first = open_before.order_by("month").first()
            raise Conflict("previous_run_open", f"{year}年{first.month}月工资表尚未审批，不能生成{month}月工资表")
        run = PayrollRun.objects.select_for_update().filter(unit=unit, year=year, month=month).first()
        created = run is None
        if run is None:
            run = PayrollRun(region_code=unit.region_code, unit=unit, unit_path=unit.path, year=year, month=month,
                             created_by=_actor_or_none(actor),
                             number=next_number(f"GZ-{unit.region_code[:6]}-{year}{month:02d}-",
                                                key=f"GZ-{unit.region_code}-{year}{month:02d}", width=5))
        elif run.status not in (S.DRAFT, S.RETURNED):
            raise Conflict("run_exists", f"{year}年{month}月工资表已{run.get_status_display()}，不能重新生成")
        before = None if created else audit.snapshot(run)
        slips, v = _compute(run)
        if v:
            raise ValidationFailed(v[:50], message="工资表生成失败")
        run.headcount = len(slips)
        for f in ("gross", "social", "tax", "other", "net"):
            setattr(run, f, sum(getattr(s, f) for s in slips))
        run.changes = _changes(run, slips)
        run.save()
        if not created:
            run.slips.all().delete()
        PayrollSlip.objects.bulk_create(slips, batch_size=2000)
        audit.record_change(run, "create" if created else "update", before)
        audit.record_event("payroll.run_generated", obj=run, region_code=run.region_code,
                           payload={"number": run.number, "people": run.headcount, "net": fen_to_str(run.net),
                                    "changes": len(run.changes)})
        return run


def _todo(run: PayrollRun, step: workflow.Step) -> None:
    workflow.todo_open(doc_type=DOC_RUN, obj=run, title=f"工资表{step.name}：{run.number} {run.year}年{run.month}月",
                       url=reverse("payroll:run-detail", args=[run.pk]), step=step, region_code=run.region_code,
                       unit_path=run.unit_path)


def payroll_run_submit(*, actor, pk: int) -> PayrollRun:
    require_perm(actor, P_SUBMIT)
    with transaction.atomic(durable=True):
        run = get_in_scope(PayrollRun.objects.select_for_update(), actor, CHANGE, what="工资表", pk=pk)
        if run.status not in (S.DRAFT, S.RETURNED):
            raise Conflict("not_editable", f"工资表“{run.get_status_display()}”状态下不能提交")
        steps = workflow.approval_steps(DOC_RUN, run.region_code)
        if not steps:
            raise invalid("no_chain", "未配置工资表的审核流程")
        audit.update_fields(run, submitted_by=_actor_or_none(actor), current_step=1, review_comment="")
        workflow.transition(run, S.SUBMITTED, transitions=PayrollRun.TRANSITIONS, event_code="payroll.run_submitted",
                            payload={"net": fen_to_str(run.net)})
        _todo(run, steps[0])
        return run


def payroll_run_review(*, actor, pk: int, approve: bool, comment: str = "") -> PayrollRun:
    """One step of the chain; 退回 needs a reason and sends the run back to the unit to regenerate or resubmit."""
    require_perm(actor, P_REVIEW)
    comment = (comment or "").strip()[:300]
    with transaction.atomic(durable=True):
        run = get_in_scope(PayrollRun.objects.select_for_update(), actor, CHANGE, what="工资表", pk=pk)
        if run.status != S.SUBMITTED:
            raise Conflict("not_submitted", "只有审核中的工资表可以审核")
        steps = workflow.approval_steps(DOC_RUN, run.region_code)
        step = steps[min(run.current_step, len(steps)) - 1]
        workflow.check_step_actor(actor, step, submitted_by_id=run.submitted_by_id)
        if not approve and not comment:
            raise invalid("comment_required", "退回必须填写原因", "comment")
        workflow.todo_close(doc_type=DOC_RUN, obj=run, user=actor)
        audit.record_event("payroll.run_reviewed", obj=run, region_code=run.region_code, message=comment,
                           payload={"step": step.order, "step_name": step.name, "approve": approve})
        if not approve:
            audit.update_fields(run, review_comment=comment)
            workflow.transition(run, S.RETURNED, transitions=PayrollRun.TRANSITIONS,
                                event_code="payroll.run_returned", message=comment)
            return run
        if step.order < len(steps):
            audit.update_fields(run, review_comment=comment, current_step=step.order + 1)
            _todo(run, steps[step.order])
            return run
        audit.update_fields(run, review_comment=comment)
        workflow.transition(run, S.APPROVED, transitions=PayrollRun.TRANSITIONS, event_code="payroll.run_approved",
                            message=comment)
        return run
