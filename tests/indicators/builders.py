"""Builders for the indicator-ledger tests: documents with fresh numbers and indicators built through the
services (the same path the budget reply takes), and their buckets read back."""

from __future__ import annotations

import itertools

from django.db import transaction

from ibms.core import clock
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, SourceDocument
from ibms.masterdata.models import Unit
from tests.constants import ECO, FUNC, FUND, GOV_ECO, PROVINCE

YEAR = clock.fiscal_year()
OTHER_FUND = "121"  # 政府性基金预算资金 (FUND is 一般公共预算资金)
PERSONNEL_ECO = "30101"  # 基本工资
_numbers = itertools.count(1)


def doc(prefix: str = "测试", **kw) -> s.Doc:
    n = next(_numbers)
    return s.Doc(doc_no=f"{prefix}〔{YEAR}〕T{n:05d}号", title=f"{prefix}文件{n}", **kw)


def unit(code: str, region: str = PROVINCE) -> Unit:
    return Unit.objects.get(region_code=region, code=code)


def create(actor, amount: int, *, unit_code: str | None = "001001", region: str = PROVINCE,
           kind: str = SourceDocument.Kind.BUDGET_REPLY, executable: bool | None = None, n: int = 1,
           **fields) -> list[Indicator]:
    """n indicators of `amount` fen each from one fresh reply document."""
    d = doc("批复")
    with transaction.atomic():
        source = s.source_document_create(actor=actor, region_code=region, year=YEAR, kind=kind, doc_no=d.doc_no,
                                          title=d.title, doc_date=clock.today(),
                                          upper_doc_no="上级〔1〕1号" if kind.startswith("transfer_") else "",
                                          adj_batch_no="TZ1" if kind == "adjustment" else "")
        u = unit(unit_code, region) if unit_code else None
        spec = {"fund_nature_code": FUND, "exp_func_code": FUNC, "dep_eco_code": ECO, "gov_eco_code": GOV_ECO,
                **fields}
        specs = [s.IndicatorSpec(amount=amount, unit_id=u.pk if u else None,
                                 is_executable=(u is not None) if executable is None else executable, **spec)
                 for _ in range(n)]
        return s.indicators_create(actor=actor, source=source, specs=specs)


def one(actor, amount: int, **kw) -> Indicator:
    return create(actor, amount, **kw)[0]


def fresh(ind: Indicator) -> Indicator:
    return Indicator.objects.get(pk=ind.pk)


def buckets(ind: Indicator) -> dict[str, int]:
    return fresh(ind).buckets


def journal(ind: Indicator) -> dict[str, int]:
    """The indicator's buckets summed from its entries."""
    from ibms.indicators.models import BUCKETS

    sums = dict.fromkeys(("amount", *BUCKETS), 0)
    for e in ind.entries.all():
        sums["amount"] += e.d_amount
        for b in BUCKETS:
            sums[b] += getattr(e, f"d_{b}")
    return sums


def codes(exc) -> list[str]:
    """The stable codes of a refusal: the violations' codes, or the error's own."""
    return [v.code for v in getattr(exc, "violations", [])] or [exc.code]
