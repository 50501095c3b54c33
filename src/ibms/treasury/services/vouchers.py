"""Payment vouchers: generated from an approved request, sealed, signed with the approver's own key (opened with
their PIN before the approval's transaction) and handed to `banks.voucher_dispatch` (the outbox sends the stored,
signed voucher after the commit); re-sent under the same number when the outcome is unknown; status queries —
the bank is asked over HTTP before the transaction that applies its answer."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ibms.core import audit, clock
from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.iam.services import system_user
from ibms.masterdata.models import Unit

from ..domain import vt_code_for
from ..hooks import request_profile
from ..models import PaymentRequest, PaymentVoucher, PayMethod, VoucherDetail
from ..selectors import payment_steps, region_policy_get
from ._common import P_VOUCHER, V, _event, _move, _voucher_number, log
from .countersign import countersign_header


def _header(v: PaymentVoucher, extra: dict) -> dict:
    return {"VouDate": v.vou_date.isoformat(), "PayAmt": v.amount, "PayAcctNo": v.pay_acct_no,
            "PayAcctName": v.pay_acct_name, "PayeeAcctNo": v.payee_account_no, "PayeeAcctName": v.payee_name,
            "PayeeAcctBankName": v.payee_bank_name, "AgentBankCode": v.agent_bank_code, **extra}


def _details(v: PaymentVoucher, details: list[VoucherDetail]) -> list[dict]:
    return [{"Seq": str(d.seq), "PayeeAcctNo": d.payee_account_no, "PayeeAcctName": d.payee_name,
             "PayeeAcctBankName": d.payee_bank_name, "PayAmt": d.amount, "AddWord": d.add_word} for d in details]


def _dispatch(actor, v: PaymentVoucher, details: list[VoucherDetail], *, unit: Unit | None, finance: bool,
              extra: dict, personal=None, unit_signer=None) -> None:
    """Seal (unit; finance too when `finance`) and sign with `personal` — the approver's key opened with their PIN
    (`banks.signer_unlock`) — then hand to `banks.voucher_dispatch`, which stores the signed voucher for the worker."""
    from ibms.banks import services as banks

    signers = []
    if unit is not None:
        signers.append(banks.signing_key_ensure_for_unit(unit))
    if finance:
        signers.append(banks.signing_key_ensure_for_finance(v.region_code))
    msg = banks.voucher_dispatch(actor=actor, region_code=v.region_code, year=v.year, vt_code=v.vt_code,
                                 voucher_no=v.number, agent_bank_code=v.agent_bank_code, header=_header(v, extra),
                                 details=_details(v, details), signers=signers,
                                 personal=[personal] if personal is not None else [], unit_signer=unit_signer)
    audit.update_fields(v, bank_message_id=getattr(msg, "pk", None),
                        signers="+".join(["unit"] * (unit is not None) + ["finance"] * finance))
    names = [x.name for x in (unit_signer, personal and personal.signer) if x is not None]
    _move(v, V.SIGNED, note=f"签章：{v.seals_display}" + (f"；签名人：{'、'.join(names)}" if names else ""))
    _move(v, V.SENT, note="已提交发送队列", message_id=str(v.bank_message_id or ""))


def _issue_voucher(actor, req: PaymentRequest, personal=None) -> PaymentVoucher:
    if not req.agent_bank_code:
        raise invalid("agent_bank_missing", "未找到付款账户的代理银行，不能生成支付凭证", "agent_bank_code")
    countersigned = countersign_header(req, payment_steps(req))
    profile = request_profile(req.indicator)
    vt = profile.vt_code if profile is not None else vt_code_for(req.pay_method, req.is_batch)
    v = PaymentVoucher.objects.create(
        region_code=req.region_code, year=req.year, vt_code=vt, number=_voucher_number(req.region_code, req.year),
        request=req, unit_path=req.unit_path, consumer=req.consumer, pay_method=req.pay_method,
        vou_date=clock.today(req.region_code), amount=req.amount, agent_bank_code=req.agent_bank_code,
        pay_acct_no=req.pay_acct_no, pay_acct_name=req.pay_acct_name, payee_name=req.payee_name,
        payee_account_no=req.payee_account_no, payee_bank_name=req.payee_bank_name)
    if req.is_batch:
        details = [VoucherDetail(voucher=v, seq=ln.seq, payee_name=ln.payee_name, payee_account_no=ln.payee_account_no,
                                 payee_bank_name=ln.payee_bank_name, id_no=ln.id_no, amount=ln.amount,
                                 add_word=ln.remark) for ln in req.lines.order_by("seq")]
    else:
        details = [VoucherDetail(voucher=v, seq=1, payee_name=req.payee_name, payee_account_no=req.payee_account_no,
                                 payee_bank_name=req.payee_bank_name, amount=req.amount, add_word=req.purpose[:100])]
    VoucherDetail.objects.bulk_create(details, batch_size=2000)
    audit.record_change(v, "create")
    _event(v, "generated", f"由支付申请 {req.number} 生成")
    finance = req.pay_method == PayMethod.DIRECT and region_policy_get(req.region_code).finance_sign_direct
    _dispatch(actor, v, details, unit=req.unit, finance=finance, personal=personal,
              unit_signer=req.unit_signer if countersigned else None, extra={
        "PayTypeCode": req.pay_type_code, "PayMethod": req.pay_method, "SetModeCode": req.set_mode_code,
        "FundTypeCode": req.fund_nature_code, "ExpFuncCode": req.exp_func_code, "ExpEcoCode": req.dep_eco_code,
        "AgencyCode": req.unit.code, "AgencyName": req.unit.name, "PaySummaryName": req.purpose,
        "PayAppNo": req.number, "ContractNo": req.contract.number if req.contract_id else "", **countersigned})
    return v


def voucher_resend(*, actor, pk: int) -> PaymentVoucher:
    """Re-send a voucher whose outcome is unknown under the same number (the bank pays a number at most once);
    `banks.voucher_dispatch` only enqueues it: the worker sends it after the commit."""
    require_perm(actor, P_VOUCHER)
    with transaction.atomic(durable=True):
        v = get_in_scope(PaymentVoucher.objects.select_for_update(), actor, CHANGE, what="支付凭证", pk=pk)
        if v.state != V.UNKNOWN:
            raise Conflict("not_unknown", "只有结果未知的凭证可以重发")
        from ibms.banks import services as banks

        unit = v.request.unit if v.request_id else None
        signers = ([banks.signing_key_ensure_for_unit(unit)] if unit else []) + (
            [banks.signing_key_ensure_for_finance(v.region_code)] if "finance" in v.signers else [])
        banks.voucher_dispatch(actor=actor, region_code=v.region_code, year=v.year, vt_code=v.vt_code,
                               voucher_no=v.number, agent_bank_code=v.agent_bank_code, header=_header(v, {}),
                               details=_details(v, list(v.details.all())), signers=signers)
        _move(v, V.SENT, note="同号重发")
        return v


def voucher_query(*, actor, pk: int) -> PaymentVoucher:
    """Ask the bank for the voucher's status now; its answer is applied (the `status` handler) in this service's
    transaction, which opens only after the HTTP call."""
    require_perm(actor, P_VOUCHER)
    answer = _ask(actor, get_in_scope(PaymentVoucher.objects.all(), actor, CHANGE, what="支付凭证", pk=pk))
    with transaction.atomic(durable=True):
        v = get_in_scope(PaymentVoucher.objects.select_for_update(), actor, CHANGE, what="支付凭证", pk=pk)
        _query(v, answer)
        return v


def _ask(actor, v: PaymentVoucher):
    """The bank's answer about `v`, over HTTP: before (outside) the transaction that applies it."""
    from ibms.banks import services as banks

    return banks.voucher_status_fetch(actor=actor, region_code=v.region_code, year=v.year, voucher_no=v.number,
                                      agent_bank_code=v.agent_bank_code)


def _query(v: PaymentVoucher, answer) -> None:
    from ibms.banks import services as banks

    audit.update_fields(v, last_query_at=timezone.now())
    _event(v, "query", "已发起状态查询")
    banks.bank_answer_apply(answer)


def voucher_query_stuck(*, older_than_minutes: int | None = None, limit: int = 200) -> int:
    """Periodic job: query vouchers still `sent`/`accepted`/`unknown` after the region's interval (worker). Each
    voucher: the bank is asked first, then its answer applied in a transaction of its own."""
    from ibms.core.context import SYSTEM, acting

    actor = system_user()
    now = timezone.now()
    n = 0
    pending = PaymentVoucher.objects.filter(state__in=[V.SENT, V.ACCEPTED, V.UNKNOWN]).order_by("id")[:limit]
    for v in pending:
        minutes = region_policy_get(v.region_code).stuck_minutes if older_than_minutes is None else older_than_minutes
        cutoff = now - dt.timedelta(minutes=minutes)
        if v.updated_at > cutoff or (v.last_query_at and v.last_query_at > cutoff):
            continue
        try:
            with acting(SYSTEM):
                answer = _ask(actor, v)
                with transaction.atomic():
                    locked = PaymentVoucher.objects.select_for_update().get(pk=v.pk)
                    if locked.state in (V.SENT, V.ACCEPTED, V.UNKNOWN):
                        _query(locked, answer)
                        n += 1
        except Conflict as exc:  # bank unreachable: the next run asks again
            log.warning("status query for voucher %s failed: %s", v.number, exc.code)
    return n
