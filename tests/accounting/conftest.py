"""Fixtures for the accounting tests: fresh account sets for next year (the demo books use this year), and
helpers that read a voucher's lines as plain tuples."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ibms.accounting import services
from ibms.accounting.models import DIMENSIONS, AccountSet, Voucher
from ibms.core import clock
from ibms.masterdata.models import Region, Unit

PROVINCE = "990000000"


@pytest.fixture
def year() -> int:
    return clock.fiscal_year() + 1


@pytest.fixture
def books(db, year):
    """Next year's sets for 省教育厅 (organ), 第一实验中学 (institution) and the provincial finance bureau."""
    organ = Unit.objects.get(region_code=PROVINCE, code="001")
    inst = Unit.objects.get(region_code=PROVINCE, code="001001")
    with transaction.atomic():
        services.books_ensure(year=year, units=[organ, inst], regions=[Region.objects.get(code=PROVINCE)])
    return {
        "organ": AccountSet.objects.get(unit=organ, year=year),
        "institution": AccountSet.objects.get(unit=inst, year=year),
        "fiscal": AccountSet.objects.get(region_code=PROVINCE, year=year, kind="fiscal"),
    }


def day(year: int, month: int = 3, d: int = 15) -> dt.date:
    return dt.date(year, month, d)


def lines(v: Voucher) -> list[tuple]:
    """(basis, account code, 'Dr'|'Cr', amount fen, {dimension: value}) in line order."""
    out = []
    for ln in v.lines.order_by("line_no"):
        dims = {d: getattr(ln, f) for d, f in DIMENSIONS.items() if getattr(ln, f)}
        out.append((ln.basis, ln.account_code, "Dr" if ln.debit else "Cr", ln.debit or ln.credit, dims))
    return out


def post(aset: AccountSet, event_type: str, *, amounts: dict, dims: dict | None = None, attrs: dict | None = None,
         event_id: str | None = None, date: dt.date | None = None, actor=None):
    return services.event_post(actor=actor, event_id=event_id or f"t-{event_type}-{aset.pk}-{sorted(amounts.items())}",
                               event_type=event_type, date=date or day(aset.year), amounts=amounts,
                               dimensions=dims or {}, attrs=attrs or {}, account_set=aset)
