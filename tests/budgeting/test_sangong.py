"""三公 on budget lines follows the economic class (masterdata.selectors.is_sangong) on create, update and
generation, and the reply hands it to the indicators; the generator agrees."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.budgeting import services as bs
from ibms.budgeting.models import BudgetLine, Version

from .builders import YEAR, expenditure, unit

pytestmark = pytest.mark.django_db


def test_create_and_update_follow_the_class(rnd, user, library_project):
    p = library_project("001001", "20000.00", eco="30217")  # 公务接待费
    clerk = user("school_clerk")
    line = bs.line_create(actor=clerk, round_id=rnd.pk, data=expenditure(p, "20000.00"))
    assert line.is_sangong is True
    line = bs.line_update(actor=clerk, line_id=line.pk, data=expenditure(p, "20000.00", dep_eco_code="30215"))
    assert (line.dep_eco_code, line.is_sangong) == ("30215", False)  # 会议费 is not 三公
    line = bs.line_update(actor=clerk, line_id=line.pk, data=expenditure(p, "20000.00", dep_eco_code="30231"))
    assert line.is_sangong is True  # 公务用车运行维护费


def test_generated_lines_follow_the_class(rnd, user, library_project):
    p = library_project("001001", "8000.00", eco="30212")  # 因公出国（境）费用
    q = library_project("001001", "9000.00", eco="30201")
    created = bs.lines_generate(actor=user("school_clerk"), round_id=rnd.pk, unit_id=unit("001001").pk)
    flags = {ln.project_id: ln.is_sangong for ln in created if ln.project_id in (p.pk, q.pk)}
    assert flags == {p.pk: True, q.pk: False}


def test_the_reply_hands_the_flag_to_the_indicators(rnd, user, library_project, walk):
    clerk = user("school_clerk")
    for eco, yuan in (("30217", "20000.00"), ("30201", "30000.00")):
        p = library_project("001001", yuan, eco=eco)
        bs.line_create(actor=clerk, round_id=rnd.pk, data=expenditure(p, yuan))
    walk.to_second_up(rnd, {"001": "100000.00"})
    walk.to_consolidated(rnd)
    walk.to_approved(rnd)
    bs.round_reply(actor=user("fin_budget"), round_id=rnd.pk, doc_no=f"华财预〔{YEAR}〕三公1号", title="批复",
                   doc_date=dt.date(YEAR, 2, 1))
    lines = BudgetLine.objects.filter(round=rnd, version=Version.REPLY, direction="expenditure")
    assert {(ln.dep_eco_code, ln.is_sangong, ln.indicator.is_sangong) for ln in lines} == {
        ("30217", True, True), ("30201", False, False)}
