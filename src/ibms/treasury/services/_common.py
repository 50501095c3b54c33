"""Helpers shared by the treasury services: permissions, the voucher's timeline and state moves, contract
counters, voucher numbers. Every writer here runs in its caller's transaction."""

from __future__ import annotations

import logging

from ibms.core import audit, workflow
from ibms.core.numbering import next_number

from ..models import Contract, PaymentRequest, PaymentVoucher, VoucherEvent

log = logging.getLogger("ibms.treasury")

P_ADD, P_CHANGE = "treasury.add_paymentrequest", "treasury.change_paymentrequest"
P_SUBMIT, P_REVIEW = "treasury.submit_paymentrequest", "treasury.review_paymentrequest"
P_CONTRACT = "treasury.add_contract"
P_ALLOC = "treasury.add_allocation"
P_RECON = "treasury.add_reconciliationrun"
P_VOUCHER = "treasury.change_paymentvoucher"

R = PaymentRequest.Status
V = PaymentVoucher.State


def _actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def _voucher_number(region_code: str, year: int) -> str:
    return next_number(f"ZF{region_code[:6]}{year}", key=f"treasury-voucher:{region_code}:{year}", width=8)


def _event(voucher: PaymentVoucher, kind: str, note: str = "", message_id: str = "") -> None:
    VoucherEvent.objects.create(voucher=voucher, region_code=voucher.region_code, kind=kind, state=voucher.state,
                                message_id=str(message_id or "")[:60], note=note[:300])


DOC_VOUCHER = "treasury.voucher"
UNKNOWN_STEP = workflow.Step(1, "支付结果未知待查询", "treasury_division", "finance")


def _move(voucher: PaymentVoucher, to: str, *, note: str = "", message_id: str = "", kind: str = "") -> None:
    was = voucher.state
    workflow.transition(voucher, to, transitions=PaymentVoucher.TRANSITIONS, field="state",
                        event_code=f"treasury.voucher_{to}", message=note[:300])
    _event(voucher, kind or to, note, message_id)
    # a voucher whose outcome the bank has not given waits on the treasury division until it has one
    if to == PaymentVoucher.State.UNKNOWN and was != to:
        from django.urls import reverse

        workflow.todo_open(doc_type=DOC_VOUCHER, obj=voucher, title=f"{UNKNOWN_STEP.name}：支付凭证 {voucher.number}"
                           f"（{note}）"[:200], url=reverse("treasury:voucher-detail", args=[voucher.pk]),
                           step=UNKNOWN_STEP, region_code=voucher.region_code)
    elif was == PaymentVoucher.State.UNKNOWN and to != was:
        workflow.todo_close(doc_type=DOC_VOUCHER, obj=voucher, user=None)


def _contract_move(contract: Contract, *, committed: int = 0, paid: int = 0) -> None:
    """Contract counters (caller holds the lock or the transaction); the CHECKs refuse over-commitment."""
    audit.update_fields(contract, committed=contract.committed + committed, paid=contract.paid + paid)
