"""退回重发: when the bank returns a payment of a run (a closed card: the agent bank returns the batch naming the
bad lines), the run lists the people of that payment — the ones the bank named to fix (a new card on their
profile), the others returned with them — and pays exactly those lines again as ONE new request (the next attempt
of its kind, same business type, same indicator unless another is given).

Nobody is paid twice: only the lines of a payment whose request ended returned/failed are paid again, a line that
belongs to a paid or in-flight payment of the run is refused (`line_already_paid`), a person the bank named whose
card is unchanged is refused (`card_unchanged`), a second re-pay while one is under way finds nothing returned
(`nothing_to_repay`). The books stay right: the returned request booked nothing; the re-payment's receipt books
what the first would have (Dr 2201/2102/2307, Cr 4001; Dr 7101/7201, Cr 6001)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ibms.banks.models import BankMessage
from ibms.banks.protocol import parse
from ibms.core import workflow
from ibms.core.errors import Conflict, ValidationFailed, Violation
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.treasury import services as ts
from ibms.treasury.models import PaymentRequest, PaymentVoucher

from .. import rules
from ..models import PayProfile, PayrollPayment, PayrollRun
from ..setup import DOC_RUN
from . import pay as P
from .runs import S

RETRY = (PaymentRequest.Status.RETURNED, PaymentRequest.Status.FAILED)


@dataclass(frozen=True)
class ReturnedLine:
    payment_id: int
    kind: str
    seq: int
    slip_id: int | None  # None: a collector's line
    person_id: int | None
    name: str
    account_no: str  # the account the bank returned
    amount: int
    reason: str  # the bank's reason for this line ('' when it came back with the batch)
    named: bool  # the bank named this line as the cause
    account_now: str  # the card on the profile now (the collector's account for a withholding)

    @property
    def fixed(self) -> bool:
        return not self.named or self.account_now != self.account_no


def latest_payments(run: PayrollRun) -> dict[str, PayrollPayment]:
    """The latest attempt of each kind of the run's payments."""
    out: dict[str, PayrollPayment] = {}
    for p in PayrollPayment.objects.filter(run=run).select_related("request").order_by("kind", "attempt"):
        out[p.kind] = p
    return out


def returned_payments(run: PayrollRun) -> list[PayrollPayment]:
    return [p for p in latest_payments(run).values() if p.request.status in RETRY]


def bank_reasons(req: PaymentRequest) -> tuple[dict[str, str], str]:
    """The bank's return of the request's voucher: reason per returned account (its bad lines), and overall."""
    named: dict[str, str] = {}
    overall = ""
    for v in PaymentVoucher.objects.filter(request=req, state__in=(PaymentVoucher.State.RETURNED,
                                                                      PaymentVoucher.State.FAILED)):
        overall = overall or v.return_reason
        for raw in BankMessage.objects.filter(direction=BankMessage.Direction.IN, kind="return",
                                              region_code=v.region_code, voucher_no=v.number).values_list(
                                                  "raw_xml", flat=True):
            for d in parse(raw).details:
                acct = str(d.get("PayeeAcctNo") or "")
                if acct:
                    named[acct] = str(d.get("Reason") or overall or "银行退回")
    return named, overall


def _lines_of(run: PayrollRun, pay: PayrollPayment) -> list[ReturnedLine]:
    named, overall = bank_reasons(pay.request)
    req_lines = list(pay.request.lines.order_by("seq").values_list("seq", "payee_name", "payee_account_no",
                                                                     "amount"))
    out = []
    if pay.kind == PayrollPayment.Kind.NET:
        slips = {s.id: s for s in run.slips.filter(pk__in=pay.slip_ids)}
        cards = dict(PayProfile.objects.filter(unit=run.unit, person_id__in=[s.person_id for s in slips.values()])
                     .values_list("person_id", "card_no"))
        for (seq, name, acct, amount), sid in zip(req_lines, pay.slip_ids, strict=True):
            s = slips[sid]
            out.append(ReturnedLine(pay.id, pay.kind, seq, sid, s.person_id, name, acct, amount,
                                    named.get(acct, ""), acct in named, cards.get(s.person_id, s.card_no)))
    else:
        collectors = rules.collectors(run.region_code)
        for (seq, name, acct, amount), code in zip(req_lines, pay.collectors, strict=True):
            now = collectors[code].account_no if code in collectors else acct
            out.append(ReturnedLine(pay.id, pay.kind, seq, None, None, name, acct, amount, named.get(acct, ""),
                                    acct in named, now))
    if named or not out:
        return out
    return [ReturnedLine(**{**ln.__dict__, "reason": overall}) for ln in out]  # no detail: the batch as a whole


def returned_lines(*, actor, pk: int) -> list[ReturnedLine]:
    """待处理的退回: every line of the run's returned payments (in payment and line order)."""
    run = get_in_scope(PayrollRun.objects.select_related("unit"), actor, what="工资表", pk=pk)
    return [ln for p in returned_payments(run) for ln in _lines_of(run, p)]


def _check(run: PayrollRun, pay: PayrollPayment) -> None:
    """Refuse re-paying a line already paid (or in flight) and a named line whose account is unchanged."""
    busy = set()
    for other in PayrollPayment.objects.filter(run=run, kind=pay.kind).exclude(pk=pay.pk).select_related("request"):
        if other.request.status not in RETRY:
            busy |= set(other.slip_ids) | set(other.collectors)
    twice = busy & (set(pay.slip_ids) | set(pay.collectors))
    if twice:
        raise Conflict("line_already_paid", f"退回的支付中有 {len(twice)} 笔已在其他支付申请中发放，不能重复发放")
    unfixed = [ln for ln in _lines_of(run, pay) if not ln.fixed]
    if unfixed:
        raise ValidationFailed([Violation("card_unchanged", f"{ln.name}：银行退回（{ln.reason}），请先在工资档案中更换"
                                          "工资卡号", "card_no") for ln in unfixed][:50], message="退回的人员尚未处理")


def _part(run: PayrollRun, pay: PayrollPayment) -> P.Part:
    part = P.Part(pay.kind)
    if pay.kind == PayrollPayment.Kind.NET:
        slips = {s.id: s for s in run.slips.filter(pk__in=pay.slip_ids)}
        for sid in pay.slip_ids:
            part.lines.append(P.slip_line(run, slips[sid]))
            part.slip_ids.append(sid)
        bad = P.card_violations(slips[sid] for sid in pay.slip_ids)
        if bad:
            raise ValidationFailed(bad[:50], message="工资表不能重新发放")
    else:
        amounts = P.withholdings(run)
        for code in pay.collectors:
            part.lines.append(P.collector_line(run, code, amounts.get(code, 0)))
            part.collectors.append(code)
    if part.amount != pay.amount:
        raise Conflict("amount_mismatch", "重新发放的金额与退回的支付申请金额不一致")
    return part


def payroll_run_repay(*, actor, pk: int, indicator_id: int | None = None) -> list[PayrollPayment]:
    """重新发放 every returned payment of a paid run: its lines, with the cards on the profiles now, as one new
    request each (submitted); returns the new payments."""
    require_perm(actor, P.P_PAY)
    with transaction.atomic(durable=True):
        run = get_in_scope(PayrollRun.objects.select_for_update(of=("self",)).select_related("unit"), actor, CHANGE,
                           what="工资表", pk=pk)
        if run.status != S.PAID:
            raise Conflict("not_paid", f"工资表“{run.get_status_display()}”状态下没有可重新发放的支付")
        latest = latest_payments(run).values()
        todo = [p for p in latest if p.request.status in RETRY]
        # a re-payment refused at submit before (e.g. overdraw): the same request is submitted again
        resume = [p for p in latest if p.attempt > 1 and p.request.status in PaymentRequest.EDITABLE]
        if not todo and not resume:
            raise Conflict("nothing_to_repay", f"工资表 {run.number} 没有被银行退回的支付，无需重新发放")
        for pay in todo:
            _check(run, pay)
            if pay.kind == PayrollPayment.Kind.NET:
                P.cards_refresh(run, pay.slip_ids)
        plan = [(pay, _part(run, pay)) for pay in todo]
        workflow.todo_close(doc_type=DOC_RUN, obj=run, user=actor)  # the clerks' "returned by the bank" item
    made = []
    for pay in resume:
        if indicator_id:
            ts.payment_request_update(actor=actor, pk=pay.request_id,
                                      data=P.draft(run, indicator_id, _part(run, pay), pay.attempt))
        ts.payment_request_submit(actor=actor, pk=pay.request_id,
                                  idempotency_key=P.submit_key(run, pay.kind, pay.attempt))
        made.append(pay)
    for pay, part in plan:
        ind = indicator_id or pay.request.indicator_id
        attempt = pay.attempt + 1
        req = ts.payment_request_create(actor=actor, data=P.draft(run, ind, part, attempt))
        try:
            new = P.record_payment(run, part, req, attempt)
        except IntegrityError as exc:
            raise Conflict("repay_in_progress", f"工资表 {run.number} 正在重新发放，请刷新后查看") from exc
        ts.payment_request_submit(actor=actor, pk=req.pk, idempotency_key=P.submit_key(run, part.kind, attempt))
        made.append(new)
    return made
