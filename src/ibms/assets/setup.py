"""Set-up for this app (called by `ibms setup` / `demo.setup.setup_system`): checks the reference data in
`data/assets/` (classes, default classes by economic class, repair rule — read at run time by `assets.rules`),
loads the configuration standards as national masterdata.ExpenditureStandard rows of category asset for each
year (code ZCPZ-<资产分类>, the project library's price check at entry reads them), and sets the approval chains
of repairs and disposals once per region (edits made in the app survive)."""

from __future__ import annotations

from django.db import transaction

from ibms.core import audit
from ibms.core.models import ApprovalChain
from ibms.core.workflow import set_chain
from ibms.masterdata.models import ExpenditureStandard

from . import rules

CHAIN_NAMES = {"assets.disposal": "资产处置审批", "assets.repair": "资产维修审批"}


def check_data() -> int:
    rules.reload()
    known = rules.classes()
    for c in known.values():
        if c.parent and c.parent not in known:
            raise ValueError(f"data/assets/classes.csv: {c.code} has unknown parent {c.parent}")
        if c.method not in ("straight_line", "none"):
            raise ValueError(f"data/assets/classes.csv: {c.code} has unknown method {c.method!r}")
    for code in list(rules.eco_classes().values()) + [s.asset_class for s in rules.standards()]:
        if rules.asset_class(code) is None:
            raise ValueError(f"data/assets: asset class {code} is not in classes.csv")
    rules.repair_rule()
    return len(known)


def load_chains() -> int:
    chains: dict[tuple[str, str], list[tuple[int, str, str, str]]] = {}
    for r in rules.chain_rows():
        chains.setdefault((r["doc_type"], r["region_code"]), []).append(
            (int(r["seq"]), r["name"], r["role_code"], r["holder"]))
    for (doc, region), steps in chains.items():
        if not ApprovalChain.objects.filter(doc_type=doc, region_code=region).exists():
            set_chain(doc, region, CHAIN_NAMES.get(doc, doc), [(n, role, h) for _, n, role, h in sorted(steps)])
    return len(chains)


def load_standards(years: list[int]) -> int:
    n = 0
    with transaction.atomic():
        for year in years:
            for s in rules.standards():
                values = {"name": s.name[:100], "category": ExpenditureStandard.Category.ASSET,
                          "measure": f"元/{s.measure}"[:20], "amount": s.max_unit_price, "unit_type": s.unit_type,
                          "remark": f"资产分类 {s.asset_class}；data/assets/config_standards.csv"[:200]}
                row = ExpenditureStandard.objects.filter(region_code="", fiscal_year=year, code=s.code).first()
                if row is None:
                    row = ExpenditureStandard.objects.create(region_code="", fiscal_year=year, code=s.code, **values)
                    audit.record_change(row, "create")
                    n += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    audit.update_fields(row, **values)
    return n


def setup_app(years: list[int]) -> None:
    check_data()
    load_chains()
    load_standards(years)
