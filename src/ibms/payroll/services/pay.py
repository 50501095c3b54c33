"""发放: an approved run becomes the treasury's batch payment requests (through its public services, as the unit's
clerk would enter and submit them) against a 人员类 indicator (部门经济分类 301…) of the unit, one per business type
so the bank's receipts book each against its own liability (`data/accounting/business_types.csv`):

- 实发工资: each person's net pay to their card — business type `salary`, the receipt debits 2201 应付职工薪酬;
- 代缴个人所得税: the tax to the tax bureau — `remit_tax`, the receipt debits 2102 其他应交税费;
- 代缴社保公积金及其他代扣款: each other collector (social-insurance fund, housing fund, union …) a line of its own —
  `remit_withheld`, the receipt debits 2307 其他应付款.

In the transaction that marks the run paid the salaries are accrued (payroll.accrued: Dr 5001/5101, Cr 2201 the
gross) and the withholdings recognised (payroll.withheld: Dr 2201, Cr 2102 the tax, Cr 2307 the rest), so once the
bank has paid every line 2201, 2102 and 2307 are zero for the month; the budget basis (Dr 7101/7201, Cr 6001) is
booked by the receipts themselves. Each request is a `PayrollPayment` of the run (attempt 1; a returned one is paid
again as the next attempt, :mod:`.returns`).

Paying twice is refused (`already_paid`); a run caught between transactions (状态“生成支付申请中”) resumes with the
same requests and the same idempotency keys, so no second request is ever made for a part of a run."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from ibms.accounting import services as acc
from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, DomainError, ValidationFailed, Violation, invalid
from ibms.core.money import fen_to_str
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.indicators.models import Indicator
from ibms.treasury import services as ts
from ibms.treasury.domain import ACCOUNT_RE
from ibms.treasury.models import PaymentRequest

from .. import rules
from ..models import PayProfile, PayrollPayment, PayrollRun, PayrollSlip
from .runs import S

P_PAY = "payroll.pay_payrollrun"
PERSONNEL_ECO = "301"
K = PayrollPayment.Kind
BUSINESS_TYPE = {K.NET: "salary", K.TAX: "remit_tax", K.WITHHELD: "remit_withheld"}
TAX_COLLECTOR = "tax"


@dataclass
class Part:
    """One payment of a run: its kind, lines, and what they pay (slips in line order, or collector codes)."""

    kind: str
    lines: list[ts.LineIn] = field(default_factory=list)
    slip_ids: list[int] = field(default_factory=list)
    collectors: list[str] = field(default_factory=list)

    @property
    def amount(self) -> int:
        return sum(ln.amount for ln in self.lines)


def slip_line(run: PayrollRun, s: PayrollSlip) -> ts.LineIn:
    return ts.LineIn(s.name, s.card_no, s.card_bank, s.net, s.id_number, f"{run.year}年{run.month}月工资")


def withholdings(run: PayrollRun) -> dict[str, int]:
    """Collector code → the month's withheld amount (all slips)."""
    items = {r.code: r for r in rules.item_rules(run.region_code, run.year)}
    out: dict[str, int] = {}
    for amounts in run.slips.values_list("amounts", flat=True):
        for code, amount in amounts.items():
            it = items.get(code)
            if it is not None and it.kind == "deduction" and amount > 0:
                out[it.collector] = out.get(it.collector, 0) + amount
    return out


def collector_line(run: PayrollRun, code: str, amount: int) -> ts.LineIn:
    c = rules.collectors(run.region_code).get(code)
    if c is None:
        raise invalid("collector_unknown", f"代扣款项收款方 {code} 未配置（data/payroll/collectors.csv）")
    return ts.LineIn(c.name, c.account_no, c.bank_name, amount, "", f"{run.year}年{run.month}月代扣款项")


def parts(run: PayrollRun) -> list[Part]:
    """The run's payments (the non-empty ones): net pay per person (slip order), the tax, the other withholdings
    (one line per collector)."""
    net = Part(K.NET)
    for s in run.slips.order_by("id"):
        if s.net > 0:
            net.lines.append(slip_line(run, s))
            net.slip_ids.append(s.id)
    tax, other = Part(K.TAX), Part(K.WITHHELD)
    for code, amount in sorted(withholdings(run).items()):
        part = tax if code == TAX_COLLECTOR else other
        part.lines.append(collector_line(run, code, amount))
        part.collectors.append(code)
    return [p for p in (net, tax, other) if p.lines]


def pay_lines(run: PayrollRun) -> list[ts.LineIn]:
    """Every line the run pays, in the order of its payments."""
    return [ln for p in parts(run) for ln in p.lines]


def _claim(actor, pk: int, indicator_id: int) -> PayrollRun:
    with transaction.atomic(durable=True):
        run = get_in_scope(PayrollRun.objects.select_for_update(of=("self",)).select_related("unit"), actor, CHANGE,
                           what="工资表", pk=pk)
        if run.status == S.PAID:
            raise Conflict("already_paid", f"工资表 {run.number} 已生成支付申请，不能重复发放")
        if run.status == S.PAYING:
            return run
        if run.status != S.APPROVED:
            raise Conflict("not_approved", f"工资表“{run.get_status_display()}”状态下不能发放")
        cards_refresh(run)
        v = card_violations(run.slips.order_by("id"))
        v += indicator_violations(actor, run, indicator_id)
        if v:
            raise ValidationFailed(v[:50], message="工资表不能发放")
        workflow.transition(run, S.PAYING, transitions=PayrollRun.TRANSITIONS, event_code="payroll.run_paying",
                            payload={"indicator_id": indicator_id})
        return run


def card_violations(slips) -> list[Violation]:
    return [Violation("card_missing", f"{s.name}：工资卡号或开户银行无效，请先维护工资档案", "card_no")
            for s in slips if s.net > 0 and (not ACCOUNT_RE.match(s.card_no or "") or not s.card_bank)]


def indicator_violations(actor, run: PayrollRun, indicator_id: int) -> list[Violation]:
    ind = Indicator.objects.restrict(actor).filter(pk=indicator_id).first()
    if ind is None:
        return [Violation("indicator_unknown", "指标不存在或无权访问", "indicator_id")]
    if ind.unit_id != run.unit_id or not (ind.dep_eco_code or "").startswith(PERSONNEL_ECO):
        return [Violation("indicator_not_personnel", f"指标 {ind.code} 不是本单位的人员类（工资福利支出 301）指标",
                          "indicator_id")]
    return []


def cards_refresh(run: PayrollRun, slip_ids: list[int] | None = None) -> list[PayrollSlip]:
    """The money goes to the card on the profile now (a card fixed after approval is used; the amounts are not
    touched); returns the slips whose card changed."""
    cards = {p: (c, b) for p, c, b in PayProfile.objects.filter(unit=run.unit).values_list(
        "person_id", "card_no", "card_bank")}
    slips = run.slips.all() if slip_ids is None else run.slips.filter(pk__in=slip_ids)
    changed = []
    for s in slips:
        card = cards.get(s.person_id)
        if card is not None and card != (s.card_no, s.card_bank):
            s.card_no, s.card_bank = card
            changed.append(s)
    PayrollSlip.objects.bulk_update(changed, ["card_no", "card_bank"], batch_size=2000)
    return changed


def draft(run: PayrollRun, indicator_id: int, part: Part, attempt: int = 1) -> ts.DraftIn:
    label = PayrollPayment.Kind(part.kind).label
    again = f"（第{attempt}次发放）" if attempt > 1 else ""
    return ts.DraftIn(indicator_id=indicator_id, lines=part.lines, is_payroll=True,
                      business_type=BUSINESS_TYPE[part.kind],
                      purpose=f"{run.unit.name}{run.year}年{run.month}月工资统发·{label}{again}（{run.number}）")


def submit_key(run: PayrollRun, kind: str, attempt: int) -> str:
    return f"payroll-{run.number}" + ("" if kind == K.NET and attempt == 1 else f"-{kind}-{attempt}")


def _release(run: PayrollRun) -> None:
    with transaction.atomic(durable=True):
        run = PayrollRun.objects.select_for_update().get(pk=run.pk)
        if run.status == S.PAYING and not run.payments.exists():
            workflow.transition(run, S.APPROVED, transitions=PayrollRun.TRANSITIONS,
                                event_code="payroll.run_pay_failed")


def record_payment(run: PayrollRun, part: Part, req: PaymentRequest, attempt: int) -> PayrollPayment:
    """Link a created request to the run (in its own transaction)."""
    with transaction.atomic(durable=True):
        run = PayrollRun.objects.select_for_update().get(pk=run.pk)
        pay = PayrollPayment.objects.create(run=run, kind=part.kind, attempt=attempt, request=req, amount=req.amount,
                                            slip_ids=part.slip_ids, collectors=part.collectors)
        if part.kind == K.NET and attempt == 1:
            audit.update_fields(run, payment_request=req)
        audit.record_event("payroll.payment_created", obj=run, region_code=run.region_code,
                           payload={"kind": part.kind, "attempt": attempt, "request": req.number,
                                    "amount": fen_to_str(req.amount), "lines": len(part.lines)})
        return pay


def _accrue(run: PayrollRun, req: PaymentRequest) -> None:
    """计提 (gross, Dr 5001/5101 Cr 2201) and 代扣 (Dr 2201, Cr 2102 the tax, Cr 2307 the other withholdings)."""
    dims = {"dep_eco": req.dep_eco_code, "exp_func": req.exp_func_code, "fund_nature": req.fund_nature_code}
    day = clock.today(run.region_code)
    acc.event_post(event_id=f"payroll-{run.number}-accrued", event_type="payroll.accrued", date=day,
                   amounts={"amount": run.gross}, dimensions=dims, attrs={"expense": req.expense},
                   unit_id=run.unit_id, year=run.year, summary=f"计提{run.year}年{run.month}月工资")
    if run.tax or run.social or run.other:
        acc.event_post(event_id=f"payroll-{run.number}-withheld", event_type="payroll.withheld", date=day,
                       amounts={"tax": run.tax, "social": run.social, "other": run.other}, dimensions=dims,
                       unit_id=run.unit_id, year=run.year, summary=f"代扣{run.year}年{run.month}月个人所得税及个人缴费")


def payroll_run_pay(*, actor, pk: int, indicator_id: int) -> PayrollRun:
    """发放: refuse a run not approved, paid already, or with a person without a valid card (every one listed);
    else create and submit the treasury's requests (net pay, tax, other withholdings) and book the accrual."""
    require_perm(actor, P_PAY)
    run = _claim(actor, pk, indicator_id)
    existing = {p.kind: p for p in PayrollPayment.objects.filter(run=run, attempt=1).select_related("request")}
    requests = []
    for part in parts(run):
        pay = existing.get(part.kind)
        if pay is None:
            try:
                req = ts.payment_request_create(actor=actor, data=draft(run, indicator_id, part))
            except DomainError:
                _release(run)
                raise
            pay = record_payment(run, part, req, 1)
        elif pay.request.status in PaymentRequest.EDITABLE:  # refused at submit before (e.g. overdraw)
            ts.payment_request_update(actor=actor, pk=pay.request_id, data=draft(run, indicator_id, part))
        ts.payment_request_submit(actor=actor, pk=pay.request_id, idempotency_key=submit_key(run, part.kind, 1))
        requests.append(pay.request_id)
    with transaction.atomic(durable=True):
        run = PayrollRun.objects.select_for_update(of=("self",)).select_related("payment_request").get(pk=run.pk)
        if run.status == S.PAID:
            return run
        total = sum(PaymentRequest.objects.filter(pk__in=requests).values_list("amount", flat=True))
        if total != run.gross:
            raise Conflict("amount_mismatch", "支付申请金额合计与工资表应发合计不一致")
        _accrue(run, run.payment_request or PaymentRequest.objects.get(pk=requests[0]))
        workflow.transition(run, S.PAID, transitions=PayrollRun.TRANSITIONS, event_code="payroll.run_paid",
                            payload={"requests": len(requests), "amount": fen_to_str(total)})
        return run
