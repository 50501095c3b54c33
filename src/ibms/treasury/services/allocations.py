"""Contracts (合同备案) and direct allocations (实拨, voucher type 5207: finance reserves the indicator and sends an
allocation certificate to the bank)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ibms.core import audit, clock
from ibms.core.errors import ValidationFailed, Violation
from ibms.core.money import format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import check_write_scope, get_in_scope, require_perm
from ibms.indicators import services as ind_services
from ibms.indicators.models import Indicator
from ibms.masterdata.models import BankAccount, Payee, Region, Unit
from ibms.procurement.domain import milestone_violations
from ibms.procurement.ledger import plan_contract_check
from ibms.procurement.models import ProcurementPlan

from ..domain import ACCOUNT_RE
from ..models import UNIT_SCOPE, Allocation, Contract, PaymentVoucher, PayMethod, VoucherDetail
from ..selectors import region_policy_get
from ._common import P_ALLOC, P_CONTRACT, _actor_or_none, _event, _voucher_number
from .contract_funds import todo_contract_review
from .vouchers import _dispatch


def contract_create(*, actor, unit_id: int, number: str, name: str, amount: int, sign_date: dt.date,
                    payee_id: int | None = None, payee_name: str = "", payee_account_no: str = "",
                    indicator_id: int | None = None, plan_id: int | None = None,
                    milestones: list[tuple[str, int]] | None = None) -> Contract:
    """合同备案 for a unit (the contract number travels on its payment requests). Against an approved 采购计划
    (`plan_id`): amount ≤ the plan, a payment schedule (`milestones`: (name, amount) summing to the contract),
    the indicator is the plan's, the plan's freeze becomes the contract's commitment and the saving is unfrozen
    (procurement.ledger.plan_contract_file, in this transaction)."""
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
        plan = None
        if plan_id:
            plan = ProcurementPlan.objects.restrict(actor).filter(pk=plan_id).first()
            if plan is None:
                v.append(Violation("plan_unknown", "采购计划不存在或无权访问", "plan_id"))
            else:
                ind = plan.indicator
            if milestones is not None or plan is not None:
                v += milestone_violations(amount if isinstance(amount, int) else 0, milestones or [])
        if number and Contract.objects.filter(region_code=unit.region_code, number=number).exists():
            v.append(Violation("number_taken", f"合同编号 {number} 已登记", "number"))
        if v:
            raise ValidationFailed(v, message="合同备案填写有误")
        c = Contract.objects.create(
            region_code=unit.region_code, year=sign_date.year, number=number[:60], name=name[:200], unit=unit,
            unit_path=unit.path, payee=payee, payee_name=(payee.name if payee else payee_name.strip())[:120],
            payee_account_no=(payee.account_no if payee else payee_account_no.strip())[:32], indicator=ind,
            amount=amount, sign_date=sign_date, created_by=_actor_or_none(actor), plan=plan,
            status=Contract.Status.PENDING if plan is not None else Contract.Status.ACTIVE,
            schedule=[{"seq": n, "name": m.strip()[:60], "amount": a} for n, (m, a) in enumerate(milestones or [], 1)])
        if plan is not None:  # checked now, filed (the freeze turned into the commitment) when the review approves
            plan_contract_check(plan, unit_id=unit.pk, amount=amount)
        audit.record_change(c, "create")
        if c.status == Contract.Status.PENDING:
            todo_contract_review(c)
        return c


def allocation_create(*, actor, indicator_id: int, alloc_type: str, amount: int, purpose: str,
                      payee_region_code: str = "", payee_unit_id: int | None = None, payee_name: str = "",
                      payee_account_no: str = "", payee_bank_name: str = "",
                      agent_bank_code: str = "", pin: str = "") -> Allocation:
    """实拨 (5207): finance reserves the indicator and sends an allocation certificate to the bank (treasury), signed
    with the actor's own finance signer key (`pin` opens it, before the transaction)."""
    require_perm(actor, P_ALLOC)
    ind_services.fiscal_year_require_for(Indicator.objects.restrict(actor), indicator_id, purpose="payment")
    personal = None
    region = Indicator.objects.restrict(actor).filter(pk=indicator_id).values_list("region_code", flat=True).first()
    if region is not None:
        from ibms.banks import services as banks

        personal = banks.signer_unlock(actor=actor, kind="finance", region_code=region, pin=pin)
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
        bank_code = agent_bank_code or region_policy_get(ind.region_code).agent_bank_code or (
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
        _dispatch(actor, voucher, details, unit=None, finance=True, personal=personal, extra={
            "PayAllocType": a.alloc_type, "FundTypeCode": ind.fund_nature_code, "ExpFuncCode": ind.exp_func_code,
            "PaySummaryName": a.purpose, "PayAllocCertNo": a.number})
        return a
