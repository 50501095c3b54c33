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
    ledger = {(r, c): s for r, c, s in IndicatorEntry.objects.filter(TREASURY_CONSUMER)
              .values("region_code", "consumer").annotate(s=Sum("d_spent"))
              .values_list("region_code", "consumer", "s")}
    for key in sorted(set(net) | {k for k, s in ledger.items() if s}):
        if (ledger.get(key) or 0) != net.get(key, 0):
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
    """Open reservations of treasury documents = open requests and allocations (each holding exactly one)."""
    held = {(r, c): a for r, c, a in Reservation.objects.filter(TREASURY_CONSUMER, status=Reservation.Status.RESERVED)
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
