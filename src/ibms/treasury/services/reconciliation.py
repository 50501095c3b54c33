"""对账 (the daily reconciliation: our vouchers vs their receipts vs the bank's statement), the bank messages held
for a person (quarantine) and resolving a difference — with a quarantined message applied again."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.core.transactions import in_callers_transaction

from ..models import BankStatement, PaymentVoucher, ReconciliationRun, ReconDifference
from ..setup import DOC_DIFFERENCE
from ._common import P_RECON, V, _actor_or_none, _event, _move


def reconciliation_run(*, actor, region_code: str, date: dt.date, agent_bank_code: str = "") -> ReconciliationRun:
    """对账: our vouchers of the day vs their receipts vs the bank's statement lines; every difference becomes a
    work item (never an automatic correction). Vouchers that agree are marked reconciled."""
    require_perm(actor, P_RECON)
    check_write_scope(actor, region_code=region_code)
    with transaction.atomic(durable=True):
        vouchers = PaymentVoucher.objects.select_for_update().filter(region_code=region_code).filter(
            Q(xpay_date=date) | Q(vou_date=date)).exclude(state=V.FAILED)
        statements = BankStatement.objects.filter(region_code=region_code, statement_date=date)
        if agent_bank_code:
            vouchers = vouchers.filter(agent_bank_code=agent_bank_code)
        vouchers = list(vouchers.order_by("number"))
        statements = list(statements)
        # a bank names itself in its statement by its own code: lines are attributed by their voucher numbers
        ours_at_bank: set[str] | None = None
        if agent_bank_code:
            nos = {str(ln.get("VoucherNo", "")) for st in statements for ln in st.lines}
            ours_at_bank = set(PaymentVoucher.objects.filter(region_code=region_code, agent_bank_code=agent_bank_code,
                                                             number__in=nos).values_list("number", flat=True))
        bank: dict[str, list[dict]] = {}
        seen_lines: set[tuple] = set()
        for st in statements:
            for ln in st.lines:
                if str(ln.get("Kind", "pay")) != "pay":
                    continue
                if ours_at_bank is not None and st.agent_bank_code != agent_bank_code and \
                        str(ln.get("VoucherNo", "")) not in ours_at_bank:
                    continue
                key = (ln.get("VoucherNo"), ln.get("AgentBusinessNo"), ln.get("PayAmt"))
                if key in seen_lines:  # the same line in two statement messages is one line
                    continue
                seen_lines.add(key)
                bank.setdefault(str(ln.get("VoucherNo", "")), []).append(ln)
        run = ReconciliationRun.objects.create(
            region_code=region_code, run_date=date, agent_bank_code=agent_bank_code, has_statement=bool(statements),
            voucher_count=len(vouchers), voucher_amount=sum(v.xpay_amt or v.amount for v in vouchers),
            bank_count=sum(len(x) for x in bank.values()),
            bank_amount=sum(int(ln.get("PayAmt") or 0) for x in bank.values() for ln in x),
            created_by=_actor_or_none(actor))
        diffs: list[ReconDifference] = []

        def diff(kind, v, no, ours, theirs, note):
            diffs.append(ReconDifference(run=run, region_code=region_code, kind=kind, voucher=v, voucher_no=no,
                                         our_amount=ours, bank_amount=theirs, note=note[:300],
                                         unit_path=v.unit_path if v else ""))

        known = {v.number for v in vouchers}
        for v in vouchers:
            lines = bank.get(v.number, [])
            bank_amt = sum(int(ln.get("PayAmt") or 0) for ln in lines)
            paid = v.state in PaymentVoucher.PAID_STATES
            problems = 0
            if len(lines) > 1 or v.receipt_count > 1:
                diff(ReconDifference.Kind.PAID_TWICE, v, v.number, v.xpay_amt, bank_amt,
                     f"银行对账单 {len(lines)} 笔，回单 {v.receipt_count} 次")
                problems += 1
            if paid and not lines and run.has_statement:
                diff(ReconDifference.Kind.MISSING_AT_BANK, v, v.number, v.xpay_amt, 0, "我方已支付，银行对账单无记录")
                problems += 1
            if lines and not paid:
                kind = ReconDifference.Kind.MISSING_RECEIPT
                diff(kind, v, v.number, 0, bank_amt, f"银行已支付，我方未收到回单（凭证{v.get_state_display()}）")
                problems += 1
            if lines and paid and len(lines) == 1 and bank_amt != v.xpay_amt:
                diff(ReconDifference.Kind.AMOUNT_MISMATCH, v, v.number, v.xpay_amt, bank_amt, "金额不符")
                problems += 1
            if v.state in (V.UNKNOWN, V.SENT, V.ACCEPTED) and not lines:
                diff(ReconDifference.Kind.UNKNOWN_OUTCOME if v.state == V.UNKNOWN
                     else ReconDifference.Kind.MISSING_RECEIPT, v, v.number, v.amount, 0,
                     f"凭证{v.get_state_display()}，尚无支付结果")
                problems += 1
            if not problems and run.has_statement and v.state in (V.PAID, V.CLEARED):
                audit.update_fields(v, reconciled_date=date)
                _move(v, V.RECONCILED, note=f"{date} 对账相符")
        for no, lines in bank.items():
            if no not in known:
                other = PaymentVoucher.objects.filter(region_code=region_code, number=no).first()
                if other is not None and other.xpay_date and other.xpay_date != date:
                    diff(ReconDifference.Kind.PAID_TWICE, other, no, other.xpay_amt,
                         sum(int(ln.get("PayAmt") or 0) for ln in lines), f"银行在 {date} 再次支付（我方 {other.xpay_date} 已回单）")
                elif other is None or other.state not in PaymentVoucher.PAID_STATES:
                    diff(ReconDifference.Kind.MISSING_RECEIPT, other, no, 0,
                         sum(int(ln.get("PayAmt") or 0) for ln in lines), "银行对账单有支付，我方无对应回单")
        ReconDifference.objects.bulk_create(diffs)
        audit.record_changes(diffs, "create")
        run.difference_count = len(diffs)
        run.save(update_fields=["difference_count", "updated_at"])
        audit.record_change(run, "create")
        audit.record_event("treasury.reconciled", obj=run, region_code=region_code,
                           payload={"date": date.isoformat(), "differences": len(diffs)})
        return run


@in_callers_transaction
def message_quarantine(*, region_code: str, year: int, voucher_no: str, kind: str, kind_name: str, code: str,
                       reason: str, message_id: int | None) -> ReconDifference:
    """A bank message held for a person (inside the banks' transaction that marks it quarantined): a
    reconciliation difference for 国库处, on the to-do list, until someone resolves it."""
    from ibms.banks.models import BankMessage

    bm = BankMessage.objects.filter(pk=message_id).first() if message_id else None
    v = PaymentVoucher.objects.filter(region_code=region_code, year=year, number=voucher_no).first()
    kind_code = ReconDifference.Kind.UNKNOWN_VOUCHER if code == "unknown_voucher" else ReconDifference.Kind.NOT_APPLICABLE
    d = ReconDifference.objects.create(
        run=None, region_code=region_code, kind=kind_code, voucher=v, voucher_no=voucher_no[:40],
        our_amount=v.amount if v else 0, bank_amount=bm.amount if bm else 0,
        note=f"{kind_name}：{reason}"[:300], reason_code=code[:40], assignee_role="treasury_division", bank_message=bm,
        unit_path=v.unit_path if v else "")
    audit.record_change(d, "create")
    audit.record_event("treasury.message_quarantined", obj=d, region_code=region_code,
                       payload={"kind": kind, "voucher_no": voucher_no, "code": code})
    workflow.todo_open(doc_type=DOC_DIFFERENCE, obj=d, title=f"银行报文待查：{d.get_kind_display()} {voucher_no}"[:200],
                       url=reverse("treasury:reconciliation"), step=_treasury_step(), region_code=region_code)
    if v is not None:
        _event(v, kind, f"银行{kind_name}已隔离待查：{reason}"[:300], str(message_id or ""))
    return d


def _treasury_step() -> workflow.Step:
    return workflow.Step(order=1, name="核实处理", role_code="treasury_division", holder="finance")


def difference_resolve(*, actor, pk: int, resolution: str, reapply: bool = False) -> ReconDifference:
    """Close a difference with a note; for a quarantined bank message, `reapply` applies it again first (its
    cause fixed — e.g. the year opened for adjustment): applied, or refused with the reason and nothing changed."""
    require_perm(actor, P_RECON)
    if not (resolution or "").strip():
        raise invalid("resolution_required", "必须填写处理说明", "resolution")
    with transaction.atomic(durable=True):
        d = get_in_scope(ReconDifference.objects.select_for_update(), actor, CHANGE, what="对账差异", pk=pk)
        if d.status != ReconDifference.Status.OPEN:
            raise Conflict("already_resolved", "该差异已处理")
        if reapply:
            _reapply(d)
        audit.update_fields(d, status=ReconDifference.Status.RESOLVED, resolution=resolution.strip()[:300])
        workflow.todo_close(doc_type=DOC_DIFFERENCE, obj=d, user=actor)
        return d


def _reapply(d: ReconDifference) -> None:
    from ibms.banks import services as banks

    if d.bank_message_id is None:
        raise Conflict("not_quarantined", "该差异不是隔离的银行报文，不能重新入账")
    sid = transaction.savepoint()
    outcome = banks.message_reapply(region_code=d.region_code, message_id=d.bank_message_id)
    if outcome != "applied":
        transaction.savepoint_rollback(sid)  # the new quarantine record and the retry are undone too
        from ibms.banks.models import BankMessage

        error = BankMessage.objects.filter(pk=d.bank_message_id).values_list("error", flat=True).first()
        raise Conflict("reapply_refused", f"重新入账仍未成功：{error or outcome}")
    transaction.savepoint_commit(sid)
