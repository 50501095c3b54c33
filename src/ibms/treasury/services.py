"""Treasury writers: payment requests (draft → submit with every control → review chain → voucher), contracts,
direct allocations (实拨), bank-message handlers and the daily reconciliation.

Submit runs every control in one transaction (balance under the indicator's row lock, classification match,
contract, blacklist, in-line monitoring) and either lists every reason (nothing reserved, nothing written) or
reserves the amount (`indicators.services.indicator_reserve`, consumer = the request's key) and raises the
monitoring alerts. The last approval generates the payment voucher, signs it (unit key; finance key too for
direct payments where the region says so) and hands it to `banks.voucher_dispatch` in the same transaction.
Bank messages come back through the handlers in `handlers.py`, which call the `apply_*` functions here inside
the transaction that marks the bank message applied (exactly once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from ibms.accounting import selectors as acc_selectors
from ibms.accounting import services as acc
from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, NotFound, ValidationFailed, Violation, invalid
from ibms.core.faults import crash_point
from ibms.core.money import fen_to_str, format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.iam.services import system_user
from ibms.indicators import services as ind_services
from ibms.indicators.models import Indicator
from ibms.masterdata.models import BankAccount, BlacklistEntry, Payee, Region, Unit
from ibms.masterdata.selectors import gov_eco_for

from .models import (
    UNIT_SCOPE,
    Allocation,
    BankStatement,
    Contract,
    PaymentRequest,
    PaymentRequestLine,
    PaymentVoucher,
    PayMethod,
    ReconciliationRun,
    ReconDifference,
    Refund,
    RegionPolicy,
    SetMode,
    SubmitKey,
    VoucherDetail,
    VoucherEvent,
)
from .setup import DOC_DIFFERENCE, DOC_PAYMENT

log = logging.getLogger("ibms.treasury")

P_ADD, P_CHANGE = "treasury.add_paymentrequest", "treasury.change_paymentrequest"
P_SUBMIT, P_REVIEW = "treasury.submit_paymentrequest", "treasury.review_paymentrequest"
P_CONTRACT = "treasury.add_contract"
P_ALLOC = "treasury.add_allocation"
P_RECON = "treasury.add_reconciliationrun"
P_VOUCHER = "treasury.change_paymentvoucher"

R = PaymentRequest.Status
V = PaymentVoucher.State
ACCOUNT_RE = re.compile(r"^[0-9]{6,32}$")
MAX_BATCH_LINES = 50_000


# --- policy and small helpers ---------------------------------------------------------------------------------

def policy_for(region_code: str) -> RegionPolicy:
    """The region's own policy row, else the nearest ancestor's, else the default ('')."""
    region = Region.objects.filter(code=region_code).first()
    codes = [c for c in (region.path.strip("/").split("/")[::-1] if region else [region_code]) if c] + [""]
    rows = {p.region_code: p for p in RegionPolicy.objects.filter(region_code__in=codes)}
    for c in codes:
        if c in rows:
            return rows[c]
    return RegionPolicy(region_code="", default_pay_method=PayMethod.CENTRALIZED)


def pay_method_for(pay_type_code: str, region_code: str) -> str:
    """支付方式: "11…" 财政直接支付 → direct, "12…" 财政授权支付 → authorized, blank → the region's default."""
    code = (pay_type_code or "").strip()
    if code.startswith("11") or code == "001001":
        return PayMethod.DIRECT
    if code.startswith("12") or code == "001002":
        return PayMethod.AUTHORIZED
    return policy_for(region_code).default_pay_method


def vt_code_for(pay_method: str, is_batch: bool) -> str:
    if is_batch:
        return "8207"
    return "8202" if pay_method == PayMethod.AUTHORIZED else "5201"


def _actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def _eco_match(wanted: str, have: str) -> bool:
    """A request's code matches the indicator's when equal, or when the indicator's is a higher level (prefix)."""
    return not have or wanted == have or wanted.startswith(have)


# --- drafts ----------------------------------------------------------------------------------------------------

@dataclass
class PayeeIn:
    payee_id: int | None = None
    name: str = ""
    account_no: str = ""
    bank_name: str = ""
    bank_code: str = ""
    kind: str = "corporate"


@dataclass
class LineIn:
    payee_name: str
    payee_account_no: str
    payee_bank_name: str
    amount: int
    id_no: str = ""
    remark: str = ""


@dataclass
class DraftIn:
    indicator_id: int
    amount: int = 0  # batch: the sum of the lines
    purpose: str = ""
    payee: PayeeIn = field(default_factory=PayeeIn)
    set_mode_code: str = SetMode.TRANSFER
    pay_type_code: str | None = None  # None: the indicator's
    contract_id: int | None = None
    expense: str = "business"
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""
    fund_nature_code: str = ""
    lines: list[LineIn] | None = None  # batch (payroll-style)
    is_payroll: bool = False
    business_type: str = ""  # 支付业务类型; blank: derived from the department economic class
    installation: bool = False  # a fixed asset that needs installing (在建工程 1613)


def _payee_violations(actor, p: PayeeIn, region_code: str) -> tuple[list[Violation], dict]:
    v: list[Violation] = []
    if p.payee_id:
        payee = Payee.objects.restrict(actor).filter(pk=p.payee_id, is_active=True).first()
        if payee is None:
            return [Violation("payee_unknown", "收款人不在收款人目录中或已停用", "payee_id")], {}
        return [], {"payee": payee, "payee_name": payee.account_name or payee.name, "payee_kind": payee.kind,
                    "payee_account_no": payee.account_no, "payee_bank_name": payee.bank_name,
                    "payee_bank_code": payee.bank_code}
    name, acct, bank = p.name.strip(), re.sub(r"\s", "", p.account_no or ""), p.bank_name.strip()
    if not name:
        v.append(Violation("payee_name_required", "必须填写收款人名称", "payee_name"))
    if not ACCOUNT_RE.match(acct):
        v.append(Violation("payee_account_invalid", "收款账号必须是6至32位数字", "payee_account_no"))
    if not bank:
        v.append(Violation("payee_bank_required", "必须填写收款人开户银行", "payee_bank_name"))
    if p.bank_code and not re.match(r"^[0-9]{12}$", p.bank_code):
        v.append(Violation("payee_bank_code_invalid", "联行号必须是12位数字", "payee_bank_code"))
    return v, {"payee": None, "payee_name": name[:120], "payee_kind": p.kind or "corporate",
               "payee_account_no": acct[:32], "payee_bank_name": bank[:100], "payee_bank_code": p.bank_code}


def _line_violations(lines: list[LineIn]) -> list[Violation]:
    v: list[Violation] = []
    if not lines:
        v.append(Violation("lines_required", "批量支付至少需要一条明细", "lines"))
    if len(lines) > MAX_BATCH_LINES:
        v.append(Violation("too_many_lines", f"批量支付明细不能超过 {MAX_BATCH_LINES} 条", "lines"))
    for n, ln in enumerate(lines, 1):
        if not ln.payee_name.strip():
            v.append(Violation("payee_name_required", f"第{n}行：必须填写收款人", "lines"))
        if not ACCOUNT_RE.match(re.sub(r"\s", "", ln.payee_account_no or "")):
            v.append(Violation("payee_account_invalid", f"第{n}行：收款账号必须是6至32位数字", "lines"))
        if not ln.payee_bank_name.strip():
            v.append(Violation("payee_bank_required", f"第{n}行：必须填写开户银行", "lines"))
        if not isinstance(ln.amount, int) or isinstance(ln.amount, bool) or ln.amount <= 0:
            v.append(Violation("amount_not_positive", f"第{n}行：金额必须大于零", "lines"))
        if len(v) >= 50:
            v.append(Violation("too_many_errors", "错误过多，仅列出前50条", "lines"))
            break
    return v


def _payer_account(unit: Unit, region_code: str, pay_method: str) -> BankAccount | None:
    if pay_method == PayMethod.AUTHORIZED:
        return BankAccount.objects.filter(unit=unit, account_type="12", is_active=True).first()
    return (BankAccount.objects.filter(region_code=region_code, unit__isnull=True, account_type="11",
                                       is_active=True).first()
            or BankAccount.objects.filter(unit=unit, account_type="12", is_active=True).first())


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
        v += _line_violations(data.lines)
        amount = sum(ln.amount for ln in data.lines if isinstance(ln.amount, int))
        payee = {"payee": None, "payee_name": f"批量支付（{len(data.lines)}笔）", "payee_kind": "individual",
                 "payee_account_no": "", "payee_bank_name": "", "payee_bank_code": ""}
    else:
        amount = data.amount
        pv, payee = _payee_violations(actor, data.payee, ind.region_code)
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
    pay_method = pay_method_for(pay_type, ind.region_code)
    payer = _payer_account(unit, ind.region_code, pay_method)
    policy = policy_for(ind.region_code)
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
    req.agent_bank_code = policy.agent_bank_code or (payer.bank.code if payer and payer.bank_id else "")
    for k, val in payee.items():
        setattr(req, k, val)
    req.contract = contract
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


def hit_dict(h) -> dict:
    return {"rule_id": h.rule_id, "rule_code": h.rule_code, "rule_version": h.rule_version, "name": h.name,
            "action": h.action, "message": h.message}


def _blacklisted(region_code: str, accounts: set[str], names: set[str], today: dt.date) -> list[BlacklistEntry]:
    """Active entries of the region and its upper levels matching a payee account or name (the list is small:
    matched in memory, so a batch of tens of thousands of lines costs one query)."""
    region = Region.objects.filter(code=region_code).first()
    regions = [c for c in (region.path.strip("/").split("/") if region else [region_code]) if c] + [""]
    entries = (BlacklistEntry.objects.filter(region_code__in=regions, status=BlacklistEntry.Status.ACTIVE,
                                             valid_from__lte=today)
               .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today)).order_by("id"))
    return [b for b in entries if (b.account_no and b.account_no in accounts) or (b.name and b.name in names)]


def _controls(req: PaymentRequest, ind: Indicator, explanation: str, *, contract: Contract | None) -> CheckResult:
    """Every control of DOMAIN §11.4 on the (locked) indicator and contract; no writes."""
    from . import monitoring_context

    v: list[Violation] = []
    today = clock.today(req.region_code)
    if not ind.is_executable:
        v.append(Violation("not_executable", f"指标 {ind.code} 不是可执行指标", "indicator"))
    if ind.available < req.amount:
        v.append(Violation("overdraw", f"指标 {ind.code} 可用余额 {format_fen(ind.available)} 元，不足支付 "
                                       f"{format_fen(req.amount)} 元（差额 {format_fen(req.amount - ind.available)} 元）",
                           "amount"))
    for label, name, exact in (("资金性质", "fund_nature_code", True), ("支出功能分类", "exp_func_code", True),
                               ("部门经济分类", "dep_eco_code", False), ("政府经济分类", "gov_eco_code", False)):
        mine, theirs = getattr(req, name), getattr(ind, name)
        ok = (mine == theirs) if exact else _eco_match(mine, theirs)
        if not ok:
            v.append(Violation("classification_mismatch", f"{label} {mine or '（空）'} 与指标的 {theirs} 不一致", name))
    if ind.is_gov_pur and contract is None:
        v.append(Violation("contract_required", f"指标 {ind.code} 为政府采购指标：无合同不支付，请关联合同", "contract"))
    if contract is not None:
        if contract.status != Contract.Status.ACTIVE:
            v.append(Violation("contract_exhausted", f"合同 {contract.number} 已终止", "contract"))
        elif contract.committed + req.amount > contract.amount:
            v.append(Violation("contract_exhausted",
                               f"合同 {contract.number} 金额 {format_fen(contract.amount)} 元，已申请 "
                               f"{format_fen(contract.committed)} 元，本次 {format_fen(req.amount)} 元超出合同余额",
                               "contract"))
        if contract.unit_id != req.unit_id:
            v.append(Violation("contract_unit_mismatch", f"合同 {contract.number} 不属于本单位", "contract"))
    if req.is_batch:
        lines = list(req.lines.values_list("payee_account_no", "payee_name"))
        accounts, names = {a for a, _ in lines}, {n for _, n in lines}
    else:
        accounts, names = {req.payee_account_no}, {req.payee_name}
    for b in _blacklisted(req.region_code, accounts, names, today):
        v.append(Violation("payee_blacklisted", f"收款人 {b.name}（{b.account_no or b.id_code}）在黑名单中：{b.reason}"
                                                f"（{b.legal_basis}）", "payee"))
    v += _posting_violations(req, today)
    hits: list = []
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


def submit_hash(pk: int, explanation: str) -> str:
    return hashlib.sha256(json.dumps({"pk": pk, "explanation": explanation.strip()}, ensure_ascii=False,
                                     sort_keys=True).encode()).hexdigest()


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
    digest = submit_hash(pk, explanation)
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
        steps = workflow.approval_steps(DOC_PAYMENT, req.region_code)
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
        ind_services.indicator_reserve(actor=actor, indicator_id=ind.pk, amount=req.amount, consumer=req.consumer)
        crash_point("treasury.submit.after_reserve")
        if contract is not None:
            _contract_move(contract, committed=req.amount)
        req.explanation, req.monitoring = explanation, result.hit_dicts()
        req.submitted_by, req.current_step, req.review_comment = _actor_or_none(actor), 1, ""
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
        _todo(req, steps[0])
        return req


def _todo(req: PaymentRequest, step: workflow.Step) -> None:
    workflow.todo_open(doc_type=DOC_PAYMENT, obj=req, title=f"支付申请{step.name}：{req.number} {req.purpose}"[:200],
                       url=reverse("treasury:request-detail", args=[req.pk]), step=step, region_code=req.region_code,
                       unit_path=req.unit_path)


def _contract_move(contract: Contract, *, committed: int = 0, paid: int = 0) -> None:
    """Contract counters (caller holds the lock or the transaction); the CHECKs refuse over-commitment."""
    before = audit.snapshot(contract)
    contract.committed += committed
    contract.paid += paid
    contract.save(update_fields=["committed", "paid", "updated_at"])
    audit.record_change(contract, "update", before)


def _release(actor, req: PaymentRequest) -> None:
    """Give back what a request holds: void the reservation, release the contract commitment."""
    ind_services.reservation_void(actor=actor, consumer=req.consumer)
    if req.contract_id:
        contract = Contract.objects.select_for_update().get(pk=req.contract_id)
        _contract_move(contract, committed=-req.amount)


def payment_request_withdraw(*, actor, pk: int) -> PaymentRequest:
    """撤回 while in review: the reservation is voided; the request can be edited and submitted again."""
    require_perm(actor, P_SUBMIT)
    with transaction.atomic(durable=True):
        req = get_in_scope(PaymentRequest.objects.select_for_update(), actor, CHANGE, what="支付申请", pk=pk)
        if req.status != R.SUBMITTED:
            raise Conflict("not_submitted", "只有审核中的支付申请可以撤回")
        _release(actor, req)
        workflow.transition(req, R.WITHDRAWN, transitions=PaymentRequest.TRANSITIONS,
                            event_code="treasury.request_withdrawn")
        workflow.todo_close(doc_type=DOC_PAYMENT, obj=req, user=actor)
        return req


def payment_request_review(*, actor, pk: int, approve: bool, comment: str = "") -> PaymentRequest:
    """One step of the review chain. 退回 (reject) voids the reservation; the last approval generates, signs and
    dispatches the payment voucher in the same transaction."""
    require_perm(actor, P_REVIEW)
    ind_services.fiscal_year_require_for(PaymentRequest.objects.restrict(actor), pk, purpose="payment", when=approve)
    comment = (comment or "").strip()[:300]
    with transaction.atomic(durable=True):
        req = get_in_scope(PaymentRequest.objects.select_for_update(of=("self",)).select_related("unit"), actor, CHANGE,
                           what="支付申请", pk=pk)
        if req.status != R.SUBMITTED:
            raise Conflict("not_submitted", "只有审核中的支付申请可以审核")
        steps = workflow.approval_steps(DOC_PAYMENT, req.region_code)
        if not steps:
            raise invalid("no_chain", "未配置支付申请的审核流程")
        step = steps[min(req.current_step, len(steps)) - 1]
        workflow.check_step_actor(actor, step, submitted_by_id=req.submitted_by_id)
        if not approve and not comment:
            raise invalid("reason_required", "退回必须填写原因", "comment")
        before = audit.snapshot(req)
        req.review_comment = comment
        workflow.todo_close(doc_type=DOC_PAYMENT, obj=req, user=actor)
        audit.record_event("treasury.request_reviewed", obj=req, region_code=req.region_code, message=comment,
                           payload={"step": step.order, "step_name": step.name, "approve": approve})
        if not approve:
            req.save(update_fields=["review_comment", "updated_at"])
            audit.record_change(req, "update", before)
            _release(actor, req)
            workflow.transition(req, R.REJECTED, transitions=PaymentRequest.TRANSITIONS,
                                event_code="treasury.request_rejected", message=comment)
            return req
        if step.order < len(steps):
            req.current_step = step.order + 1
            req.save(update_fields=["review_comment", "current_step", "updated_at"])
            audit.record_change(req, "update", before)
            _todo(req, steps[step.order])
            return req
        req.save(update_fields=["review_comment", "updated_at"])
        audit.record_change(req, "update", before)
        workflow.transition(req, R.APPROVED, transitions=PaymentRequest.TRANSITIONS,
                            event_code="treasury.request_approved", message=comment)
        _issue_voucher(actor, req)
        crash_point("treasury.approve.after_dispatch")
        return req


# --- vouchers ---------------------------------------------------------------------------------------------------

def _voucher_number(region_code: str, year: int) -> str:
    return next_number(f"ZF{region_code[:6]}{year}", key=f"treasury-voucher:{region_code}:{year}", width=8)


def _event(voucher: PaymentVoucher, kind: str, note: str = "", message_id: str = "") -> None:
    VoucherEvent.objects.create(voucher=voucher, region_code=voucher.region_code, kind=kind, state=voucher.state,
                                message_id=str(message_id or "")[:60], note=note[:300])


def _move(voucher: PaymentVoucher, to: str, *, note: str = "", message_id: str = "", kind: str = "") -> None:
    workflow.transition(voucher, to, transitions=PaymentVoucher.TRANSITIONS, field="state",
                        event_code=f"treasury.voucher_{to}", message=note[:300])
    _event(voucher, kind or to, note, message_id)


def _save(obj, fields: list[str]) -> None:
    before = audit.snapshot(obj)
    obj.save(update_fields=[*fields, "updated_at"])
    audit.record_change(obj, "update", before)


def _header(v: PaymentVoucher, extra: dict) -> dict:
    return {"VouDate": v.vou_date.isoformat(), "PayAmt": v.amount, "PayAcctNo": v.pay_acct_no,
            "PayAcctName": v.pay_acct_name, "PayeeAcctNo": v.payee_account_no, "PayeeAcctName": v.payee_name,
            "PayeeAcctBankName": v.payee_bank_name, "AgentBankCode": v.agent_bank_code, **extra}


def _details(v: PaymentVoucher, details: list[VoucherDetail]) -> list[dict]:
    return [{"Seq": str(d.seq), "PayeeAcctNo": d.payee_account_no, "PayeeAcctName": d.payee_name,
             "PayeeAcctBankName": d.payee_bank_name, "PayAmt": d.amount, "AddWord": d.add_word} for d in details]


def _dispatch(actor, v: PaymentVoucher, details: list[VoucherDetail], *, unit: Unit | None, finance: bool,
              extra: dict) -> None:
    from ibms.banks import services as banks

    signers = []
    if unit is not None:
        signers.append(banks.signing_key_for_unit(unit))
    if finance:
        signers.append(banks.signing_key_for_finance(v.region_code))
    msg = banks.voucher_dispatch(actor=actor, region_code=v.region_code, year=v.year, vt_code=v.vt_code,
                                 voucher_no=v.number, agent_bank_code=v.agent_bank_code, header=_header(v, extra),
                                 details=_details(v, details), signers=signers)
    v.bank_message_id = getattr(msg, "pk", None)
    v.signers = "+".join(["unit"] * (unit is not None) + ["finance"] * finance)
    _save(v, ["bank_message_id", "signers"])
    _move(v, V.SIGNED, note=f"签章：{v.signers}")
    _move(v, V.SENT, note="已提交发送队列", message_id=str(v.bank_message_id or ""))


def _issue_voucher(actor, req: PaymentRequest) -> PaymentVoucher:
    if not req.agent_bank_code:
        raise invalid("agent_bank_missing", "未找到付款账户的代理银行，不能生成支付凭证", "agent_bank_code")
    vt = vt_code_for(req.pay_method, req.is_batch)
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
    finance = req.pay_method == PayMethod.DIRECT and policy_for(req.region_code).finance_sign_direct
    _dispatch(actor, v, details, unit=req.unit, finance=finance, extra={
        "PayTypeCode": req.pay_type_code, "PayMethod": req.pay_method, "SetModeCode": req.set_mode_code,
        "FundTypeCode": req.fund_nature_code, "ExpFuncCode": req.exp_func_code, "ExpEcoCode": req.dep_eco_code,
        "AgencyCode": req.unit.code, "AgencyName": req.unit.name, "PaySummaryName": req.purpose,
        "PayAppNo": req.number, "ContractNo": req.contract.number if req.contract_id else ""})
    return v


def voucher_resend(*, actor, pk: int) -> PaymentVoucher:
    """Re-send a voucher whose outcome is unknown under the same number (the bank pays a number at most once)."""
    require_perm(actor, P_VOUCHER)
    with transaction.atomic(durable=True):
        v = get_in_scope(PaymentVoucher.objects.select_for_update(), actor, CHANGE, what="支付凭证", pk=pk)
        if v.state != V.UNKNOWN:
            raise Conflict("not_unknown", "只有结果未知的凭证可以重发")
        from ibms.banks import services as banks

        unit = v.request.unit if v.request_id else None
        signers = ([banks.signing_key_for_unit(unit)] if unit else []) + (
            [banks.signing_key_for_finance(v.region_code)] if "finance" in v.signers else [])
        banks.voucher_dispatch(actor=actor, region_code=v.region_code, year=v.year, vt_code=v.vt_code,
                               voucher_no=v.number, agent_bank_code=v.agent_bank_code, header=_header(v, {}),
                               details=_details(v, list(v.details.all())), signers=signers)
        _move(v, V.SENT, note="同号重发")
        return v


def voucher_query(*, actor, pk: int) -> PaymentVoucher:
    """Ask the bank for the voucher's status now (the answer arrives through the `status` handler)."""
    require_perm(actor, P_VOUCHER)
    with transaction.atomic(durable=True):
        v = get_in_scope(PaymentVoucher.objects.select_for_update(), actor, CHANGE, what="支付凭证", pk=pk)
        _query(actor, v)
        return v


def _query(actor, v: PaymentVoucher) -> None:
    from ibms.banks import services as banks

    v.last_query_at = timezone.now()
    _save(v, ["last_query_at"])
    _event(v, "query", "已发起状态查询")
    banks.voucher_query(actor=actor, region_code=v.region_code, year=v.year, voucher_no=v.number,
                        agent_bank_code=v.agent_bank_code)


def voucher_query_stuck(*, older_than_minutes: int | None = None, limit: int = 200) -> int:
    """Periodic job: query vouchers still `sent`/`accepted`/`unknown` after the region's interval (worker)."""
    from ibms.core.context import SYSTEM, acting

    actor = system_user()
    now = timezone.now()
    n = 0
    pending = PaymentVoucher.objects.filter(state__in=[V.SENT, V.ACCEPTED, V.UNKNOWN]).order_by("id")[:limit]
    for v in pending:
        minutes = policy_for(v.region_code).stuck_minutes if older_than_minutes is None else older_than_minutes
        cutoff = now - dt.timedelta(minutes=minutes)
        if v.updated_at > cutoff or (v.last_query_at and v.last_query_at > cutoff):
            continue
        try:
            with acting(SYSTEM), transaction.atomic():
                locked = PaymentVoucher.objects.select_for_update().get(pk=v.pk)
                if locked.state in (V.SENT, V.ACCEPTED, V.UNKNOWN):
                    _query(actor, locked)
                    n += 1
        except Conflict as exc:  # bank unreachable: the next run asks again
            log.warning("status query for voucher %s failed: %s", v.number, exc.code)
    return n


# --- contracts --------------------------------------------------------------------------------------------------

def contract_create(*, actor, unit_id: int, number: str, name: str, amount: int, sign_date: dt.date,
                    payee_id: int | None = None, payee_name: str = "", payee_account_no: str = "",
                    indicator_id: int | None = None) -> Contract:
    """合同备案 for a unit (the contract number travels on its payment requests)."""
    require_perm(actor, P_CONTRACT)
    v: list[Violation] = []
    number, name = (number or "").strip(), (name or "").strip()
    if not number:
        v.append(Violation("number_required", "必须填写合同编号", "number"))
    if not name:
        v.append(Violation("name_required", "必须填写合同名称", "name"))
    if not isinstance(amount, int) or amount <= 0:
        v.append(Violation("amount_not_positive", "合同金额必须大于零", "amount"))
    with transaction.atomic(durable=True):
        unit = get_in_scope(Unit.objects.all(), actor, what="单位", pk=unit_id)
        check_write_scope(actor, region_code=unit.region_code, unit_path=unit.path, spec=UNIT_SCOPE)
        payee = None
        if payee_id:
            payee = Payee.objects.restrict(actor).filter(pk=payee_id).first()
            if payee is None:
                v.append(Violation("payee_unknown", "收款人不存在", "payee_id"))
        if not payee and not payee_name.strip():
            v.append(Violation("payee_required", "必须填写供应商", "payee_name"))
        ind = None
        if indicator_id:
            ind = Indicator.objects.restrict(actor).filter(pk=indicator_id, unit=unit).first()
            if ind is None:
                v.append(Violation("indicator_unknown", "指标不存在或不属于该单位", "indicator_id"))
        if number and Contract.objects.filter(region_code=unit.region_code, number=number).exists():
            v.append(Violation("number_taken", f"合同编号 {number} 已登记", "number"))
        if v:
            raise ValidationFailed(v, message="合同备案填写有误")
        c = Contract.objects.create(
            region_code=unit.region_code, year=sign_date.year, number=number[:60], name=name[:200], unit=unit,
            unit_path=unit.path, payee=payee, payee_name=(payee.name if payee else payee_name.strip())[:120],
            payee_account_no=(payee.account_no if payee else payee_account_no.strip())[:32], indicator=ind,
            amount=amount, sign_date=sign_date, created_by=_actor_or_none(actor))
        audit.record_change(c, "create")
        return c


# --- direct allocation (实拨) ------------------------------------------------------------------------------------

def allocation_create(*, actor, indicator_id: int, alloc_type: str, amount: int, purpose: str,
                      payee_region_code: str = "", payee_unit_id: int | None = None, payee_name: str = "",
                      payee_account_no: str = "", payee_bank_name: str = "",
                      agent_bank_code: str = "") -> Allocation:
    """实拨 (5207): finance reserves the indicator and sends an allocation certificate to the bank (treasury)."""
    require_perm(actor, P_ALLOC)
    ind_services.fiscal_year_require_for(Indicator.objects.restrict(actor), indicator_id, purpose="payment")
    v: list[Violation] = []
    if alloc_type not in Allocation.Kind.values:
        v.append(Violation("alloc_type_invalid", "拨款类型不正确", "alloc_type"))
    if not (purpose or "").strip():
        v.append(Violation("purpose_required", "必须填写用途", "purpose"))
    if not isinstance(amount, int) or amount <= 0:
        v.append(Violation("amount_not_positive", "金额必须大于零", "amount"))
    with transaction.atomic(durable=True):
        ind = get_in_scope(Indicator.objects.all(), actor, what="指标", pk=indicator_id)
        check_write_scope(actor, region_code=ind.region_code)
        unit = None
        if alloc_type == Allocation.Kind.UNIT:
            unit = Unit.objects.restrict(actor).filter(pk=payee_unit_id).first() if payee_unit_id else None
            if unit is None:
                v.append(Violation("payee_unit_required", "拨付预算单位必须选择收款单位", "payee_unit_id"))
            else:
                acct = BankAccount.objects.filter(unit=unit, account_type__in=["62", "63", "12"],
                                                  is_active=True).order_by("account_type").first()
                if acct and not payee_account_no:
                    payee_name, payee_account_no, payee_bank_name = acct.account_name, acct.account_no, acct.bank_name
        elif alloc_type == Allocation.Kind.LOWER_FINANCE:
            lower = Region.objects.filter(code=payee_region_code).first()
            if lower is None or lower.parent_id is None or lower.parent.code != ind.region_code:
                v.append(Violation("payee_region_invalid", "收款区划必须是本级的直接下级", "payee_region_code"))
            else:
                acct = BankAccount.objects.filter(region_code=lower.code, unit__isnull=True, is_active=True).first()
                if acct and not payee_account_no:
                    payee_name, payee_account_no, payee_bank_name = acct.account_name, acct.account_no, acct.bank_name
        if not ACCOUNT_RE.match(payee_account_no or ""):
            v.append(Violation("payee_account_invalid", "收款账号必须是6至32位数字", "payee_account_no"))
        if not (payee_name or "").strip() or not (payee_bank_name or "").strip():
            v.append(Violation("payee_required", "必须填写收款户名和开户银行", "payee_name"))
        locked = Indicator.objects.select_for_update(no_key=True).get(pk=ind.pk)
        if isinstance(amount, int) and locked.available < amount:
            v.append(Violation("overdraw", f"指标 {ind.code} 可用余额 {format_fen(locked.available)} 元不足", "amount"))
        treasury_acct = BankAccount.objects.filter(region_code=ind.region_code, unit__isnull=True,
                                                   is_active=True).select_related("bank").first()
        bank_code = agent_bank_code or policy_for(ind.region_code).agent_bank_code or (
            treasury_acct.bank.code if treasury_acct and treasury_acct.bank_id else "")
        if not bank_code:
            v.append(Violation("agent_bank_missing", "未配置代理银行", "agent_bank_code"))
        if v:
            raise ValidationFailed(v, message="实拨拨款未通过检查")
        a = Allocation.objects.create(
            region_code=ind.region_code, year=ind.year, number=next_number(f"SB-{ind.region_code[:6]}-{ind.year}-",
                                                                           width=6),
            alloc_type=alloc_type, indicator=ind, unit_path=ind.unit_path, payee_region_code=payee_region_code,
            payee_unit=unit, payee_name=payee_name[:120], payee_account_no=payee_account_no[:32],
            payee_bank_name=payee_bank_name[:100], amount=amount, purpose=purpose.strip()[:200],
            created_by=_actor_or_none(actor))
        audit.record_change(a, "create")
        ind_services.indicator_reserve(actor=actor, indicator_id=ind.pk, amount=amount, consumer=a.number)
        voucher = PaymentVoucher.objects.create(
            region_code=a.region_code, year=a.year, vt_code="5207", number=_voucher_number(a.region_code, a.year),
            allocation=a, unit_path=ind.unit_path, consumer=a.number, pay_method=PayMethod.DIRECT,
            vou_date=clock.today(a.region_code), amount=amount, agent_bank_code=bank_code,
            pay_acct_no=treasury_acct.account_no if treasury_acct else "",
            pay_acct_name=treasury_acct.account_name if treasury_acct else "", payee_name=a.payee_name,
            payee_account_no=a.payee_account_no, payee_bank_name=a.payee_bank_name)
        details = [VoucherDetail(voucher=voucher, seq=1, payee_name=a.payee_name,
                                 payee_account_no=a.payee_account_no, payee_bank_name=a.payee_bank_name,
                                 amount=amount, add_word=a.purpose[:100])]
        VoucherDetail.objects.bulk_create(details)
        audit.record_change(voucher, "create")
        _event(voucher, "generated", f"由实拨拨款 {a.number} 生成")
        _dispatch(actor, voucher, details, unit=None, finance=True, extra={
            "PayAllocType": a.alloc_type, "FundTypeCode": ind.fund_nature_code, "ExpFuncCode": ind.exp_func_code,
            "PaySummaryName": a.purpose, "PayAllocCertNo": a.number})
        return a


# --- bank messages (called by handlers.py inside the bank message's transaction) --------------------------------

def find_voucher(region_code: str, year: int | None, voucher_no: str) -> PaymentVoucher | None:
    qs = PaymentVoucher.objects.select_for_update().filter(region_code=region_code, number=voucher_no)
    if year:
        qs = qs.filter(year=year)
    return qs.first()


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


def apply_ack(v: PaymentVoucher, *, result: str, reason: str = "", state: str = "", message_id: str = "") -> None:
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
    v.external_status, v.external_note = {"accepted": "15", "rejected": "16"}.get(result, ""), reason[:300]
    _save(v, ["external_status", "external_note"])
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


def _void_origin(v: PaymentVoucher) -> None:
    actor = system_user()
    ind_services.reservation_void(actor=actor, consumer=v.consumer)
    if v.request_id and v.request.contract_id:
        contract = Contract.objects.select_for_update().get(pk=v.request.contract_id)
        _contract_move(contract, committed=-v.amount)


def _post_accounting(v: PaymentVoucher, *, event_type: str, event_id: str, amount: int, date: dt.date) -> None:
    """Both books in the caller's transaction: the unit's voucher (by the request's business type) and the
    finance bureau's 总预算会计 voucher (本级支出 / 国库存款 by fund nature and function class)."""
    if v.request_id:
        req = v.request
        for event in posting_events(req, event_type=event_type, event_id=event_id, amount=amount):
            acc.post_event(actor=system_user(), date=date, summary=f"{req.purpose}（{v.number}）"[:200], **event)
    elif v.allocation_id and event_type == "payment.receipted":
        a = v.allocation
        ind = a.indicator
        etype = "treasury.transfer_to_lower" if a.alloc_type == Allocation.Kind.LOWER_FINANCE else "treasury.paid"
        acc.post_event(actor=system_user(), event_id=event_id, event_type=etype, date=date, amounts={"amount": amount},
                       dimensions={"exp_func": ind.exp_func_code, "fund_nature": ind.fund_nature_code},
                       region_code=a.region_code, year=a.year, summary=f"实拨：{a.purpose}（{a.number}）"[:200])


FINANCE_EVENT = {"payment.receipted": "treasury.paid", "payment.refunded": "treasury.refunded"}


def posting_events(req: PaymentRequest, *, event_type: str, event_id: str, amount: int) -> list[dict]:
    """The accounting events a receipt (or refund) of `req` posts: the unit's, then the finance bureau's."""
    dims = {"exp_func": req.exp_func_code, "dep_eco": req.dep_eco_code, "gov_eco": req.gov_eco_code,
            "fund_nature": req.fund_nature_code, "project": req.project_code, "payee": req.payee_name[:120]}
    return [
        {"event_id": event_id, "event_type": event_type, "amounts": {"amount": amount}, "dimensions": dims,
         "attrs": {"pay_method": req.pay_method, "expense": req.expense, "business_type": req.business_type,
                   "installation": req.installation},
         "unit_id": req.unit_id, "year": req.year},
        {"event_id": f"fin-{event_id}", "event_type": FINANCE_EVENT[event_type], "amounts": {"amount": amount},
         "dimensions": {"exp_func": req.exp_func_code, "fund_nature": req.fund_nature_code,
                        "dep_eco": req.dep_eco_code, "gov_eco": req.gov_eco_code},
         "region_code": req.region_code, "year": req.year},
    ]


def apply_receipt(v: PaymentVoucher, *, xpay_amt: int | None, xpay_date: dt.date | None, business_no: str = "",
                  details: list[dict] | None = None, message_id: str = "") -> None:
    """回单: reservation → spent, accounting voucher posted, contract paid — once. A second receipt for a paid
    voucher is recorded (the reconciliation lists it as paid twice), never applied again."""
    xpay = v.amount if xpay_amt is None else xpay_amt
    date = xpay_date or clock.today(v.region_code)
    if v.state in (V.FAILED, V.RETURNED):
        raise Conflict("receipt_not_applicable", f"凭证 {v.number} 已{v.get_state_display()}，银行却回单支付 "
                       f"{format_fen(xpay)} 元：需核实是否已付款")
    if v.state in PaymentVoucher.PAID_STATES:
        v.receipt_count += 1
        _save(v, ["receipt_count"])
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
    v.xpay_amt, v.xpay_date, v.agent_business_no = xpay, date, business_no[:60]
    v.receipt_count += 1
    v.external_status = "5"
    _save(v, ["xpay_amt", "xpay_date", "agent_business_no", "receipt_count", "external_status"])
    crash_point("treasury.receipt.after_accounting")
    _move(v, V.PAID, note=f"回单：实付 {format_fen(xpay)} 元，流水号 {business_no}", message_id=message_id,
          kind="receipt")
    if v.request_id:
        req = PaymentRequest.objects.select_for_update().get(pk=v.request_id)
        before = audit.snapshot(req)
        req.xpay_amt = xpay
        req.save(update_fields=["xpay_amt", "updated_at"])
        audit.record_change(req, "update", before)
        if req.status == R.APPROVED:
            workflow.transition(req, R.PAID, transitions=PaymentRequest.TRANSITIONS, event_code="treasury.request_paid")
    elif v.allocation_id:
        a = Allocation.objects.select_for_update().get(pk=v.allocation_id)
        before = audit.snapshot(a)
        a.acc_date = date
        a.save(update_fields=["acc_date", "updated_at"])
        audit.record_change(a, "update", before)
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


def apply_return(v: PaymentVoucher, *, reason: str, message_id: str = "") -> None:
    """退回: the reservation is voided (once); the request ends returned with the bank's reason."""
    if v.state not in PaymentVoucher.IN_FLIGHT:
        _event(v, "return", f"凭证已{v.get_state_display()}，退回报文未处理：{reason}", message_id)
        return
    _void_origin(v)
    crash_point("treasury.return.after_void")
    v.return_reason = reason[:300]
    _save(v, ["return_reason"])
    _move(v, V.RETURNED, note=f"银行退回：{reason}", message_id=message_id, kind="return")
    _settle_origin(v, "returned")


class RefundNotReady(Exception):
    """The refund's original voucher is not paid (yet): the caller defers the message."""


def apply_refund(*, region_code: str, refund_no: str, original_no: str, amount: int, reason: str,
                 refund_date: dt.date | None, message_id: str = "", year: int | None = None) -> Refund | None:
    """退款: the indicator is restored and the accounting reversed, once per refund number."""
    existing = Refund.objects.filter(region_code=region_code, refund_no=refund_no).first()
    if existing is not None:
        return existing
    v = find_voucher(region_code, year, original_no) or find_voucher(region_code, None, original_no)
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
    v.refunded_amt += amount
    _save(v, ["refunded_amt"])
    to = V.REFUNDED if v.refunded_amt == v.xpay_amt else V.PARTLY_REFUNDED
    _move(v, to, note=f"收款行退款 {refund_no}：{format_fen(amount)} 元 {reason}", message_id=message_id, kind="refund")
    return r


def apply_clearing(region_code: str, *, voucher_nos: list[str], clear_date: dt.date | None,
                   message_id: str = "") -> int:
    """划款回单: the listed paid vouchers are cleared."""
    n = 0
    for no in voucher_nos:
        v = find_voucher(region_code, None, no)
        if v is None:
            continue
        if v.state == V.PAID:
            v.act_lqd_date = clear_date or clock.today(region_code)
            _save(v, ["act_lqd_date"])
            _move(v, V.CLEARED, note="清算划款完成", message_id=message_id)
            n += 1
        else:
            _event(v, "clearing", f"清算回单（凭证{v.get_state_display()}）", message_id)
    return n


def apply_statement(*, region_code: str, agent_bank_code: str, statement_date: dt.date, lines: list[dict],
                    message_id: str) -> BankStatement:
    st, _ = BankStatement.objects.get_or_create(
        region_code=region_code, message_id=str(message_id)[:60],
        defaults={"agent_bank_code": agent_bank_code[:12], "statement_date": statement_date, "lines": lines})
    return st


# --- reconciliation -----------------------------------------------------------------------------------------------

def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


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
                v.reconciled_date = date
                _save(v, ["reconciled_date"])
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
        before = audit.snapshot(d)
        d.status, d.resolution = ReconDifference.Status.RESOLVED, resolution.strip()[:300]
        d.save(update_fields=["status", "resolution", "updated_at"])
        audit.record_change(d, "update", before)
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


def get_request(actor, pk: int) -> PaymentRequest:
    r = PaymentRequest.objects.restrict(actor).filter(pk=pk).first()
    if r is None:
        raise NotFound("支付申请")
    return r
