"""`ibms verify` proves every spent fen: a spent movement or a reservation written behind the services' back —
with no receipt, 实拨 or carry-in document, no open request — is named; the finance bureau's books tie."""

from __future__ import annotations

import pytest
from django.db.models import F

from ibms.accounting.models import Voucher
from ibms.indicators.models import Indicator, IndicatorEntry, Reservation
from ibms.treasury import selectors
from ibms.treasury.models import PaymentVoucher
from tests.constants import PROVINCE

from .builders import create, indicator
from .feed import approve, receipt

pytestmark = pytest.mark.django_db


def test_a_spent_movement_behind_the_services_is_named(budget, clerk, reviewer):
    ind = indicator(budget, 500_000)
    receipt(approve(clerk, reviewer, create(clerk, ind, 40_000)))
    assert selectors.spent_problems() == []
    # a made-up consumer turned into spending, ledger and cached balance consistent with each other
    IndicatorEntry.objects.create(indicator=ind, region_code=PROVINCE, unit_path=ind.unit_path, kind="post",
                                  d_spent=7_000, d_available=-7_000, consumer="FAKE-CONSUMER-1")
    Indicator.objects.filter(pk=ind.pk).update(spent=F("spent") + 7_000, available=F("available") - 7_000)
    problems = selectors.spent_problems()
    assert any("FAKE-CONSUMER-1" in p and "traces to no receipt" in p for p in problems), problems


def test_a_reservation_without_an_open_request_is_named(budget):
    ind = indicator(budget, 500_000)
    Reservation.objects.create(region_code=PROVINCE, indicator=ind, unit_path=ind.unit_path, consumer="X-1",
                               amount=1_000)
    assert selectors.reservation_problems() == ["treasury: reservation X-1 (990000000) open without an open request"]


def test_finance_books_tie_to_the_paid_vouchers(budget, clerk, reviewer):
    ind = indicator(budget, 500_000)
    v = approve(clerk, reviewer, create(clerk, ind, 25_000))
    receipt(v)
    assert selectors.finance_books_problems() == []
    assert Voucher.objects.filter(event_id=f"fin-pay:{PROVINCE}:{v.number}").exists()
    # the paid amount changed behind the services' back (posted lines are immutable, even on PostgreSQL)
    PaymentVoucher.objects.filter(pk=v.pk).update(xpay_amt=F("xpay_amt") + 100)
    problems = selectors.finance_books_problems()
    assert len(problems) == 1 and "总预算会计" in problems[0] and "250.00" in problems[0], problems
