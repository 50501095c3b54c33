"""Bank-message handlers registered with `banks.inbound.register` (in `TreasuryConfig.ready`). Each runs inside
the transaction that records the bank message as applied, so its effects happen exactly once; `inbound.Defer`
leaves a message pending (a refund seen before its receipt). A message for a voucher we never issued, or one whose
effects are refused (a receipt for a voided request, a missing accounting dimension, a closed year …), is
quarantined: `inbound.Quarantine` rolls the handler's writes back and `on_quarantine` records a reconciliation
difference for 国库处 — never marked applied, never retried on its own."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from ibms.banks import inbound
from ibms.core.context import SYSTEM, acting
from ibms.core.errors import DomainError

from . import services as s
from .domain import as_date
from .models import PaymentVoucher
from .selectors import voucher_find

log = logging.getLogger("ibms.treasury")


def _date(value) -> dt.date | None:
    return as_date(value) if value else None


def _voucher(msg):
    v = voucher_find(msg.region_code, msg.year, msg.voucher_no)
    if v is None:
        raise inbound.Quarantine("unknown_voucher", f"银行{KIND_NAMES.get(msg.kind, msg.kind)}所指凭证 {msg.voucher_no} "
                                 "不是本系统签发的凭证")
    return v


KIND_NAMES = {"ack": "签收回执", "receipt": "支付回单", "return": "退回通知", "refund": "退款通知",
              "clearing": "清算回单", "statement": "对账单", "status": "状态查询结果"}


def _applying(fn):
    """A refused effect (DomainError) quarantines the message with the refusal's code and reason."""
    def run(msg) -> None:
        try:
            with acting(SYSTEM):
                fn(msg)
        except DomainError as exc:
            reason = "；".join(v.message for v in exc.violations_or_self)
            raise inbound.Quarantine(exc.code if exc.code != "validation_failed"
                                     else exc.violations_or_self[0].code, reason) from exc
    run.__name__ = fn.__name__
    return run


def on_quarantine(msg, code: str, reason: str) -> None:
    with acting(SYSTEM):
        s.message_quarantine(region_code=msg.region_code, year=msg.year, voucher_no=msg.voucher_no, kind=msg.kind,
                             kind_name=KIND_NAMES.get(msg.kind, msg.kind), code=code, reason=reason,
                             message_id=msg.message_id)


@_applying
def on_ack(msg) -> None:
    """An ack answers our own send (not the feed): a voucher treasury did not issue is logged, not quarantined."""
    v = voucher_find(msg.region_code, msg.year, msg.voucher_no)
    if v is None:
        log.warning("bank ack for voucher %s/%s not issued by treasury ignored", msg.region_code, msg.voucher_no)
        return
    f = msg.fields
    s.voucher_ack_apply(v, result=str(f.get("Result", "")), reason=str(f.get("Reason", "")),
                        state=str(f.get("State", "")), message_id=str(msg.message_id))


@_applying
def on_receipt(msg) -> None:
    v = _voucher(msg)
    f = msg.fields
    xpay = f.get("XPayAmt")
    s.voucher_receipt_apply(v, xpay_amt=xpay if isinstance(xpay, int) else None,
                            xpay_date=_date(f.get("XPayDate")), business_no=str(f.get("AgentBusinessNo", "")),
                            details=msg.details, message_id=str(msg.message_id))


@_applying
def on_return(msg) -> None:
    v = _voucher(msg)
    f = msg.fields
    reason = str(f.get("Reason") or f.get("ReasonCode") or "银行退回")
    s.voucher_return_apply(v, reason=reason, message_id=str(msg.message_id))


@_applying
def on_refund(msg) -> None:
    f = msg.fields
    try:
        s.refund_apply(region_code=msg.region_code, year=msg.year,
                       refund_no=str(f.get("RefundNo") or msg.voucher_no),
                       original_no=str(f.get("OriVoucherNo", "")), amount=int(f.get("PayAmt") or 0),
                       reason=str(f.get("Reason", "")), refund_date=_date(f.get("RefundDate")),
                       message_id=str(msg.message_id))
    except s.RefundNotReady as exc:
        raise inbound.Defer(f"refund before the receipt of {exc}") from exc


@_applying
def on_clearing(msg) -> None:
    nos = [str(d.get("VoucherNo")) for d in msg.details if d.get("VoucherNo")]
    s.clearing_apply(msg.region_code, voucher_nos=nos, clear_date=_date(msg.fields.get("ClearDate")),
                     message_id=str(msg.message_id))


@_applying
def on_statement(msg) -> None:
    f = msg.fields
    s.statement_apply(region_code=msg.region_code, agent_bank_code=str(f.get("AgentBankCode", "")),
                      statement_date=_date(f.get("StatementDate")) or timezone.localdate(), lines=list(msg.details),
                      message_id=str(msg.message_id))


@_applying
def on_status(msg) -> None:
    """A status query's answer resolves `unknown`: paid → the receipt, returned → the return, accepted → ack."""
    v = _voucher(msg)
    f = msg.fields
    state = str(f.get("State", "")).lower()
    if state in ("paid", "refunded"):
        if v.state not in PaymentVoucher.PAID_STATES:
            xpay = f.get("XPayAmt")
            s.voucher_receipt_apply(v, xpay_amt=xpay if isinstance(xpay, int) else None,
                                    xpay_date=_date(f.get("XPayDate")), business_no=str(f.get("AgentBusinessNo", "")),
                                    details=msg.details, message_id=str(msg.message_id))
    elif state == "returned":
        s.voucher_return_apply(v, reason=str(f.get("Reason") or "银行退回"), message_id=str(msg.message_id))
    elif state == "accepted":
        s.voucher_ack_apply(v, result="accepted", message_id=str(msg.message_id))
    elif state == "unknown" and v.state == PaymentVoucher.State.SENT:
        s.voucher_ack_apply(v, result="unknown", reason="银行无此凭证记录", message_id=str(msg.message_id))
    else:
        s.voucher_event_record(v, "status", f"银行状态：{state or '无'}", str(msg.message_id))


HANDLERS = {"ack": on_ack, "receipt": on_receipt, "return": on_return, "refund": on_refund, "clearing": on_clearing,
            "statement": on_statement, "status": on_status}


def register_all() -> None:
    for kind, fn in HANDLERS.items():
        inbound.register(kind, fn)
    inbound.register_quarantine(on_quarantine)
