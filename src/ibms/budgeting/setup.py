"""Set-up data this app needs in every deployment (approval chains, value sets, rules), idempotent.

From `data/budgeting/`: the value sets 收入来源 (bgt_revenue) and 转移支付类型 (transfer_type), and the reply
deadlines of the budget law (unverified, editable). The 三公经费 economic classes (sangong_eco) are master data
(data/reference/ibms_value_sets.csv, `masterdata.selectors.is_sangong`): indicators need them too."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ibms.core import audit
from ibms.core.workflow import set_chain
from ibms.masterdata.models import ValueSet, ValueSetItem

VALUE_SET_NAMES = {"bgt_revenue": "预算收入来源", "transfer_type": "转移支付类型"}

UNIT_SUBMISSION_DOC = "budget_unit_submission"
DEPT_SUBMISSION_DOC = "budget_dept_submission"
DEFAULT_CHAINS = {
    UNIT_SUBMISSION_DOC: ("单位预算报送审核", [("主管部门审核", "dept_reviewer", "department")]),
    DEPT_SUBMISSION_DOC: ("部门预算报送审核", [("预算处审核", "budget_division", "finance")]),
}


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "budgeting"


def _read(name: str) -> list[dict[str, str]]:
    with open(data_dir() / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def revenue_fund_natures() -> dict[str, str]:
    """收入来源 → its default 资金性质 (from value_sets.csv)."""
    return {r["code"]: r["fund_nature_code"] for r in _read("value_sets.csv")
            if r["value_set"] == "bgt_revenue" and r["fund_nature_code"]}


@cache
def defaults() -> dict[str, str]:
    """Configurable defaults (data/budgeting/defaults.csv): transfer type and government economic class of
    transfer lines."""
    return {r["key"]: r["value"] for r in _read("defaults.csv")}


def load_value_sets(year: int) -> int:
    rows = _read("value_sets.csv")
    created: list[ValueSetItem] = []
    with transaction.atomic():
        for vs_code, name in VALUE_SET_NAMES.items():
            mine = [r for r in rows if r["value_set"] == vs_code]
            vs, _ = ValueSet.objects.get_or_create(code=vs_code, defaults={
                "name": name, "hierarchical": any(r["parent_code"] for r in mine), "source": "data/budgeting"})
            existing = {i.code: i for i in ValueSetItem.objects.filter(value_set=vs, fiscal_year=year, region_code="")}
            parents = {r["parent_code"] for r in mine if r["parent_code"]}
            for r in sorted(mine, key=lambda r: (len(r["code"]), r["code"])):
                if r["code"] in existing:
                    continue
                parent = existing.get(r["parent_code"]) if r["parent_code"] else None
                item = ValueSetItem.objects.create(value_set=vs, fiscal_year=year, region_code="", code=r["code"],
                                                   name=r["name"], parent=parent,
                                                   level=(parent.level + 1) if parent else 1,
                                                   is_leaf=r["code"] not in parents, provenance=r["provenance"][:60])
                existing[r["code"]] = item
                created.append(item)
        audit.record_changes(created, "create")
    return len(created)


def load_reply_deadlines() -> int:
    from .models import ReplyDeadline

    created = []
    with transaction.atomic():
        have = set(ReplyDeadline.objects.filter(region_code="").values_list("level", flat=True))
        for r in _read("reply_deadlines.csv"):
            if r["level"] not in have:
                created.append(ReplyDeadline.objects.create(region_code="", level=r["level"], days=int(r["days"]),
                                                            basis=r["basis"][:200]))
        audit.record_changes(created, "create")
    return len(created)


def setup_app(years: list[int]) -> None:
    for year in years:
        load_value_sets(year)
    load_reply_deadlines()
    for doc_type, (name, steps) in DEFAULT_CHAINS.items():
        set_chain(doc_type, "", name, steps)
