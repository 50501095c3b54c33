"""Reads of procurement plans and contract changes, and the `ibms verify` checks of what plans hold frozen on their
indicators and of the contracts their changes left behind."""

from __future__ import annotations

from django.db.models import Q, Sum

from ibms.indicators.models import Indicator, IndicatorEntry

from .models import ContractChange, ProcurementPlan

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


def changes_for_contract(*, actor, contract_id: int):
    return (ContractChange.objects.permitted(actor).filter(contract_id=contract_id)
            .select_related("created_by", "submitted_by", "reviewed_by").order_by("-id"))


def change_problems() -> list[str]:
    """After 合同变更/终止: an open contract filed against a plan has a payment schedule adding up to its amount; an
    approved termination left its contract 已终止 and its plan closed (nothing frozen)."""
    out: list[str] = []
    for p in ProcurementPlan.objects.filter(status=S.CONTRACTED).prefetch_related("contracts"):
        for c in p.contracts.all():
            if c.status != "active":
                continue
            total = sum(int(m["amount"]) for m in c.schedule or [])
            if c.schedule and total != c.amount:
                out.append(f"合同 {c.number}：付款计划合计 {total} 分，与合同金额 {c.amount} 分不符")
    for ch in ContractChange.objects.filter(kind=ContractChange.Kind.TERMINATE,
                                            status=ContractChange.Status.APPROVED).select_related("contract", "plan"):
        if ch.contract.status != "closed" or ch.plan.status != S.CLOSED or ch.plan.frozen:
            out.append(f"合同终止 {ch.number}：合同 {ch.contract.number} 状态 {ch.contract.status}，采购计划 "
                       f"{ch.plan.number} 状态 {ch.plan.status}、冻结 {ch.plan.frozen} 分")
    return out
