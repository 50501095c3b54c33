"""Reads other modules use: the region tree, leaf-code checks, blacklist look-up, economic mapping."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from ibms.core.errors import Violation

from .models import BlacklistEntry, EcoMapping, Holiday, Region, ValueSetItem


def region_tree(*, actor) -> list[dict]:
    """Nested {region, children} for the regions the user may see."""
    rows = list(Region.objects.restrict(actor).order_by("path"))
    nodes = {r.pk: {"region": r, "children": []} for r in rows}
    roots = []
    for r in rows:
        (nodes[r.parent_id]["children"] if r.parent_id in nodes else roots).append(nodes[r.pk])
    return roots


def region_chain(region_code: str) -> list[str]:
    """'' (national) and the region with every region above it."""
    region = Region.objects.filter(code=region_code).first()
    return [""] + (region.chain_codes if region else [])


def is_leaf_for(item: ValueSetItem, regions: list[str]) -> bool:
    """Leaf as seen from a region chain: an upper level's code stays a leaf elsewhere even when a lower level
    has refined it with local children, but not within that lower level's chain."""
    if not item.is_leaf:
        return False
    return not ValueSetItem.objects.filter(parent=item, region_code__in=regions, is_active=True).exists()


def classification_violation(value_set: str, code: str, *, fiscal_year: int, region_code: str,
                             field: str = "") -> Violation | None:
    """A transaction may only use an active leaf code of the year, national or local to the region's chain."""
    regions = region_chain(region_code)
    item = (ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=fiscal_year, code=code,
                                        region_code__in=regions, is_active=True)
            .order_by("-region_code").first())
    if item is None:
        return Violation("classification_unknown", f"{fiscal_year}年度不存在代码 {code}（{value_set}）", field)
    if not is_leaf_for(item, regions):
        return Violation("classification_not_leaf", f"{code} {item.name} 不是末级代码，业务只能使用末级", field)
    return None


def gov_eco_for(dep_eco_code: str, unit_type: str, *, fiscal_year: int, region_code: str = "") -> str | None:
    """The government economic class mapped from a department class for a unit type: the longest matching
    prefix wins, and a region's own mapping wins over its upper levels' and the national one."""
    regions = region_chain(region_code) if region_code else [""]
    prefixes = [dep_eco_code[:n] for n in (3, 5, 7) if n <= len(dep_eco_code)]
    candidates = EcoMapping.objects.filter(fiscal_year=fiscal_year, unit_type=unit_type, dep_eco_code__in=prefixes,
                                           region_code__in=regions)
    best = max(candidates, key=lambda m: (len(m.dep_eco_code), len(m.region_code)), default=None)
    return best.gov_eco_code if best else None


def blacklist_hits(*, region_code: str, account_no: str = "", id_code: str = "", on: dt.date) -> list[BlacklistEntry]:
    """Active entries of this region or any region above it that match the account or the id code."""
    regions = region_chain(region_code)[1:] or [region_code]
    match = Q(pk__in=[])
    if account_no:
        match |= Q(account_no=account_no)
    if id_code:
        match |= Q(id_code=id_code)
    return list(BlacklistEntry.objects.filter(match, region_code__in=regions, status=BlacklistEntry.Status.ACTIVE,
                                              valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on)))


def is_business_day(day: dt.date, *, region_code: str) -> bool:
    """Weekdays are working days unless a holiday is registered; a weekend day registered as 调休 works.
    National entries ('') apply everywhere; a region's own entry overrides what is above it."""
    entries = {h.region_code: h for h in Holiday.objects.filter(date=day, region_code__in=region_chain(region_code))}
    entry = max(entries.values(), key=lambda h: len(h.region_code), default=None)
    if entry is not None:
        return entry.is_workday
    return day.weekday() < 5
