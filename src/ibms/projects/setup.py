"""Set-up data this app needs in every deployment (approval chains, value sets, rules), idempotent."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ibms.core import audit
from ibms.core.models import ApprovalChain
from ibms.core.workflow import set_chain

from .models import BasicRule, FunctionDefault

PROJECT_DOC = "project"
DEFAULT_CHAIN_NAME = "项目入库审核"
DEFAULT_CHAIN = [
    ("主管部门审核", "dept_reviewer", "department"),
    ("财政业务处室审核", "sector_division", "finance"),
    ("预算处入库", "budget_division", "finance"),
]


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "projects"


def _read(name: str) -> list[dict[str, str]]:
    with open(data_dir() / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_basic_rules(years: list[int]) -> int:
    """National rules for each year from basic_rules.csv; rows already present are left alone (edited data wins)."""
    rows = _read("basic_rules.csv")
    created: list[BasicRule] = []
    for year in years:
        have = set(BasicRule.objects.filter(region_code="", fiscal_year=year).values_list("code", flat=True))
        for r in rows:
            if r["code"] in have:
                continue
            created.append(BasicRule(
                region_code="", fiscal_year=year, kind=r["kind"], code=r["code"], name=r["name"],
                dep_eco_code=r["dep_eco_code"], person_fields=r["person_fields"], months=int(r["months"] or 12),
                rate=Decimal(r["rate"] or "0"), unit_type=r["unit_type"], standard_code=r["standard_code"],
                seq=int(r["seq"] or 0)))
    for obj in created:
        obj.save()
    audit.record_changes(created, "create")
    return len(created)


def load_function_defaults() -> int:
    have = set(FunctionDefault.objects.filter(region_code="").values_list("keyword", flat=True))
    created = [FunctionDefault(region_code="", keyword=r["keyword"], organ_func_code=r["organ_func_code"],
                               institution_func_code=r["institution_func_code"], seq=int(r["seq"] or 0))
               for r in _read("function_defaults.csv") if r["keyword"] not in have]
    for obj in created:
        obj.save()
    audit.record_changes(created, "create")
    return len(created)


def setup_app(years: list[int]) -> None:
    with transaction.atomic():
        if not ApprovalChain.objects.filter(doc_type=PROJECT_DOC, region_code="").exists():
            set_chain(PROJECT_DOC, "", DEFAULT_CHAIN_NAME, DEFAULT_CHAIN)
        load_basic_rules(years)
        load_function_defaults()
