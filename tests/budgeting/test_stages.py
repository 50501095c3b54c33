"""A round through its stages: 一上 → 一下 (ceilings) → 二上 (refused above a ceiling, with the figures) →
汇总 → 人大批准 → 批复 (indicators equal to the approved lines, named source document, projects executing,
replies with deadlines); versions kept and compared; wrong-stage actions refused."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.budgeting import selectors
from ibms.budgeting import services as bs
from ibms.budgeting.models import BudgetLine, BudgetRound, Reply, Submission, Version
from ibms.core import clock
from ibms.core.errors import Conflict, ValidationFailed
from ibms.core.models import TodoItem
from ibms.core.money import parse_yuan
from ibms.indicators.models import Indicator, SourceDocument
from ibms.projects.models import Project

from .builders import YEAR, expenditure, revenue, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def prepared(rnd, user, library_project):
    """一上: the school's and the exam institute's projects, the department's own, with revenue."""
    school = library_project("001001", "500000.00", name="实验室建设")
    exam = library_project("001002", "200000.00", name="考试系统升级", eco="31002")
    own = library_project("001", "100000.00", name="教育督导", func="2050199")
    lines = {
        "school": bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=expenditure(school, "500000.00")),
        "exam": bs.line_create(actor=user("edu_clerk"), round_id=rnd.pk, data=expenditure(exam, "200000.00")),
        "own": bs.line_create(actor=user("edu_clerk"), round_id=rnd.pk, data=expenditure(own, "100000.00")),
        "revenue": bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=revenue("001001", "500000.00")),
    }
    return {"projects": {"school": school, "exam": exam, "own": own}, "lines": lines}


def test_round_opens_prepare_todos_and_one_round_per_region_and_year(rnd, user):
    dept_todo = TodoItem.objects.filter(doc_type="budget_prepare", region_code="990000000", unit_path="/001/",
                                        role_code="dept_clerk", status="open")
    assert dept_todo.count() == 1 and "一上" in dept_todo.get().title
    assert TodoItem.objects.filter(doc_type="budget_prepare", unit_path="/001/001001/", role_code="unit_clerk",
                                   status="open").exists()
    assert (rnd.dept_reply_days, rnd.unit_reply_days) == (20, 15)  # data/budgeting/reply_deadlines.csv
    with pytest.raises(Conflict) as e:
        bs.round_create(actor=user("fin_budget"), year=YEAR)
    assert e.value.code == "round_exists"


def test_first_up_closes_only_when_every_department_is_accepted(rnd, user, prepared):
    with pytest.raises(ValidationFailed) as e:
        bs.round_first_up_close(actor=user("fin_budget"), round_id=rnd.pk)
    assert e.value.violations[0].code == "submission_not_accepted"
    assert "省教育厅" in e.value.message
    sub = bs.submission_submit(actor=user("edu_clerk"), round_id=rnd.pk, unit_id=unit("001").pk)
    assert TodoItem.objects.filter(doc_type="budget_dept_submission", object_id=str(sub.pk), status="open",
                                   role_code="budget_division", unit_path="").exists()
    bs.submission_accept(actor=user("fin_budget"), submission_id=sub.pk)
    rnd = bs.round_first_up_close(actor=user("fin_budget"), round_id=rnd.pk)
    assert rnd.stage == BudgetRound.Stage.CEILINGS
    # 一上 is closed: no more lines, no more submissions
    with pytest.raises(Conflict) as e2:
        bs.line_create(actor=user("school_clerk"), round_id=rnd.pk, data=revenue("001001", "1.00"))
    assert e2.value.code == "wrong_stage"


def test_second_up_needs_ceilings_and_copies_first_up(rnd, user, prepared, walk):
    walk.submit_all(rnd, Version.FIRST_UP)
    bs.round_first_up_close(actor=user("fin_budget"), round_id=rnd.pk)
    with pytest.raises(ValidationFailed) as e:
        bs.round_second_up_start(actor=user("fin_budget"), round_id=rnd.pk)
    assert e.value.violations[0].code == "ceiling_missing"
    bs.ceiling_set(actor=user("fin_budget"), round_id=rnd.pk, department_id=unit("001").pk, fund_nature_code="1",
                   amount=parse_yuan("750000.00"))
    rnd = bs.round_second_up_start(actor=user("fin_budget"), round_id=rnd.pk)
    first = BudgetLine.objects.filter(round=rnd, version=Version.FIRST_UP)
    second = BudgetLine.objects.filter(round=rnd, version=Version.SECOND_UP)
    assert second.count() == first.count() == 4
    assert {ln.origin_id for ln in second} == {ln.pk for ln in first}
    # revising 二上 leaves 一上 as it was
    line = second.get(origin=prepared["lines"]["school"])
    bs.line_update(actor=user("school_clerk"), line_id=line.pk,
                   data=expenditure(prepared["projects"]["school"], "450000.00"))
    assert BudgetLine.objects.get(pk=prepared["lines"]["school"].pk).amount == parse_yuan("500000.00")
    with pytest.raises(Conflict) as e2:  # the 一上 line itself is closed
        bs.line_update(actor=user("school_clerk"), line_id=prepared["lines"]["school"].pk,
                       data=expenditure(prepared["projects"]["school"], "1.00"))
    assert e2.value.code == "version_closed"


def test_second_up_above_the_ceiling_is_refused_with_the_figures(rnd, user, prepared, walk):
    walk.to_second_up(rnd, {"001": "750000.00"})
    with pytest.raises(ValidationFailed) as e:
        bs.submission_submit(actor=user("edu_clerk"), round_id=rnd.pk, unit_id=unit("001").pk)
    [v] = e.value.violations
    assert v.code == "above_ceiling"
    assert "省教育厅" in v.message and "1 财政拨款资金" in v.message
    assert "800,000.00" in v.message and "750,000.00" in v.message and "超出 50,000.00" in v.message
    sub = Submission.objects.get(round=rnd, version=Version.SECOND_UP, unit=unit("001"))
    assert sub.status == Submission.Status.OPEN  # nothing saved
    # within the ceiling it goes through
    line = BudgetLine.objects.get(round=rnd, version=Version.SECOND_UP, origin=prepared["lines"]["exam"])
    bs.line_update(actor=user("edu_clerk"), line_id=line.pk,
                   data=expenditure(prepared["projects"]["exam"], "150000.00"))
    sub = bs.submission_submit(actor=user("edu_clerk"), round_id=rnd.pk, unit_id=unit("001").pk)
    assert (sub.status, sub.expenditure_total) == ("submitted", parse_yuan("750000.00"))


def test_fund_nature_without_a_ceiling_counts_as_zero(rnd, user, prepared, walk):
    walk.to_second_up(rnd, {"001:111": "1000000.00"})
    unitfund = Project.objects.get(pk=prepared["projects"]["exam"].pk)
    line = BudgetLine.objects.get(round=rnd, version=Version.SECOND_UP, origin=prepared["lines"]["exam"])
    bs.line_update(actor=user("edu_clerk"), line_id=line.pk, data=expenditure(unitfund, "200000.00",
                                                                             fund_nature_code="31"))
    with pytest.raises(ValidationFailed) as e:
        bs.submission_submit(actor=user("edu_clerk"), round_id=rnd.pk, unit_id=unit("001").pk)
    assert [v.code for v in e.value.violations] == ["no_ceiling"]
    assert "31 事业收入" in e.value.message and "200,000.00" in e.value.message


def test_ceiling_usage_is_shown_against_second_up(rnd, user, prepared, walk):
    walk.to_second_up(rnd, {"001": "900000.00", "001:3": "0"})
    uses = {u.fund_nature_code: u for u in selectors.ceiling_uses(rnd, unit("001"))}
    assert (uses["1"].ceiling, uses["1"].used, uses["1"].remaining) == (90_000_000, 80_000_000, 10_000_000)
    assert uses["3"].used == 0 and not uses["3"].exceeded


def _to_reply(rnd, user, walk):
    walk.to_second_up(rnd, {"001": "800000.00"})
    walk.to_consolidated(rnd)
    return walk.to_approved(rnd)


def test_reply_creates_indicators_equal_to_the_approved_lines(rnd, user, prepared, walk):
    rnd = _to_reply(rnd, user, walk)
    # finance may still adjust the reply version before approval is recorded? no: approved freezes it
    with pytest.raises(Conflict) as e:
        bs.line_delete(actor=user("fin_budget"),
                       line_id=BudgetLine.objects.filter(round=rnd, version=Version.REPLY).first().pk)
    assert e.value.code == "wrong_stage"
    rnd = bs.round_reply(actor=user("fin_budget"), round_id=rnd.pk, doc_no=f"华财预〔{YEAR}〕99号",
                         title="关于批复部门预算的通知", doc_date=dt.date(YEAR, 2, 1))
    assert rnd.stage == BudgetRound.Stage.REPLIED
    reply_lines = BudgetLine.objects.filter(round=rnd, version=Version.REPLY, direction="expenditure")
    inds = Indicator.objects.filter(pk__in=reply_lines.values("indicator_id"))
    assert inds.count() == reply_lines.count() == 3
    assert sum(i.amount for i in inds) == sum(ln.amount for ln in reply_lines) == parse_yuan("800000.00")
    for ln in reply_lines:
        ind = ln.indicator
        assert (ind.amount, ind.available, ind.unit_id, ind.project_id) == (ln.amount, ln.amount, ln.unit_id,
                                                                            ln.project_id)
        assert (ind.exp_func_code, ind.dep_eco_code, ind.gov_eco_code, ind.fund_nature_code) == (
            ln.exp_func_code, ln.dep_eco_code, ln.gov_eco_code, ln.fund_nature_code)
    doc = SourceDocument.objects.get(region_code="990000000", doc_no=f"华财预〔{YEAR}〕99号")
    assert (doc.kind, doc.title, doc.doc_date) == ("budget_reply", "关于批复部门预算的通知", dt.date(YEAR, 2, 1))
    assert set(inds.values_list("source_id", flat=True)) == {doc.pk}
    assert set(Project.objects.filter(pk__in=[p.pk for p in prepared["projects"].values()])
               .values_list("status", flat=True)) == {"executing"}
    # revenue lines create no indicator; the reply version is frozen
    assert not BudgetLine.objects.filter(round=rnd, version=Version.REPLY, direction="revenue",
                                         indicator__isnull=False).exists()
    with pytest.raises(Conflict) as e:
        bs.line_update(actor=user("fin_budget"), line_id=reply_lines.first().pk,
                       data=bs.LineData.of(reply_lines.first()))
    assert e.value.code == "version_closed"


def test_finance_adjusts_the_reply_version_while_consolidating(rnd, user, prepared, walk):
    walk.to_second_up(rnd, {"001": "800000.00"})
    rnd = walk.to_consolidated(rnd)
    line = BudgetLine.objects.get(round=rnd, version=Version.REPLY, origin__origin=prepared["lines"]["own"])
    bs.line_update(actor=user("fin_budget"), line_id=line.pk,
                   data=expenditure(prepared["projects"]["own"], "80000.00"))
    from ibms.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied) as e:  # departments no longer edit
        bs.line_update(actor=user("edu_clerk"), line_id=line.pk,
                       data=expenditure(prepared["projects"]["own"], "1.00"))
    assert e.value.code == "finance_only"
    rows = selectors.comparison(actor=user("fin_budget"), rnd=rnd)
    own = next(r for r in rows if r.level == "line" and r.key["project_id"] == prepared["projects"]["own"].pk)
    assert own.amounts == {"first_up": 10_000_000, "second_up": 10_000_000, "reply": 8_000_000}
    assert (own.diff_second_first, own.diff_reply_second) == (0, -2_000_000)
    total = rows[-1]
    assert total.level == "total" and total.amounts["reply"] == parse_yuan("780000.00")


def test_comparison_goes_department_unit_project_with_differences(rnd, user, prepared, walk):
    walk.to_second_up(rnd, {"001": "750000.00"})
    line = BudgetLine.objects.get(round=rnd, version=Version.SECOND_UP, origin=prepared["lines"]["school"])
    bs.line_update(actor=user("school_clerk"), line_id=line.pk,
                   data=expenditure(prepared["projects"]["school"], "450000.00"))
    rows = selectors.comparison(actor=user("fin_budget"), rnd=rnd)
    assert [r.level for r in rows][:2] == ["department", "unit"]
    dept = rows[0]
    assert dept.label.startswith("001 ") and dept.amounts["first_up"] == parse_yuan("800000.00")
    assert dept.amounts["second_up"] == parse_yuan("750000.00") and dept.diff_second_first == -parse_yuan("50000")
    school = next(r for r in rows if r.level == "unit" and r.unit_id == unit("001001").pk)
    assert school.diff_second_first == -parse_yuan("50000")
    # a unit's clerk compares only its own lines
    mine = selectors.comparison(actor=user("school_clerk"), rnd=rnd)
    assert {r.unit_id for r in mine if r.level == "line"} == {unit("001001").pk}
    assert mine[-1].amounts["first_up"] == parse_yuan("500000.00")
    table = selectors.comparison_table(rows, title="对比")
    assert table.rows[-1][5:8] == [parse_yuan("800000.00"), parse_yuan("750000.00"), 0]


def test_replies_are_recorded_per_department_and_flagged_late(rnd, user, prepared, walk):
    rnd = _to_reply(rnd, user, walk)  # approved on YEAR-01-20: finance's deadline is 02-09
    bs.round_reply(actor=user("fin_budget"), round_id=rnd.pk, doc_no="华财预〔迟〕1号", title="批复",
                   doc_date=dt.date(YEAR, 2, 15))
    dept = Reply.objects.get(round=rnd, level="department", unit=unit("001"))
    assert (dept.due_date, dept.reply_date, dept.is_late) == (dt.date(YEAR, 2, 9), dt.date(YEAR, 2, 15), True)
    assert dept.amount == parse_yuan("800000.00")
    pending = Reply.objects.filter(round=rnd, level="unit", reply_date__isnull=True)
    assert {r.unit.code for r in pending} == {"001001", "001002"}
    assert {r.due_date for r in pending} == {dt.date(YEAR, 3, 2)}  # 15 days after finance's reply
    todo = TodoItem.objects.get(doc_type="budget_unit_reply", object_id=str(dept.pk), status="open")
    assert todo.unit_path == "/001/" and todo.role_code == "dept_clerk"
    with clock.travel(dt.date(YEAR, 3, 10)):
        assert all(r.late_now for r in pending)
    done = bs.unit_replies_record(actor=user("edu_clerk"), round_id=rnd.pk, department_id=unit("001").pk,
                                  reply_date=dt.date(YEAR, 2, 20), unit_ids=[unit("001001").pk])
    assert [(r.unit.code, r.is_late) for r in done] == [("001001", False)]
    late = bs.unit_replies_record(actor=user("edu_clerk"), round_id=rnd.pk, department_id=unit("001").pk,
                                  reply_date=dt.date(YEAR, 3, 5))
    assert [(r.unit.code, r.is_late) for r in late] == [("001002", True)]
    todo.refresh_from_db()
    assert todo.status == "done"
    with pytest.raises(Conflict) as e:
        bs.unit_replies_record(actor=user("edu_clerk"), round_id=rnd.pk, department_id=unit("001").pk,
                               reply_date=dt.date(YEAR, 3, 6))
    assert e.value.code == "nothing_pending"


@pytest.mark.parametrize("action", ["close_first_up", "start_second_up", "consolidate", "approval", "reply"])
def test_wrong_stage_is_refused(rnd, user, action):
    budget = user("fin_budget")
    calls = {
        "close_first_up": lambda: bs.round_first_up_close(actor=budget, round_id=rnd.pk),
        "start_second_up": lambda: bs.round_second_up_start(actor=budget, round_id=rnd.pk),
        "consolidate": lambda: bs.round_consolidate(actor=budget, round_id=rnd.pk),
        "approval": lambda: bs.round_approval_record(actor=budget, round_id=rnd.pk, doc_no="X",
                                                     approval_date=dt.date(YEAR, 1, 1)),
        "reply": lambda: bs.round_reply(actor=budget, round_id=rnd.pk, doc_no="Y", title="t",
                                        doc_date=dt.date(YEAR, 1, 1)),
    }
    if action == "close_first_up":  # the only allowed move from 一上 — with nothing to accept it goes
        assert calls[action]().stage == "ceilings"
        return
    with pytest.raises(Conflict) as e:
        calls[action]()
    assert e.value.code == "wrong_stage"
    rnd.refresh_from_db()
    assert rnd.stage == "first_up"


def test_only_the_budget_division_moves_the_round(rnd, user):
    from ibms.core.errors import NotFound, PermissionDenied

    with pytest.raises(PermissionDenied):
        bs.round_first_up_close(actor=user("edu_clerk"), round_id=rnd.pk)
    with pytest.raises(PermissionDenied):
        bs.ceiling_set(actor=user("fin_sector"), round_id=rnd.pk, department_id=unit("001").pk,
                       fund_nature_code="1", amount=1)
    with pytest.raises(NotFound):  # the county's budget office does not see (let alone move) the province's round
        bs.round_first_up_close(actor=user("county_budget"), round_id=rnd.pk)


def test_department_submission_takes_pending_unit_submissions_and_closing_clears_todos(rnd, user, prepared):
    unit_sub = bs.submission_submit(actor=user("school_clerk"), round_id=rnd.pk, unit_id=unit("001001").pk)
    dept_sub = bs.submission_submit(actor=user("edu_clerk"), round_id=rnd.pk, unit_id=unit("001").pk)
    unit_sub.refresh_from_db()
    assert unit_sub.status == Submission.Status.ACCEPTED
    assert not TodoItem.objects.filter(doc_type="budget_unit_submission", object_id=str(unit_sub.pk),
                                       status="open").exists()
    bs.submission_accept(actor=user("fin_budget"), submission_id=dept_sub.pk)
    # the exam institute never submitted on its own: its to-do closes with the version
    exam_sub = Submission.objects.get(round=rnd, version=Version.FIRST_UP, unit=unit("001002"))
    assert TodoItem.objects.filter(doc_type="budget_prepare", object_id=str(exam_sub.pk), status="open").exists()
    bs.round_first_up_close(actor=user("fin_budget"), round_id=rnd.pk)
    first_up = Submission.objects.filter(round=rnd, version=Version.FIRST_UP).values_list("pk", flat=True)
    assert not TodoItem.objects.filter(object_id__in=[str(pk) for pk in first_up], status="open",
                                       doc_type__startswith="budget_").exists()
    assert TodoItem.objects.filter(doc_type="budget_round", object_id=str(rnd.pk), status="open",
                                   title__contains="下达控制数").exists()
