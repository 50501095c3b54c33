"""`next_year_opened` (新年度建账): every set of the region closed this year gets its next year's set (created from
accounting's building blocks when missing — next year's set may already exist and hold January's vouchers) with
the opening balances carried (`accounting.services.opening_balances_carry`, one `opening` voucher in period 1),
and the authorised amounts returnable restored as 零余额账户用款额度 in January (DOMAIN-REFERENCE 20.3(e)4,
`year_end.quota_restored`: Dr 1011 / Cr 1201.02; Dr 8001.02 / Cr 8001.03, from the closed set's 1201.02 balance
per fund nature and project; event id `quota_restored:<old set id>:<key>`).

One durable transaction per set; idempotent (the opening voucher's event id is `opening:<old set id>`), and
afterwards `opening_differences` must find nothing. Blocked, listing them, for sets not closed, a next year
without a chart of accounts, a January already closed, an account the new set cannot take; the other sets are
opened.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Sum

from ibms.accounting import services as acc
from ibms.accounting.models import AccountSet, ChartTemplate, Voucher, VoucherLine
from ibms.accounting.services.opening import next_set_of
from ibms.core import audit
from ibms.core.errors import DomainError, invalid
from ibms.core.scoping import require_perm
from ibms.masterdata.models import Region

from ..lifecycle import Blocked, StepContext, runner
from .common import dim_key, region_sets, set_item, why


def _next_set(prev: AccountSet) -> tuple[AccountSet, bool]:
    """The next year's set of the same unit / finance bureau, created (accounts and periods) when missing."""
    nxt = next_set_of(prev)
    if nxt is not None:
        return nxt, False
    tpl = ChartTemplate.objects.filter(kind=prev.chart.kind, year=prev.year + 1).first()
    if tpl is None:
        raise invalid("no_chart", f"{prev.year + 1}年度尚未装载会计科目表，不能建账", "year")
    if prev.kind == AccountSet.Kind.UNIT:
        nxt = acc.account_set_build(year=prev.year + 1, template=tpl, unit=prev.unit)
    else:
        nxt = acc.account_set_build(year=prev.year + 1, template=tpl, region=Region.objects.get(code=prev.region_code))
    acc.books_create([nxt])
    audit.record_event("accounting.set_created", obj=nxt, payload={"year": nxt.year, "kind": nxt.kind,
                                                                   "from_set": prev.pk})
    return nxt, True


def _restorable(prev: AccountSet) -> list[tuple[dict, int]]:
    """(dims, amount) of the closed set's 1201.02 财政应返还额度—财政授权支付 debit balances."""
    rows = (VoucherLine.objects.filter(account_set=prev, account_code="1201.02", voucher__status=Voucher.Status.POSTED)
            .values("fund_nature_code", "project_code").annotate(d=Sum("debit"), c=Sum("credit"))
            .order_by("fund_nature_code", "project_code"))
    out = []
    for r in rows:
        amount = (r["d"] or 0) - (r["c"] or 0)
        if amount > 0:
            out.append(({"fund_nature": r["fund_nature_code"], "project": r["project_code"]}, amount))
    return out


def _quota_restore(actor, prev: AccountSet, nxt: AccountSet) -> int:
    new = 0
    for dims, amount in _restorable(prev):
        event_id = f"quota_restored:{prev.pk}:{dim_key(dims)}"
        new += not Voucher.objects.filter(account_set=nxt, event_id=event_id).exists()
        acc.event_post(actor=actor, event_id=event_id, event_type="year_end.quota_restored",
                       date=dt.date(nxt.year, 1, 1), amounts={"amount": amount},
                       dimensions={k: v for k, v in dims.items() if v}, account_set=nxt)
    return new


@runner("next_year_opened")
def next_year_opened(ctx: StepContext) -> dict:
    require_perm(ctx.actor, "accounting.add_accountset")
    sets = region_sets(ctx.region_code, ctx.year)
    items = [set_item(s, "尚未年结，不能结转期初余额", "set_not_closed") for s in sets
             if s.status != AccountSet.Status.CLOSED]
    if items:
        raise Blocked("next_year_opened", items)
    created = openings = restored = 0
    for i, prev in enumerate(sets, 1):
        try:
            with transaction.atomic(durable=True):
                had = Voucher.objects.filter(event_id=f"opening:{prev.pk}").exists()
                nxt, made = _next_set(prev)
                v = acc.opening_balances_carry(prev, nxt, actor=ctx.actor)
                if prev.kind == AccountSet.Kind.UNIT:
                    restored += _quota_restore(ctx.actor, prev, nxt)
                diffs = acc.opening_differences(prev, nxt)
                if diffs:  # never expected: the voucher is built from the same balances
                    raise invalid("opening_differs", "；".join(diffs[:5]))
            created += made
            openings += v is not None and not had
        except DomainError as exc:
            items.append(set_item(prev, why(exc), "opening_refused"))
        ctx.progress(i, len(sets))
    if items:
        raise Blocked("next_year_opened", items)
    return {"account_sets": len(sets), "sets_created": created, "opening_vouchers": openings,
            "quota_restored": restored}
