"""Set-up for this app (called by `ibms setup` / `demo.setup.setup_system`): checks the reference data in
`data/procurement/` (catalogue, thresholds, split rule — read at run time by `procurement.rules`) and sets the plan
review chain per region once (edits made in the app survive)."""

from __future__ import annotations

from ibms.core.workflow import approval_steps, set_chain

from . import rules
from .models import Method

DOC_PLAN = "procurement.plan"


def load_chains() -> int:
    chains: dict[str, list[tuple[int, str, str, str]]] = {}
    for r in rules._rows("review_chains.csv"):
        chains.setdefault(r["region_code"], []).append((int(r["seq"]), r["name"], r["role_code"], r["holder"]))
    for region, steps in chains.items():
        if not approval_steps(DOC_PLAN, region) or (region and not _own_chain(region)):
            set_chain(DOC_PLAN, region, "采购计划审核", [(n, role, h) for _, n, role, h in sorted(steps)])
    return len(chains)


def _own_chain(region: str) -> bool:
    from ibms.core.models import ApprovalChain

    return ApprovalChain.objects.filter(doc_type=DOC_PLAN, region_code=region).exists()


def check_data() -> int:
    rules.reload()
    items = rules.catalogue()
    if not items:
        raise ValueError("data/procurement/catalogue.csv is empty")
    for region in {""}:
        for r in rules.method_rules(region):
            if r.method not in Method.values:
                raise ValueError(f"data/procurement/thresholds.csv: unknown method {r.method!r}")
    rules.split_rule("")
    return len(items)


def setup_app(years: list[int]) -> None:
    check_data()
    load_chains()
