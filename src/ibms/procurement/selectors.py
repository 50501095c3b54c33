"""Reads of procurement plans, and the `ibms verify` check of what plans hold frozen on their indicators."""

from __future__ import annotations

from django.db.models import Q, Sum

from ibms.indicators.models import Indicator, IndicatorEntry

from .models import ProcurementPlan

S = ProcurementPlan.Status


def plan_list(*, actor, status: str = "", q: str = ""):
    qs = ProcurementPlan.objects.permitted(actor).select_related("unit", "indicator").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(name__icontains=q) | Q(catalogue_name__icontains=q))
    return qs


def plans_for_contract(*, actor):
    """Approved plans without a contract, for the contract filing form."""
    return ProcurementPlan.objects.restrict(actor).filter(status=S.APPROVED).select_related("unit").order_by("-id")


def plan_entries(plan: ProcurementPlan):
    return IndicatorEntry.objects.filter(indicator_id=plan.indicator_id, consumer=plan.number).order_by("id")


def frozen_problems() -> list[str]:
    """Per plan: its freeze entries on the indicator net to `plan.frozen`, which is the plan amount while approved,
    the contract's unpaid commitment (contract − drawn) while contracted, nothing otherwise; per indicator: the
    frozen bucket covers at least what its plans hold (other holds are finance's own 冻结)."""
    out: list[str] = []
    nets = dict(IndicatorEntry.objects.filter(consumer__in=ProcurementPlan.objects.values("number"))
                .values_list("consumer").annotate(s=Sum("d_frozen")).values_list("consumer", "s"))
    by_ind: dict[int, int] = {}
    for p in ProcurementPlan.objects.all().iterator():
        expected = {S.APPROVED: p.amount, S.CONTRACTED: p.contract_amount - p.drawn}.get(p.status, 0)
        if p.frozen != expected:
            out.append(f"采购计划 {p.number}：冻结 {p.frozen} 分，应为 {expected} 分（状态 {p.status}）")
        if (nets.get(p.number) or 0) != p.frozen:
            out.append(f"采购计划 {p.number}：指标冻结分录合计 {nets.get(p.number) or 0} 分，与计划冻结 {p.frozen} 分不符")
        by_ind[p.indicator_id] = by_ind.get(p.indicator_id, 0) + p.frozen
    for pk, code, frozen in Indicator.objects.filter(pk__in=by_ind).values_list("pk", "code", "frozen"):
        if frozen < by_ind[pk]:
            out.append(f"指标 {code}：冻结 {frozen} 分，少于其采购计划冻结合计 {by_ind[pk]} 分")
    return out
