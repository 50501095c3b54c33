"""A contract filed against a 采购计划 keeps its unpaid amount frozen on the indicator (procurement.ledger). These
helpers, in the caller's transaction, make a payment draw on that freeze (unfreeze, then the caller reserves: the
available balance is never counted twice), give it back when the payment is withdrawn, refused, returned or
refunded, check the payment schedule (milestones), and close the contract (完结/终止: what is left is released)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, PermissionDenied, Violation, invalid
from ibms.core.money import format_fen
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.procurement import ledger as plan_ledger
from ibms.procurement.models import ProcurementPlan

from ..models import Contract, PaymentRequest
from ._common import P_CONTRACT

P_REVIEW_CONTRACT = "treasury.review_contract"
DOC_CONTRACT = "treasury.contract"
REVIEW_STEP = workflow.Step(1, "合同备案审核", "budget_division", "finance")

OPEN_OR_PAID = {PaymentRequest.Status.SUBMITTED, PaymentRequest.Status.APPROVED, PaymentRequest.Status.PAID}


def drawable(contract: Contract | None) -> int:
    """What the contract holds frozen on its indicator (its plan's freeze), 0 without a plan."""
    if contract is None or not contract.plan_id:
        return 0
    return ProcurementPlan.objects.filter(pk=contract.plan_id).values_list("frozen", flat=True).first() or 0


def draw(actor, contract: Contract | None, amount: int, consumer: str) -> None:
    if contract is not None and contract.plan_id:
        plan_ledger.plan_draw(actor=actor, plan_id=contract.plan_id, amount=amount, consumer=consumer)


def give_back(actor, contract: Contract | None, amount: int, consumer: str) -> None:
    if contract is not None and contract.plan_id:
        plan_ledger.plan_give_back(actor=actor, plan_id=contract.plan_id, amount=amount, consumer=consumer)


def milestone_violations(req: PaymentRequest, contract: Contract | None) -> list[Violation]:
    """A contract with a payment schedule is paid period by period: the period named, never above its amount."""
    if contract is None or not contract.schedule:
        return []
    periods = {int(m["seq"]): m for m in contract.schedule}
    m = periods.get(req.milestone or 0)
    if m is None:
        return [Violation("milestone_required", f"合同 {contract.number} 按付款计划支付：请选择付款期次（1–"
                                                f"{len(periods)}）", "milestone")]
    used = (PaymentRequest.objects.filter(contract_id=contract.pk, milestone=req.milestone, status__in=OPEN_OR_PAID)
            .exclude(pk=req.pk).aggregate(s=Sum("amount"))["s"] or 0)
    if used + req.amount > int(m["amount"]):
        return [Violation("milestone_exhausted", f"合同 {contract.number} 第{req.milestone}期“{m['name']}”金额 "
                                                 f"{format_fen(int(m['amount']))} 元，已申请 {format_fen(used)} 元，本次 "
                                                 f"{format_fen(req.amount)} 元超出", "milestone")]
    return []


def todo_contract_review(c: Contract) -> None:
    """A contract filed against a plan waits on the finance's budget division until it is reviewed."""
    from django.urls import reverse

    workflow.todo_open(doc_type=DOC_CONTRACT, obj=c, title=f"{REVIEW_STEP.name}：{c.number} {c.name}"
                       f"（{format_fen(c.amount)}元）", url=reverse("treasury:contracts"),
                       step=REVIEW_STEP, region_code=c.region_code)


def contract_review(*, actor, pk: int, approve: bool, comment: str = "") -> Contract:
    """合同备案审核 of a contract filed against a 采购计划: approval files it (the plan's freeze becomes the contract's
    commitment, the saving is unfrozen — procurement.ledger.plan_contract_file) and opens it for payments; 退回 needs
    a reason and leaves the plan approved for another filing. Never by the person who entered it."""
    require_perm(actor, P_REVIEW_CONTRACT)
    comment = (comment or "").strip()[:300]
    with transaction.atomic(durable=True):
        c = get_in_scope(Contract.objects.select_for_update(), actor, CHANGE, what="合同", pk=pk)
        if c.status != Contract.Status.PENDING:
            raise Conflict("contract_not_pending", f"合同 {c.number}“{c.get_status_display()}”，不在备案审核中")
        if c.created_by_id is not None and c.created_by_id == actor.pk:
            raise PermissionDenied("登记人不能审核自己登记的合同", code="segregation_of_duties")
        if not approve and not comment:
            raise invalid("comment_required", "退回必须填写原因", "comment")
        if approve:
            plan_ledger.plan_contract_file(actor=actor, plan_id=c.plan_id, unit_id=c.unit_id, amount=c.amount,
                                           contract_number=c.number)
        audit.update_fields(c, review_comment=comment)
        workflow.todo_close(doc_type=DOC_CONTRACT, obj=c, user=actor)
        to = Contract.Status.ACTIVE if approve else Contract.Status.REJECTED
        workflow.transition(c, to, transitions={Contract.Status.PENDING: {Contract.Status.ACTIVE,
                                                                          Contract.Status.REJECTED}},
                            event_code="treasury.contract_filed" if approve else "treasury.contract_rejected",
                            message=comment)
        return c


def contract_close(*, actor, pk: int, terminate: bool = False, reason: str = "") -> Contract:
    """合同完结 (completed) or 终止 (terminated, with a reason): no payment may be in flight; what is left unpaid is
    released from the freeze back to the indicator."""
    require_perm(actor, P_CONTRACT)
    reason = (reason or "").strip()[:300]
    if terminate and not reason:
        raise invalid("reason_required", "终止合同必须填写原因", "reason")
    with transaction.atomic(durable=True):
        c = get_in_scope(Contract.objects.select_for_update(), actor, CHANGE, what="合同", pk=pk)
        if c.status != Contract.Status.ACTIVE:
            raise Conflict("contract_not_active", f"合同 {c.number}“{c.get_status_display()}”，不能再完结或终止")
        if c.committed != c.paid:
            raise Conflict("contract_in_flight", f"合同 {c.number} 还有在途支付 {format_fen(c.committed - c.paid)} 元，"
                                                 "请待其支付或退回后再完结")
        if c.plan_id:
            plan_ledger.plan_close(actor=actor, plan_id=c.plan_id, contract_number=c.number, reason=reason)
        to = Contract.Status.CLOSED if terminate else Contract.Status.COMPLETED
        workflow.transition(c, to, transitions={Contract.Status.ACTIVE: {Contract.Status.CLOSED,
                                                                         Contract.Status.COMPLETED}},
                            event_code="treasury.contract_terminated" if terminate else "treasury.contract_completed",
                            message=reason)
        audit.record_event("treasury.contract_closed", obj=c, region_code=c.region_code,
                           payload={"paid": c.paid, "released": c.amount - c.paid})
        return c
