"""The `indicators` stage of `ibms gen`: the budgeting stage's reply dicts become source documents, indicators
and their creation entries (bulk, audited, gap-free codes), which `ibms verify` accepts; no reply, no rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ibms.core import verify
from ibms.core.context import Actor, acting
from ibms.demo.generator import SCALES, GenContext
from ibms.indicators.gen import GEN_STAGES, stage_indicators
from ibms.indicators.models import Indicator, IndicatorEntry, SourceDocument
from ibms.indicators.services import indicator_codes_next
from tests.constants import COUNTY, FUNC, FUND, PROVINCE

from .builders import YEAR, unit

pytestmark = pytest.mark.django_db


def ctx(reply=None) -> GenContext:
    c = GenContext(scale=SCALES["small"], seed=1, prefix="99", year=YEAR, progress=False, batch_size=7)
    if reply is not None:
        c.data["reply"] = reply
    return c


def spec(region: str, unit_code: str | None, amount: int, doc_no: str, **kw) -> dict:
    u = unit(unit_code, region) if unit_code else None
    return {"region_code": region, "year": YEAR, "unit_id": u.pk if u else None, "department_id": None,
            "project_id": None, "fund_nature_code": FUND, "exp_func_code": FUNC, "dep_eco_code": "30201",
            "amount": amount, "doc_no": doc_no, **kw}


def test_reply_becomes_indicators():
    assert [name for name, *_ in GEN_STAGES] == ["indicators"]
    reply = [spec(PROVINCE, "001001", 100_00 + i, "生成批复〔1〕号", is_track=i % 2 == 0, line_id=i) for i in range(20)]
    reply += [spec(COUNTY, "002001", 50_00, "生成批复〔2〕号", doc_title="青山区批复", doc_date=dt.date(YEAR, 2, 1)),
              spec(PROVINCE, None, 70_00, "生成批复〔1〕号", is_executable=True, rec_region_code=COUNTY)]
    before = Indicator.objects.count()
    with acting(Actor(user_id=None, username="ibms-gen")):
        c = ctx(reply)
        stage_indicators(c)
    assert c.counts == {"sourcedocument": 2, "indicator": 22, "indicatorentry": 22}
    assert Indicator.objects.count() == before + 22
    docs = SourceDocument.objects.filter(doc_no__startswith="生成批复")
    assert sorted(docs.values_list("region_code", "kind", "title")) == [
        (PROVINCE, "budget_reply", f"{YEAR}年部门预算批复"), (COUNTY, "budget_reply", "青山区批复")]
    province = list(Indicator.objects.filter(source__doc_no="生成批复〔1〕号", region_code=PROVINCE).order_by("code"))
    assert [i.amount for i in province[:20]] == [100_00 + i for i in range(20)]
    assert [i.is_track for i in province[:3]] == [True, False, True]
    first = province[0]
    assert first.unit == unit("001001") and first.department == unit("001") and first.unit_path == unit("001001").path
    assert first.source_type_code == "1" and first.bgt_type_code == "21" and first.is_executable
    pool = province[20]
    assert pool.unit is None and not pool.is_executable and pool.rec_region_code == COUNTY
    serials = [int(i.code[-8:]) for i in province]
    assert serials == list(range(serials[0], serials[0] + 21))
    # live numbering continues where the stage stopped
    with transaction.atomic():
        assert int(indicator_codes_next(PROVINCE, YEAR, 1)[0][-8:]) == serials[-1] + 1
    for ind in province + list(Indicator.objects.filter(region_code=COUNTY, source__in=docs)):
        [e] = IndicatorEntry.objects.filter(indicator=ind)
        assert e.kind == "create" and e.d_amount == e.d_available == ind.amount == ind.available
        assert e.source_id == ind.source_id and e.doc_no == ind.source.doc_no
    problems = verify.run_all()
    assert problems["indicators.balances"] == [] and problems["audit.rows"] == []


def test_no_reply_no_rows():
    before = (Indicator.objects.count(), SourceDocument.objects.count())
    for c in (ctx(), ctx([])):
        stage_indicators(c)
        assert c.counts == {}
    assert (Indicator.objects.count(), SourceDocument.objects.count()) == before
