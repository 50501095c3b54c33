"""`ibms gen` stages of this app: (name, run(ctx), models written, stage it follows): demo/generator.py.

Stage ``indicators`` — turns the budgeting stage's reply into the indicator ledger.

Contract with the budgeting stage: it leaves ``ctx.data["reply"]`` = a list of plain dicts, one per
reply (批复) line. If the key is missing (or empty) this stage does nothing. Keys (all required unless a
default is given):

    region_code      str   9-digit region code, e.g. "990000000"
    year             int   budget year
    unit_id          int | None   masterdata.Unit pk of the owning unit (None = finance-held 待分)
    department_id    int | None   masterdata.Unit pk of the unit's department (default: None)
    project_id       int | None   projects.Project pk (default: None)
    fund_nature_code str   资金性质, e.g. "111"
    exp_func_code    str   支出功能分类 (to 项, 7 digits)
    gov_eco_code     str   政府预算支出经济分类 (default "")
    dep_eco_code     str   部门预算支出经济分类 (default "")
    pay_type_code    str   支付方式 (default "")
    source_type_code str   指标来源 (default: "1" 年初批复, data/indicators/source_kinds.csv)
    bgt_type_code    str   指标类型 (default: "21" 当年预算, same file)
    amount           int   fen, > 0
    is_executable    bool  default True
    is_gov_pur       bool  default False
    is_track         bool  default False   直达资金
    is_sanbao        bool  default False   三保
    is_sangong       bool  ignored: derived from dep_eco_code, as the services do (masterdata.selectors.is_sangong)
    rec_region_code  str   receiving region of a transfer-payment line (default "")
    doc_no           str   reply document number; lines sharing (region_code, doc_no) share one
                           SourceDocument (kind budget_reply)
    doc_title        str   document title (default: "<year>年部门预算批复")
    doc_date         datetime.date   document date (default: <year>-01-31)

One SourceDocument per (region_code, doc_no), one Indicator + one creation IndicatorEntry per dict (other keys,
e.g. ``line_id``, are ignored). Indicator codes come from the same gap-free counters the services use
(``indicator:<region>:<year>``), taken as one block per region and year, so live work continues the sequence.
The indicators are inserted with their audit rows by ``ctx.insert``, then their creation entries are streamed
back from the database (a chongqing-sized reply does not stay in memory as model objects).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import transaction

from ibms.masterdata.models import Unit
from ibms.masterdata.selectors import is_sangong, sangong_eco_codes

from . import domain
from .models import Indicator, IndicatorEntry, SourceDocument
from .services import indicator_codes_next


def stage_indicators(ctx) -> None:
    reply = ctx.data.get("reply")
    if not reply:
        return
    kind = SourceDocument.Kind.BUDGET_REPLY
    default_source, default_type = domain.source_codes().get(kind, ("", ""))
    docs: dict[tuple[str, str], SourceDocument] = {}
    per_key: Counter[tuple[str, int]] = Counter()
    for spec in reply:
        key = (spec["region_code"], spec["doc_no"])
        if key not in docs:
            year = int(spec["year"])
            docs[key] = SourceDocument(region_code=key[0], year=year, kind=kind, doc_no=key[1],
                                       title=spec.get("doc_title") or f"{year}年部门预算批复",
                                       doc_date=spec.get("doc_date") or dt.date(year, 1, 31))
        per_key[(spec["region_code"], int(spec["year"]))] += 1
    ctx.insert(SourceDocument, list(docs.values()), total=len(docs), desc="指标来源文件")
    with transaction.atomic():
        codes = {key: iter(indicator_codes_next(key[0], key[1], n)) for key, n in sorted(per_key.items())}
    units = {pk: (path, dept) for pk, path, dept in Unit.objects.filter(
        region_code__in={r for r, _ in per_key}).values_list("id", "path", "department_id")}
    total = sum(per_key.values())
    sangong = {key: sangong_eco_codes(fiscal_year=key[1], region_code=key[0]) for key in per_key}

    def rows():
        for spec in reply:
            region, year = spec["region_code"], int(spec["year"])
            unit_id = spec.get("unit_id")
            path, dept = units.get(unit_id, ("", None)) if unit_id else ("", None)
            amount = int(spec["amount"])
            yield Indicator(
                code=next(codes[(region, year)]), region_code=region, year=year,
                source_id=docs[(region, spec["doc_no"])].pk, unit_id=unit_id,
                department_id=spec.get("department_id") or dept or unit_id, unit_path=path,
                project_id=spec.get("project_id"), fund_nature_code=spec["fund_nature_code"],
                exp_func_code=spec["exp_func_code"], gov_eco_code=spec.get("gov_eco_code") or "",
                dep_eco_code=spec.get("dep_eco_code") or "", pay_type_code=spec.get("pay_type_code") or "",
                source_type_code=spec.get("source_type_code") or default_source,
                bgt_type_code=spec.get("bgt_type_code") or default_type,
                is_executable=bool(spec.get("is_executable", True)) and unit_id is not None,
                is_gov_pur=bool(spec.get("is_gov_pur")), is_track=bool(spec.get("is_track")),
                is_sanbao=bool(spec.get("is_sanbao")),
                is_sangong=is_sangong(spec.get("dep_eco_code") or "", fiscal_year=year, codes=sangong[(region, year)]),
                rec_region_code=spec.get("rec_region_code") or "", amount=amount, available=amount)

    ctx.insert(Indicator, rows(), total=total, desc="预算指标")
    doc_nos = {d.pk: d.doc_no for d in docs.values()}

    def entries():
        for row in (Indicator.objects.filter(source_id__in=list(doc_nos)).order_by("id")
                    .values("id", "region_code", "unit_path", "amount", "source_id").iterator(chunk_size=5000)):
            yield IndicatorEntry(indicator_id=row["id"], region_code=row["region_code"], unit_path=row["unit_path"],
                                 kind=IndicatorEntry.Kind.CREATE, d_amount=row["amount"], d_available=row["amount"],
                                 source_id=row["source_id"], doc_no=doc_nos[row["source_id"]], memo="批复生成")

    ctx.insert(IndicatorEntry, entries(), total=total, desc="指标明细")


# runs after the budgeting stage, whose reply it turns into indicators
GEN_STAGES: list = [("indicators", stage_indicators, (SourceDocument, Indicator, IndicatorEntry), "budgeting")]
