"""Set-up for this app (called by `ibms setup` / `demo.setup.setup_system`): the 收入分类 and the per-region policy
from `data/unitfunds/` (updated in place, audited), the review chain of unit-funds payments per region (unit review;
plus the finance treasury division where the policy says so — set once, later edits in the app survive) and the
T+1 monitoring rule of unit accounts (`data/unitfunds/rules.csv`, through the monitoring catalogue loader)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from ibms.core import audit
from ibms.core.datafiles import csv_rows
from ibms.core.models import ApprovalChain
from ibms.core.workflow import set_chain

DOC_PAYMENT = "unitfunds.payment"
UNIT_STEP = ("单位审核", "unit_reviewer", "unit")
FINANCE_STEP = ("国库科审核", "treasury_division", "finance")


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "unitfunds"


def _rows(name: str) -> list[dict[str, str]]:
    return csv_rows(data_dir() / name)


def _upsert(model, key: dict, values: dict) -> None:
    obj = model.objects.filter(**key).first()
    if obj is None:
        obj = model.objects.create(**key, **values)
        audit.record_change(obj, "create")
    elif any(getattr(obj, k) != v for k, v in values.items()):
        before = audit.snapshot(obj)
        for k, v in values.items():
            setattr(obj, k, v)
        obj.save()
        audit.record_change(obj, "update", before)


def load_kinds() -> int:
    from .models import IncomeKind

    rows = _rows("income_kinds.csv")
    for r in rows:
        _upsert(IncomeKind, {"code": r["code"]}, {
            "name": r["name"], "category": r["category"], "budget_account": r["budget_account"],
            "financial_account": r["financial_account"], "fund_nature_code": r["fund_nature_code"],
            "sort": int(r["sort"] or 0), "provenance": r["provenance"][:300]})
    return len(rows)


def load_policies() -> int:
    from .models import FundsPolicy

    rows = _rows("policy.csv")
    for r in rows:
        _upsert(FundsPolicy, {"region_code": r["region_code"]}, {
            "finance_review": r["finance_review"].lower() in ("1", "true", "yes", "是"),
            "vt_code": r["vt_code"] or "8209", "account_types": r["account_types"] or "63 82"})
    return len(rows)


def chain_apply(region_code: str, finance_review: bool) -> None:
    """The region's `unitfunds.payment` chain: unit review, plus the finance treasury division when its policy says so."""
    set_chain(DOC_PAYMENT, region_code, "单位资金支付审核", [UNIT_STEP, FINANCE_STEP] if finance_review else [UNIT_STEP])


def load_chains() -> int:
    from .models import FundsPolicy

    n = 0
    for p in FundsPolicy.objects.all():
        if ApprovalChain.objects.filter(doc_type=DOC_PAYMENT, region_code=p.region_code).exists():
            continue
        chain_apply(p.region_code, p.finance_review)
        n += 1
    return n


def load_rules() -> dict[str, int]:
    from ibms.monitoring.setup import load_rules as monitoring_load

    return monitoring_load(data_dir() / "rules.csv")


def setup_app(years: list[int]) -> None:
    with transaction.atomic():
        load_kinds()
        load_policies()
        load_chains()
        load_rules()
