"""Bank-message handlers registered with `banks.inbound.register` (in `TreasuryConfig.ready`). Each runs inside
the transaction that records the bank message as applied, so its effects happen exactly once; `inbound.Defer`
leaves a message pending (a refund seen before its receipt)."""

from __future__ import annotations

import datetime as dt
import logging

from ibms.core.context import SYSTEM, acting

from . import services as s

log = logging.getLogger("ibms.treasury")


def _date(value) -> dt.date | None:
    return s._as_date(value) if value else None


def _voucher(msg):
    v = s.find_voucher(msg.region_code, msg.year, msg.voucher_no)
    if v is None:
        log.warning("bank %s for unknown voucher %s/%s/%s ignored", msg.kind, msg.region_code, msg.year,
                    msg.voucher_no)
    return v


def on_ack(msg) -> None:
    with acting(SYSTEM):
        v = _voucher(msg)
        if v is not None:
            f = msg.fields
            s.apply_ack(v, result=str(f.get("Result", "")), reason=str(f.get("Reason", "")),
                        state=str(f.get("State", "")), message_id=str(msg.message_id))


def on_receipt(msg) -> None:
    with acting(SYSTEM):
        v = _voucher(msg)
        if v is not None:
            f = msg.fields
            xpay = f.get("XPayAmt")
            s.apply_receipt(v, xpay_amt=xpay if isinstance(xpay, int) else None, xpay_date=_date(f.get("XPayDate")),
                            business_no=str(f.get("AgentBusinessNo", "")), details=msg.details,
                            message_id=str(msg.message_id))


def on_return(msg) -> None:
    with acting(SYSTEM):
        v = _voucher(msg)
        if v is not None:
            f = msg.fields
            reason = str(f.get("Reason") or f.get("ReasonCode") or "银行退回")
            s.apply_return(v, reason=reason, message_id=str(msg.message_id))


def on_refund(msg) -> None:
    from ibms.banks import inbound

    f = msg.fields
    with acting(SYSTEM):
        try:
            s.apply_refund(region_code=msg.region_code, year=msg.year,
                           refund_no=str(f.get("RefundNo") or msg.voucher_no),
                           original_no=str(f.get("OriVoucherNo", "")), amount=int(f.get("PayAmt") or 0),
                           reason=str(f.get("Reason", "")), refund_date=_date(f.get("RefundDate")),
                           message_id=str(msg.message_id))
        except s.RefundNotReady as exc:
            raise inbound.Defer(f"refund before the receipt of {exc}") from exc


def on_clearing(msg) -> None:
    with acting(SYSTEM):
        nos = [str(d.get("VoucherNo")) for d in msg.details if d.get("VoucherNo")]
        s.apply_clearing(msg.region_code, voucher_nos=nos, clear_date=_date(msg.fields.get("ClearDate")),
                         message_id=str(msg.message_id))


def on_statement(msg) -> None:
    with acting(SYSTEM):
        f = msg.fields
        s.apply_statement(region_code=msg.region_code, agent_bank_code=str(f.get("AgentBankCode", "")),
                          statement_date=_date(f.get("StatementDate")) or dt.date.today(), lines=list(msg.details),
                          message_id=str(msg.message_id))


def on_status(msg) -> None:
    """A status query's answer resolves `unknown`: paid → the receipt, returned → the return, accepted → ack."""
    with acting(SYSTEM):
        v = _voucher(msg)
        if v is None:
            return
        f = msg.fields
        state = str(f.get("State", "")).lower()
        if state in ("paid", "refunded"):
            if v.state not in s.PaymentVoucher.PAID_STATES:
                xpay = f.get("XPayAmt")
                s.apply_receipt(v, xpay_amt=xpay if isinstance(xpay, int) else None,
                                xpay_date=_date(f.get("XPayDate")), business_no=str(f.get("AgentBusinessNo", "")),
                                details=msg.details, message_id=str(msg.message_id))
        elif state == "returned":
            s.apply_return(v, reason=str(f.get("Reason") or "银行退回"), message_id=str(msg.message_id))
        elif state == "accepted":
            s.apply_ack(v, result="accepted", message_id=str(msg.message_id))
        elif state == "unknown" and v.state == s.V.SENT:
            s.apply_ack(v, result="unknown", reason="银行无此凭证记录", message_id=str(msg.message_id))
        else:
            s._event(v, "status", f"银行状态：{state or '无'}", str(msg.message_id))


HANDLERS = {"ack": on_ack, "receipt": on_receipt, "return": on_return, "refund": on_refund, "clearing": on_clearing,
            "statement": on_statement, "status": on_status}


def register_all() -> None:
    try:
        from ibms.banks import inbound
    except ImportError:  # the bank interface is not installed yet
        return
    for kind, fn in HANDLERS.items():
        inbound.register(kind, fn)
