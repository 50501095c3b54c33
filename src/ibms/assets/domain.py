"""Pure rules of the asset app: the month's straight-line depreciation, whether a repair is capitalised, and the
configuration-standard check (资产配置标准) of a request — plain values in, amounts or violations out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from ibms.core.errors import Violation
from ibms.core.money import format_fen


def month_depreciation(original: int, accumulated: int, life_months: int, months_done: int) -> int:
    """年限平均法 without residual value (政府固定资产不考虑预计净残值): the net value spread evenly over the months
    left, floor per month, the last month taking what is left — so the card ends fully depreciated to the fen."""
    net = original - accumulated
    left = life_months - months_done
    if net <= 0 or left <= 0:
        return 0
    return net if left == 1 else net // left


@dataclass(frozen=True)
class RepairRule:
    capitalise_ratio: Decimal  # a repair costing at least this share of the original value is capitalised
    extend_life_capitalises: bool


def repair_capitalised(rule: RepairRule, *, cost: int, original: int, extends_life_months: int) -> bool:
    if extends_life_months > 0 and rule.extend_life_capitalises:
        return True
    return original > 0 and Decimal(cost) >= rule.capitalise_ratio * original


@dataclass(frozen=True)
class ConfigStandard:
    code: str
    name: str
    asset_class: str
    unit_type: str  # '' = any
    max_unit_price: int  # fen
    max_per_person: Decimal | None
    measure: str


def standard_for(standards: list[ConfigStandard], asset_class: str, unit_type: str) -> ConfigStandard | None:
    """The standard of the longest class prefix that applies to the unit's type (its own type before any)."""
    best, key = None, (-1, -1)
    for s in standards:
        if asset_class.startswith(s.asset_class) and s.unit_type in ("", unit_type):
            k = (len(s.asset_class), 1 if s.unit_type else 0)
            if k > key:
                best, key = s, k
    return best


def standard_violations(std: ConfigStandard | None, *, quantity: int, unit_price: int, headcount: int,
                        existing: int, field: str = "") -> list[Violation]:
    """A request above the standard for a unit of that size: unit price above the cap, or the stock after the
    purchase above (people in service × the per-person quantity). The message names the standard."""
    if std is None:
        return []
    out: list[Violation] = []
    cite = f"《{std.name}》（{std.code}）"
    if unit_price > std.max_unit_price:
        out.append(Violation("asset_over_standard", f"单价 {format_fen(unit_price)} 元超过{cite}规定的单价上限 "
                                                    f"{format_fen(std.max_unit_price)} 元/{std.measure}", field))
    if std.max_per_person is not None:
        cap = math.floor(std.max_per_person * headcount) if headcount else 0
        if existing + quantity > cap:
            out.append(Violation("asset_over_standard", f"配置后数量 {existing + quantity} {std.measure}（现有 {existing}，"
                                                        f"新增 {quantity}）超过{cite}按在职 {headcount} 人核定的上限 "
                                                        f"{cap} {std.measure}", field))
    return out
