"""The books' starting points: posted lines and accounts of a set read through the caller's scope, and the
grouped sums (turnovers, monthly totals) every book and statement is computed from."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from ibms.core.scoping import VIEW

from ..domain import PeriodRange, Turnover
from ..models import Account, AccountSet, Basis, Voucher, VoucherLine

POSTED = Voucher.Status.POSTED
CLOSING = Voucher.Source.CLOSING
OPENING = "opening"  # a voucher source for opening balances, if the engine provides one
BASIS_LABELS = dict(Basis.choices)


def posted_lines(*, actor, account_set: AccountSet) -> QuerySet[VoucherLine]:
    """Lines of posted vouchers of the set, read through the actor's scope."""
    return VoucherLine.objects.restrict(actor, VIEW).filter(account_set=account_set, voucher__status=POSTED)


def set_accounts(*, actor, account_set: AccountSet) -> list[Account]:
    return list(Account.objects.restrict(actor, VIEW).filter(account_set=account_set).order_by("code"))


def _before_q(start: int) -> Q:
    return Q(voucher__period_no__lt=start) | Q(voucher__source=OPENING)


def turnovers(lines: QuerySet[VoucherLine], period: PeriodRange, *,
              group_by: tuple[str, ...] = ("account_code",)) -> dict[tuple, Turnover]:
    """One grouped query: opening sums (before `start`), in-range sums and the closing-voucher part."""
    before = _before_q(period.start)
    inside = Q(voucher__period_no__gte=period.start) & ~Q(voucher__source=OPENING)
    closing = inside & Q(voucher__source=CLOSING)

    def s(name: str, q: Q):
        return Coalesce(Sum(name, filter=q), 0)

    sums = {"bd": s("debit", before), "bc": s("credit", before), "d": s("debit", inside), "c": s("credit", inside),
            "cd": s("debit", closing), "cc": s("credit", closing)}
    qs = lines.filter(Q(voucher__period_no__lte=period.end) | Q(voucher__source=OPENING))
    if not group_by:
        r = qs.aggregate(**sums)
        return {(): Turnover(r["bd"], r["bc"], r["d"], r["c"], r["cd"], r["cc"])}
    rows = qs.values(*group_by).annotate(**sums).order_by()
    out: dict[tuple, Turnover] = {}
    for r in rows:
        out[tuple(r[g] for g in group_by)] = Turnover(r["bd"], r["bc"], r["d"], r["c"], r["cd"], r["cc"])
    return out


def monthly(lines: QuerySet[VoucherLine], end: int) -> tuple[int, dict[int, tuple[int, int]]]:
    """(year opening, {period_no: (debit, credit)}) for lines up to period `end`."""
    period_no = Case(When(voucher__source=OPENING, then=Value(0)), default="voucher__period_no",
                     output_field=IntegerField())
    rows = (lines.filter(voucher__period_no__lte=end).annotate(p=period_no).values("p")
            .annotate(d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0)).order_by())
    opening, months = 0, {}
    for r in rows:
        if r["p"] == 0:
            opening += r["d"] - r["c"]
        else:
            months[r["p"]] = (r["d"], r["c"])
    return opening, months
