"""Payment requests: drafts (single payee or a batch of lines), the dry-run check, submit with every control in one
transaction, withdraw, and the review chain whose last approval issues the voucher (:mod:`.vouchers`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse

from ibms.accounting import selectors as acc_selectors
from ibms.accounting import services as acc
from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, ValidationFailed, Violation, invalid
from ibms.core.faults import crash_point
from ibms.core.money import fen_to_str, format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.indicators import services as ind_services
from ibms.indicators.models import Indicator
from ibms.masterdata.models import Payee
from ibms.masterdata.selectors import gov_eco_for

from ..domain import (
    DraftIn,
    LineIn,
    PayeeIn,
    classification_violations,
    hit_dict,
    line_violations,
    manual_payee,
    payment_request_submit_hash,
    posting_events,
)
from ..hooks import request_profile, submit_violations
from ..models import UNIT_SCOPE, Contract, PaymentRequest, PaymentRequestLine, SetMode, SubmitKey
from ..selectors import (
    blacklist_matches,
    pay_method_get,
    payer_account_find,
    payment_steps,
    region_policy_get,
)
from ..setup import DOC_PAYMENT
from . import contract_funds
from ._common import P_ADD, P_CHANGE, P_REVIEW, P_SUBMIT, R, _actor_or_none, _contract_move
from .countersign import countersign_clear, countersign_step, countersign_store
from .vouchers import _issue_voucher

# --- drafts ----------------------------------------------------------------------------------------------------

def _payee_violations(actor, p: PayeeIn) -> tuple[list[Violation], dict]:
    if not p.payee_id:
        return manual_payee(p)
    payee = Payee.objects.restrict(actor).filter(pk=p.payee_id, is_active=True).first()
    if payee is None:
        return [Violation("payee_unknown", "收款人不在收款人目录中或已停用", "payee_id")], {}
    return [], {"payee": payee, "payee_name": payee.account_name or payee.name, "payee_kind": payee.kind,
                "payee_account_no": payee.account_no, "payee_bank_name": payee.bank_name,
                "payee_bank_code": payee.bank_code}


def _fill(actor, req: PaymentRequest, data: DraftIn, ind: Indicator) -> list[PaymentRequestLine]:
    """Validate a draft's fields (every problem listed) and set them on `req`; returns batch lines to write."""
    v: list[Violation] = []
    if not ind.is_executable or ind.unit_id is None:
        v.append(Violation("not_executable", f"指标 {ind.code} 不是可执行指标", "indicator_id"))
    purpose = (data.purpose or "").strip()
    if not purpose:
        v.append(Violation("purpose_required", "必须填写用途", "purpose"))
    if data.set_mode_code not in SetMode.values:
        v.append(Violation("set_mode_invalid", "结算方式不正确", "set_mode_code"))
    if data.expense not in ("business", "admin"):
        v.append(Violation("expense_invalid", "费用类型不正确", "expense"))
    lines: list[PaymentRequestLine] = []
    if data.lines is not None:
        v += line_violations(data.lines)
        amount = sum(ln.amount for ln in data.lines if isinstance(ln.amount, int))
        payee = {"payee": None, "payee_name": f"批量支付（{len(data.lines)}笔）", "payee_kind": "individual",
                 "payee_account_no": "", "payee_bank_name": "", "payee_bank_code": ""}
    else:
        amount = data.amount
        pv, payee = _payee_violations(actor, data.payee)
        v += pv
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        v.append(Violation("amount_not_positive", "金额必须大于零", "amount"))
    contract = None
    if data.contract_id:
        contract = Contract.objects.restrict(actor).filter(pk=data.contract_id).first()
        if contract is None:
            v.append(Violation("contract_unknown", "合同不存在或无权访问", "contract_id"))
    if v:
        raise ValidationFailed(v, message="支付申请填写有误")
    unit = ind.unit
    pay_type = ind.pay_type_code if data.pay_type_code is None else data.pay_type_code.strip()
    pay_method = pay_method_get(pay_type, ind.region_code)
    profile = request_profile(ind)  # unit funds pay from the unit's own account (unitfunds)
    payer = profile.payer if profile is not None else payer_account_find(unit, ind.region_code, pay_method)
    policy = region_policy_get(ind.region_code)
    req.region_code, req.year, req.unit, req.unit_path = ind.region_code, ind.year, unit, unit.path
    req.department_code = unit.department.code if unit.department_id else unit.code
    req.indicator = ind
    req.amount = amount
    req.fund_nature_code = data.fund_nature_code or ind.fund_nature_code
    req.exp_func_code = data.exp_func_code or ind.exp_func_code
    req.dep_eco_code = data.dep_eco_code or ind.dep_eco_code
    req.gov_eco_code = (data.gov_eco_code or ind.gov_eco_code
                        or gov_eco_for(req.dep_eco_code, unit.unit_type, fiscal_year=ind.year,
                                       region_code=ind.region_code) or "")
    req.business_type = (data.business_type or "").strip() or acc_selectors.business_type_for(ind.year,
                                                                                              req.dep_eco_code)
    req.installation = bool(data.installation)
    bt_problem = acc_selectors.business_type_violation(ind.year, req.business_type, req.dep_eco_code)
    if bt_problem:
        raise ValidationFailed([bt_problem], message="支付申请填写有误")
    req.project_code = ind.project.code if ind.project_id else ""
    req.pay_type_code, req.pay_method = pay_type, pay_method
    req.set_mode_code, req.expense, req.purpose = data.set_mode_code, data.expense, purpose[:200]
    req.pay_acct_no = payer.account_no if payer else ""
    req.pay_acct_name = payer.account_name if payer else ""
    req.pay_acct_bank_name = payer.bank_name if payer else ""
    req.agent_bank_code = ((payer.bank.code if profile is not None and payer and payer.bank_id else "")
                           or policy.agent_bank_code or (payer.bank.code if payer and payer.bank_id else ""))
    for k, val in payee.items():
        setattr(req, k, val)
    req.contract, req.milestone = contract, (data.milestone if contract else None)
    req.is_batch = data.lines is not None
    req.is_payroll = bool(data.is_payroll) and req.is_batch
    req.line_count = len(data.lines) if data.lines is not None else 1
    if data.lines is not None:
        lines = [PaymentRequestLine(region_code=req.region_code, seq=n, payee_name=ln.payee_name.strip()[:120],
                                    payee_account_no=re.sub(r"\s", "", ln.payee_account_no)[:32],
                                    payee_bank_name=ln.payee_bank_name.strip()[:100], id_no=(ln.id_no or "")[:18],
                                    amount=ln.amount, remark=(ln.remark or "")[:100])
                 for n, ln in enumerate(data.lines, 1)]
    return lines


def payment_request_create(*, actor, data: DraftIn) -> PaymentRequest:
    """A draft request against one executable indicator of the actor's unit (nothing reserved yet)."""
    require_perm(actor, P_ADD)
    ind_services.fiscal_year_require_for(Indicator.objects.restrict(actor), data.indicator_id, purpose="payment")
    with transaction.atomic(durable=True):
        ind = get_in_scope(Indicator.objects.select_related("unit", "unit__department", "project"), actor,
                           what="指标", pk=data.indicator_id)
        check_write_scope(actor, region_code=ind.region_code, unit_path=ind.unit_path or None, spec=UNIT_SCOPE)
        req = PaymentRequest(created_by=_actor_or_none(actor))
        lines = _fill(actor, req, data, ind)
        today = clock.today(ind.region_code)
        req.number = next_number(f"SQ-{ind.region_code[:6]}-{today:%Y%m%d}-", key=f"SQ-{ind.region_code}-{today:%Y%m%d}",
                                 width=5)
        req.save()
        for ln in lines:
            ln.request = req
        PaymentRequestLine.objects.bulk_create(lines, batch_size=2000)
        audit.record_change(req, "create")
        audit.record_event("treasury.request_created", obj=req, region_code=req.region_code,
                           payload={"number": req.number, "amount": fen_to_str(req.amount), "lines": req.line_count})
        return req


def _editable(actor, pk: int) -> PaymentRequest:
    req = get_in_scope(PaymentRequest.objects.select_for_update(), actor, CHANGE, what="支付申请", pk=pk)
    if req.status not in PaymentRequest.EDITABLE:
        raise Conflict("not_editable", f"支付申请“{req.get_status_display()}”状态下不能修改")
    return req


def payment_request_update(*, actor, pk: int, data: DraftIn) -> PaymentRequest:
    """Change a draft (or a returned/withdrawn request). Batch lines are replaced when given."""
    require_perm(actor, P_CHANGE)
    ind_services.fiscal_year_require_for(Indicator.objects.restrict(actor), data.indicator_id, purpose="payment")
    with transaction.atomic(durable=True):
        req = _editable(actor, pk)
        before = audit.snapshot(req)
        ind = get_in_scope(Indicator.objects.select_related("unit", "unit__department", "project"), actor,
                           what="指标", pk=data.indicator_id)
        check_write_scope(actor, region_code=ind.region_code, unit_path=ind.unit_path or None, spec=UNIT_SCOPE)
        if data.lines is None and req.is_batch:
            data.lines = [LineIn(ln.payee_name, ln.payee_account_no, ln.payee_bank_name, ln.amount, ln.id_no,
                                 ln.remark) for ln in req.lines.all()]
            keep = True
        else:
            keep = False
        lines = _fill(actor, req, data, ind)
        req.save()
        if not keep:
            req.lines.all().delete()
            for ln in lines:
                ln.request = req
            PaymentRequestLine.objects.bulk_create(lines, batch_size=2000)
        audit.record_change(req, "update", before)
        return req


# --- controls and submit --------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    violations: list[Violation]
    hits: list  # monitoring Hits
    context: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def hit_dicts(self) -> list[dict]:
        return [hit_dict(h) for h in self.hits]


CLASSIFICATION_FIELDS = ("fund_nature_code", "exp_func_code", "dep_eco_code", "gov_eco_code")


def _controls(req: PaymentRequest, ind: Indicator, explanation: str, *, contract: Contract | None) -> CheckResult:
    """Every payment control (balance, classification, contract, blacklist, monitoring) on the (locked) indicator and contract; no writes."""
    from .. import monitoring_context

    v: list[Violation] = []
    today = clock.today(req.region_code)
    if not ind.is_executable:
        v.append(Violation("not_executable", f"指标 {ind.code} 不是可执行指标", "indicator"))
    usable = ind.available + min(contract_funds.drawable(contract), req.amount)  # a filed contract's own freeze
    if usable < req.amount:
        v.append(Violation("overdraw", f"指标 {ind.code} 可用余额 {format_fen(usable)} 元，不足支付 "
                                       f"{format_fen(req.amount)} 元（差额 {format_fen(req.amount - usable)} 元）",
                           "amount"))
    v += classification_violations({f: getattr(req, f) for f in CLASSIFICATION_FIELDS},
                                   {f: getattr(ind, f) for f in CLASSIFICATION_FIELDS})
    if ind.is_gov_pur and contract is None:
        v.append(Violation("contract_required", f"指标 {ind.code} 为政府采购指标：无合同不支付，请关联合同", "contract"))
    if contract is not None:
        if contract.status != Contract.Status.ACTIVE:
            v.append(Violation("contract_not_active", f"合同 {contract.number}{contract.get_status_display()}，不能支付", "contract"))
        elif contract.committed + req.amount > contract.amount:
            v.append(Violation("contract_exhausted",
                               f"合同 {contract.number} 金额 {format_fen(contract.amount)} 元，已申请 "
                               f"{format_fen(contract.committed)} 元，本次 {format_fen(req.amount)} 元超出合同余额",
                               "contract"))
        v += contract_funds.milestone_violations(req, contract)
        if contract.unit_id != req.unit_id:
            v.append(Violation("contract_unit_mismatch", f"合同 {contract.number} 不属于本单位", "contract"))
    if req.is_batch:
        lines = list(req.lines.values_list("payee_account_no", "payee_name"))
        accounts, names = {a for a, _ in lines}, {n for _, n in lines}
    else:
        accounts, names = {req.payee_account_no}, {req.payee_name}
    for b in blacklist_matches(req.region_code, accounts, names, today):
        v.append(Violation("payee_blacklisted", f"收款人 {b.name}（{b.account_no or b.id_code}）在黑名单中：{b.reason}"
                                                f"（{b.legal_basis}）", "payee"))
    v += _posting_violations(req, today)
    v += submit_violations(req, ind)
    ctx, hits = monitoring_context.inline_check(req, indicator=ind, contract=contract)
    for h in hits:
        if h.action == "block":
            v.append(Violation("monitoring_blocked", f"动态监控阻断【{h.name}】：{h.message}", "monitoring"))
        elif h.action == "warn_red" and not explanation.strip():
            v.append(Violation("explanation_required", f"动态监控红色预警【{h.name}】：{h.message}（须填写情况说明后提交）",
                               "explanation"))
    return CheckResult(v, hits, ctx)


def _posting_violations(req: PaymentRequest, today: dt.date) -> list[Violation]:
    """The receipt will book the unit's voucher and the finance bureau's: refuse now what they would refuse then
    (no account set, no rule for the business type, a dimension the accounts need), never after the bank paid."""
    out: list[Violation] = []
    for event, books in zip(posting_events(req, event_type="payment.receipted", event_id="check", amount=req.amount),
                            ("单位账套", "总预算会计账套"), strict=True):
        out += [Violation(p.code, f"入账检查（{books}）：{p.message}", "accounting")
                for p in acc.event_check(date=today, **event)]
    return out


def payment_request_check(*, actor, pk: int, explanation: str = "") -> CheckResult:
    """Dry run of submit: every control and the monitoring verdicts, nothing written."""
    with transaction.atomic():
        req = get_in_scope(PaymentRequest.objects.all(), actor, what="支付申请", pk=pk)
        ind = Indicator.objects.get(pk=req.indicator_id)
        contract = Contract.objects.filter(pk=req.contract_id).first() if req.contract_id else None
        return _controls(req, ind, explanation, contract=contract)


def _subject(req: PaymentRequest):
    from ibms.monitoring.services import Subject

    return Subject(kind="payment_request", object_id=str(req.pk), number=req.number, region_code=req.region_code,
                   unit_path=req.unit_path, unit_name=req.unit.name, amount=req.amount,
                   date=(req.submitted_at.date() if req.submitted_at else clock.today(req.region_code)))


def payment_request_submit(*, actor, pk: int, idempotency_key: str, explanation: str = "") -> PaymentRequest:
    """提交: one transaction — every control (balance, classification, contract, blacklist, in-line monitoring);
    refused with every reason listed and nothing reserved, or reserved + alerts raised + review to-do opened.
    Idempotent by the client's key: the same key and request return the same request; the same key with a
    different request is `idempotency_conflict`."""
    require_perm(actor, P_SUBMIT)
    ind_services.fiscal_year_require_for(PaymentRequest.objects.restrict(actor), pk, purpose="payment")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise invalid("idempotency_key_required", "必须提供幂等键（Idempotency-Key，不超过100个字符）", "idempotency_key")
    explanation = (explanation or "").strip()[:500]
    digest = payment_request_submit_hash(pk, explanation)
    with transaction.atomic(durable=True):
        req = get_in_scope(PaymentRequest.objects.select_for_update(), actor, CHANGE, what="支付申请", pk=pk)
        seen = SubmitKey.objects.filter(region_code=req.region_code, key=key).first()
        if seen is not None:
            if seen.request_hash != digest:
                raise Conflict("idempotency_conflict", "该幂等键已用于另一笔提交，不能用于不同的请求",
                               {"request_id": seen.request_id})
            return req
        if req.status not in PaymentRequest.EDITABLE:
            raise Conflict("not_editable", f"支付申请“{req.get_status_display()}”状态下不能提交")
        steps = payment_steps(req)
        if not steps:
            raise invalid("no_chain", "未配置支付申请的审核流程")
        # lock order: indicator, then contract (the same order everywhere)
        ind = Indicator.objects.select_for_update(no_key=True).get(pk=req.indicator_id)
        contract = Contract.objects.select_for_update().get(pk=req.contract_id) if req.contract_id else None
        req.submitted_at = clock.now()
        result = _controls(req, ind, explanation, contract=contract)
        if result.violations:
            raise ValidationFailed(result.violations, message="支付申请未通过控制")
        before = audit.snapshot(req)
        req.attempt += 1
        req.consumer = req.number if req.attempt == 1 else f"{req.number}-R{req.attempt}"
        contract_funds.draw(actor, contract, req.amount, req.consumer)
        ind_services.indicator_reserve(actor=actor, indicator_id=ind.pk, amount=req.amount, consumer=req.consumer)
        crash_point("treasury.submit.after_reserve")
        if contract is not None:
            _contract_move(contract, committed=req.amount)
        req.explanation, req.monitoring = explanation, result.hit_dicts()
        req.submitted_by, req.current_step, req.review_comment = _actor_or_none(actor), 1, ""
        req.unit_signer, req.unit_signer_fingerprint, req.unit_signature = None, "", ""
        req.save()
        audit.record_change(req, "update", before)
        workflow.transition(req, R.SUBMITTED, transitions=PaymentRequest.TRANSITIONS,
                            event_code="treasury.request_submitted",
                            payload={"amount": fen_to_str(req.amount), "hits": [h.rule_code for h in result.hits]})
        if result.hits:
            from ibms.monitoring import services as mon

            mon.alerts_raise(actor=actor, hits=result.hits, subject=_subject(req), explanation=explanation)
        try:
            with transaction.atomic():
                SubmitKey.objects.create(region_code=req.region_code, key=key, request_hash=digest, request=req)
        except IntegrityError as exc:
            raise Conflict("idempotency_conflict", "该幂等键正被另一笔提交使用") from exc
        workflow.todo_close(doc_type=DOC_PAYMENT, obj=req, user=actor)  # a returned request's own item
        _todo(req, steps[0])
        return req


def _todo(req: PaymentRequest, step: workflow.Step) -> None:
    workflow.todo_open(doc_type=DOC_PAYMENT, obj=req, title=f"支付申请{step.name}：{req.number} {req.purpose}"[:200],
                       url=reverse("treasury:request-detail", args=[req.pk]), step=step, region_code=req.region_code,
                       unit_path=req.unit_path)


RETURNED_STEP = workflow.Step(0, "修改后重新提交", "unit_clerk", "unit")


def todo_returned(req: PaymentRequest, reason: str) -> None:
    """A request sent back (退回) waits on its unit's clerks until it is submitted again."""
    workflow.todo_open(doc_type=DOC_PAYMENT, obj=req, title=f"支付申请被退回：{req.number} {req.purpose}（{reason}）"[:200],
                       url=reverse("treasury:request-detail", args=[req.pk]), step=RETURNED_STEP,
                       region_code=req.region_code, unit_path=req.unit_path)


def _release(actor, req: PaymentRequest) -> None:
    """Give back what a request holds: void the reservation, release the contract commitment."""
    ind_services.reservation_void(actor=actor, consumer=req.consumer)
    if req.contract_id:
        contract = Contract.objects.select_for_update().get(pk=req.contract_id)
        _contract_move(contract, committed=-req.amount)
        contract_funds.give_back(actor, contract, req.amount, req.consumer)


def payment_request_withdraw(*, actor, pk: int) -> PaymentRequest:
    """撤回 while in review: the reservation is voided; the request can be edited and submitted again."""
    require_perm(actor, P_SUBMIT)
    with transaction.atomic(durable=True):
        req = get_in_scope(PaymentRequest.objects.select_for_update(), actor, CHANGE, what="支付申请", pk=pk)
        if req.status != R.SUBMITTED:
            raise Conflict("not_submitted", "只有审核中的支付申请可以撤回")
        _release(actor, req)
        countersign_clear(req)
        workflow.transition(req, R.WITHDRAWN, transitions=PaymentRequest.TRANSITIONS,
                            event_code="treasury.request_withdrawn")
        workflow.todo_close(doc_type=DOC_PAYMENT, obj=req, user=actor)
        return req


def review_signer_kind(req: PaymentRequest) -> str:
    """Whom approving `req`'s current step makes sign: the last step issues the voucher, signed by its approver as a
    signer of the unit ("unit") or of the region's finance ("finance") — the step's holder; when the finance holds
    the last step, the unit's step signs the payment's content as a signer of the unit (:mod:`.countersign`);
    "" for any other step."""
    steps = payment_steps(req)
    if req.status != R.SUBMITTED or not steps:
        return ""
    if req.current_step >= len(steps):
        return steps[-1].holder
    return "unit" if req.current_step == countersign_step(steps) else ""


def review_signs_content(req: PaymentRequest) -> bool:
    """Approving `req`'s current step signs the payment's content (not the voucher, issued by a later step)."""
    steps = payment_steps(req)
    return req.status == R.SUBMITTED and 0 < req.current_step == countersign_step(steps)


def _review_signer(actor, pk: int, pin: str):
    """The approver's own signing key, opened with `pin` before the approval's transaction (the KDF is slow, and a
    wrong PIN must change nothing) when this approval signs; None otherwise."""
    req = PaymentRequest.objects.restrict(actor, CHANGE).select_related("unit").filter(pk=pk).first()
    kind = review_signer_kind(req) if req is not None else ""
    if not kind:
        return None
    steps = payment_steps(req)
    workflow.check_step_actor(actor, steps[min(req.current_step, len(steps)) - 1], submitted_by_id=req.submitted_by_id)
    from ibms.banks import services as banks

    return banks.signer_unlock(actor=actor, kind=kind, region_code=req.region_code, unit=req.unit, pin=pin)


def payment_request_review(*, actor, pk: int, approve: bool, comment: str = "", pin: str = "") -> PaymentRequest:
    """One step of the review chain. 退回 (reject) voids the reservation; the last approval generates the payment
    voucher, seals it, signs it with the approver's own key (`pin` opens it) and dispatches it, in the same
    transaction. When the finance holds the last step, the unit's step signs the payment's content (`pin`)."""
    require_perm(actor, P_REVIEW)
    ind_services.fiscal_year_require_for(PaymentRequest.objects.restrict(actor), pk, purpose="payment", when=approve)
    comment = (comment or "").strip()[:300]
    personal = _review_signer(actor, pk, pin) if approve else None
    with transaction.atomic(durable=True):
        req = get_in_scope(PaymentRequest.objects.select_for_update(of=("self",)).select_related("unit"), actor, CHANGE,
                           what="支付申请", pk=pk)
        if req.status != R.SUBMITTED:
            raise Conflict("not_submitted", "只有审核中的支付申请可以审核")
        steps = payment_steps(req)
        if not steps:
            raise invalid("no_chain", "未配置支付申请的审核流程")
        step = steps[min(req.current_step, len(steps)) - 1]
        workflow.check_step_actor(actor, step, submitted_by_id=req.submitted_by_id)
        if not approve and not comment:
            raise invalid("reason_required", "退回必须填写原因", "comment")
        workflow.todo_close(doc_type=DOC_PAYMENT, obj=req, user=actor)
        audit.record_event("treasury.request_reviewed", obj=req, region_code=req.region_code, message=comment,
                           payload={"step": step.order, "step_name": step.name, "approve": approve})
        if not approve:
            audit.update_fields(req, review_comment=comment)
            _release(actor, req)
            countersign_clear(req)
            workflow.transition(req, R.REJECTED, transitions=PaymentRequest.TRANSITIONS,
                                event_code="treasury.request_rejected", message=comment)
            todo_returned(req, comment)
            return req
        if step.order < len(steps):
            if step.order == countersign_step(steps):
                if personal is None or personal.kind != "unit":
                    raise Conflict("review_step_changed", "支付申请的审核环节已变化，请刷新后重新审核")
                countersign_store(req, personal)
            audit.update_fields(req, review_comment=comment, current_step=step.order + 1)
            _todo(req, steps[step.order])
            return req
        audit.update_fields(req, review_comment=comment)
        workflow.transition(req, R.APPROVED, transitions=PaymentRequest.TRANSITIONS,
                            event_code="treasury.request_approved", message=comment)
        _issue_voucher(actor, req, personal)
        crash_point("treasury.approve.after_dispatch")
        return req
