"""Set-up every deployment needs for this app (called by `ibms setup` / `demo.setup.setup_system`): the payment
policy per region and the review chains, both from `data/treasury/` (idempotent; a region's chain, once set, is
left alone so that edits in the app survive)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from ibms.core import audit
from ibms.core.datafiles import csv_rows
from ibms.core.workflow import approval_steps, set_chain

DOC_PAYMENT = "treasury.payment"
DOC_DIFFERENCE = "treasury.difference"  # a reconciliation difference or a quarantined bank message (to-do)


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "treasury"


def _rows(name: str) -> list[dict[str, str]]:
    return csv_rows(data_dir() / name)


def load_policies() -> int:
    from .models import RegionPolicy

    n = 0
    with transaction.atomic():
        for r in _rows("region_policy.csv"):
            values = {"default_pay_method": r["default_pay_method"] or "centralized",
                      "finance_sign_direct": r["finance_sign_direct"].lower() in ("1", "true", "yes", "是"),
                      "agent_bank_code": r["agent_bank_code"], "stuck_minutes": int(r["stuck_minutes"] or 10)}
            obj = RegionPolicy.objects.filter(region_code=r["region_code"]).first()
            if obj is None:
                obj = RegionPolicy.objects.create(region_code=r["region_code"], **values)
                audit.record_change(obj, "create")
            elif any(getattr(obj, k) != v for k, v in values.items()):
                before = audit.snapshot(obj)
                for k, v in values.items():
                    setattr(obj, k, v)
                obj.save()
                audit.record_change(obj, "update", before)
            n += 1
    return n


def load_chains() -> int:
    chains: dict[str, list[tuple[int, str, str, str]]] = {}
    for r in _rows("review_chains.csv"):
        chains.setdefault(r["region_code"], []).append((int(r["seq"]), r["name"], r["role_code"], r["holder"]))
    for region, steps in chains.items():
        if not approval_steps(DOC_PAYMENT, region) or (region and not _own_chain(region)):
            set_chain(DOC_PAYMENT, region, "支付申请审核", [(n, role, h) for _, n, role, h in sorted(steps)])
    return len(chains)


def _own_chain(region: str) -> bool:
    from ibms.core.models import ApprovalChain

    return ApprovalChain.objects.filter(doc_type=DOC_PAYMENT, region_code=region).exists()


def setup_app(years: list[int]) -> None:
    load_policies()
    load_chains()
