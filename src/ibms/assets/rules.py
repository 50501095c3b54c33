"""The asset reference data from `data/assets/` (read once per process; `reload()` after `ibms setup` or in a test
that edits them): the GB/T 14885 classes with their useful lives and methods, the default class of a payment by
economic class, the configuration standards (资产配置标准) and the repair capitalisation rule."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from ibms.core.datafiles import csv_rows

from .domain import ConfigStandard, RepairRule


@dataclass(frozen=True)
class AssetClass:
    code: str
    name: str
    parent: str
    level: int
    life_years: int | None
    method: str


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "assets"


def _rows(name: str) -> list[dict[str, str]]:
    return csv_rows(data_dir() / name)


@functools.cache
def classes() -> dict[str, AssetClass]:
    return {r["code"]: AssetClass(r["code"], r["name"], r["parent"], int(r["level"]),
                                  int(r["useful_life_years"]) if r["useful_life_years"] else None, r["method"])
            for r in _rows("classes.csv")}


def asset_class(code: str) -> AssetClass | None:
    """The class of that code, else its nearest listed ancestor by prefix (a finer local code is accepted)."""
    known = classes()
    code = (code or "").strip()
    while code:
        if code in known:
            return known[code]
        code = code[:-1]
    return None


def life_and_method(cls: AssetClass) -> tuple[int, str]:
    """Useful life in months and method: the class's own, else its parent's (a class without years and 'none' is
    not depreciated)."""
    c: AssetClass | None = cls
    while c is not None:
        if c.method == "none":
            return 0, "none"
        if c.life_years:
            return c.life_years * 12, c.method
        c = classes().get(c.parent)
    return 0, "none"


@functools.cache
def eco_classes() -> dict[str, str]:
    return {r["dep_eco_code"]: r["asset_class"] for r in _rows("eco_classes.csv")}


def class_for_eco(dep_eco_code: str) -> str:
    m = eco_classes()
    code = dep_eco_code or ""
    while code:
        if code in m:
            return m[code]
        code = code[:-1]
    return "2"


@functools.cache
def standards() -> list[ConfigStandard]:
    return [ConfigStandard(r["code"], r["name"], r["asset_class"], r["unit_type"], int(Decimal(r["max_unit_price"]) * 100),
                           Decimal(r["max_per_person"]) if r["max_per_person"] else None, r["measure"])
            for r in _rows("config_standards.csv")]


@functools.cache
def repair_rule() -> RepairRule:
    kv = {r["key"]: r["value"] for r in _rows("repair_rule.csv")}
    return RepairRule(Decimal(kv["capitalise_ratio"]), kv.get("extend_life_capitalises", "0") == "1")


def chain_rows() -> list[dict[str, str]]:
    return _rows("change_chains.csv")


def reload() -> None:
    for fn in (classes, eco_classes, standards, repair_rule):
        fn.cache_clear()
