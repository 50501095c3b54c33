"""Budget preparation fixtures: next year's round of the demo province (the current year's is the demo's own,
already replied), library projects entered and reviewed through the project services, and helpers that walk
a round through its stages with the people who do each step. Builders (units, lines, the year) are in builders.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ibms.budgeting import services as bs
from ibms.budgeting.models import BudgetLine, BudgetRound, Submission, Version
from ibms.core.money import parse_yuan
from ibms.projects import services as ps
from ibms.projects.domain import CostLineData, ProjectData, TargetData

from .builders import DEPT_STAFF, YEAR, unit


@pytest.fixture
def library_project(user):
    """A project entered by its department's clerk and reviewed into the library (department, sector, budget)."""

    def make(unit_code: str, yuan: str, *, name: str = "", category: str = "3", func: str = "2050204",
             eco: str = "30227", fund: str = "111", transfer_region: str = "", admit: bool = True,
             year: int = YEAR):
        clerk, reviewer = DEPT_STAFF[unit_code[:3]]
        u = unit(unit_code)
        data = ProjectData(
            unit_id=u.pk, name=name or f"{u.name}测试项目{yuan}", category=category, start_year=year, end_year=year,
            year=year, level=1, fund_nature_code=fund, exp_func_code=func, dep_eco_code=eco,
            is_transfer=bool(transfer_region), transfer_region_code=transfer_region,
            cost_lines=[CostLineData(year=year, item="测算", quantity=Decimal(1), unit_price=parse_yuan(yuan),
                                     dep_eco_code=eco)],
            targets=[TargetData(kind="output", name="完成率", value="100", measure="%")])
        p = ps.project_create(actor=user(clerk), data=data)
        if not admit:
            return p
        ps.project_submit(actor=user(clerk), pk=p.pk)
        ps.project_review(actor=user(reviewer), pk=p.pk, approve=True, reason="同意")
        ps.project_review(actor=user("fin_sector"), pk=p.pk, approve=True, reason="同意")
        ps.project_review(actor=user("fin_budget"), pk=p.pk, approve=True, reason="入库")
        p.refresh_from_db()
        return p

    return make


@pytest.fixture
def rnd(user):
    return bs.round_create(actor=user("fin_budget"), year=YEAR, name="测试预算编制")


@pytest.fixture
def walk(user):
    """Moves a round along: submit and accept every department with lines, then the next stage."""
    budget = user("fin_budget")

    def submit_all(rnd: BudgetRound, version: str) -> None:
        depts = (BudgetLine.objects.filter(round=rnd, version=version).order_by()
                 .values_list("department__code", "department_id").distinct())
        for code, dept_id in depts:
            sub = Submission.objects.filter(round=rnd, version=version, unit_id=dept_id).first()
            if sub is None or sub.status not in Submission.LOCKED:
                sub = bs.submission_submit(actor=user(DEPT_STAFF[code][0]), round_id=rnd.pk, unit_id=dept_id)
            if sub.status != Submission.Status.ACCEPTED:
                bs.submission_accept(actor=budget, submission_id=sub.pk)

    def to_second_up(rnd: BudgetRound, ceilings: dict[str, str]) -> BudgetRound:
        submit_all(rnd, Version.FIRST_UP)
        bs.round_first_up_close(actor=budget, round_id=rnd.pk)
        for code, yuan in ceilings.items():
            dept_code, _, fund = code.partition(":")
            bs.ceiling_set(actor=budget, round_id=rnd.pk, department_id=unit(dept_code).pk,
                           fund_nature_code=fund or "1", amount=parse_yuan(yuan))
        return bs.round_second_up_start(actor=budget, round_id=rnd.pk)

    def to_consolidated(rnd: BudgetRound) -> BudgetRound:
        submit_all(rnd, Version.SECOND_UP)
        return bs.round_consolidate(actor=budget, round_id=rnd.pk)

    def to_approved(rnd: BudgetRound, date=None) -> BudgetRound:
        import datetime as dt

        return bs.round_approval_record(actor=budget, round_id=rnd.pk, doc_no=f"华夏人大〔{YEAR}〕2号",
                                        approval_date=date or dt.date(YEAR, 1, 20))

    walk = type("Walk", (), {})()
    walk.submit_all, walk.to_second_up = submit_all, to_second_up
    walk.to_consolidated, walk.to_approved = to_consolidated, to_approved
    return walk
