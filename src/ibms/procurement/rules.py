"""The procurement reference data from `data/procurement/` (read once per process; `reload()` after `ibms setup`
or in a test that edits them): the 采购目录, the method thresholds per region and the split-purchase rule."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from ibms.core.datafiles import csv_rows

from .domain import MethodRule, SplitRule


@dataclass(frozen=True)
class CatalogueItem:
    code: str
    name: str
    kind: str
    asset_class: str


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "procurement"


def _rows(name: str) -> list[dict[str, str]]:
    return csv_rows(data_dir() / name)


def _fen(yuan: str) -> int | None:
    return int(Decimal(yuan) * 100) if yuan else None


@functools.cache
def catalogue() -> dict[str, CatalogueItem]:
    return {r["code"]: CatalogueItem(r["code"], r["name"], r["kind"], r["asset_class"])
            for r in _rows("catalogue.csv")}


@functools.cache
def _thresholds() -> dict[str, list[MethodRule]]:
    out: dict[str, list[MethodRule]] = {}
    for r in _rows("thresholds.csv"):
        if r["action"] not in ("refuse", "warn"):
            raise ValueError(f"data/procurement/thresholds.csv: action {r['action']!r} is not refuse/warn")
        out.setdefault(r["region_code"], []).append(
            MethodRule(r["method"], _fen(r["min_yuan"]), _fen(r["max_yuan"]), r["action"], r["message"]))
    return out


def method_rules(region_code: str) -> list[MethodRule]:
    """The region's rows for each method it lists, the national ('') rows for the others."""
    table = _thresholds()
    own = table.get(region_code, []) if region_code else []
    methods = {r.method for r in own}
    return own + [r for r in table.get("", []) if r.method not in methods]


@functools.cache
def _splits() -> dict[str, SplitRule]:
    out = {}
    for r in _rows("split_rule.csv"):
        if r["action"] not in ("refuse", "warn"):
            raise ValueError(f"data/procurement/split_rule.csv: action {r['action']!r} is not refuse/warn")
        out[r["region_code"]] = SplitRule(_fen(r["threshold_yuan"]) or 0, r["action"])
    return out


def split_rule(region_code: str) -> SplitRule | None:
    table = _splits()
    return table.get(region_code) or table.get("")


def reload() -> None:
    for f in (catalogue, _thresholds, _splits):
        f.cache_clear()
