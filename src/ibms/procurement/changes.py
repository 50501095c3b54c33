"""合同变更 / 合同终止 of a contract filed against a 采购计划, as documents with review: the unit proposes (草稿),
submits (审核中, a to-do item for the finance's reviewer), the finance approves or rejects — never the person who
made or submitted it. Approval re-checks everything under locks (indicator → contract → plan, the order of the
payment services) and moves it all in one transaction:

- 金额变更: the contract's amount and the plan's commitment/freeze move together (procurement.ledger.
  plan_contract_amend, the way the filing turned the freeze into the commitment): an increase is frozen again on
  the indicator — never above the plan, never above the indicator's available balance; a decrease is unfrozen as
  saving — never below what the contract has paid or holds in flight. It carries the new schedule of the unpaid
  periods (the amounts must add up to the new contract amount).
- 付款计划变更: the periods no payment has touched are replaced; a period with a paid or in-flight payment is kept
  as it is.
- 合同终止: what is neither paid nor in flight is released back to the indicator (ledger.plan_close), the plan is
  closed and the contract 已终止 (treasury's payment controls then refuse it, `contract_not_active`).

The contract itself is treasury's: it is found, locked and changed through procurement.hooks.contract_port()."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.money import Fen, fen_to_str, format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.indicators.models import Indicator

from . import domain, hooks, ledger
from .models import UNIT_SCOPE, ContractChange, ProcurementPlan

P_ADD, P_SUBMIT = "procurement.add_contractchange", "procurement.submit_contractchange"
P_REVIEW = "procurement.review_contractchange"
DOC_CHANGE = "procurement.contract_change"
# the to-do item goes to the role that reviews contract filings (data/policy/permissions: review_contractchange)
REVIEW_STEP = workflow.Step(1, "合同变更审核", "budget_division", "finance")
K, S = ContractChange.Kind, ContractChange.Status
ACTIVE = "active"  # treasury.Contract.Status.ACTIVE


@dataclass
class ChangeIn:
    kind: str
    reason: str
    new_amount: Fen = 0
    milestones: list[tuple[str, int]] = field(default_factory=list)  # the new unpaid periods: (name, 分)


def _actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def _schedule(contract, amount: int, proposed: list[tuple[str, int]],
              use: dict[int, int]) -> tuple[list[dict], list[Violation]]:
    """The contract's schedule after the change: the periods a payment touched (kept as they are) and the proposed
    ones after them, adding up to `amount`."""
    kept = [dict(m) for m in contract.schedule or [] if use.get(int(m["seq"]), 0) > 0]
    kept_sum = sum(int(m["amount"]) for m in kept)
    rest = amount - kept_sum
    if rest < 0:
        return [], [Violation("paid_milestones_exceed", f"已付款（含在途）的期次合计 {format_fen(kept_sum)} 元，超过变更后"
                                                         f"合同金额 {format_fen(amount)} 元：已付款期次不能变更", "new_amount")]
    if not proposed and rest == 0:
        return kept, []
    v = domain.milestone_violations(rest, proposed)
    for n, x in enumerate(v):
        if x.code == "milestones_sum_mismatch":
            total = sum(a for _, a in proposed if isinstance(a, int))
            v[n] = Violation(x.code, f"新付款期次合计 {format_fen(total)} 元，应等于变更后合同金额减去已付款期次后的 "
                                     f"{format_fen(rest)} 元", "milestones")
    if v:
        return [], v
    start = max((int(m["seq"]) for m in kept), default=0)
    return kept + [{"seq": start + n, "name": name.strip()[:60], "amount": a}
                   for n, (name, a) in enumerate(proposed, 1)], []


def _resolve(kind: str, contract, plan: ProcurementPlan, *, new_amount, proposed: list[tuple[str, int]],
             use: dict[int, int], available: int) -> tuple[int, list[dict], list[Violation]]:
    """(the contract's amount and schedule after the change, every reason it cannot be made) on the state read."""
    v: list[Violation] = []
    if contract.status != ACTIVE:
        v.append(Violation("contract_not_active", f"合同 {contract.number}“{contract.get_status_display()}”：只有有效的"
                                                  "合同可以变更或终止", "contract_id"))
    if kind == K.TERMINATE:
        return 0, [], v
    amount = contract.amount
    if kind == K.AMOUNT:
        if not isinstance(new_amount, int) or isinstance(new_amount, bool) or new_amount <= 0:
            return 0, [], v + [Violation("amount_not_positive", "变更后合同金额必须大于零", "new_amount")]
        amount = new_amount
        if amount == contract.amount:
            v.append(Violation("amount_unchanged", "变更后合同金额与原金额相同", "new_amount"))
        if amount > plan.amount:
            v.append(Violation("contract_exceeds_plan", f"变更后合同金额 {format_fen(amount)} 元超过采购计划 {plan.number} "
                                                        f"金额 {format_fen(plan.amount)} 元", "new_amount"))
        if amount < contract.committed:
            v.append(Violation("contract_below_committed", f"变更后合同金额 {format_fen(amount)} 元低于合同已支付及在途"
                                                           f"金额 {format_fen(contract.committed)} 元", "new_amount"))
        if amount - contract.amount > available:
            v.append(Violation("overdraw", f"合同金额增加 {format_fen(amount - contract.amount)} 元，超过指标可用余额 "
                                           f"{format_fen(available)} 元", "new_amount"))
        if v:
            return amount, [], v
    elif not proposed:
        return amount, [], v + [Violation("milestones_required", "必须填写新的付款期次", "milestones")]
    schedule, sv = _schedule(contract, amount, proposed, use)
    return amount, schedule, v + sv


def _proposed(ch: ContractChange) -> list[tuple[str, int]]:
    return [(m["name"], int(m["amount"])) for m in ch.new_schedule or []]


def _check_now(ch: ContractChange, *, locked: bool, actor=None):
    """(amount, schedule, violations, contract) on the state now; `locked`: the indicator, then the contract
    (the order of the payment services), inside the caller's transaction."""
    port = hooks.contract_port()
    ind_qs = Indicator.objects.select_for_update(no_key=True) if locked else Indicator.objects
    ind = ind_qs.get(pk=ch.plan.indicator_id)
    contract = port.lock(ch.contract_id) if locked else port.find(actor, ch.contract_id, write=True)
    plan = ProcurementPlan.objects.get(pk=ch.plan_id)
    amount, schedule, v = _resolve(ch.kind, contract, plan, new_amount=ch.new_amount, proposed=_proposed(ch),
                                   use=port.milestone_use(contract), available=ind.available)
    return amount, schedule, v, contract


def change_create(*, actor, contract_id: int, data: ChangeIn) -> ContractChange:
    """A draft 合同变更/终止 of a contract (active, filed against a plan) in the actor's own scope."""
    require_perm(actor, P_ADD)
    reason = (data.reason or "").strip()[:500]
    v: list[Violation] = []
    if data.kind not in K.values:
        raise invalid("kind_unknown", f"未知的变更类型：{data.kind}", "kind")
    if not reason:
        v.append(Violation("reason_required", "必须填写变更或终止的理由", "reason"))
    proposed = [((n or "").strip(), a) for n, a in (data.milestones or [])] if data.kind != K.TERMINATE else []
    with transaction.atomic(durable=True):
        contract = hooks.contract_port().find(actor, contract_id, write=True)
        check_write_scope(actor, region_code=contract.region_code, unit_path=contract.unit_path, spec=UNIT_SCOPE)
        if not contract.plan_id:
            raise Conflict("contract_without_plan", f"合同 {contract.number} 未关联采购计划：请在合同备案中完结或终止")
        plan = ProcurementPlan.objects.get(pk=contract.plan_id)
        new_amount = data.new_amount if data.kind == K.AMOUNT else (contract.amount if data.kind == K.SCHEDULE else 0)
        available = Indicator.objects.filter(pk=plan.indicator_id).values_list("available", flat=True).first() or 0
        _, _, rv = _resolve(data.kind, contract, plan, new_amount=new_amount, proposed=proposed,
                            use=hooks.contract_port().milestone_use(contract), available=available)
        v += rv
        if v:
            raise ValidationFailed(v, message="合同变更填写有误")
        ch = ContractChange(
            region_code=contract.region_code, year=contract.year, kind=data.kind, contract=contract, plan=plan,
            unit_id=contract.unit_id, unit_path=contract.unit_path, old_amount=contract.amount, new_amount=new_amount,
            new_schedule=[{"name": n[:60], "amount": a} for n, a in proposed], reason=reason,
            created_by=_actor_or_none(actor))
        ch.number = next_number(f"BG{contract.region_code[:6]}{contract.year}",
                                key=f"contract-change:{contract.region_code}:{contract.year}", width=5)
        ch.save()
        audit.record_change(ch, "create")
        audit.record_event("procurement.change_created", obj=ch, region_code=ch.region_code,
                           payload={"number": ch.number, "kind": ch.kind, "contract": contract.number,
                                    "new_amount": fen_to_str(new_amount)})
        return ch


def _get(actor, pk: int) -> ContractChange:
    return get_in_scope(ContractChange.objects.select_for_update(), actor, CHANGE, what="合同变更", pk=pk)


def change_submit(*, actor, pk: int) -> ContractChange:
    """提交: checked again on the contract as it is now; one change in review per contract at a time."""
    require_perm(actor, P_SUBMIT)
    with transaction.atomic(durable=True):
        ch = _get(actor, pk)
        if ch.status != S.DRAFT:
            raise Conflict("change_not_draft", f"合同变更 {ch.number}“{ch.get_status_display()}”：只有草稿可以提交")
        if ContractChange.objects.filter(contract_id=ch.contract_id, status=S.SUBMITTED).exclude(pk=ch.pk).exists():
            raise Conflict("change_pending", "该合同已有一份变更在审核中，请待其审核后再提交")
        _, _, v, contract = _check_now(ch, locked=False, actor=actor)
        if v:
            raise ValidationFailed(v, message="合同变更未通过检查")
        audit.update_fields(ch, submitted_by=_actor_or_none(actor))
        workflow.transition(ch, S.SUBMITTED, transitions=ContractChange.TRANSITIONS,
                            event_code="procurement.change_submitted", payload={"kind": ch.kind})
        workflow.todo_open(doc_type=DOC_CHANGE, obj=ch, title=f"{REVIEW_STEP.name}：{ch.number} {ch.get_kind_display()}"
                           f"（合同 {contract.number}）", url=reverse("procurement:contract-changes",
                                                                 args=[ch.contract_id]),
                           step=REVIEW_STEP, region_code=ch.region_code, unit_path=ch.unit_path)
        return ch


def change_review(*, actor, pk: int, approve: bool, comment: str = "") -> ContractChange:
    """审核: 驳回 needs a reason; 批准 re-checks under locks and moves the contract and the plan's freeze at once."""
    require_perm(actor, P_REVIEW)
    comment = (comment or "").strip()[:300]
    with transaction.atomic(durable=True):
        ch = _get(actor, pk)
        if ch.status != S.SUBMITTED:
            raise Conflict("change_not_submitted", f"合同变更 {ch.number}“{ch.get_status_display()}”：只有审核中的变更"
                                                   "可以审核")
        if actor.pk in {ch.created_by_id, ch.submitted_by_id}:
            raise PermissionDenied("经办人不能审核自己经办的合同变更", code="segregation_of_duties")
        if not approve and not comment:
            raise invalid("comment_required", "驳回必须填写原因", "comment")
        workflow.todo_close(doc_type=DOC_CHANGE, obj=ch, user=actor)
        released = 0
        if approve:
            released = _apply(actor, ch)
        audit.update_fields(ch, review_comment=comment, reviewed_by=actor, reviewed_at=timezone.now(),
                            released=released)
        workflow.transition(ch, S.APPROVED if approve else S.REJECTED, transitions=ContractChange.TRANSITIONS,
                            event_code="procurement.change_approved" if approve else "procurement.change_rejected",
                            message=comment, payload={"kind": ch.kind, "released": released})
        return ch


def _apply(actor, ch: ContractChange) -> int:
    """The approved change, inside the review's transaction. Returns what was unfrozen (negative: frozen)."""
    port = hooks.contract_port()
    amount, schedule, v, contract = _check_now(ch, locked=True)
    if v:
        raise ValidationFailed(v, message="合同变更不能批准")
    if ch.kind == K.TERMINATE:
        released = ledger.plan_close(actor=actor, plan_id=ch.plan_id, contract_number=contract.number,
                                     reason=ch.reason, memo=f"合同 {contract.number} 终止（{ch.number}）：解冻未支付余额")
        port.terminate(actor, contract, reason=ch.reason, change_number=ch.number)
        return released
    released = 0
    if amount != contract.amount:
        released = ledger.plan_contract_amend(actor=actor, plan_id=ch.plan_id, amount=amount,
                                              contract_number=contract.number, memo=f"金额变更（{ch.number}）："
                                              f"{format_fen(contract.amount)} → {format_fen(amount)} 元")
    port.amend(actor, contract, amount=amount, schedule=schedule, change_number=ch.number)
    return released
