"""Transfer payments: an upper region's indicator allotted to a lower region (notice + to-do there) and received
by that region's budget division as the source of its own indicator, classification and flags carried along."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.core import clock
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import TodoItem
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, SourceDocument, TransferNotice
from tests.constants import CITY, COUNTY, OTHER_COUNTY, PROVINCE

from .builders import YEAR, buckets, codes, doc, fresh, journal, one, unit

pytestmark = pytest.mark.django_db


def allot(actor, ind, amount=4_000, region=COUNTY, **kw):
    return s.transfer_allot(actor=actor, indicator_id=ind.pk, rec_region_code=region, amount=amount,
                            doc=doc("下达"), **kw)


def test_allot_and_receive_carry_document_classification_and_flags(budget, user, client_as):
    upper = one(budget, 10_000, unit_code=None, is_track=True, is_sanbao=True, is_gov_pur=True)
    notice = allot(budget, upper)
    assert notice.region_code == COUNTY and notice.from_region_code == PROVINCE and notice.status == "sent"
    assert notice.upper_doc_no == notice.upper_source.doc_no and notice.upper_source.kind == "allot"
    assert (notice.is_track, notice.is_sanbao, notice.is_gov_pur) == (True, True, True)
    assert buckets(upper) == {**buckets(upper), "available": 6_000, "allotted": 4_000} == journal(upper)
    [todo] = TodoItem.objects.filter(doc_type=s.DOC_TRANSFER, object_id=str(notice.pk), status="open")
    assert (todo.region_code, todo.role_code) == (COUNTY, "budget_division")
    assert notice.number in client_as("county_budget").get("/").content.decode()
    assert notice.number not in client_as("fin_budget_deputy").get("/").content.decode()

    county = user("county_budget")
    got = s.transfer_receive(actor=county, notice_id=notice.pk, doc_no="青财预〔2026〕9号")
    got = fresh(got)
    assert got.region_code == COUNTY and got.parent_id == upper.pk and not got.is_executable
    assert (got.is_track, got.is_sanbao, got.is_gov_pur) == (True, True, True)
    assert (got.fund_nature_code, got.exp_func_code, got.dep_eco_code) == (
        upper.fund_nature_code, upper.exp_func_code, upper.dep_eco_code)
    assert got.source.kind == "transfer_formal" and got.source.upper_doc_no == notice.upper_doc_no
    assert got.source.region_code == COUNTY and got.source_type_code == "3"
    assert buckets(got) == {**buckets(got), "amount": 4_000, "available": 4_000} == journal(got)
    assert got.entries.get().counterpart_id == upper.pk
    notice.refresh_from_db()
    assert notice.status == "received" and notice.received_indicator == got and notice.received_by == county
    todo.refresh_from_db()
    assert todo.status == "done"

    # the county distributes it to its school: the flags keep travelling
    school = s.indicator_distribute(actor=county, indicator_id=got.pk, doc=doc("县分配"), splits=[
        s.Split(unit_id=unit("001001", COUNTY).pk, amount=4_000)])[0]
    assert fresh(school).is_track and fresh(school).parent_id == got.pk


def test_receive_twice_refused(budget, user):
    notice = allot(budget, one(budget, 10_000, unit_code=None))
    s.transfer_receive(actor=user("county_budget"), notice_id=notice.pk, doc_no="青财〔1〕号")
    before = Indicator.objects.count()
    with pytest.raises(Conflict) as e:
        s.transfer_receive(actor=user("county_budget"), notice_id=notice.pk, doc_no="青财〔2〕号")
    assert e.value.code == "already_received"
    assert Indicator.objects.count() == before
    assert not SourceDocument.objects.filter(doc_no="青财〔2〕号").exists()


def test_another_regions_notice_is_not_found(budget, user):
    notice = allot(budget, one(budget, 10_000, unit_code=None))
    with pytest.raises(NotFound):  # the sending region reads the notice but cannot receive it for the county
        s.transfer_receive(actor=user("fin_budget_deputy"), notice_id=notice.pk, doc_no="X〔1〕号")
    for who in ("city_treasury", "county_school_clerk"):
        with pytest.raises(PermissionDenied):
            s.transfer_receive(actor=user(who), notice_id=notice.pk, doc_no="X〔1〕号")
    assert TransferNotice.objects.get(pk=notice.pk).status == "sent"


def test_receiving_needs_the_budget_division_role(budget, user):
    notice = allot(budget, one(budget, 10_000, unit_code=None))
    with pytest.raises(PermissionDenied):
        s.transfer_receive(actor=user("county_treasury"), notice_id=notice.pk, doc_no="X〔1〕号")


def test_allot_refusals_leave_nothing(budget):
    upper = one(budget, 1_000, unit_code=None, rec_region_code=COUNTY)
    before = (TransferNotice.objects.count(), buckets(upper))
    for region, amount, code in ((PROVINCE, 10, "not_lower_region"), ("110000000", 10, "not_lower_region"),
                                 (OTHER_COUNTY, 10, "rec_region_mismatch")):
        with pytest.raises(ValidationFailed) as e:
            allot(budget, upper, amount=amount, region=region)
        assert codes(e.value) == [code]
    with pytest.raises(Conflict) as e:
        allot(budget, upper, amount=1_001)
    assert e.value.code == "overdraw"
    assert (TransferNotice.objects.count(), buckets(upper)) == before


def test_no_allotting_upwards(user):
    county_budget = user("county_budget")
    county_ind = one(county_budget, 1_000, region=COUNTY, unit_code=None)
    with pytest.raises(ValidationFailed) as e:
        s.transfer_allot(actor=county_budget, indicator_id=county_ind.pk, rec_region_code=CITY, amount=1,
                         doc=doc())
    assert codes(e.value) == ["not_lower_region"]


def test_late_issue_is_tracked_against_the_budget_approval(budget):
    """A formal general transfer issued more than 30 days (data/indicators/transfer_deadlines.csv) after the
    upper level's budget reply is flagged late; an advance notice has no such deadline."""
    upper = one(budget, 10_000, unit_code=None)
    reply_date = upper.source.doc_date
    on_time = allot(budget, upper, amount=1, transfer_type="general", notice_date=reply_date + dt.timedelta(days=30))
    late = allot(budget, upper, amount=1, transfer_type="general", notice_date=reply_date + dt.timedelta(days=31))
    special = allot(budget, upper, amount=1, transfer_type="special", notice_date=reply_date + dt.timedelta(days=45))
    advance = allot(budget, upper, amount=1, kind="transfer_advance", notice_date=reply_date + dt.timedelta(days=90))
    assert on_time.due_date == reply_date + dt.timedelta(days=30) and not on_time.is_late
    assert late.is_late and not special.is_late and special.due_date == reply_date + dt.timedelta(days=60)
    assert advance.due_date is None and not advance.is_late
    assert clock.fiscal_year() == YEAR
