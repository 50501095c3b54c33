"""Monthly depreciation per account set: straight line to the fen over the useful life, Dr 5001 / Cr 1602, one
voucher per set and month; a second run of the month is refused and posts nothing; the region's run skips the
sets already done (resumable); the schedule and the register agree with the books."""

from __future__ import annotations

import pytest

from ibms.accounting.models import Voucher
from ibms.assets import selectors
from ibms.assets import services as a
from ibms.assets.models import DepreciationLine, DepreciationRun
from ibms.core.errors import Conflict
from tests.constants import PROVINCE

from .builders import YEAR, balance, opening, unit_set


@pytest.mark.django_db
def test_twelve_months_of_depreciation_then_reruns_post_nothing(clerk, accountant):
    card = opening(clerk, 720_000)  # 6 years: 720,000 / 72 = 10,000 a month
    aset = unit_set()
    start = balance("1602")
    for month in range(1, 13):
        run = a.depreciation_run(actor=clerk, account_set_id=aset.pk, year=YEAR, month=month)
        assert run.amount == 10_000 and run.cards == 1
        v = Voucher.objects.get(pk=run.voucher_id)
        assert sorted((ln.account_code, ln.debit, ln.credit) for ln in v.lines.all()) == [
            ("1602", 0, 10_000), ("5001", 10_000, 0)]
    card.refresh_from_db()
    assert (card.accumulated, card.months_done) == (12 * 10_000, 12)
    assert start - balance("1602") == 12 * 10_000
    vouchers = Voucher.objects.count()
    with pytest.raises(Conflict) as exc:
        a.depreciation_run(actor=clerk, account_set_id=aset.pk, year=YEAR, month=12)
    assert exc.value.code == "already_depreciated"
    with pytest.raises(Conflict) as exc:
        a.depreciation_run(actor=clerk, account_set_id=aset.pk, year=YEAR, month=3)
    assert exc.value.code == "already_depreciated"
    assert a.depreciation_run_region(actor=accountant, region_code=PROVINCE, year=YEAR, month=12)["run"] == 0
    assert Voucher.objects.count() == vouchers
    assert DepreciationLine.objects.filter(card=card).count() == 12
    [row] = [r for r in selectors.schedule(actor=clerk, year=YEAR) if r["card"].pk == card.pk]
    assert row["months"] == [10_000] * 12 and row["total"] == 12 * 10_000
    assert selectors.register_problems() == []


def test_straight_line_ends_exactly_at_the_original_value():
    from ibms.assets.domain import month_depreciation

    orig, acc, done = 1_000_001, 0, 0
    while (amt := month_depreciation(orig, acc, 72, done)) > 0:
        acc, done = acc + amt, done + 1
    assert (acc, done) == (orig, 72)


@pytest.mark.django_db
def test_region_run_is_resumable_and_out_of_order_months_are_refused(clerk, accountant):
    opening(clerk, 720_000)
    aset = unit_set()
    a.depreciation_run(actor=clerk, account_set_id=aset.pk, year=YEAR, month=2)  # this set is done for February
    out = a.depreciation_run_region(actor=accountant, region_code=PROVINCE, year=YEAR, month=2)
    assert out["run"] == 0 and out["skipped"] >= 1
    with pytest.raises(Conflict) as exc:
        a.depreciation_run(actor=clerk, account_set_id=aset.pk, year=YEAR, month=1)
    assert exc.value.code == "depreciation_out_of_order"
    assert DepreciationRun.objects.filter(account_set=aset, year=YEAR).count() == 1
