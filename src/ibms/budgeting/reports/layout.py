"""The report layout: which fund natures form each fund column, which economic classes are 人员经费, which
revenue sources are 上年结转, the 三公 economic codes — data in `data/budgeting/report_layout.csv`, not code —
and the fixed conventions of the tables (indentation, classification levels)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

INDENT = "\u3000"  # full-width space: indentation that survives Excel and PDF
FUNC_LEVELS = (3, 5, 7)  # 类 / 款 / 项
ECO_LEVELS = (3, 5)  # 类 / 款
UNCLASSIFIED = "（未填列）"
OTHER_FUND = "其他资金"


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    codes: tuple[str, ...]

    def matches(self, code: str) -> bool:
        return any(code.startswith(c) for c in self.codes)


@dataclass(frozen=True)
class Layout:
    funds: tuple[Group, ...]  # fund-nature columns, in order
    fiscal: tuple[str, ...]  # fund-nature prefixes that are 财政拨款
    personnel: tuple[str, ...]  # 部门经济分类 prefixes of 人员经费 (the rest of 基本支出 is 公用经费)
    carry_over: frozenset[str]  # 收入来源 codes that are 上年结转
    sangong_funds: tuple[Group, ...]  # fund natures the 三公 table covers
    sangong: tuple[Group, ...]  # 三公 columns by 部门经济分类 prefix

    def fund_key(self, code: str) -> str:
        """The fund column of a fund nature (longest matching prefix), '' when none matches."""
        best, size = "", -1
        for g in self.funds:
            for c in g.codes:
                if code.startswith(c) and len(c) > size:
                    best, size = g.key, len(c)
        return best

    def fund(self, key: str) -> Group:
        return next(g for g in self.funds if g.key == key)

    def is_fiscal(self, fund_code: str) -> bool:
        return fund_code.startswith(self.fiscal)

    def is_personnel(self, eco_code: str) -> bool:
        return bool(eco_code) and eco_code.startswith(self.personnel)

    def sangong_key(self, eco_code: str) -> str:
        return next((g.key for g in self.sangong if eco_code and g.matches(eco_code)), "")

    def is_sangong_fund(self, fund_code: str) -> bool:
        return any(g.matches(fund_code) for g in self.sangong_funds)

    @property
    def fiscal_funds(self) -> tuple[Group, ...]:
        """The fund columns inside 财政拨款 (一般公共预算 / 政府性基金 / 国有资本经营)."""
        return tuple(g for g in self.funds if all(c.startswith(self.fiscal) for c in g.codes))


def layout_path() -> Path:
    return Path(settings.DATA_DIR) / "budgeting" / "report_layout.csv"


@cache
def layout() -> Layout:
    with open(layout_path(), encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))

    def groups(part: str) -> tuple[Group, ...]:
        return tuple(Group(r["key"], r["name"], tuple(r["codes"].split())) for r in rows if r["part"] == part)

    def codes(part: str) -> tuple[str, ...]:
        return tuple(c for g in groups(part) for c in g.codes)

    return Layout(funds=groups("fund"), fiscal=codes("fiscal"),
                  personnel=next((g.codes for g in groups("staff") if g.key == "personnel"), ()),
                  carry_over=frozenset(codes("carry_over")), sangong_funds=groups("sangong_fund"),
                  sangong=groups("sangong"))
