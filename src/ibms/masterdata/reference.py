"""Load the shipped reference data (data/reference/*.csv) as year-versioned national value sets.

Idempotent: codes already present for the year are left alone (their names may be updated with
`update_names`). Every row written is audited, so `ibms verify` covers reference data too."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ibms.core import audit

from .models import EcoMapping, ValueSet, ValueSetItem

# value set code → (name, file, code column, name column, parent column or None)
CLASSIFICATIONS = {
    "exp_func": ("支出功能分类", "exp_func_classification.csv"),
    "dep_eco": ("部门预算支出经济分类", "dep_bgt_eco_classification.csv"),
    "gov_eco": ("政府预算支出经济分类", "gov_bgt_eco_classification.csv"),
}
MISC_NAMES = {
    "budget_level": "预算级次", "account_type": "账户类型", "voucher_org_type": "电子凭证机构类型",
    "pro_kind": "项目类别", "itfe_voucher_status": "国库凭证状态", "legacy_pay_type": "支付方式（旧）",
    "voucher_type": "国库凭证类型", "fund_type": "资金性质", "pay_type": "支付方式", "set_mode": "结算方式",
    "pay_bus_type": "支付业务类型", "bgt_type": "指标类型", "bgt_source": "指标来源", "revenue": "收入分类",
    "sangong_eco": "三公经费经济分类",
}
PREFIX_TREES = {"pro_kind"}  # small lists whose hierarchy follows from code prefixes


def reference_dir() -> Path:
    return Path(settings.DATA_DIR) / "reference"


def _read(name: str) -> list[dict[str, str]]:
    with open(reference_dir() / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _rows() -> dict[str, list[tuple[str, str, str, str]]]:
    """value set → [(code, name, parent_code, provenance)]"""
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for vs, (_, fname) in CLASSIFICATIONS.items():
        out[vs] = [(r["code"], r["name"], r.get("parent_code", "") or "", "shared/data/" + fname) for r in _read(fname)]
    for r in _read("misc_code_lists.csv"):
        out.setdefault(r["list"], []).append((r["code"], r["name"], "", "shared/data/misc_code_lists.csv"))
    for r in _read("treasury_voucher_types.csv"):
        out.setdefault("voucher_type", []).append((r["vt_code"], r["name"], "", "shared/data/treasury_voucher_types.csv"))
    for r in _read("ibms_value_sets.csv"):
        out.setdefault(r["value_set"], []).append((r["code"], r["name"], r["parent_code"], r["provenance"]))
    for vs in PREFIX_TREES:
        codes = {c for c, *_ in out.get(vs, [])}
        out[vs] = [(c, n, p or next((c[:i] for i in range(len(c) - 1, 0, -1) if c[:i] in codes), ""), s)
                   for c, n, p, s in out.get(vs, [])]
    return out


def load_reference_data(year: int) -> dict[str, int]:
    """Create the year's national value sets and economic mapping; returns rows created per value set."""
    created: dict[str, int] = {}
    with transaction.atomic(durable=True):
        for vs_code, rows in _rows().items():
            name = CLASSIFICATIONS.get(vs_code, (MISC_NAMES.get(vs_code, vs_code),))[0]
            vs, _ = ValueSet.objects.get_or_create(code=vs_code, defaults={
                "name": name, "hierarchical": any(p for _, _, p, _ in rows), "source": "data/reference"})
            existing = {i.code: i for i in ValueSetItem.objects.filter(value_set=vs, fiscal_year=year, region_code="")}
            by_code = {c: (n, p, s) for c, n, p, s in rows}
            new: list[ValueSetItem] = []
            # parents before children: sort by depth of the parent chain (codes grow with depth)
            for code in sorted(by_code, key=lambda c: (len(c), c)):
                if code in existing:
                    continue
                nm, parent_code, prov = by_code[code]
                parent = existing.get(parent_code) if parent_code else None
                item = ValueSetItem(value_set=vs, fiscal_year=year, region_code="", code=code, name=nm,
                                    parent=parent, level=(parent.level + 1) if parent else 1,
                                    is_leaf=not any(p == code for _, p, _ in by_code.values()),
                                    provenance=prov[:60])
                item.save()
                existing[code] = item
                new.append(item)
            audit.record_changes(new, "create")
            created[vs_code] = len(new)
        maps = []
        have = set(EcoMapping.objects.filter(fiscal_year=year, region_code="").values_list("dep_eco_code", "unit_type"))
        for r in _read("eco_mapping.csv"):
            if (r["dep_eco_code"], r["unit_type"]) not in have:
                maps.append(EcoMapping.objects.create(fiscal_year=year, region_code="", dep_eco_code=r["dep_eco_code"],
                                                      unit_type=r["unit_type"], gov_eco_code=r["gov_eco_code"]))
        audit.record_changes(maps, "create")
        created["eco_mapping"] = len(maps)
    return created
