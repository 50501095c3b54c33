"""Reads other modules use: the region tree, leaf-code checks, blacklist look-up, economic mapping, the
fiscal-year guard (`fiscal_year_require`) and the 三公 economic classes (`is_sangong`)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from ibms.core.errors import Conflict, Violation

from .models import BlacklistEntry, EcoMapping, FiscalYear, Holiday, Region, ValueSetItem


def region_tree(*, actor) -> list[dict]:
    """Nested {region, children} for the regions the user may see (403 without the view permission)."""
    rows = list(Region.objects.permitted(actor).order_by("path"))
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


# --- fiscal years ---------------------------------------------------------------------------------------------

_OPEN = frozenset({FiscalYear.Status.PREPARING, FiscalYear.Status.EXECUTING, FiscalYear.Status.CLOSING})
# purpose → (what a refusal says cannot be done, the year statuses that accept it). A closed year takes nothing
# but vouchers into its accounting adjustment period (accounting decides when that applies); a preparing year
# takes indicators (the 批复 of next year's budget) and vouchers but no payments; a closing year (年终结账中)
# takes the year-end movements of its indicators (carry-over, recall) and vouchers, but no payments.
FISCAL_YEAR_PURPOSES: dict[str, tuple[str, frozenset[str]]] = {
    "indicator": ("登记指标变动", _OPEN),
    "payment": ("办理支付", frozenset({FiscalYear.Status.EXECUTING})),
    "voucher": ("记账", _OPEN),
    "voucher_adjustment": ("在调整期记账", frozenset(FiscalYear.Status.values)),
}


def fiscal_year_require(region_code: str, year: int, *, purpose: str, closed_hint: str = "") -> FiscalYear:
    """The region's fiscal year when its status accepts `purpose` (FISCAL_YEAR_PURPOSES); otherwise a Conflict
    (409) naming the year and the region: `fiscal_year_missing` (the region has not set up the year: 基础信息 →
    预算年度), `fiscal_year_closed`, or `fiscal_year_not_executing` (a preparing year takes no payments).
    `closed_hint` is added to the message of a closed year (e.g. what is still allowed). A plain read."""
    what, accepted = FISCAL_YEAR_PURPOSES[purpose]
    fy = FiscalYear.objects.filter(region_code=region_code, year=year).first()
    if fy is not None and fy.status in accepted:
        return fy
    name = Region.objects.filter(code=region_code).values_list("name", flat=True).first() or region_code
    if fy is None:
        code, message = "fiscal_year_missing", f"{name}未设立{year}年度（基础信息 → 预算年度），不能{what}"
    elif fy.status == FiscalYear.Status.CLOSED:
        code, message = "fiscal_year_closed", f"{name}{year}年度已结账，不能再{what}{closed_hint}"
    elif fy.status == FiscalYear.Status.CLOSING:
        code, message = "fiscal_year_closing", f"{name}{year}年度已进入年终结账，不能再{what}"
    else:
        code, message = "fiscal_year_not_executing", (f"{name}{year}年度尚在{fy.get_status_display()}，"
                                                      f"未开始执行，不能{what}")
    raise Conflict(code, message, {"region_code": region_code, "year": year, "status": fy.status if fy else ""})


def fiscal_year_require_for(queryset, pk: int | None, *, purpose: str, when: bool = True) -> None:
    """`fiscal_year_require` for the row `pk` of `queryset` (a model with region_code and year), for a service
    that knows only an id when it starts. Nothing when `when` is false or the row is not found (the caller's
    own look-up then answers not found, so an id out of scope tells nothing)."""
    if not when or pk is None:
        return
    row = queryset.filter(pk=pk).values_list("region_code", "year").first()
    if row is not None:
        fiscal_year_require(row[0], row[1], purpose=purpose)


# --- 三公经费 -----------------------------------------------------------------------------------------------------

SANGONG_VALUE_SET = "sangong_eco"


def sangong_eco_codes(*, fiscal_year: int, region_code: str = "") -> frozenset[str]:
    """The year's 三公经费 department economic classes: value set `sangong_eco` (data/reference/
    ibms_value_sets.csv), national and the region chain's own."""
    regions = region_chain(region_code) if region_code else [""]
    return frozenset(ValueSetItem.objects.filter(value_set__code=SANGONG_VALUE_SET, fiscal_year=fiscal_year,
                                                 region_code__in=regions, is_active=True)
                     .values_list("code", flat=True))


def is_sangong(dep_eco_code: str, *, fiscal_year: int, region_code: str = "",
               codes: frozenset[str] | None = None) -> bool:
    """Whether a department economic class is 三公 (因公出国（境）、公务接待、公务用车购置及运行维护): its code, or
    the code it refines (a local child), is in the year's `sangong_eco`. The flag on indicators and budget
    lines is always this, never the caller's say. Pass `codes` (`sangong_eco_codes`) when asking for many lines."""
    if not dep_eco_code:
        return False
    if codes is None:
        codes = sangong_eco_codes(fiscal_year=fiscal_year, region_code=region_code)
    return any(dep_eco_code.startswith(c) for c in codes)
