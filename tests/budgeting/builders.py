"""Builders for the budget preparation tests: next year (the current year's round is the demo's own, already
replied), the people of each department, the demo's units, and the lines a round is filled with."""

from __future__ import annotations

from ibms.budgeting import services as bs
from ibms.core import clock
from ibms.core.money import parse_yuan
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

YEAR = clock.fiscal_year() + 1
DEPT_STAFF = {"001": ("edu_clerk", "edu_reviewer"), "002": ("health_clerk", "health_reviewer")}


def unit(code: str, region: str = PROVINCE) -> Unit:
    return Unit.objects.get(region_code=region, code=code)


def expenditure(project, yuan: str, **kw) -> bs.LineData:
    return bs.LineData(project_id=project.pk, amount=parse_yuan(yuan), **kw)


def revenue(unit_code: str, yuan: str, code: str = "11") -> bs.LineData:
    return bs.LineData(direction="revenue", unit_id=unit(unit_code).pk, revenue_code=code, amount=parse_yuan(yuan))
