"""Treasury reads (every list starts from `restrict`) and the `ibms verify` checks of issue 5 §6."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q, Sum

from ibms.core import workflow
from ibms.core.money import format_fen
from ibms.core.scoping import CHANGE, VIEW
from ibms.indicators.models import Indicator, IndicatorEntry, Reservation

from .models import Allocation, BankStatement, PaymentRequest, PaymentVoucher
from .setup import DOC_PAYMENT

TREASURY_CONSUMER = Q(consumer__startswith="SQ-") | Q(consumer__startswith="SB-")


def request_list(*, actor, status: str = "", q: str = ""):
    qs = PaymentRequest.objects.restrict(actor, VIEW).select_related("unit", "indicator")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(purpose__icontains=q) | Q(payee_name__icontains=q))
    return qs.order_by("-id")


def review_queue(*, actor):
    """Requests waiting for a step the actor may take (their role, their scope, not their own)."""
    roles = getattr(actor, "role_codes", set())
    qs = PaymentRequest.objects.restrict(actor, CHANGE).filter(status=PaymentRequest.Status.SUBMITTED)
    out = []
    chains: dict[str, list] = {}
    for r in qs.select_related("unit", "indicator").order_by("submitted_at", "id"):
        steps = chains.setdefault(r.region_code, workflow.approval_steps(DOC_PAYMENT, r.region_code))
        if not steps:
            continue
        step = steps[min(r.current_step, len(steps)) - 1]
        if step.role_code in roles and r.submitted_by_id != actor.pk:
            r.step_name = step.name
            out.append(r)
    return out


def voucher_list(*, actor, state: str = "", q: str = ""):
    qs = PaymentVoucher.objects.restrict(actor, VIEW).select_related("request", "allocation")
    if state:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(payee_name__icontains=q) | Q(request__number__icontains=q))
    return qs.order_by("-id")


def indicator_choices(*, actor, q: str = "", limit: int = 30):
    """Executable indicators the actor may pay from, with the available balance (the entry form's picker)."""
    qs = (Indicator.objects.restrict(actor, VIEW).filter(is_executable=True, unit__isnull=False, available__gt=0)
          .select_related("unit"))
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(summary__icontains=q) | Q(dep_eco_code__startswith=q)
                       | Q(exp_func_code__startswith=q))
    return list(qs.order_by("code")[:limit])


def business_type_name(req: PaymentRequest) -> str:
    from ibms.accounting.models import BusinessType

    return (BusinessType.objects.filter(year=req.year, code=req.business_type).values_list("name", flat=True).first()
            or req.business_type)


# --- ibms verify ----------------------------------------------------------------------------------------------

def _net_by_consumer() -> dict[tuple[str, str], int]:
    """(region, consumer) → receipted amount net of refunds (consumer numbers are unique per region only)."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    for region, consumer, xpay, refunded in PaymentVoucher.objects.filter(
            state__in=PaymentVoucher.PAID_STATES).values_list("region_code", "consumer", "xpay_amt", "refunded_amt"):
        net[(region, consumer)] += xpay - refunded
    return net


def spent_problems() -> list[str]:
    """Indicator spent (ledger entries of treasury consumers) = receipted payments net of refunds, per consumer
    and per indicator; and = budget-accounting expenditure per unit/project/classification."""
    problems: list[str] = []
    net = _net_by_consumer()
    # every spent movement, whoever wrote it: one not traced to a receipt or a 实拨 is named
    ledger = {(r, c): s for r, c, s in IndicatorEntry.objects.exclude(d_spent=0)
              .values("region_code", "consumer").annotate(s=Sum("d_spent"))
              .values_list("region_code", "consumer", "s")}
    for key in sorted(set(net) | {k for k, s in ledger.items() if s}):
        if key not in net:
            problems.append(f"treasury: {key[1] or '(no document)'} ({key[0]}) indicator spent "
                            f"{format_fen(ledger[key])} traces to no receipt, 实拨 or carry-in document")
        elif (ledger.get(key) or 0) != net.get(key, 0):
            problems.append(f"treasury: {key[1]} ({key[0]}) indicator spent {format_fen(ledger.get(key) or 0)} != "
                            f"receipted net of refunds {format_fen(net.get(key, 0))}")
    # per indicator: the cached bucket carries at least the treasury's net spending
    by_ind: dict[int, int] = defaultdict(int)
    for ind_id, s in (IndicatorEntry.objects.filter(TREASURY_CONSUMER).values("indicator_id")
                      .annotate(s=Sum("d_spent")).values_list("indicator_id", "s")):
        by_ind[ind_id] += s or 0
    for ind_id, spent in Indicator.objects.filter(pk__in=list(by_ind)).values_list("pk", "spent"):
        if spent < by_ind[ind_id]:
            problems.append(f"treasury: indicator #{ind_id} spent {format_fen(spent)} below its treasury payments "
                            f"{format_fen(by_ind[ind_id])}")
    # accounting: budget-basis expenditure (7xxx) of the payment events, per unit/project/classification
    from ibms.accounting.models import VoucherLine

    ours: dict[tuple, int] = defaultdict(int)
    for r in (PaymentVoucher.objects.filter(state__in=PaymentVoucher.PAID_STATES, request__isnull=False)
              .values_list("request__unit_id", "request__project_code", "request__exp_func_code",
                           "request__dep_eco_code", "request__fund_nature_code", "xpay_amt", "refunded_amt")):
        ours[r[:5]] += r[5] - r[6]
    books: dict[tuple, int] = defaultdict(int)
    lines = (VoucherLine.objects.filter(basis="budget", account_code__startswith="7",
                                        voucher__event_type__in=["payment.receipted", "payment.refunded"])
             .filter(Q(voucher__event_id__startswith="pay:") | Q(voucher__event_id__startswith="refund:"))
             .values_list("account_set__unit_id", "project_code", "exp_func_code", "dep_eco_code", "fund_nature_code")
             .annotate(d=Sum("debit"), c=Sum("credit")))
    for *key, d, c in lines:
        books[tuple(key)] += (d or 0) - (c or 0)
    for key in sorted(set(ours) | set(books), key=str):
        if ours.get(key, 0) != books.get(key, 0):
            problems.append(f"treasury: unit #{key[0]} project {key[1] or '-'} {key[2]}/{key[3]}/{key[4]}: payments "
                            f"{format_fen(ours.get(key, 0))} != budget accounting {format_fen(books.get(key, 0))}")
    return problems


def finance_books_problems() -> list[str]:
    """总预算会计: the finance bureau's expenditure (5xxx of its treasury events) = the paid vouchers of treasury
    money net of refunds, per region, fund nature and function class."""
    from ibms.accounting.models import VoucherLine

    ours: dict[tuple, int] = defaultdict(int)
    for r in (PaymentVoucher.objects.filter(state__in=PaymentVoucher.PAID_STATES, request__isnull=False,
                                            request__fund_nature_code__startswith="1")
              .values_list("region_code", "request__fund_nature_code", "request__exp_func_code", "xpay_amt",
                           "refunded_amt")):
        ours[r[:3]] += r[3] - r[4]
    for r in (PaymentVoucher.objects.filter(state__in=PaymentVoucher.PAID_STATES, allocation__isnull=False)
              .values_list("region_code", "allocation__indicator__fund_nature_code",
                           "allocation__indicator__exp_func_code", "xpay_amt", "refunded_amt")):
        ours[r[:3]] += r[3] - r[4]
    books: dict[tuple, int] = defaultdict(int)
    for *key, d, c in (VoucherLine.objects.filter(account_set__kind="fiscal", account_code__startswith="5",
                                                  voucher__event_type__in=FINANCE_EVENTS)
                       .values_list("account_set__region_code", "fund_nature_code", "exp_func_code")
                       .annotate(d=Sum("debit"), c=Sum("credit"))):
        books[tuple(key)] += (d or 0) - (c or 0)
    return [f"treasury: finance books {k[0]} fund {k[1]} function {k[2]}: paid vouchers {format_fen(ours.get(k, 0))} "
            f"!= 总预算会计 expenditure {format_fen(books.get(k, 0))}"
            for k in sorted(set(ours) | set(books)) if ours.get(k, 0) != books.get(k, 0)]


FINANCE_EVENTS = ("treasury.paid", "treasury.refunded", "treasury.transfer_to_lower")


def paid_twice_problems() -> list[str]:
    """No voucher paid twice: one ledger posting per consumer, one bank payment per voucher number."""
    problems = [f"treasury: {c} ({r}) posted {n} times" for r, c, n in
                IndicatorEntry.objects.filter(TREASURY_CONSUMER, kind=IndicatorEntry.Kind.POST)
                .values("region_code", "consumer").annotate(n=Count("id")).filter(n__gt=1)
                .values_list("region_code", "consumer", "n")]
    paid: dict[tuple[str, str], set] = defaultdict(set)
    for st in BankStatement.objects.all().only("region_code", "lines"):
        for ln in st.lines:
            if str(ln.get("Kind", "pay")) == "pay" and ln.get("VoucherNo"):
                paid[(st.region_code, str(ln["VoucherNo"]))].add(str(ln.get("AgentBusinessNo") or ""))
    problems += [f"treasury: voucher {no} ({region}) paid {len(serials)} times by the bank"
                 for (region, no), serials in sorted(paid.items()) if len(serials) > 1]
    return problems


def reservation_problems() -> list[str]:
    """Every open reservation = an open request or allocation (each holding exactly one); any other is named."""
    held = {(r, c): a for r, c, a in Reservation.objects.filter(status=Reservation.Status.RESERVED)
            .values_list("region_code", "consumer", "amount")}
    wanted = {(r, c): a for r, c, a in PaymentRequest.objects.filter(status__in=PaymentRequest.OPEN)
              .values_list("region_code", "consumer", "amount")}
    wanted.update({(r, c): a for r, c, a in PaymentVoucher.objects.filter(allocation__status=Allocation.Status.SENT)
                   .values_list("region_code", "consumer", "amount")})
    problems = [f"treasury: reservation {c} ({r}) open without an open request" for r, c in sorted(set(held) - set(wanted))]
    problems += [f"treasury: open request {c} ({r}) holds no reservation" for r, c in sorted(set(wanted) - set(held))]
    problems += [f"treasury: reservation {k[1]} ({k[0]}) amount {format_fen(held[k])} != request "
                 f"{format_fen(wanted[k])}" for k in sorted(set(held) & set(wanted)) if held[k] != wanted[k]]
    return problems
