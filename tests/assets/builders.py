"""Builders for the asset tests: a fixed-asset payment receipted (through the feed handlers or the simulator), an
opening-stock card, and the books' balances of an account."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from ibms.accounting.models import AccountSet, VoucherLine
from ibms.assets import services as a
from ibms.assets.models import AssetCard
from ibms.core import clock
from tests.treasury.builders import create, indicator, school
from tests.treasury.feed import approve, receipt

YEAR = clock.fiscal_year()


def paid_asset(budget, clerk, reviewer, amount: int = 680_000, purpose: str = "购置教学用投影仪"):
    """A 购置固定资产 payment submitted, approved and receipted (the feed's receipt handler)."""
    ind = indicator(budget, amount * 2, dep_eco_code="31002", summary="办公设备购置")
    req = create(clerk, ind, amount, business_type="fixed_asset", purpose=purpose)
    v = approve(clerk, reviewer, req)
    receipt(v)
    return req, v


def opening(clerk, value: int = 1_200_000, accumulated: int = 0, **kw) -> AssetCard:
    data = a.OpeningIn(unit_id=kw.pop("unit_id", school().pk), asset_class=kw.pop("asset_class", "2010104"),
                       name=kw.pop("name", "台式计算机"), original_value=value, accumulated=accumulated,
                       acquired_date=kw.pop("acquired_date", dt.date(YEAR - 1, 6, 10)), **kw)
    return a.card_open(actor=clerk, data=data)


def unit_set(unit=None) -> AccountSet:
    return AccountSet.objects.get(unit=unit or school(), year=YEAR, kind="unit")


def balance(code: str, unit=None) -> int:
    """Debit-positive balance of the account in the unit's set (posted vouchers)."""
    t = VoucherLine.objects.filter(account_set=unit_set(unit), account_code=code,
                                   voucher__status="posted").aggregate(d=Sum("debit"), c=Sum("credit"))
    return (t["d"] or 0) - (t["c"] or 0)
