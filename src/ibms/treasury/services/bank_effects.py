"""The effects of the bank's messages on our vouchers: ack, receipt, return, refund, clearing, statement. Each is
a building block called by `handlers.py` inside the transaction in which the banks app marks the message applied
(so it happens exactly once); a refused effect raises and the banks app quarantines the message."""

from __future__ import annotations

import datetime as dt

from django.db.models import F

from ibms.accounting import services as acc
from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict
from ibms.core.faults import crash_point
from ibms.core.money import format_fen
from ibms.core.transactions import in_callers_transaction
from ibms.iam.services import system_user
from ibms.indicators import services as ind_services

from .. import hooks
from ..domain import posting_events
from ..models import (
    Allocation,
    BankStatement,
    Contract,
    PaymentRequest,
    PaymentVoucher,
    Refund,
    VoucherDetail,
)
from ..selectors import voucher_find
from . import contract_funds
from ._common import R, V, _contract_move, _event, _move, log


class RefundNotReady(Exception):
    """The refund's original voucher is not paid (yet): the caller defers the message."""


def _settle_origin(v: PaymentVoucher, status: str) -> None:
    if v.request_id:
        req = PaymentRequest.objects.select_for_update().get(pk=v.request_id)
        if req.status == R.APPROVED:
            workflow.transition(req, status, transitions=PaymentRequest.TRANSITIONS,
                                event_code=f"treasury.request_{status}")
    elif v.allocation_id:
        a = Allocation.objects.select_for_update().get(pk=v.allocation_id)
        if a.status == Allocation.Status.SENT:
            workflow.transition(a, status, transitions=Allocation.TRANSITIONS,
                                event_code=f"treasury.allocation_{status}")


def _void_origin(v: PaymentVoucher) -> None:
    actor = system_user()
    ind_services.reservation_void(actor=actor, consumer=v.consumer)
    if v.request_id and v.request.contract_id:
        contract = Contract.objects.select_for_update().get(pk=v.request.contract_id)
        _contract_move(contract, committed=-v.amount)
        contract_funds.give_back(actor, contract, v.amount, v.consumer)


@in_callers_transaction
def voucher_event_record(v: PaymentVoucher, kind: str, note: str, message_id: str = "") -> None:
    """A line on the voucher's timeline and nothing else (e.g. a status answer that changes nothing)."""
    _event(v, kind, note, message_id)


@in_callers_transaction
def voucher_ack_apply(v: PaymentVoucher, *, result: str, reason: str = "", state: str = "",
                      message_id: str = "") -> None:
    """签收: accepted → accepted; rejected → failed + reservation voided; unknown → unknown (visible)."""
    result = (result or "").lower()
    if result == "duplicate":
        result = {"paid": "", "returned": "", "accepted": "accepted"}.get((state or "").lower(), "")
        if not result:
            _event(v, "ack", f"银行回复重复报文（{state}）", message_id)
            return
    if v.state not in (V.SENT, V.UNKNOWN, V.ACCEPTED):
        _event(v, "ack", f"迟到的签收回执：{result} {reason}".strip(), message_id)
        return
    audit.update_fields(v, external_status={"accepted": "15", "rejected": "16"}.get(result, ""),
                        external_note=reason[:300])
    if result == "accepted":
        if v.state != V.ACCEPTED:
            _move(v, V.ACCEPTED, note="银行签收成功", message_id=message_id, kind="ack")
    elif result == "rejected":
        if v.state == V.ACCEPTED:
            _move(v, V.UNKNOWN, note="签收后又被拒收，待查询", message_id=message_id, kind="ack")
            return
        _void_origin(v)
        _move(v, V.FAILED, note=f"银行拒收：{reason}", message_id=message_id, kind="ack")
        _settle_origin(v, "failed")
    elif v.state == V.SENT:
        _move(v, V.UNKNOWN, note=f"发送结果未知：{reason}".strip("："), message_id=message_id, kind="ack")


@in_callers_transaction
def _post_accounting(v: PaymentVoucher, *, event_type: str, event_id: str, amount: int, date: dt.date) -> None:
    """Both books in the caller's transaction: the unit's voucher (by the request's business type) and the
    finance bureau's 总预算会计 voucher (本级支出 / 国库存款 by fund nature and function class)."""
    if v.request_id:
        req = v.request
        for event in posting_events(req, event_type=event_type, event_id=event_id, amount=amount):
            acc.event_post(actor=system_user(), date=date, summary=f"{req.purpose}（{v.number}）"[:200], **event)
    elif v.allocation_id and event_type == "payment.receipted":
        a = v.allocation
        ind = a.indicator
        etype = "treasury.transfer_to_lower" if a.alloc_type == Allocation.Kind.LOWER_FINANCE else "treasury.paid"
        acc.event_post(actor=system_user(), event_id=event_id, event_type=etype, date=date, amounts={"amount": amount},
                       dimensions={"exp_func": ind.exp_func_code, "fund_nature": ind.fund_nature_code},
                       region_code=a.region_code, year=a.year, summary=f"实拨：{a.purpose}（{a.number}）"[:200])


@in_callers_transaction
def voucher_receipt_apply(v: PaymentVoucher, *, xpay_amt: int | None, xpay_date: dt.date | None,
                          business_no: str = "", details: list[dict] | None = None, message_id: str = "") -> None:
    """回单: reservation → spent, accounting voucher posted, contract paid — once. A second receipt for a paid
    voucher is recorded (the reconciliation lists it as paid twice), never applied again."""
    xpay = v.amount if xpay_amt is None else xpay_amt
    date = xpay_date or clock.today(v.region_code)
    if v.state in (V.FAILED, V.RETURNED):
        raise Conflict("receipt_not_applicable", f"凭证 {v.number} 已{v.get_state_display()}，银行却回单支付 "
                       f"{format_fen(xpay)} 元：需核实是否已付款")
    if v.state in PaymentVoucher.PAID_STATES:
        audit.update_fields(v, receipt_count=v.receipt_count + 1)
        _event(v, "receipt", f"重复或异常回单（凭证已{v.get_state_display()}），未入账", message_id)
        log.warning("receipt for voucher %s in state %s not applied", v.number, v.state)
        return
    if xpay <= 0 or xpay > v.amount:
        xpay = v.amount if xpay > v.amount else xpay
    actor = system_user()
    ind_services.reservation_post(actor=actor, consumer=v.consumer)
    crash_point("treasury.receipt.after_post")
    if xpay < v.amount:  # partly paid: the rest goes back to the indicator at once
        ind_services.indicator_restore(actor=actor, consumer=v.consumer, amount=v.amount - xpay)
    if xpay > 0:
        _post_accounting(v, event_type="payment.receipted", event_id=f"pay:{v.region_code}:{v.number}",
                         amount=xpay, date=date)
    if v.request_id and v.request.contract_id:
        contract = Contract.objects.select_for_update().get(pk=v.request.contract_id)
        _contract_move(contract, committed=xpay - v.amount, paid=xpay)
    _detail_xpay(v, details or [])
    audit.update_fields(v, xpay_amt=xpay, xpay_date=date, agent_business_no=business_no[:60],
                        receipt_count=v.receipt_count + 1, external_status="5")
    crash_point("treasury.receipt.after_accounting")
    _move(v, V.PAID, note=f"回单：实付 {format_fen(xpay)} 元，流水号 {business_no}", message_id=message_id,
          kind="receipt")
    if v.request_id:
        req = PaymentRequest.objects.select_for_update().get(pk=v.request_id)
        audit.update_fields(req, xpay_amt=xpay)
        if req.status == R.APPROVED:
            workflow.transition(req, R.PAID, transitions=PaymentRequest.TRANSITIONS, event_code="treasury.request_paid")
        if xpay > 0:
            hooks.receipt_notify(v, xpay, date)  # e.g. the asset card of a fixed-asset purchase, in this transaction
    elif v.allocation_id:
        a = Allocation.objects.select_for_update().get(pk=v.allocation_id)
        audit.update_fields(a, acc_date=date)
        workflow.transition(a, Allocation.Status.PAID, transitions=Allocation.TRANSITIONS,
                            event_code="treasury.allocation_paid")


def _detail_xpay(v: PaymentVoucher, details: list[dict]) -> None:
    """Per-line amounts actually paid (one UPDATE when every line was paid in full, as usual)."""
    paid = {}
    for d in details:
        seq, amt = d.get("Seq") or d.get("LineNo"), d.get("XPayAmt")
        if seq and str(seq).isdigit() and isinstance(amt, int):
            paid[int(seq)] = amt
    rows = list(VoucherDetail.objects.filter(voucher=v).only("id", "seq", "amount"))
    differing = [r for r in rows if paid.get(r.seq, r.amount) != r.amount]
    VoucherDetail.objects.filter(voucher=v).update(xpay_amt=F("amount"))
    for r in differing:
        r.xpay_amt = paid[r.seq]
    VoucherDetail.objects.bulk_update(differing, ["xpay_amt"], batch_size=1000)


@in_callers_transaction
def voucher_return_apply(v: PaymentVoucher, *, reason: str, message_id: str = "") -> None:
    """退回: the reservation is voided (once); the request ends returned with the bank's reason."""
    if v.state not in PaymentVoucher.IN_FLIGHT:
        _event(v, "return", f"凭证已{v.get_state_display()}，退回报文未处理：{reason}", message_id)
        return
    _void_origin(v)
    crash_point("treasury.return.after_void")
    audit.update_fields(v, return_reason=reason[:300])
    _move(v, V.RETURNED, note=f"银行退回：{reason}", message_id=message_id, kind="return")
    _settle_origin(v, "returned")
    hooks.return_notify(v, reason)


@in_callers_transaction
def refund_apply(*, region_code: str, refund_no: str, original_no: str, amount: int, reason: str,
                 refund_date: dt.date | None, message_id: str = "", year: int | None = None) -> Refund | None:
    """退款: the indicator is restored and the accounting reversed, once per refund number."""
    existing = Refund.objects.filter(region_code=region_code, refund_no=refund_no).first()
    if existing is not None:
        return existing
    v = voucher_find(region_code, year, original_no) or voucher_find(region_code, None, original_no)
    if v is None:
        raise Conflict("unknown_voucher", f"退款 {refund_no} 所指原凭证 {original_no} 不是本系统签发的凭证")
    if v.state in (V.FAILED, V.RETURNED):
        raise Conflict("refund_not_applicable", f"退款 {refund_no} 所指原凭证 {original_no} 已{v.get_state_display()}，"
                       "未曾支付")
    if v.state not in PaymentVoucher.PAID_STATES:
        raise RefundNotReady(original_no)
    if amount <= 0 or v.refunded_amt + amount > v.xpay_amt:
        _event(v, "refund", f"退款 {refund_no} 金额 {format_fen(amount)} 元超出可退金额，未处理", message_id)
        log.warning("refund %s for %s exceeds the paid amount", refund_no, v.number)
        return None
    date = refund_date or clock.today(region_code)
    r = Refund.objects.create(region_code=region_code, refund_no=refund_no[:60], voucher=v, unit_path=v.unit_path,
                              amount=amount, reason=reason[:300], refund_date=date, message_id=str(message_id)[:60])
    audit.record_change(r, "create")
    ind_services.indicator_restore(actor=system_user(), consumer=v.consumer, amount=amount)
    crash_point("treasury.refund.after_restore")
    _post_accounting(v, event_type="payment.refunded", event_id=f"refund:{region_code}:{refund_no}", amount=amount,
                     date=date)
    if v.request_id and v.request.contract_id:
        contract = Contract.objects.select_for_update().get(pk=v.request.contract_id)
        _contract_move(contract, committed=-amount, paid=-amount)
        contract_funds.give_back(system_user(), contract, amount, v.consumer)
    audit.update_fields(v, refunded_amt=v.refunded_amt + amount)
    to = V.REFUNDED if v.refunded_amt == v.xpay_amt else V.PARTLY_REFUNDED
    _move(v, to, note=f"收款行退款 {refund_no}：{format_fen(amount)} 元 {reason}", message_id=message_id, kind="refund")
    return r


@in_callers_transaction
def clearing_apply(region_code: str, *, voucher_nos: list[str], clear_date: dt.date | None,
                   message_id: str = "") -> int:
    """划款回单: the listed paid vouchers are cleared."""
    n = 0
    for no in voucher_nos:
        v = voucher_find(region_code, None, no)
        if v is None:
            continue
        if v.state == V.PAID:
            audit.update_fields(v, act_lqd_date=clear_date or clock.today(region_code))
            _move(v, V.CLEARED, note="清算划款完成", message_id=message_id)
            n += 1
        else:
            _event(v, "clearing", f"清算回单（凭证{v.get_state_display()}）", message_id)
    return n


@in_callers_transaction
def statement_apply(*, region_code: str, agent_bank_code: str, statement_date: dt.date, lines: list[dict],
                    message_id: str) -> BankStatement:
    """对账单: recorded once per bank message (the reconciliation reads it)."""
    st, _ = BankStatement.objects.get_or_create(
        region_code=region_code, message_id=str(message_id)[:60],
        defaults={"agent_bank_code": agent_bank_code[:12], "statement_date": statement_date, "lines": lines})
    return st
