"""The fiscal year's status on vouchers (accounting.years): a preparing or executing year takes them; a closed year
only into its adjustment period (data/accounting/adjustment_periods.csv, December nationally) — manual entry,
edit, review, post, reversal and `event_submit` by a person alike; the system's own bookings (bank receipts and
refunds) are not refused."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.accounting import services, years
from ibms.accounting.models import Voucher
from ibms.accounting.posting import LineSpec
from ibms.core.errors import Conflict
from ibms.iam.services import system_user
from ibms.masterdata.models import FiscalYear
from tests.constants import PROVINCE

from .builders import post

pytestmark = pytest.mark.django_db
BUD = {"exp_func": "2050203", "dep_eco": "30211", "fund_nature": "111"}


def lines(amount: int = 50_000) -> list[LineSpec]:
    return [LineSpec(basis="financial", account_code="5001", debit=amount),
            LineSpec(basis="financial", account_code="1011", credit=amount),
            LineSpec(basis="budget", account_code="7201.01", debit=amount, dims=BUD),
            LineSpec(basis="budget", account_code="8001.02", credit=amount)]


def close_year(year: int) -> None:
    assert FiscalYear.objects.filter(region_code=PROVINCE, year=year).update(status=FiscalYear.Status.CLOSED) == 1


def enter(user, aset, date: dt.date) -> Voucher:
    return services.voucher_create(actor=user("school_clerk"), account_set_id=aset.pk, date=date, summary="报销差旅费",
                                   lines=lines())


def refused(call) -> Conflict:
    with pytest.raises(Conflict) as e:
        call()
    assert e.value.code == "fiscal_year_closed"
    return e.value


@pytest.fixture
def school(books):
    return books["institution"]


def test_the_national_adjustment_period_is_december():
    assert years.adjustment_periods()[""] == 12
    assert years.adjustment_period("990102000") == 12  # a county without its own row: the national one


def test_a_preparing_year_takes_vouchers(user, school):
    assert FiscalYear.objects.get(region_code=PROVINCE, year=school.year).status == "preparing"
    v = enter(user, school, dt.date(school.year, 3, 10))
    services.voucher_review(actor=user("school_reviewer"), pk=v.pk)
    assert services.voucher_post(actor=user("school_reviewer"), pk=v.pk).status == "posted"


def test_a_closed_year_takes_manual_vouchers_only_in_the_adjustment_period(user, school):
    clerk, reviewer = user("school_clerk"), user("school_reviewer")
    march, december = dt.date(school.year, 3, 10), dt.date(school.year, 12, 20)
    draft = enter(user, school, march)
    reviewed = enter(user, school, march)
    services.voucher_review(actor=reviewer, pk=reviewed.pk)
    posted = enter(user, school, march)
    services.voucher_review(actor=reviewer, pk=posted.pk)
    services.voucher_post(actor=reviewer, pk=posted.pk)
    close_year(school.year)
    count = Voucher.objects.count()

    e = refused(lambda: enter(user, school, march))
    assert f"{school.year}年度已结账，不能再记账（仅调整期 12 月在结账前仍可记账）" in e.message
    refused(lambda: services.voucher_update(actor=clerk, pk=draft.pk, date=march, summary="改", lines=lines(1)))
    refused(lambda: services.voucher_review(actor=reviewer, pk=draft.pk))
    refused(lambda: services.voucher_post(actor=reviewer, pk=reviewed.pk))
    refused(lambda: services.voucher_reverse(actor=reviewer, pk=posted.pk))
    assert Voucher.objects.count() == count
    assert [Voucher.objects.get(pk=v.pk).status for v in (draft, reviewed, posted)] == ["draft", "reviewed", "posted"]

    # December is the adjustment period: entered, reviewed, posted; a correction reverses into it
    v = enter(user, school, december)
    services.voucher_review(actor=reviewer, pk=v.pk)
    assert services.voucher_post(actor=reviewer, pk=v.pk).status == "posted"
    reversal = services.voucher_reverse(actor=reviewer, pk=posted.pk, date=december, reason="结账后更正")
    assert reversal.reversal_of_id == posted.pk
    # taking a review back and deleting a draft remain possible (they book nothing)
    services.voucher_review(actor=reviewer, pk=reviewed.pk, approve=False)
    services.voucher_delete(actor=clerk, pk=draft.pk)


def test_post_event_by_a_person_is_refused_but_the_systems_own_bookings_are_not(user, school):
    close_year(school.year)
    march, december = dt.date(school.year, 3, 10), dt.date(school.year, 12, 20)
    amounts = {"amount": 12_000}
    dims = {"exp_func": "2050203", "dep_eco": "30211", "fund_nature": "111"}
    attrs = {"pay_method": "centralized", "expense": "business"}
    refused(lambda: post(school, "payment.receipted", amounts=amounts, dims=dims, attrs=attrs, date=march,
                         event_id="fy-person", actor=user("school_reviewer")))
    assert not Voucher.objects.filter(event_id="fy-person").exists()
    refused(lambda: services.event_submit(actor=user("fin_accounting"), event_id="fy-api",
                                          event_type="payment.receipted", date=march, amounts=amounts,
                                          dimensions=dims, attrs=attrs, account_set_id=school.pk))
    assert post(school, "payment.receipted", amounts=amounts, dims=dims, attrs=attrs, date=december,
                event_id="fy-december", actor=user("school_reviewer")).status == "posted"
    for actor, event_id in ((system_user(), "fy-system"), (None, "fy-none")):
        v = post(school, "payment.receipted", amounts=amounts, dims=dims, attrs=attrs, date=march, event_id=event_id,
                 actor=actor)
        assert v.status == "posted" and v.date == march
