"""决算: figures equal hand-summed voucher lines, the tables' own checks, drill-down totals, the ties of `ibms verify`,
scope, the API, Excel and PDF — on the demo province's books (华夏省) with the school's paid payments on top."""

from __future__ import annotations

import io

import pytest
from django.db.models import Q, Sum
from django.urls import reverse

from ibms.accounting.models import AccountSet, VoucherLine
from ibms.closing.final import final_compute, final_compute_all, region_scopes, scope_resolve
from ibms.closing.final.layouts import layout_problems, tables
from ibms.closing.final.ties import final_problems, region_year_problems
from ibms.closing.final.views import drill_rows
from ibms.closing.models import YearStep
from ibms.core import clock
from ibms.iam.services import system_user
from ibms.masterdata.models import Unit
from tests.closing.final_builders import tamper
from tests.constants import PROVINCE
from tests.core.pdftext import pdf_text
from tests.treasury.builders import indicator, paid

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def spending(user):
    """Fiscal spending booked the only way it can be: payments against indicators, paid by the bank."""
    budget = user("fin_budget")
    goods = indicator(budget, 5_000_000)
    salaries = indicator(budget, 9_000_000, dep_eco_code="30101", gov_eco_code="50101")
    return [paid(user, goods, 123_400, "final-1"), paid(user, goods, 56_600, "final-2"),
            paid(user, salaries, 800_000, "final-3")]


@pytest.fixture
def year() -> int:
    return clock.fiscal_year()


@pytest.fixture
def school(year):
    unit = Unit.objects.get(region_code=PROVINCE, code="001001")
    return unit, AccountSet.objects.get(unit=unit, year=year)


def _flow(aset_ids, q: Q) -> int:
    r = (VoucherLine.objects.filter(q, account_set_id__in=aset_ids, voucher__status="posted", basis="budget")
         .exclude(voucher__source__in=["closing", "opening"]).aggregate(d=Sum("debit"), c=Sum("credit")))
    return (r["d"] or 0) - (r["c"] or 0)


def test_layouts_are_consistent():
    assert layout_problems() == []
    assert {"income_expense_summary", "revenue", "expenditure", "fiscal_summary", "general_expenditure",
            "general_basic", "project_expenditure", "fund_budget", "sangong", "carryover_balance",
            "region_summary", "gov_balance_sheet"} <= set(tables())


def test_unit_figures_equal_hand_summed_lines(school, year):
    unit, aset = school
    actor = system_user()
    scope = scope_resolve(actor=actor, year=year, token=f"unit-{unit.pk}")
    by = {t.definition.code: t for t in final_compute_all(actor=actor, scope=scope)}
    spent = _flow([aset.pk], Q(account_code__startswith="7"))
    fiscal = _flow([aset.pk], Q(account_code__startswith="7201.01") | Q(account_code__startswith="7101.01"))
    income = -_flow([aset.pk], Q(account_code__startswith="6"))
    assert spent > 0 and income > 0
    assert by["expenditure"].value(1) == spent
    assert by["revenue"].value(1) == income
    assert by["fiscal_summary"].value(4, 3) == fiscal
    assert by["income_expense_summary"].value(19) == spent
    assert by["income_expense_summary"].value(20) == income - spent
    personnel = _flow([aset.pk], Q(account_code__startswith="7201.01", fund_nature_code__startswith="11",
                                   project_code="") & (Q(dep_eco_code__startswith="301") | Q(dep_eco_code__startswith="303")))
    assert by["general_basic"].value(2) == personnel
    for t in by.values():
        assert t.problems == [], t.problems


def test_department_is_the_sum_of_its_units(year):
    actor = system_user()
    dept = Unit.objects.get(region_code=PROVINCE, code="001")
    scope = scope_resolve(actor=actor, year=year, token=f"dept-{dept.pk}")
    ids = list(AccountSet.objects.filter(year=year, kind="unit", unit__path__startswith=dept.path)
               .values_list("pk", flat=True))
    assert len(ids) >= 2
    t = final_compute(actor=actor, scope=scope, code="expenditure")
    assert t.value(1) == _flow(ids, Q(account_code__startswith="7"))


def test_every_figure_drills_down_to_rows_that_sum_to_it(school, year):
    unit, _ = school
    actor = system_user()
    scope = scope_resolve(actor=actor, year=year, token=f"unit-{unit.pk}")
    checked = 0
    for t in final_compute_all(actor=actor, scope=scope):
        cols = [c.no for c in t.definition.columns]
        for r in t.rows:
            for c, v in zip(cols, r.values, strict=True):
                if not v:
                    continue
                rows, total, count = drill_rows(actor, scope, t.definition.code, r.row_no, c, r.key or
                                                ("-" if r.key == "" else None))
                assert total == v == sum(x["amount"] for x in rows), (t.title, r.name, c)
                assert count == len(rows) > 0
                checked += 1
    assert checked > 10


def test_region_tables_and_government_report_data(year):
    actor = system_user()
    scope = scope_resolve(actor=actor, year=year, token=f"region-{PROVINCE}")
    by = {t.definition.code: t for t in final_compute_all(actor=actor, scope=scope)}
    fiscal = AccountSet.objects.get(region_code=PROVINCE, year=year, kind="fiscal")
    r = (VoucherLine.objects.filter(account_set=fiscal, voucher__status="posted", account_code__startswith="4")
         .exclude(voucher__source="closing").aggregate(c=Sum("credit"), d=Sum("debit")))
    assert by["region_summary"].value(10) == (r["c"] or 0) - (r["d"] or 0) > 0
    income = -_flow(list(scope.unit_set_ids), Q(account_code__startswith="6"))
    fin = VoucherLine.objects.filter(account_set_id__in=scope.unit_set_ids, voucher__status="posted",
                                     account_code__startswith="4", basis="financial").aggregate(c=Sum("credit"))
    assert by["gov_income_expense"].value(1) == fin["c"] > 0
    assert income > 0
    rows, total, _ = drill_rows(actor, scope, "gov_income_expense", 1, 1, None)
    assert total == by["gov_income_expense"].value(1)


def test_ties_hold_and_catch_a_line_changed_behind_the_books(school, year):
    problems, digests = region_year_problems(PROVINCE, year)
    assert problems == []
    YearStep.objects.create(region_code=PROVINCE, year=year, step="final_accounts", status="done",
                            result={"digests": digests})
    assert not [p for p in final_problems() if "changed" in p]
    unit, aset = school
    line = VoucherLine.objects.filter(account_set=aset, account_code__startswith="7201.01", debit__gt=0).first()
    tamper(line.pk, debit=line.debit + 100)
    found = final_problems()
    assert any("生成后数据已变动" in p and f"unit-{unit.pk}" in p for p in found), found


def test_runner_step_generates_every_scope_with_digests(year):
    scopes = region_scopes(PROVINCE, year)
    assert {s.kind for s in scopes} == {"unit", "dept", "region"}


def test_a_county_user_cannot_see_a_province_unit_table(client_as, school, year):
    unit, _ = school
    url = reverse("closing:final-table", args=[year, f"unit-{unit.pk}", "expenditure"])
    assert client_as("county_school_clerk").get(url).status_code == 404
    assert client_as("county_treasury").get(url).status_code == 404
    api = f"/api/v1/closing/final/{year}/unit-{unit.pk}/expenditure"
    assert client_as("county_treasury").get(api).status_code == 404
    assert client_as("school_clerk").get(url).status_code == 200
    other = Unit.objects.get(region_code=PROVINCE, code="002001")
    assert client_as("school_clerk").get(
        reverse("closing:final-table", args=[year, f"unit-{other.pk}", "expenditure"])).status_code == 404


def test_region_tables_need_the_year_end_permission(client_as, year):
    url = reverse("closing:final-table", args=[year, f"region-{PROVINCE}", "region_summary"])
    assert client_as("school_clerk").get(url).status_code == 403
    assert client_as("fin_budget").get(url).status_code == 200
    assert client_as("county_treasury").get(url).status_code == 404


def test_pages_api_excel_and_pdf_show_the_figures(client_as, school, year):
    from openpyxl import load_workbook

    unit, aset = school
    spent = _flow([aset.pk], Q(account_code__startswith="7"))
    c = client_as("school_clerk")
    url = reverse("closing:final-table", args=[year, f"unit-{unit.pk}", "expenditure"])
    page = c.get(url).content.decode()
    yuan = f"{spent // 100:,}.{spent % 100:02d}"
    assert yuan in page and "drill/?row=1&amp;col=1" in page
    drill = c.get(reverse("closing:final-drill", args=[year, f"unit-{unit.pk}", "expenditure"]) + "?row=1&col=1")
    assert drill.status_code == 200 and yuan in drill.content.decode()
    body = c.get(f"/api/v1/closing/final/{year}/unit-{unit.pk}/expenditure").json()
    assert body["rows"][0]["values"][0] == f"{spent // 100}.{spent % 100:02d}"
    link = body["rows"][0]["drill"][0]
    api_drill = c.get(f"/api/v1/closing/final/{year}/unit-{unit.pk}/expenditure/drill?row=1&col=1").json()
    assert link and api_drill["total"] == body["rows"][0]["values"][0]
    wb = load_workbook(io.BytesIO(c.get(url + "?format=xlsx").content))
    cells = [v for row in wb.active.iter_rows(values_only=True) for v in row if v is not None]
    assert any(str(v) == f"{spent // 100}.{spent % 100:02d}" or v == spent / 100 for v in cells), cells
    pdf = c.get(url + "?format=pdf").content
    text = pdf_text(pdf).replace(" ", "")
    assert yuan in text and "支出决算表" in text
    assert c.get(reverse("closing:final-index") + f"?year={year}").status_code == 200


def test_fiscal_spending_drills_to_the_indicator_ledger_too(client_as, school, year):
    from ibms.closing.final.compute import indicator_drill

    unit, _ = school
    actor = system_user()
    scope = scope_resolve(actor=actor, year=year, token=f"unit-{unit.pk}")
    assert indicator_drill(actor=actor, scope=scope, code="revenue", row_no=1, col_no=1, key=None) is None
    entries, total = indicator_drill(actor=actor, scope=scope, code="fiscal_summary", row_no=1, col_no=3, key=None)
    assert total == sum(a for a, _ in entries) == 980_000 == final_compute(
        actor=actor, scope=scope, code="fiscal_summary").value(1, 3)
    url = reverse("closing:final-drill", args=[year, f"unit-{unit.pk}", "fiscal_summary"]) + "?row=1&col=3"
    page = client_as("school_clerk").get(url)
    text = page.content.decode()
    assert page.status_code == 200 and "指标账（财政拨款已支付）" in text and "与账簿不一致" not in text
    # a spending line changed behind the books: the page says the two differ
    line = VoucherLine.objects.filter(account_set__unit=unit, account_code__startswith="7201.01", debit__gt=0).first()
    tamper(line.pk, debit=line.debit + 100)
    assert "与账簿不一致" in client_as("school_clerk").get(url).content.decode()
