"""The demo province's budget (loaded once per test session, through the services): replied, with indicators
for every province unit equal to the approved lines, and the transfer to 青山区 received there."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from ibms.budgeting.models import BudgetLine, BudgetRound, Reply, Version
from ibms.core import clock
from ibms.indicators.models import Indicator, TransferNotice
from ibms.masterdata.models import Unit

pytestmark = pytest.mark.django_db
YEAR = clock.fiscal_year()


def test_demo_round_is_replied_with_indicators_for_every_unit():
    rnd = BudgetRound.objects.get(region_code="990000000", year=YEAR)
    assert rnd.stage == "replied" and rnd.approval_doc_no and rnd.reply_doc_no
    reply = BudgetLine.objects.filter(round=rnd, version=Version.REPLY, direction="expenditure")
    units = set(Unit.objects.filter(region_code="990000000").values_list("pk", flat=True))
    assert set(reply.values_list("unit_id", flat=True)) == units
    inds = Indicator.objects.filter(region_code="990000000", year=YEAR, source__doc_no=rnd.reply_doc_no)
    assert set(inds.values_list("unit_id", flat=True)) == units
    assert inds.aggregate(s=Sum("amount"))["s"] == reply.aggregate(s=Sum("amount"))["s"] > 0
    assert not reply.filter(indicator__isnull=True).exists()
    # 二上 was cut to the ceilings: the comparison has differences to show
    first = BudgetLine.objects.filter(round=rnd, version=Version.FIRST_UP, direction="expenditure")
    assert first.aggregate(s=Sum("amount"))["s"] > reply.aggregate(s=Sum("amount"))["s"]
    # every department replied to its units in time
    assert not Reply.objects.filter(round=rnd, reply_date__isnull=True).exists()
    assert not Reply.objects.filter(round=rnd, is_late=True).exists()


def test_demo_transfer_reaches_the_county():
    notice = TransferNotice.objects.get(from_region_code="990000000", region_code="990102000", year=YEAR)
    assert notice.status == "received"
    received = notice.received_indicator
    assert received.region_code == "990102000" and received.amount == notice.amount
    upper = BudgetLine.objects.get(round__region_code="990000000", round__year=YEAR, version=Version.REPLY,
                                   is_transfer=True)
    assert received.parent_id == upper.indicator_id and upper.sub_region_code == "990102000"


def test_verify_ties_reply_lines_to_the_indicators_they_created():
    from ibms.budgeting.selectors import verify_reply_indicators

    assert verify_reply_indicators() == []
    line = BudgetLine.objects.filter(version=Version.REPLY, indicator__isnull=False).first()
    BudgetLine.objects.filter(pk=line.pk).update(amount=line.amount + 1)  # changed behind the application's back
    assert verify_reply_indicators() == [
        f"budgeting_budgetline id={line.pk}: indicator id={line.indicator_id} was not created from this reply "
        f"line (amount, unit or project differ)"]
