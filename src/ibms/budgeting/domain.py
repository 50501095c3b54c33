"""Pure rules of budget preparation, on plain values: ceilings, expenditure kinds, reply deadlines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from ibms.core.errors import Violation
from ibms.core.money import format_fen

# 项目类别 (value set pro_kind) → 支出类型: 人员类 and 运转类 are 基本支出, 特定目标类 is 项目支出.
BASIC_CATEGORY_ROOTS = ("1", "2")
PROJECT_CATEGORY_ROOTS = ("3",)


def exp_kind_for(category: str) -> str | None:
    if category.startswith(BASIC_CATEGORY_ROOTS):
        return "basic"
    if category.startswith(PROJECT_CATEGORY_ROOTS):
        return "project"
    return None


@dataclass(frozen=True)
class CeilingUse:
    fund_nature_code: str  # '' = every fund nature
    fund_nature_name: str
    ceiling: int
    used: int

    @property
    def remaining(self) -> int:
        return self.ceiling - self.used

    @property
    def exceeded(self) -> bool:
        return self.used > self.ceiling


def ceiling_uses(totals: Mapping[str, int], ceilings: Mapping[str, int],
                 names: Mapping[str, str] | None = None) -> list[CeilingUse]:
    """Each ceiling against the expenditure of the fund natures it covers (a code covers its children)."""
    names = names or {}
    out = []
    for code, amount in sorted(ceilings.items()):
        used = sum(v for f, v in totals.items() if f.startswith(code))
        out.append(CeilingUse(code, names.get(code, "") if code else "全部资金", amount, used))
    return out


def ceiling_violations(department: str, uses: list[CeilingUse]) -> list[Violation]:
    """Every exceeded ceiling, with the figures: the department sees all of them at once."""
    out = []
    for u in uses:
        if u.exceeded:
            label = f"{u.fund_nature_code} {u.fund_nature_name}".strip() if u.fund_nature_code else "全部资金"
            out.append(Violation(
                "above_ceiling",
                f"{department}（资金性质 {label}）二上支出 {format_fen(u.used)} 元，超过控制数 "
                f"{format_fen(u.ceiling)} 元，超出 {format_fen(u.used - u.ceiling)} 元", u.fund_nature_code))
    return out


def uncovered_fund_natures(totals: Mapping[str, int], ceiling_codes: list[str]) -> list[str]:
    """Fund natures with expenditure that no ceiling covers."""
    return sorted(f for f, v in totals.items() if v and not any(f.startswith(c) for c in ceiling_codes))


def due_date(base: dt.date, days: int) -> dt.date:
    return base + dt.timedelta(days=days)


def is_late(reply_date: dt.date | None, due: dt.date | None, today: dt.date) -> bool:
    """Replied after the deadline, or not replied and the deadline has passed."""
    if due is None:
        return False
    return (reply_date or today) > due
