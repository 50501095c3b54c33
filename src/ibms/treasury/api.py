"""/api/v1/treasury/: payment requests (create, update, check, submit with `Idempotency-Key`, withdraw, review),
vouchers (list, detail with timeline, query, resend), contracts, 实拨 allocations, reconciliation runs.
Thin: parse, call one service or selector, serialize. Money travels as yuan strings; errors are
{"code","message","detail"} with stable codes (overdraw, classification_mismatch, contract_required,
contract_exhausted, payee_blacklisted, monitoring_blocked, explanation_required, idempotency_conflict …)."""

from __future__ import annotations

import datetime as dt
from functools import partial

from ninja import Router, Schema, Status

from ibms.core import clock
from ibms.core.money import api_fen, fen_to_str
from ibms.core.paging import Limit, Offset, window
from ibms.core.schemas import schema_from, to_service
from ibms.core.scoping import VIEW, get_in_scope, require_perm

from . import schemas as S
from . import selectors, services
from .domain import DraftIn
from .models import Allocation, Contract, PaymentRequest, PaymentVoucher, ReconciliationRun, ReconDifference

router = Router(tags=["国库集中支付"])


_fen = partial(api_fen, blank=0)

# --- schemas ----------------------------------------------------------------------------------------------------

# The request schema is the service's own input type (treasury.domain.DraftIn), money as yuan strings.
RequestIn = schema_from(DraftIn, name="RequestIn")


def _draft(payload) -> DraftIn:
    # a batch's amount is the sum of its lines: whatever the payload says beside them is ignored
    return to_service(payload, DraftIn, **({"amount": 0} if payload.lines is not None else {}))


class SubmitIn(Schema):
    idempotency_key: str = ""
    explanation: str = ""


class PaymentReviewIn(Schema):
    approve: bool
    comment: str = ""
    pin: str = ""  # the approver's signing PIN: required by the last step (signs the voucher) and, when the finance
    # reviews last, by the unit's step (signs the payment content)


class CheckIn(Schema):
    explanation: str = ""


def _request(r: PaymentRequest) -> dict:
    try:
        v = r.voucher  # select_related in lists
    except PaymentVoucher.DoesNotExist:
        v = None
    return {
        "id": r.pk, "number": r.number, "region_code": r.region_code, "year": r.year, "status": r.status,
        "status_display": r.get_status_display(), "unit_id": r.unit_id, "indicator_id": r.indicator_id,
        "amount": fen_to_str(r.amount), "xpay_amt": fen_to_str(r.xpay_amt), "purpose": r.purpose,
        "pay_method": r.pay_method, "pay_type_code": r.pay_type_code, "set_mode_code": r.set_mode_code,
        "fund_nature_code": r.fund_nature_code, "exp_func_code": r.exp_func_code, "dep_eco_code": r.dep_eco_code,
        "gov_eco_code": r.gov_eco_code, "payee_id": r.payee_id, "payee_name": r.payee_name,
        "payee_account_no": r.payee_account_no, "payee_bank_name": r.payee_bank_name,
        "business_type": r.business_type, "installation": r.installation,
        "contract_id": r.contract_id, "is_batch": r.is_batch, "is_payroll": r.is_payroll, "line_count": r.line_count,
        "consumer": r.consumer, "current_step": r.current_step, "explanation": r.explanation,
        "monitoring": r.monitoring, "review_comment": r.review_comment,
        "voucher_id": v.pk if v else None, "voucher_number": v.number if v else "", "voucher_state": v.state if v else "",
    }


def _voucher(v: PaymentVoucher, *, timeline: bool = False) -> dict:
    out = {
        "id": v.pk, "number": v.number, "region_code": v.region_code, "year": v.year, "vt_code": v.vt_code,
        "state": v.state, "state_display": v.get_state_display(), "external_status": v.external_status,
        "request_id": v.request_id, "allocation_id": v.allocation_id, "consumer": v.consumer,
        "pay_method": v.pay_method, "vou_date": v.vou_date.isoformat(), "amount": fen_to_str(v.amount),
        "xpay_amt": fen_to_str(v.xpay_amt), "xpay_date": v.xpay_date.isoformat() if v.xpay_date else None,
        "agent_business_no": v.agent_business_no, "refunded_amt": fen_to_str(v.refunded_amt),
        "return_reason": v.return_reason, "agent_bank_code": v.agent_bank_code, "payee_name": v.payee_name,
        "payee_account_no": v.payee_account_no, "bank_message_id": v.bank_message_id, "signers": v.signers,
        "receipt_count": v.receipt_count,
    }
    if timeline:
        out["timeline"] = [{"at": e.at.isoformat(), "kind": e.kind, "state": e.state, "message_id": e.message_id,
                            "note": e.note} for e in v.events.all()]
        out["details"] = [{"seq": d.seq, "payee_name": d.payee_name, "payee_account_no": d.payee_account_no,
                           "amount": fen_to_str(d.amount), "xpay_amt": fen_to_str(d.xpay_amt)}
                          for d in v.details.all()[:1000]]
    return out


def _page(items: list, count: int) -> dict:
    return {"count": count, "items": items}


# --- payment requests -------------------------------------------------------------------------------------------

@router.get("/requests", response=S.PaymentRequestPage, summary="支付申请列表", operation_id="treasury_request_list")
def request_list(request, status: str = "", q: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.request_list(actor=request.auth, status=status, q=q).select_related("voucher")
    return _page([_request(r) for r in window(qs, limit, offset)], qs.count())


@router.post("/requests", response={201: S.PaymentRequestOut}, summary="新建支付申请（草稿）", operation_id="treasury_request_create")
def request_create(request, payload: RequestIn):
    r = services.payment_request_create(actor=request.auth, data=_draft(payload))
    return Status(201, _request(r))


@router.get("/requests/{int:pk}", response=S.PaymentRequestOut, summary="支付申请详情", operation_id="treasury_request_get")
def request_get(request, pk: int):
    return _request(get_in_scope(PaymentRequest.objects, request.auth, VIEW, what="支付申请", pk=pk))


@router.put("/requests/{int:pk}", response=S.PaymentRequestOut, summary="修改支付申请", operation_id="treasury_request_update")
def request_update(request, pk: int, payload: RequestIn):
    return _request(services.payment_request_update(actor=request.auth, pk=pk, data=_draft(payload)))


@router.post("/requests/{int:pk}/check", response=S.CheckOut, summary="控制与监控预检（不保存）", operation_id="treasury_request_check")
def request_check(request, pk: int, payload: CheckIn):
    res = services.payment_request_check(actor=request.auth, pk=pk, explanation=payload.explanation)
    return {"ok": res.ok, "violations": [v.as_dict() for v in res.violations], "hits": res.hit_dicts()}


@router.post("/requests/{int:pk}/submit", response=S.PaymentRequestOut,
             summary="提交支付申请（幂等键：Idempotency-Key 头或 idempotency_key 字段）",
             operation_id="treasury_request_submit")
def request_submit(request, pk: int, payload: SubmitIn):
    key = request.headers.get("Idempotency-Key") or payload.idempotency_key
    r = services.payment_request_submit(actor=request.auth, pk=pk, idempotency_key=key,
                                        explanation=payload.explanation)
    return _request(r)


@router.post("/requests/{int:pk}/withdraw", response=S.PaymentRequestOut, summary="撤回支付申请", operation_id="treasury_request_withdraw")
def request_withdraw(request, pk: int):
    return _request(services.payment_request_withdraw(actor=request.auth, pk=pk))


@router.post("/requests/{int:pk}/review", response=S.PaymentRequestOut, summary="审核支付申请（通过/退回）", operation_id="treasury_request_review")
def request_review(request, pk: int, payload: PaymentReviewIn):
    return _request(services.payment_request_review(actor=request.auth, pk=pk, approve=payload.approve,
                                                    comment=payload.comment, pin=payload.pin))


@router.get("/review-queue", response=S.PaymentRequestPage, summary="待我审核", operation_id="treasury_review_queue")
def review_queue(request):
    require_perm(request.auth, "treasury.review_paymentrequest")
    rows = selectors.review_queue(actor=request.auth)
    return _page([_request(r) for r in rows], len(rows))


@router.get("/indicators", response=list[S.IndicatorChoiceOut], summary="可用指标（含可用余额）", operation_id="treasury_indicator_choices")
def indicator_choices(request, q: str = ""):
    require_perm(request.auth, "treasury.add_paymentrequest")
    return [{"id": i.pk, "code": i.code, "summary": i.summary, "unit": i.unit.name, "available": fen_to_str(i.available),
             "fund_nature_code": i.fund_nature_code, "exp_func_code": i.exp_func_code, "dep_eco_code": i.dep_eco_code,
             "pay_type_code": i.pay_type_code, "is_gov_pur": i.is_gov_pur}
            for i in selectors.indicator_choices(actor=request.auth, q=q)]


# --- vouchers ---------------------------------------------------------------------------------------------------

@router.get("/vouchers", response=S.PaymentVoucherPage, summary="支付凭证列表", operation_id="treasury_voucher_list")
def voucher_list(request, state: str = "", q: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.voucher_list(actor=request.auth, state=state, q=q)
    return _page([_voucher(v) for v in window(qs, limit, offset)], qs.count())


@router.get("/vouchers/{int:pk}", response=S.PaymentVoucherDetailOut, summary="支付凭证详情（含状态时间线）", operation_id="treasury_voucher_get")
def voucher_get(request, pk: int):
    return _voucher(get_in_scope(PaymentVoucher.objects, request.auth, VIEW, what="支付凭证", pk=pk), timeline=True)


@router.post("/vouchers/{int:pk}/query", response=S.PaymentVoucherOut, summary="向银行查询凭证状态", operation_id="treasury_voucher_query")
def voucher_query(request, pk: int):
    return _voucher(services.voucher_query(actor=request.auth, pk=pk))


@router.post("/vouchers/{int:pk}/resend", response=S.PaymentVoucherOut, summary="结果未知的凭证同号重发", operation_id="treasury_voucher_resend")
def voucher_resend(request, pk: int):
    return _voucher(services.voucher_resend(actor=request.auth, pk=pk))


# --- contracts, allocations, reconciliation -----------------------------------------------------------------------

class MilestoneIn(Schema):
    name: str
    amount: str


class ContractIn(Schema):
    unit_id: int
    number: str
    name: str
    amount: str
    sign_date: dt.date | None = None
    payee_id: int | None = None
    payee_name: str = ""
    payee_account_no: str = ""
    indicator_id: int | None = None
    plan_id: int | None = None  # 合同备案 against an approved 采购计划
    milestones: list[MilestoneIn] | None = None  # the payment schedule (required with a plan)


class ContractReviewIn(Schema):
    approve: bool
    comment: str = ""


class ContractCloseIn(Schema):
    terminate: bool = False
    reason: str = ""


def _contract(c: Contract) -> dict:
    return {"id": c.pk, "number": c.number, "name": c.name, "unit_id": c.unit_id, "region_code": c.region_code,
            "payee_name": c.payee_name, "amount": fen_to_str(c.amount), "committed": fen_to_str(c.committed),
            "paid": fen_to_str(c.paid), "status": c.status, "indicator_id": c.indicator_id,
            "plan_id": c.plan_id, "schedule": [{**m, "amount": fen_to_str(m["amount"])} for m in c.schedule or []]}


@router.get("/contracts", response=S.ContractPage, summary="合同备案列表", operation_id="treasury_contract_list")
def contract_list(request, limit: Limit = 50, offset: Offset = 0):
    qs = selectors.contract_list(actor=request.auth)
    return _page([_contract(c) for c in window(qs, limit, offset)], qs.count())


@router.post("/contracts", response={201: S.ContractOut}, summary="合同备案", operation_id="treasury_contract_create")
def contract_create(request, payload: ContractIn):
    c = services.contract_create(actor=request.auth, unit_id=payload.unit_id, number=payload.number,
                                 name=payload.name, amount=_fen(payload.amount),
                                 sign_date=payload.sign_date or clock.today(), payee_id=payload.payee_id,
                                 payee_name=payload.payee_name, payee_account_no=payload.payee_account_no,
                                 indicator_id=payload.indicator_id, plan_id=payload.plan_id,
                                 milestones=None if payload.milestones is None else [
                                     (m.name, api_fen(m.amount, f"milestones[{n}].amount"))
                                     for n, m in enumerate(payload.milestones)])
    return Status(201, _contract(c))


@router.post("/contracts/{pk}/review", response=S.ContractOut, summary="审核合同备案（通过即冻结转为合同承诺）",
             operation_id="treasury_contract_review")
def contract_review(request, pk: int, payload: ContractReviewIn):
    return _contract(services.contract_review(actor=request.auth, pk=pk, approve=payload.approve,
                                              comment=payload.comment))


@router.post("/contracts/{pk}/close", response=S.ContractOut, summary="合同完结或终止（释放未支付的冻结）",
             operation_id="treasury_contract_close")
def contract_close(request, pk: int, payload: ContractCloseIn):
    return _contract(services.contract_close(actor=request.auth, pk=pk, terminate=payload.terminate,
                                             reason=payload.reason))


class AllocationIn(Schema):
    indicator_id: int
    alloc_type: str
    amount: str
    purpose: str
    payee_region_code: str = ""
    payee_unit_id: int | None = None
    payee_name: str = ""
    payee_account_no: str = ""
    payee_bank_name: str = ""
    agent_bank_code: str = ""
    pin: str = ""  # the finance signer's PIN: the allocation voucher is signed with their own key


def _allocation(a: Allocation) -> dict:
    v = selectors.voucher_for_allocation(a)
    return {"id": a.pk, "number": a.number, "region_code": a.region_code, "alloc_type": a.alloc_type,
            "indicator_id": a.indicator_id, "amount": fen_to_str(a.amount), "status": a.status,
            "payee_name": a.payee_name, "payee_account_no": a.payee_account_no, "purpose": a.purpose,
            "voucher_id": v.pk if v else None, "voucher_state": v.state if v else ""}


@router.get("/allocations", response=S.AllocationPage, summary="实拨拨款列表", operation_id="treasury_allocation_list")
def allocation_list(request, limit: Limit = 50, offset: Offset = 0):
    qs = selectors.allocation_list(actor=request.auth)
    return _page([_allocation(a) for a in window(qs, limit, offset)], qs.count())


@router.post("/allocations", response={201: S.AllocationOut}, summary="实拨拨款（5207）", operation_id="treasury_allocation_create")
def allocation_create(request, payload: AllocationIn):
    a = services.allocation_create(actor=request.auth, indicator_id=payload.indicator_id,
                                   alloc_type=payload.alloc_type, amount=_fen(payload.amount), purpose=payload.purpose,
                                   payee_region_code=payload.payee_region_code, payee_unit_id=payload.payee_unit_id,
                                   payee_name=payload.payee_name, payee_account_no=payload.payee_account_no,
                                   payee_bank_name=payload.payee_bank_name, agent_bank_code=payload.agent_bank_code,
                                   pin=payload.pin)
    return Status(201, _allocation(a))


class ReconIn(Schema):
    region_code: str
    date: dt.date
    agent_bank_code: str = ""


def _run(r: ReconciliationRun, *, diffs: bool = False) -> dict:
    out = {"id": r.pk, "region_code": r.region_code, "run_date": r.run_date.isoformat(),
           "agent_bank_code": r.agent_bank_code, "voucher_count": r.voucher_count,
           "voucher_amount": fen_to_str(r.voucher_amount), "bank_count": r.bank_count,
           "bank_amount": fen_to_str(r.bank_amount), "has_statement": r.has_statement,
           "difference_count": r.difference_count}
    if diffs:
        out["differences"] = [{"id": d.pk, "kind": d.kind, "kind_display": d.get_kind_display(),
                               "voucher_no": d.voucher_no, "voucher_id": d.voucher_id,
                               "our_amount": fen_to_str(d.our_amount), "bank_amount": fen_to_str(d.bank_amount),
                               "note": d.note, "status": d.status} for d in r.differences.all()]
    return out


def _difference(d: ReconDifference) -> dict:
    return {"id": d.pk, "run_id": d.run_id, "region_code": d.region_code, "kind": d.kind,
            "kind_display": d.get_kind_display(), "voucher_no": d.voucher_no, "voucher_id": d.voucher_id,
            "our_amount": fen_to_str(d.our_amount), "bank_amount": fen_to_str(d.bank_amount), "note": d.note,
            "reason_code": d.reason_code, "assignee_role": d.assignee_role, "bank_message_id": d.bank_message_id,
            "status": d.status, "status_display": d.get_status_display(), "resolution": d.resolution}


@router.get("/business-types", response=list[S.BusinessTypeOut], summary="支付业务类型（决定回单入账科目）", operation_id="treasury_business_types")
def business_types(request, year: int | None = None):
    return [{"code": b.code, "name": b.name, "debit_account": b.debit_account, "derive_eco": b.derive_eco,
             "allowed_eco": b.allowed_eco} for b in selectors.business_type_list(year or clock.fiscal_year())]


@router.get("/differences", response=S.DifferencePage, summary="对账差异与隔离的银行报文（待处理工作）", operation_id="treasury_difference_list")
def difference_list(request, status: str = "open", kind: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.difference_list(actor=request.auth, status=status, kind=kind)
    return _page([_difference(d) for d in window(qs, limit, offset)], qs.count())


@router.get("/reconciliations", response=S.ReconRunPage, summary="对账批次", operation_id="treasury_recon_list")
def recon_list(request, limit: Limit = 50, offset: Offset = 0):
    qs = selectors.reconciliation_list(actor=request.auth)
    return _page([_run(r) for r in window(qs, limit, offset)], qs.count())


@router.post("/reconciliations", response={201: S.ReconRunDetailOut}, summary="执行对账", operation_id="treasury_recon_run")
def recon_run(request, payload: ReconIn):
    r = services.reconciliation_run(actor=request.auth, region_code=payload.region_code, date=payload.date,
                                    agent_bank_code=payload.agent_bank_code)
    return Status(201, _run(r, diffs=True))


@router.get("/reconciliations/{int:pk}", response=S.ReconRunDetailOut, summary="对账结果与差异", operation_id="treasury_recon_get")
def recon_get(request, pk: int):
    return _run(get_in_scope(ReconciliationRun.objects, request.auth, VIEW, what="对账批次", pk=pk), diffs=True)
