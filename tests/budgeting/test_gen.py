"""`ibms gen`'s budgeting stage: a replied round per generated region, reply lines from the budgetable library
projects (amount = the year plan), balanced revenue, replies with deadlines, and the specs for the indicators
stage."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from ibms.budgeting.models import BudgetLine, BudgetRound, Reply
from ibms.core import audit
from ibms.demo.generator import STAGES, generate
from ibms.masterdata.selectors import is_sangong, sangong_eco_codes
from ibms.projects.models import Project

PP = "98"
pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx():
    upto = [s.name for s in STAGES].index("budgeting")
    return generate("small", 7, prefix=PP, progress=False, stages=STAGES[:upto + 1])


def test_every_region_gets_a_replied_round_from_its_library(ctx):
    rounds = BudgetRound.objects.filter(region_code__startswith=PP)
    assert rounds.count() == 7 and set(rounds.values_list("stage", flat=True)) == {"replied"}
    assert all(r.approval_date < r.reply_date for r in rounds)
    lines = BudgetLine.objects.filter(region_code__startswith=PP, version="reply")
    spend = lines.filter(direction="expenditure")
    budgetable = Project.objects.filter(ctx.data["projects"]["budgetable"], year_plans__year=ctx.year,
                                        year_plans__amount__gt=0)
    assert spend.count() == budgetable.count() > 0
    assert spend.aggregate(s=Sum("amount"))["s"] == budgetable.aggregate(s=Sum("year_plans__amount"))["s"]
    assert spend.filter(project__isnull=True).count() == 0
    assert not spend.filter(gov_eco_code="", unit__unit_type__in=["organ", "institution"]).exists()
    for r in rounds:  # revenue balances expenditure in each region
        mine = lines.filter(round=r)
        assert (mine.filter(direction="revenue").aggregate(s=Sum("amount"))["s"]
                == mine.filter(direction="expenditure").aggregate(s=Sum("amount"))["s"])
    assert set(spend.values_list("exp_kind", flat=True)) == {"basic", "project"}
    codes = sangong_eco_codes(fiscal_year=ctx.year)  # 三公 as the services derive it
    assert all(ln.is_sangong == is_sangong(ln.dep_eco_code, fiscal_year=ctx.year, codes=codes)
               for ln in spend.only("dep_eco_code", "is_sangong"))
    assert Reply.objects.filter(region_code__startswith=PP, level="department").count() > 0
    # every generated row was written with its audit entry
    assert [p for p in audit.verify_rows() if p.startswith("budgeting_")] == []


def test_reply_specs_for_the_indicators_stage(ctx):
    specs = ctx.data["reply"]
    lines = BudgetLine.objects.filter(region_code__startswith=PP, version="reply", direction="expenditure")
    assert len(specs) == lines.count()
    items = list(specs)
    assert sum(s["amount"] for s in items) == lines.aggregate(s=Sum("amount"))["s"]
    first = specs[0]
    assert first == items[0] and specs[0:2] == items[0:2]
    assert {"region_code", "year", "unit_id", "department_id", "project_id", "fund_nature_code", "exp_func_code",
            "gov_eco_code", "dep_eco_code", "amount", "is_executable", "doc_no", "doc_title", "doc_date"} <= set(first)
    rounds = {r.region_code: r for r in BudgetRound.objects.filter(region_code__startswith=PP)}
    assert all(s["doc_no"] == rounds[s["region_code"]].reply_doc_no for s in items)
    transfers = [s for s in items if s["rec_region_code"]]
    assert all(not s["is_executable"] and s["rec_region_code"].startswith(PP) for s in transfers)
