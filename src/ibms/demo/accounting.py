"""The demo province's books: account sets for every demo unit and each region's finance bureau (current
year), a few vouchers posted through the engine (a quota notice, salaries accrued, the treasury's revenue)
and one manual voucher waiting for review, so the books pages and the to-do list show data."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ibms.accounting import services as acc
from ibms.accounting.models import AccountSet, Voucher
from ibms.accounting.posting import LineSpec
from ibms.core import clock
from ibms.iam.models import User
from ibms.masterdata.models import Region, Unit

PROVINCE = "990000000"
GENERAL = "111"  # 一般公共预算资金


def _events(year: int) -> list[dict]:
    d = dt.date(year, 1, 1)
    school = {"exp_func": "2050203", "fund_nature": GENERAL}
    return [
        # 第一实验中学 (institution): an authorised quota notice and the month's salaries accrued and withheld.
        # Fiscal spending is booked only from real payments (demo.payments), never posted here: the 决算 ties
        # 财政拨款支出 to the indicator ledger's spent, so a book entry with no payment behind it would not close.
        {"unit": "001001", "id": "demo-quota-001001", "type": "quota.received", "date": d.replace(day=5),
         "amounts": {"amount": 80_000_000}, "dims": school, "attrs": {"pay_method": "authorized"}},
        {"unit": "001001", "id": "demo-payroll-001001-accrue", "type": "payroll.accrued", "date": d.replace(day=20),
         "amounts": {"amount": 9_600_000}, "dims": {"dep_eco": "30101"}, "attrs": {}},
        {"unit": "001001", "id": "demo-payroll-001001-withhold", "type": "payroll.withheld", "date": d.replace(day=20),
         "amounts": {"tax": 320_000, "social": 1_050_000}, "dims": {}, "attrs": {}},
    ]


def load_demo_books() -> dict[str, int]:
    """Idempotent: sets and event vouchers already there are left alone. Fast (bulk insert of the charts)."""
    year = clock.fiscal_year()
    regions = list(Region.objects.filter(path__startswith=f"/{PROVINCE}/"))
    if not regions:
        return {}
    codes = [r.code for r in regions]
    before = Voucher.objects.filter(year=year, region_code__in=codes).count()
    with transaction.atomic(durable=True):
        made = acc.books_ensure(year=year, units=Unit.objects.filter(region_code__in=codes), regions=regions)
        units = {u.code: u for u in Unit.objects.filter(region_code=PROVINCE)}
        for e in _events(year):
            acc.event_post(event_id=e["id"], event_type=e["type"], date=e["date"], amounts=e["amounts"],
                           dimensions=e["dims"], attrs=e["attrs"], unit_id=units[e["unit"]].pk, year=year)
        # the finance bureau's revenue; its expenditure comes from the demo's payments through treasury
        acc.event_post(event_id="demo-treasury-3", event_type="treasury.revenue", date=dt.date(year, 1, 18),
                       amounts={"amount": 150_000_000}, dimensions={"fund_nature": GENERAL}, region_code=PROVINCE,
                       year=year)
    clerk = User.objects.filter(username="school_clerk").first()
    school_set = AccountSet.objects.filter(unit=units.get("001001"), year=year).first()
    if clerk and school_set and not Voucher.objects.filter(account_set=school_set, source=Voucher.Source.MANUAL).exists():
        acc.voucher_create(actor=clerk, account_set_id=school_set.pk, date=dt.date(year, 1, 28), summary="报销差旅费",
                           lines=[LineSpec(basis="financial", account_code="5001", debit=86_000,
                                           dims={"dep_eco": "30211"}),
                                  LineSpec(basis="financial", account_code="2307", credit=86_000)])
    made_vouchers = Voucher.objects.filter(year=year, region_code__in=codes).count() - before
    return {"account_sets": made["sets"], "accounts": made["accounts"], "vouchers": made_vouchers}
