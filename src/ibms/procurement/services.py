"""采购计划 services: a unit enters a plan against a procurement-flagged indicator of its own, submits it (the
method thresholds and the split-purchase rule run; refusals list every reason, warnings are kept for the
reviewer), the finance reviews it along the chain (`data/procurement/review_chains.csv`); the last approval
freezes the amount on the indicator (无预算不采购) on the plan's own 冻结 document. A plan above the indicator's
available balance is refused at submit and again at approval."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, ValidationFailed, Violation, invalid
from ibms.core.money import fen_to_str, format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.indicators import services as ind_services
from ibms.indicators.models import Indicator

from . import domain, hooks, rules
from .domain import PlanIn
from .ledger import plan_release
from .models import UNIT_SCOPE, Method, ProcurementPlan

P_ADD, P_CHANGE = "procurement.add_procurementplan", "procurement.change_procurementplan"
P_SUBMIT, P_REVIEW = "procurement.submit_procurementplan", "procurement.review_procurementplan"
DOC_PLAN = "procurement.plan"
S = ProcurementPlan.Status


def _actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def _fill(plan: ProcurementPlan, data: PlanIn, ind: Indicator) -> None:
    v: list[Violation] = []
    item = rules.catalogue().get((data.catalogue_code or "").strip())
    if not ind.is_gov_pur:
        v.append(Violation("indicator_not_procurement", f"指标 {ind.code} 不是政府采购指标，不能编制采购计划",
                           "indicator_id"))
    if not ind.is_executable or ind.unit_id is None:
        v.append(Violation("not_executable", f"指标 {ind.code} 不是可执行指标", "indicator_id"))
    if item is None:
        v.append(Violation("catalogue_unknown", f"采购目录中没有品目 {data.catalogue_code}", "catalogue_code"))
    if data.method not in Method.values:
        v.append(Violation("method_unknown", f"未知的采购方式：{data.method}", "method"))
    name = (data.name or "").strip()
    if not name:
        v.append(Violation("name_required", "必须填写采购项目名称", "name"))
    if not isinstance(data.amount, int) or isinstance(data.amount, bool) or data.amount <= 0:
        v.append(Violation("amount_not_positive", "计划金额必须大于零", "amount"))
    if not isinstance(data.quantity, int) or data.quantity <= 0:
        v.append(Violation("quantity_invalid", "数量必须大于零", "quantity"))
    if v:
        raise ValidationFailed(v, message="采购计划填写有误")
    plan.region_code, plan.year, plan.unit, plan.unit_path = ind.region_code, ind.year, ind.unit, ind.unit_path
    plan.indicator = ind
    plan.catalogue_code, plan.catalogue_name, plan.asset_class = item.code, item.name, item.asset_class
    plan.method, plan.name, plan.amount, plan.quantity = data.method, name[:200], data.amount, data.quantity
    plan.reason = (data.reason or "").strip()[:500]


def _indicator(actor, pk: int) -> Indicator:
    ind = get_in_scope(Indicator.objects.select_related("unit"), actor, what="指标", pk=pk)
    check_write_scope(actor, region_code=ind.region_code, unit_path=ind.unit_path or None, spec=UNIT_SCOPE)
    return ind


def plan_create(*, actor, data: PlanIn) -> ProcurementPlan:
    """A draft plan (nothing frozen yet)."""
    require_perm(actor, P_ADD)
    ind_services.fiscal_year_require_for(Indicator.objects.restrict(actor), data.indicator_id, purpose="indicator")
    with transaction.atomic(durable=True):
        ind = _indicator(actor, data.indicator_id)
        plan = ProcurementPlan(created_by=_actor_or_none(actor))
        _fill(plan, data, ind)
        plan.number = next_number(f"CG{ind.region_code[:6]}{ind.year}", key=f"procurement-plan:{ind.region_code}:"
                                  f"{ind.year}", width=5)
        plan.save()
        audit.record_change(plan, "create")
        audit.record_event("procurement.plan_created", obj=plan, region_code=plan.region_code,
                           payload={"number": plan.number, "amount": fen_to_str(plan.amount)})
        return plan


def _editable(actor, pk: int) -> ProcurementPlan:
    plan = get_in_scope(ProcurementPlan.objects.select_for_update(), actor, CHANGE, what="采购计划", pk=pk)
    if plan.status not in ProcurementPlan.EDITABLE:
        raise Conflict("not_editable", f"采购计划“{plan.get_status_display()}”状态下不能修改")
    return plan


def plan_update(*, actor, pk: int, data: PlanIn) -> ProcurementPlan:
    require_perm(actor, P_CHANGE)
    with transaction.atomic(durable=True):
        plan = _editable(actor, pk)
        before = audit.snapshot(plan)
        _fill(plan, data, _indicator(actor, data.indicator_id))
        plan.save()
        audit.record_change(plan, "update", before)
        return plan


def plan_rules(plan: ProcurementPlan, ind: Indicator) -> tuple[list[Violation], list[Violation]]:
    """(refusals, warnings) of the plan as it stands: the indicator's balance, the method, the split rule."""
    refuse, warn = domain.method_check(plan.method, plan.amount, rules.method_rules(plan.region_code))
    others = list(ProcurementPlan.objects.filter(
        region_code=plan.region_code, year=plan.year, unit_id=plan.unit_id, catalogue_code=plan.catalogue_code,
        status__in=ProcurementPlan.COUNTED).exclude(pk=plan.pk).values_list("amount", flat=True))
    r2, w2 = domain.split_check(plan.amount, others, rules.split_rule(plan.region_code))
    refuse, warn = refuse + r2, warn + w2
    if not ind.is_gov_pur:
        refuse.append(Violation("indicator_not_procurement", f"指标 {ind.code} 不是政府采购指标", "indicator"))
    if plan.status != S.APPROVED and ind.available < plan.amount:
        refuse.append(Violation("overdraw", f"指标 {ind.code} 可用余额 {format_fen(ind.available)} 元，不足采购计划 "
                                            f"{format_fen(plan.amount)} 元（无预算不采购）", "amount"))
    return refuse, warn


def plan_submit(*, actor, pk: int) -> ProcurementPlan:
    """提交: refused with every reason (nothing changes), or in review with the warnings kept on the plan."""
    require_perm(actor, P_SUBMIT)
    with transaction.atomic(durable=True):
        plan = _editable(actor, pk)
        steps = workflow.approval_steps(DOC_PLAN, plan.region_code)
        if not steps:
            raise invalid("no_chain", "未配置采购计划的审核流程")
        ind = Indicator.objects.select_for_update(no_key=True).get(pk=plan.indicator_id)
        refuse, warn = plan_rules(plan, ind)
        if refuse:
            raise ValidationFailed(refuse, message="采购计划未通过控制")
        before = audit.snapshot(plan)
        plan.warnings = [{"code": w.code, "message": w.message} for w in warn]
        plan.current_step, plan.submitted_by, plan.review_comment = 1, _actor_or_none(actor), ""
        plan.save()
        audit.record_change(plan, "update", before)
        workflow.transition(plan, S.SUBMITTED, transitions=ProcurementPlan.TRANSITIONS,
                            event_code="procurement.plan_submitted",
                            payload={"amount": fen_to_str(plan.amount), "warnings": [w.code for w in warn]})
        _todo(plan, steps[0])
        return plan


def _todo(plan: ProcurementPlan, step: workflow.Step) -> None:
    workflow.todo_open(doc_type=DOC_PLAN, obj=plan, title=f"采购计划{step.name}：{plan.number} {plan.name}"[:200],
                       url=reverse("procurement:plan-detail", args=[plan.pk]), step=step,
                       region_code=plan.region_code, unit_path=plan.unit_path)


def plan_review(*, actor, pk: int, approve: bool, comment: str = "") -> ProcurementPlan:
    """One review step. 退回 needs a reason; the last approval runs the rules again and the registered checks
    (资产配置标准), then freezes the plan amount on the indicator on the plan's 冻结 document."""
    require_perm(actor, P_REVIEW)
    comment = (comment or "").strip()[:300]
    with transaction.atomic(durable=True):
        plan = get_in_scope(ProcurementPlan.objects.select_for_update(), actor, CHANGE, what="采购计划", pk=pk)
        if plan.status != S.SUBMITTED:
            raise Conflict("not_submitted", "只有审核中的采购计划可以审核")
        steps = workflow.approval_steps(DOC_PLAN, plan.region_code)
        if not steps:
            raise invalid("no_chain", "未配置采购计划的审核流程")
        step = steps[min(plan.current_step, len(steps)) - 1]
        workflow.check_step_actor(actor, step, submitted_by_id=plan.submitted_by_id)
        workflow.todo_close(doc_type=DOC_PLAN, obj=plan, user=actor)
        if not approve:
            if not comment:
                raise invalid("comment_required", "退回必须填写原因", "comment")
            audit.update_fields(plan, review_comment=comment, current_step=0)
            workflow.transition(plan, S.RETURNED, transitions=ProcurementPlan.TRANSITIONS,
                                event_code="procurement.plan_returned", message=comment)
            return plan
        if plan.current_step < len(steps):
            audit.update_fields(plan, current_step=plan.current_step + 1, review_comment=comment)
            _todo(plan, steps[plan.current_step - 1])
            return plan
        ind = Indicator.objects.select_for_update(no_key=True).get(pk=plan.indicator_id)
        refuse, _ = plan_rules(plan, ind)
        refuse += hooks.run_plan_checks(plan)
        if refuse:
            raise ValidationFailed(refuse, message="采购计划不能批准")
        source = ind_services.source_document_create(
            actor=actor, region_code=plan.region_code, year=plan.year, kind="hold", doc_no=plan.number,
            title=f"采购计划冻结：{plan.name}"[:200], doc_date=clock.today(plan.region_code))
        ind_services.indicator_hold(actor=actor, indicator_id=ind.pk, amount=plan.amount, source=source, freeze=True,
                                    consumer=plan.number, memo=f"采购计划 {plan.number} 冻结（无预算不采购）")
        audit.update_fields(plan, frozen=plan.amount, source=source, review_comment=comment)
        workflow.transition(plan, S.APPROVED, transitions=ProcurementPlan.TRANSITIONS,
                            event_code="procurement.plan_approved", payload={"frozen": fen_to_str(plan.amount)})
        return plan


def plan_cancel(*, actor, pk: int, reason: str = "") -> ProcurementPlan:
    """作废: a draft or returned plan, or an approved plan without a contract (its freeze is released)."""
    require_perm(actor, P_CHANGE)
    reason = (reason or "").strip()[:300]
    with transaction.atomic(durable=True):
        plan = get_in_scope(ProcurementPlan.objects.select_for_update(), actor, CHANGE, what="采购计划", pk=pk)
        if plan.status == S.APPROVED:
            if not reason:
                raise invalid("reason_required", "作废已批准的采购计划必须填写原因", "reason")
            plan_release(actor=actor, plan=plan, memo=f"采购计划 {plan.number} 作废解冻")
        workflow.transition(plan, S.CANCELLED, transitions=ProcurementPlan.TRANSITIONS,
                            event_code="procurement.plan_cancelled", message=reason)
        return plan
