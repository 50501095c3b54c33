"""Monthly depreciation (计提折旧) per account set: every depreciable card of the set's unit in use in the month
(当月增加当月计提) takes its straight-line month (`domain.month_depreciation`), recorded as the card's schedule line,
and the set books one voucher Dr 5001/5101 (by the cards' expense) / Cr 1602 — once per set and month (a second
run of the month is refused: `already_depreciated`). A region's run goes set by set, each in its own transaction,
and skips the sets already done: interrupted, it is simply run again (resumable)."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import transaction

from ibms.accounting import services as acc
from ibms.accounting.models import AccountSet
from ibms.core import audit, clock
from ibms.core.errors import Conflict, DomainError, invalid
from ibms.core.money import fen_to_str
from ibms.core.scoping import VIEW, check_write_scope, get_in_scope, require_perm

from .. import domain
from ..models import AssetCard, DepreciationLine, DepreciationRun, Method
from ._common import P_DEPRECIATE, actor_or_none

DEPRECIABLE = (AssetCard.Status.IN_USE, AssetCard.Status.DISPOSING)


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _validate_month(year: int, month: int, region_code: str) -> dt.date:
    if not 1 <= month <= 12:
        raise invalid("month_invalid", "月份应为 1–12", "month")
    end = month_end(year, month)
    if dt.date(year, month, 1) > clock.today(region_code):
        raise invalid("month_in_future", f"{year}年{month}月尚未开始，不能计提折旧", "month")
    return end


def depreciation_run(*, actor, account_set_id: int, year: int, month: int) -> DepreciationRun:
    """One set, one month: the schedule lines, the cards' accumulated depreciation and the voucher together."""
    require_perm(actor, P_DEPRECIATE)
    with transaction.atomic(durable=True):
        aset = get_in_scope(AccountSet.objects.select_for_update(), actor, VIEW, what="账套", pk=account_set_id)
        if aset.kind != AccountSet.Kind.UNIT or aset.unit_id is None:
            raise invalid("not_unit_set", "只有单位账套计提固定资产折旧", "account_set_id")
        check_write_scope(actor, region_code=aset.region_code, unit_path=aset.unit_path or None,
                          spec=DepreciationRun.scope_spec)
        if aset.year != year:
            raise invalid("year_mismatch", f"账套 {aset} 是 {aset.year} 年度的，不能计提 {year} 年折旧", "year")
        end = _validate_month(year, month, aset.region_code)
        done = DepreciationRun.objects.filter(account_set=aset, year=year, month=month).first()
        if done is not None:
            raise Conflict("already_depreciated", f"{year}年{month}月已计提折旧（{fen_to_str(done.amount)} 元），不能重复计提",
                           {"run_id": done.pk})
        later = DepreciationRun.objects.filter(account_set=aset, year=year, month__gt=month).order_by("month").first()
        if later is not None:
            raise Conflict("depreciation_out_of_order", f"已计提 {year}年{later.month}月折旧，不能再补提更早月份")
        return _run(actor, aset, year, month, end)


def _run(actor, aset: AccountSet, year: int, month: int, end: dt.date) -> DepreciationRun:
    cards = list(AssetCard.objects.select_for_update().filter(
        unit_id=aset.unit_id, status__in=DEPRECIABLE, method=Method.STRAIGHT_LINE, acquired_date__lte=end)
        .order_by("id"))
    before = audit.snapshot_rows(AssetCard, [c.pk for c in cards])
    run = DepreciationRun.objects.create(region_code=aset.region_code, account_set=aset, unit_id=aset.unit_id,
                                         unit_path=aset.unit_path or "", year=year, month=month,
                                         run_by=actor_or_none(actor))
    lines, changed, by_expense = [], [], {"business": 0, "admin": 0}
    for c in cards:
        amt = domain.month_depreciation(c.original_value, c.accumulated, c.useful_life_months, c.months_done)
        if amt <= 0:
            continue
        c.accumulated += amt
        c.months_done += 1
        changed.append(c)
        by_expense[c.expense if c.expense in by_expense else "business"] += amt
        lines.append(DepreciationLine(run=run, card=c, region_code=c.region_code, unit_path=c.unit_path, year=year,
                                      month=month, amount=amt, accumulated=c.accumulated))
    if changed:
        AssetCard.objects.bulk_update(changed, ["accumulated", "months_done", "updated_at"], batch_size=500)
        audit.record_changes(changed, "update", before)
        DepreciationLine.objects.bulk_create(lines, batch_size=1000)
    total = sum(by_expense.values())
    voucher = None
    if total:
        voucher = acc.event_post(actor=actor, event_id=f"asset-dep:{aset.pk}:{year}-{month:02d}",
                                 event_type="asset.depreciated_month", date=end, amounts=by_expense,
                                 account_set=aset, summary=f"计提{year}年{month}月固定资产折旧")
    run.cards, run.amount, run.voucher = len(changed), total, voucher
    run.save(update_fields=["cards", "amount", "voucher", "updated_at"])
    audit.record_event("assets.depreciated", obj=run, region_code=aset.region_code,
                       payload={"year": year, "month": month, "amount": fen_to_str(total), "cards": len(changed)})
    return run


def depreciation_run_region(*, actor, region_code: str, year: int, month: int) -> dict[str, int]:
    """Every unit set of the region (in the actor's scope) not yet depreciated this month, one transaction each.
    Returns counts: run, skipped (already done), failed (refused: e.g. a closed period)."""
    require_perm(actor, P_DEPRECIATE)
    _validate_month(year, month, region_code)
    sets = (AccountSet.objects.restrict(actor, VIEW)
            .filter(region_code=region_code, year=year, kind=AccountSet.Kind.UNIT, unit__isnull=False)
            .exclude(pk__in=DepreciationRun.objects.filter(year=year, month=month).values("account_set_id"))
            .order_by("id"))
    out = {"run": 0, "skipped": DepreciationRun.objects.filter(region_code=region_code, year=year,
                                                              month=month).count(), "failed": 0}
    for aset in sets:
        if not AssetCard.objects.filter(unit_id=aset.unit_id, status__in=DEPRECIABLE).exists():
            continue
        try:
            depreciation_run(actor=actor, account_set_id=aset.pk, year=year, month=month)
            out["run"] += 1
        except DomainError:
            out["failed"] += 1
    return out
