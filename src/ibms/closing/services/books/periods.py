"""Closing the books of the region's year: months 1–11 (`periods_closed`), then the closing entries, December and
the set itself (`accounts_closed`, 年结).

Both work over every account set of the region and year (`common.region_sets`) through accounting's own
services (`period_close`, `closing.year_end_close`, `account_set_close`), each of which owns its durable
transaction and checks `accounting.close_period` and the actor's write scope; so a set is closed a step at a
time, and a crash leaves a prefix of it closed, which a rerun continues (every service here is idempotent or
skipped once done).
"""

from __future__ import annotations

from django.db.models import Count

from ibms.accounting import services as acc
from ibms.accounting.closing import year_end_close
from ibms.accounting.models import AccountSet, Period, Voucher
from ibms.core.errors import DomainError
from ibms.core.scoping import require_perm

from ..lifecycle import Blocked, StepContext, runner
from .balances import negative_balances
from .common import region_sets, set_item, why

ADJUSTMENT_MONTHS = 11  # months 1–11 close before the year-end entries; December stays open for them


def _close_open_periods(actor, aset: AccountSet, upto: int) -> int:
    n = 0
    for p in Period.objects.filter(account_set=aset, number__lte=upto, status=Period.Status.OPEN).order_by("number"):
        acc.period_close(actor=actor, pk=p.pk)
        n += 1
    return n


@runner("periods_closed")
def periods_closed(ctx: StepContext) -> dict:
    """Close months 1–11 of every set in order. Blocked, with nothing closed, while any set has unposted vouchers
    in those months (each set listed with the count and a link to its vouchers) — listed to whoever may run the
    checklist; closing itself needs `accounting.close_period`."""
    sets = region_sets(ctx.region_code, ctx.year)
    pending = dict(Voucher.objects.filter(account_set__in=sets, period_no__lte=ADJUSTMENT_MONTHS)
                   .exclude(status=Voucher.Status.POSTED).values("account_set")
                   .annotate(n=Count("id")).values_list("account_set", "n"))
    if pending:
        raise Blocked("periods_closed", [
            set_item(s, f"1—{ADJUSTMENT_MONTHS}月还有 {pending[s.pk]} 张凭证未记账", "unposted_vouchers", vouchers=True)
            for s in sets if s.pk in pending])
    require_perm(ctx.actor, "accounting.close_period")
    closed, items = 0, []
    for i, aset in enumerate(sets, 1):
        try:
            closed += _close_open_periods(ctx.actor, aset, ADJUSTMENT_MONTHS)
        except DomainError as exc:
            items.append(set_item(aset, why(exc), "period_close_refused"))
        ctx.progress(i, len(sets))
    if items:
        raise Blocked("periods_closed", items)
    return {"account_sets": len(sets), "periods_closed": closed}


@runner("accounts_closed")
def accounts_closed(ctx: StepContext) -> dict:
    """Per set: the year-end closing entries (`year_end_close`), every period still open (December) closed in order,
    the set closed (年结). A set whose close is refused is listed with the refusal's message and left as it was;
    the others are closed. A set already closed is skipped. Blocked, with nothing closed, while any balance that
    may not be negative is (data/closing/no_negative_balances.csv)."""
    require_perm(ctx.actor, "accounting.close_period")
    sets = region_sets(ctx.region_code, ctx.year)
    negative = negative_balances([s for s in sets if s.status != AccountSet.Status.CLOSED])
    if negative:
        raise Blocked("accounts_closed", negative)
    closing_before = Voucher.objects.filter(account_set__in=sets, source=Voucher.Source.CLOSING).count()
    items, closed, already = [], 0, 0
    for i, aset in enumerate(sets, 1):
        if aset.status == AccountSet.Status.CLOSED:
            already += 1
        else:
            try:
                year_end_close(actor=ctx.actor, account_set_id=aset.pk)
                _close_open_periods(ctx.actor, aset, 12)
                acc.account_set_close(actor=ctx.actor, pk=aset.pk)
                closed += 1
            except DomainError as exc:
                items.append(set_item(aset, why(exc), "close_refused"))
        ctx.progress(i, len(sets))
    if items:
        raise Blocked("accounts_closed", items)
    made = Voucher.objects.filter(account_set__in=sets, source=Voucher.Source.CLOSING).count() - closing_before
    return {"account_sets": len(sets), "closed": closed, "already_closed": already, "closing_vouchers": made}
