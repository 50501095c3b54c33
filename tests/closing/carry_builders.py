"""Builders for the carry-over tests: the county 东川市青山区 (its budget division `county_budget`, its demo transfer
indicator received from the province) put into year-end closing, and indicators of its own."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import transaction

from ibms.indicators.models import Indicator, SourceDocument
from ibms.masterdata.models import FiscalYear
from tests.constants import COUNTY
from tests.indicators.builders import YEAR, one

__all__ = ["COUNTY", "YEAR", "closing", "county_indicator", "rolled_back", "transfer_indicator"]


def closing(region: str = COUNTY, year: int = YEAR, next_status: str = FiscalYear.Status.PREPARING) -> None:
    """The year in 年终结账中, the next one set up (test set-up: the life cycle's `begin` step does this)."""
    FiscalYear.objects.filter(region_code=region, year=year).update(status=FiscalYear.Status.CLOSING)
    FiscalYear.objects.filter(region_code=region, year=year + 1).update(status=next_status)


def county_indicator(actor, amount: int, **kw) -> Indicator:
    """An executable indicator of the county's school 001001 (created while the year still executes)."""
    return one(actor, amount, region=COUNTY, unit_code=kw.pop("unit_code", "001001"), **kw)


def transfer_indicator() -> Indicator:
    """The county's 待分 indicator received from the province's transfer payment (demo budget)."""
    return Indicator.objects.get(region_code=COUNTY, year=YEAR, source__kind=SourceDocument.Kind.TRANSFER_FORMAL)


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    """Run a block whose durable transactions commit to a savepoint that is rolled back afterwards (one
    hypothesis example). Marked as the test case's own block, as Django's TestCase marks its transaction, so
    the services' `atomic(durable=True)` inside it behave as they do in a `db` test."""
    block = transaction.atomic()
    block._from_testcase = True
    try:
        with block:
            yield
            raise _Rollback
    except _Rollback:
        pass
