"""Set-up for this app (found through the app registry by `ibms setup`): checks the reference data in
`data/payroll/`, loads the salary items into `SalaryItem` (a changed row is updated and audited) and sets the
payroll review chain per region once (edits made in the app survive)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from ibms.core import audit
from ibms.core.workflow import approval_steps, set_chain

from . import rules

DOC_RUN = "payroll.run"


def load_items() -> int:
    from .models import SalaryItem

    n = 0
    for r in rules.item_rows():
        values = {"name": r["name"], "kind": r["kind"], "dep_eco_code": r["dep_eco_code"], "method": r["method"],
                  "rate_ppm": int(Decimal(r["rate"] or "0") * 1_000_000), "base": r["base"],
                  "standard": rules.fen(r["standard"]), "collector": r["collector"], "sort": int(r["sort"] or 0),
                  "provenance": r["provenance"][:200]}
        if values["kind"] not in SalaryItem.Kind.values or values["method"] not in SalaryItem.Method.values:
            raise ValueError(f"data/payroll/items.csv: bad kind/method in {r['code']!r}")
        item = SalaryItem.objects.filter(region_code=r["region_code"], year=int(r["year"]), code=r["code"]).first()
        if item is None:
            item = SalaryItem.objects.create(region_code=r["region_code"], year=int(r["year"]), code=r["code"],
                                             **values)
            audit.record_change(item, "create")
        elif any(getattr(item, k) != v for k, v in values.items()):
            audit.update_fields(item, **values)
        n += 1
    return n


def load_chains() -> int:
    from ibms.core.models import ApprovalChain

    chains: dict[str, list[tuple[int, str, str, str]]] = {}
    for r in rules._rows("review_chains.csv"):
        chains.setdefault(r["region_code"], []).append((int(r["seq"]), r["name"], r["role_code"], r["holder"]))
    for region, steps in chains.items():
        own = ApprovalChain.objects.filter(doc_type=DOC_RUN, region_code=region).exists()
        if not approval_steps(DOC_RUN, region) or (region and not own):
            set_chain(DOC_RUN, region, "工资表审核", [(n, role, h) for _, n, role, h in sorted(steps)])
    return len(chains)


def setup_app(years: list[int]) -> None:
    rules.reload()
    for y in years:
        rules.brackets(y)
        rules.basic_deduction(y)
    with transaction.atomic():
        load_items()
        load_chains()
