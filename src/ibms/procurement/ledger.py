"""What a plan holds frozen on its indicator, moved inside the caller's transaction (treasury's contract filing,
payments and their returns, completion). `plan.frozen` always equals what this plan holds frozen there: the plan
amount once approved; after the contract is filed, the contract's unpaid commitment (contract − drawn), the saving
(plan − contract) unfrozen back to the indicator; a payment draws on it (unfreeze, then the caller reserves, so
the available balance is never counted twice), a return gives it back to the freeze, completion or termination
releases what is left. Building blocks: no permission of their own (the caller checked its own), the actor's
scope is kept by the indicator ledger."""

from __future__ import annotations

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, NotFound, invalid
from ibms.core.money import format_fen
from ibms.core.transactions import in_callers_transaction
from ibms.indicators import services as ind_services

from .models import ProcurementPlan

S = ProcurementPlan.Status


def _hold(actor, plan: ProcurementPlan, amount: int, *, freeze: bool, memo: str) -> None:
    if amount > 0:
        ind_services.indicator_hold(actor=actor, indicator_id=plan.indicator_id, amount=amount, source=plan.source,
                                    freeze=freeze, consumer=plan.number, memo=memo)


def _lock(plan_id: int) -> ProcurementPlan:
    plan = ProcurementPlan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("采购计划")
    return plan


def plan_contract_check(plan: ProcurementPlan, *, unit_id: int, amount: int) -> None:
    """May a contract of `amount` for `unit_id` be filed against the plan (approved, same unit, ≤ the plan)?"""
    if plan.status != S.APPROVED:
        raise Conflict("plan_not_approved", f"采购计划 {plan.number}“{plan.get_status_display()}”：只有已批准且未备案"
                                            "合同的采购计划可以备案合同")
    if plan.unit_id != unit_id:
        raise invalid("plan_unit_mismatch", f"采购计划 {plan.number} 不属于合同的单位", "plan_id")
    if amount > plan.amount:
        raise invalid("contract_exceeds_plan", f"合同金额 {format_fen(amount)} 元超过采购计划 {plan.number} 金额 "
                                               f"{format_fen(plan.amount)} 元", "amount")


@in_callers_transaction
def plan_contract_file(*, actor, plan_id: int, unit_id: int, amount: int, contract_number: str) -> ProcurementPlan:
    """合同备案 approved against the (approved) plan: the contract amount (≤ the plan) stays frozen as the
    contract's commitment, the saving goes back to the indicator's available balance."""
    plan = _lock(plan_id)
    plan_contract_check(plan, unit_id=unit_id, amount=amount)
    saving = plan.frozen - amount
    _hold(actor, plan, saving, freeze=False, memo=f"合同 {contract_number} 备案：采购节约解冻")
    audit.update_fields(plan, frozen=amount, contract_amount=amount, released=plan.released + saving)
    workflow.transition(plan, S.CONTRACTED, transitions=ProcurementPlan.TRANSITIONS,
                        event_code="procurement.plan_contracted",
                        payload={"contract": contract_number, "saving": saving})
    return plan


@in_callers_transaction
def plan_draw(*, actor, plan_id: int, amount: int, consumer: str) -> int:
    """A payment of `amount` against the plan's contract: what is frozen for it is unfrozen (the caller reserves
    it next, in the same transaction). Returns the amount unfrozen."""
    plan = _lock(plan_id)
    if plan.status != S.CONTRACTED:
        return 0
    if plan.drawn + amount > plan.contract_amount:
        raise Conflict("contract_exhausted", f"采购计划 {plan.number} 的合同已支用 {format_fen(plan.drawn)} 元，本次 "
                                             f"{format_fen(amount)} 元超过合同金额 {format_fen(plan.contract_amount)} 元")
    draw = min(amount, plan.frozen)
    _hold(actor, plan, draw, freeze=False, memo=f"支付 {consumer} 支用合同冻结")
    audit.update_fields(plan, frozen=plan.frozen - draw, drawn=plan.drawn + amount)
    return draw


@in_callers_transaction
def plan_give_back(*, actor, plan_id: int, amount: int, consumer: str) -> int:
    """A payment withdrawn, refused, returned by the bank or refunded: while the contract is open the amount goes
    back to the freeze (the caller has just made it available). Returns the amount frozen again."""
    plan = _lock(plan_id)
    refreeze = amount if plan.status == S.CONTRACTED else 0
    _hold(actor, plan, refreeze, freeze=True, memo=f"支付 {consumer} 退回：恢复合同冻结")
    audit.update_fields(plan, frozen=plan.frozen + refreeze, drawn=max(plan.drawn - amount, 0))
    return refreeze


@in_callers_transaction
def plan_release(*, actor, plan: ProcurementPlan, memo: str) -> int:
    """Unfreeze whatever the (locked) plan still holds. Returns the amount released."""
    left = plan.frozen
    _hold(actor, plan, left, freeze=False, memo=memo)
    audit.update_fields(plan, frozen=0, released=plan.released + left)
    return left


@in_callers_transaction
def plan_close(*, actor, plan_id: int, contract_number: str, reason: str = "", memo: str = "") -> int:
    """The contract is complete or terminated: what is left unpaid is released, the plan is closed."""
    plan = _lock(plan_id)
    if plan.status != S.CONTRACTED:
        return 0
    left = plan_release(actor=actor, plan=plan, memo=memo or f"合同 {contract_number} 完结：解冻未支付余额")
    workflow.transition(plan, S.CLOSED, transitions=ProcurementPlan.TRANSITIONS, event_code="procurement.plan_closed",
                        message=reason[:300], payload={"released": left})
    return left


@in_callers_transaction
def plan_contract_amend(*, actor, plan_id: int, amount: int, contract_number: str, memo: str) -> int:
    """合同金额变更 approved: the contract's commitment follows the new amount the way the filing set it — an increase
    freezes the difference again out of the saving (never above the plan; the caller has checked the indicator's
    available balance), a decrease unfreezes it as saving (never below what the contract has drawn). Returns the
    amount unfrozen (negative: frozen)."""
    plan = _lock(plan_id)
    if plan.status != S.CONTRACTED:
        raise Conflict("plan_not_contracted", f"采购计划 {plan.number}“{plan.get_status_display()}”：合同已不在执行中")
    if amount > plan.amount:
        raise invalid("contract_exceeds_plan", f"变更后合同金额 {format_fen(amount)} 元超过采购计划 {plan.number} 金额 "
                                               f"{format_fen(plan.amount)} 元", "new_amount")
    if amount < plan.drawn:
        raise invalid("contract_below_committed", f"变更后合同金额 {format_fen(amount)} 元低于合同已支付及在途金额 "
                                                  f"{format_fen(plan.drawn)} 元", "new_amount")
    delta = amount - plan.contract_amount
    _hold(actor, plan, abs(delta), freeze=delta > 0, memo=f"合同 {contract_number} {memo}")
    audit.update_fields(plan, frozen=plan.frozen + delta, contract_amount=amount, released=plan.released - delta)
    return -delta
