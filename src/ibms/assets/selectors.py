"""Reads of the asset app — cards, changes, depreciation runs, the register (资产登记簿) and the depreciation
schedule — and the `ibms verify` check that the register agrees with the books (1601 / 1602) per account set."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from ibms.accounting.models import AccountSet, Voucher, VoucherLine

from .models import AssetCard, AssetChange, DepreciationLine, DepreciationRun

HELD = (AssetCard.Status.IN_USE, AssetCard.Status.DISPOSING)


def card_list(*, actor, status: str = "", q: str = "", unit_id: int | None = None):
    qs = AssetCard.objects.permitted(actor).select_related("unit").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(name__icontains=q) | Q(asset_class__startswith=q)
                       | Q(user_name__icontains=q))
    return qs


def change_list(*, actor, card_id: int | None = None, status: str = "", kind: str = ""):
    qs = AssetChange.objects.permitted(actor).select_related("card").order_by("-id")
    if card_id:
        qs = qs.filter(card_id=card_id)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def run_list(*, actor, year: int | None = None):
    qs = DepreciationRun.objects.permitted(actor).select_related("unit", "account_set").order_by("-year", "-month", "-id")
    return qs.filter(year=year) if year else qs


def register(*, actor, unit_id: int | None = None):
    """资产登记簿: the cards held (in use or being disposed of), by unit and number."""
    return card_list(actor=actor, unit_id=unit_id).filter(status__in=HELD).order_by("unit__code", "number")


def register_totals(cards) -> dict[str, int]:
    t = cards.aggregate(o=Coalesce(Sum("original_value"), 0), a=Coalesce(Sum("accumulated"), 0))
    return {"original": t["o"], "accumulated": t["a"], "net": t["o"] - t["a"]}


def schedule(*, actor, year: int, unit_id: int | None = None) -> list[dict]:
    """折旧明细表: per card its twelve months of the year and the year's total."""
    lines = DepreciationLine.objects.restrict(actor).filter(year=year)
    if unit_id:
        lines = lines.filter(card__unit_id=unit_id)
    by_card: dict[int, dict[int, int]] = defaultdict(dict)
    for card_id, month, amount in lines.values_list("card_id", "month", "amount"):
        by_card[card_id][month] = amount
    cards = AssetCard.objects.restrict(actor).filter(pk__in=by_card).select_related("unit").order_by("number")
    out = []
    for c in cards:
        months = by_card[c.pk]
        out.append({"card": c, "months": [months.get(m, 0) for m in range(1, 13)], "total": sum(months.values())})
    return out


def _balances(codes: tuple[str, ...]) -> dict[tuple[int, str], int]:
    rows = (VoucherLine.objects.filter(account_set__kind=AccountSet.Kind.UNIT, voucher__status=Voucher.Status.POSTED,
                                       account_code__in=codes)
            .values("account_set_id", "account_code").annotate(d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0))
            .order_by())
    return {(r["account_set_id"], r["account_code"]): r["d"] - r["c"] for r in rows}


def register_problems() -> list[str]:
    """Per unit account set of the cards' latest year: the register's original value equals the 1601 balance and
    its accumulated depreciation the 1602 (credit) balance."""
    out: list[str] = []
    held = dict(((u, (o, a)) for u, o, a in AssetCard.objects.filter(status__in=HELD).values("unit_id")
                 .annotate(o=Sum("original_value"), a=Sum("accumulated")).values_list("unit_id", "o", "a")))
    bal = _balances(("1601", "1602"))
    sets: dict[int, AccountSet] = {}
    for s in AccountSet.objects.filter(kind=AccountSet.Kind.UNIT, unit__isnull=False).order_by("year"):
        sets[s.unit_id] = s  # the latest year's set of each unit
    booked_units = {sets_unit for sets_unit, s in sets.items() if (s.pk, "1601") in bal or (s.pk, "1602") in bal}
    for unit_id in sorted(set(held) | booked_units):
        s = sets.get(unit_id)
        o, a = held.get(unit_id, (0, 0))
        if s is None:
            out.append(f"单位 {unit_id} 有资产卡片但没有单位账套")
            continue
        b1601, b1602 = bal.get((s.pk, "1601"), 0), -bal.get((s.pk, "1602"), 0)
        if o != b1601:
            out.append(f"账套 {s}：资产卡片原值合计 {o} 分，固定资产（1601）余额 {b1601} 分")
        if a != b1602:
            out.append(f"账套 {s}：资产卡片累计折旧合计 {a} 分，固定资产累计折旧（1602）余额 {b1602} 分")
    return out
