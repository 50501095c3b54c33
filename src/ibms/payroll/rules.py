"""The payroll reference data from `data/payroll/` (read once per process; `reload()` after `ibms setup` or in a test
that edits them): the income-tax rate table and basic deduction by year, the collectors of the withholdings, and the
salary items (loaded into `SalaryItem` by `setup`, read from there per region and year)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from ibms.core.datafiles import csv_rows

from .domain import Bracket, ItemRule


@dataclass(frozen=True)
class Collector:
    code: str
    name: str
    account_no: str
    bank_name: str


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "payroll"


def _rows(name: str) -> list[dict[str, str]]:
    return csv_rows(data_dir() / name)


def fen(yuan: str) -> int:
    return int(Decimal(yuan or "0") * 100)


def _latest(rows: list[dict], year: int) -> int:
    years = sorted({int(r["year"]) for r in rows if int(r["year"]) <= year})
    if not years:
        raise ValueError(f"data/payroll: nothing in force in {year}")
    return years[-1]


@functools.cache
def brackets(year: int) -> list[Bracket]:
    rows = _rows("iit_rates.csv")
    y = _latest(rows, year)
    return [Bracket(fen(r["upper"]) if r["upper"] else None, int(r["rate_pct"]), fen(r["quick_deduction"]))
            for r in sorted((r for r in rows if int(r["year"]) == y), key=lambda r: int(r["level"]))]


@functools.cache
def basic_deduction(year: int) -> int:
    rows = _rows("iit_settings.csv")
    y = _latest(rows, year)
    return next(fen(r["basic_deduction_month"]) for r in rows if int(r["year"]) == y)


@functools.cache
def collectors(region_code: str) -> dict[str, Collector]:
    rows = _rows("collectors.csv")
    out = {r["code"]: Collector(r["code"], r["name"], r["account_no"], r["bank_name"]) for r in rows
           if not r["region_code"]}
    out.update({r["code"]: Collector(r["code"], r["name"], r["account_no"], r["bank_name"]) for r in rows
                if r["region_code"] == region_code})
    return out


def item_rows() -> list[dict[str, str]]:
    return _rows("items.csv")


def item_rules(region_code: str, year: int) -> list[ItemRule]:
    """The salary items in force for the region in `year`: the latest version (year ≤ `year`), the region's own rows
    over the national ('' region) ones of the same code."""
    from .models import SalaryItem

    best: dict[str, SalaryItem] = {}
    for it in SalaryItem.objects.filter(region_code__in=["", region_code], year__lte=year).order_by("year"):
        cur = best.get(it.code)
        if cur is None or (it.region_code, it.year) >= (cur.region_code, cur.year):
            best[it.code] = it
    return sorted((ItemRule(i.code, i.name, i.kind, i.dep_eco_code, i.method, i.rate_ppm, tuple(i.base.split()),
                            i.standard, i.collector, i.sort) for i in best.values()), key=lambda r: r.sort)


def reload() -> None:
    for f in (brackets, basic_deduction, collectors):
        f.cache_clear()
