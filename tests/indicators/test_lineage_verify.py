"""Lineage (up to the document and the parent chain, down to children, counterparts and payments) and
`ibms verify`: balances recomputed from the journal, a change behind the application's back named."""

from __future__ import annotations

import pytest
from django.db import connection

from ibms.core import verify
from ibms.indicators import selectors
from ibms.indicators import services as s
from ibms.indicators.models import Indicator
from tests.constants import COUNTY

from .builders import doc, one, unit

pytestmark = pytest.mark.django_db


def test_lineage_up_and_down(budget, deputy, user):
    pool = one(budget, 10_000, unit_code=None)
    [kid] = s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc("分配"),
                                   splits=[s.Split(unit_id=unit("001001").pk, amount=5_000)])
    other = one(budget, 1_000, unit_code="001002")
    r = s.reallocation_submit(actor=budget, reason="调剂", outs=[(kid.pk, 1_000)],
                              ins=[s.ReallocIn(1_000, indicator_id=other.pk)])
    s.reallocation_review(actor=deputy, pk=r.pk, approve=True)
    s.indicator_reserve(actor=budget, indicator_id=kid.pk, amount=700, consumer="pay:lineage")
    notice = s.transfer_allot(actor=budget, indicator_id=pool.pk, rec_region_code=COUNTY, amount=2_000,
                              doc=doc("下达"))
    received = s.transfer_receive(actor=user("county_budget"), notice_id=notice.pk, doc_no="青〔L〕号")

    down = selectors.indicator_lineage(actor=budget, pk=pool.pk)
    assert down.source == pool.source and down.ancestors == []
    assert [c.code for c in down.children] == [kid.code, received.code]  # distributed, then received below
    assert all(c.visible for c in down.children)  # the province reads the county's indicator
    assert [n.number for n in down.notices] == [notice.number]

    mid = selectors.indicator_lineage(actor=budget, pk=kid.pk)
    assert [a.code for a in mid.ancestors] == [pool.code]
    assert [c.code for c in mid.counterparts] == [other.code] and mid.counterparts[0].relation == "调剂调出"
    assert [r.consumer for r in mid.reservations] == ["pay:lineage"]

    # the county sees its indicator's upper parent by code only, outside its scope
    up = selectors.indicator_lineage(actor=user("county_budget"), pk=received.pk)
    assert [(a.code, a.visible, a.pk) for a in up.ancestors] == [(pool.code, False, None)]
    assert up.source.upper_doc_no == notice.upper_doc_no

    # a unit sees its own indicator, its own payments, and the finance-held pool only by code
    school = selectors.indicator_lineage(actor=user("school_clerk"), pk=kid.pk)
    assert [(a.code, a.visible) for a in school.ancestors] == [(pool.code, False)]
    assert [c.visible for c in school.counterparts] == [False]  # another unit's indicator


def test_verify_passes_then_names_a_balance_changed_behind_the_back(budget):
    ind = one(budget, 10_000)
    s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=1_000, consumer="pay:verify")
    assert verify.run_all()["indicators.balances"] == []
    table = Indicator._meta.db_table
    with connection.cursor() as cur:  # raw SQL keeps the row's own constraints but not the journal
        cur.execute(f"UPDATE {table} SET available = available + 500, amount = amount + 500 WHERE id = %s",  # noqa: S608
                    [ind.pk])
    problems = verify.run_all()["indicators.balances"]
    assert len(problems) == 1 and ind.code in problems[0]
    assert "available 9500 != journal 9000" in problems[0] and "amount 10500 != journal 10000" in problems[0]


def test_verify_names_reserved_without_an_open_reservation(budget):
    ind = one(budget, 10_000)
    table = Indicator._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET available = 9000, reserved = 1000 WHERE id = %s", [ind.pk])  # noqa: S608
    problems = verify.run_all()["indicators.balances"]
    assert any(ind.code in p and "open reservations 0" in p for p in problems)
    assert any(ind.code in p and "reserved 1000 != journal 0" in p for p in problems)
