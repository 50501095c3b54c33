"""Fixtures for the accounting tests: fresh account sets for next year (the demo books use this year). Helpers that
post events and read vouchers are in builders.py."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.accounting import services
from ibms.accounting.models import AccountSet
from ibms.core import clock
from ibms.masterdata.models import Region, Unit
from tests.constants import PROVINCE


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
