"""The fiscal year's status on the indicator ledger: a closed year refuses every movement and every new
indicator (`fiscal_year_closed`, nothing written); a preparing year takes them; carry-over needs both years
open; a 调剂 submitted before the year closed cannot be approved after (but can be returned)."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.core import clock
from ibms.core.errors import Conflict
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, IndicatorEntry, SourceDocument
from ibms.masterdata.models import FiscalYear
from tests.constants import COUNTY, PROVINCE

from .builders import YEAR, buckets, doc, one, unit

pytestmark = pytest.mark.django_db
CLOSED, PREPARING = FiscalYear.Status.CLOSED, FiscalYear.Status.PREPARING


def set_status(status: str, *, region: str = PROVINCE, year: int = YEAR) -> None:
    assert FiscalYear.objects.filter(region_code=region, year=year).update(status=status) == 1


def ledger() -> tuple[int, int, int]:
    return Indicator.objects.count(), IndicatorEntry.objects.count(), SourceDocument.objects.count()


MOVES = {
    "increase": lambda a, i: s.indicator_increase(actor=a, indicator_id=i.pk, amount=100, doc=doc()),
    "decrease": lambda a, i: s.indicator_decrease(actor=a, indicator_id=i.pk, amount=100, doc=doc("追减")),
    "adjust": lambda a, i: s.indicator_adjust(actor=a, indicator_id=i.pk, delta=100,
                                              doc=s.Doc(doc("调整").doc_no, "调整", adj_batch_no="B1")),
    "freeze": lambda a, i: s.indicator_freeze(actor=a, indicator_id=i.pk, amount=100, doc=doc("冻结")),
    "unfreeze": lambda a, i: s.indicator_unfreeze(actor=a, indicator_id=i.pk, amount=100, doc=doc("解冻")),
    "recall": lambda a, i: s.indicator_recall(actor=a, indicator_id=i.pk, amount=100, doc=doc("收回")),
    "reallocate": lambda a, i: s.reallocation_submit(actor=a, reason="结账后调剂", outs=[(i.pk, 100)],
                                                     ins=[s.ReallocIn(100, unit_id=unit("002001").pk)]),
    "transfer": lambda a, i: s.transfer_allot(actor=a, indicator_id=i.pk, rec_region_code=COUNTY, amount=100,
                                              doc=doc("下达")),
    "carry_over": lambda a, i: s.indicator_carry_over(actor=a, indicator_ids=[i.pk], doc=doc("结转")),
}


@pytest.mark.parametrize("move", sorted(MOVES))
def test_a_closed_year_refuses_every_movement_and_changes_nothing(budget, move):
    ind = one(budget, 10_000)
    s.indicator_freeze(actor=budget, indicator_id=ind.pk, amount=1_000, doc=doc("冻结"))
    set_status(CLOSED)
    before, held = ledger(), buckets(ind)
    with pytest.raises(Conflict) as e:
        MOVES[move](budget, ind)
    assert e.value.code == "fiscal_year_closed" and e.value.http_status == 409
    assert f"华夏省{YEAR}年度已结账，不能再登记指标变动" in e.value.message
    assert e.value.detail == {"region_code": PROVINCE, "year": YEAR, "status": "closed"}
    assert ledger() == before and buckets(ind) == held


def test_a_closed_year_refuses_new_indicators_and_documents(budget):
    pool = one(budget, 10_000, unit_code=None)
    set_status(CLOSED)
    before = ledger()
    with pytest.raises(Conflict) as e:
        s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc("分配"),
                               splits=[s.Split(unit_id=unit("001001").pk, amount=100)])
    assert e.value.code == "fiscal_year_closed"
    with pytest.raises(Conflict) as e:
        one(budget, 10_000)  # source document + indicators_create
    assert e.value.code == "fiscal_year_closed"
    source = SourceDocument.objects.filter(region_code=PROVINCE, year=YEAR, kind="budget_reply").first()
    with pytest.raises(Conflict) as e, transaction.atomic():
        s.indicators_create(actor=budget, source=source, specs=[s.IndicatorSpec(
            amount=1, fund_nature_code="111", exp_func_code="2050202", unit_id=unit("001001").pk)])
    assert e.value.code == "fiscal_year_closed"
    assert ledger() == before


def test_a_preparing_year_takes_indicator_movements(budget):
    set_status(PREPARING)
    ind = one(budget, 10_000)
    s.indicator_increase(actor=budget, indicator_id=ind.pk, amount=500, doc=doc())
    s.indicator_freeze(actor=budget, indicator_id=ind.pk, amount=500, doc=doc("冻结"))
    assert buckets(ind)["amount"] == 10_500


def test_a_year_not_set_up_is_refused(budget):
    with pytest.raises(Conflict) as e, transaction.atomic():
        s.source_document_create(actor=budget, region_code=PROVINCE, year=YEAR + 5, kind="budget_reply",
                                 doc_no="远期〔1〕号", title="远期批复", doc_date=clock.today())
    assert e.value.code == "fiscal_year_missing" and f"华夏省未设立{YEAR + 5}年度" in e.value.message


def test_carry_over_needs_both_years_open(budget):
    ind = one(budget, 10_000)
    set_status(CLOSED, year=YEAR + 1)
    with pytest.raises(Conflict) as e:
        s.indicator_carry_over(actor=budget, indicator_ids=[ind.pk], doc=doc("结转"))
    assert e.value.code == "fiscal_year_closed" and f"{YEAR + 1}年度已结账" in e.value.message
    set_status(PREPARING, year=YEAR + 1)  # next year preparing (the demo's): carried over into it
    [new] = s.indicator_carry_over(actor=budget, indicator_ids=[ind.pk], doc=doc("结转"))
    assert (new.year, new.amount) == (YEAR + 1, 10_000)


def test_a_reallocation_submitted_before_closing_is_returned_not_applied(budget, deputy):
    a = one(budget, 10_000)
    r = s.reallocation_submit(actor=budget, reason="年末调剂", outs=[(a.pk, 100)],
                              ins=[s.ReallocIn(100, unit_id=unit("002001").pk)])
    set_status(CLOSED)
    before = ledger()
    with pytest.raises(Conflict) as e:
        s.reallocation_review(actor=deputy, pk=r.pk, approve=True)
    assert e.value.code == "fiscal_year_closed" and ledger() == before
    assert s.reallocation_review(actor=deputy, pk=r.pk, approve=False, comment="年度已结账").status == "rejected"


def test_receiving_a_transfer_needs_the_receiving_year_open(budget, user):
    notice = s.transfer_allot(actor=budget, indicator_id=one(budget, 10_000, unit_code=None).pk,
                              rec_region_code=COUNTY, amount=1_000, doc=doc("下达"))
    set_status(CLOSED, region=COUNTY)
    with pytest.raises(Conflict) as e:
        s.transfer_receive(actor=user("county_budget"), notice_id=notice.pk, doc_no="青财〔结〕1号")
    assert e.value.code == "fiscal_year_closed" and "青山区" in e.value.message


def test_the_page_shows_the_message(client_as, budget):
    ind = one(budget, 10_000)
    set_status(CLOSED)
    r = client_as("fin_budget").post(f"/indicators/{ind.pk}/freeze/", {"amount": "1", "doc_no": "页面冻结〔结〕号",
                                                                      "doc_title": "冻结"})
    assert r.status_code == 409 and f"{YEAR}年度已结账，不能再登记指标变动" in r.content.decode()
    assert buckets(ind)["frozen"] == 0
