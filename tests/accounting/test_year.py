"""A year of a small administrative unit (行政单位) run through the posting engine, then its statements
checked line by line against figures derived by hand from the events below (yuan):

- Jan: authorized quota 600,000 received (零余额账户用款额度).
- Every month: salaries accrued 120,000 (gross 100,000 + employer contributions 20,000, 业务活动费用);
  withheld tax 3,000 and personal social insurance 12,000; net 85,000 paid by direct payment; the
  withholdings and employer contributions (35,000) remitted by direct payment in months 1–11 — December's
  stay payable at year end.
- Feb: repairs 80,000 paid directly (业务活动费用). Mar: office supplies 45,000 paid from the zero-balance
  account (单位管理费用); Apr: 5,000 of it refunded to that account.
- Jun: a fixed asset 36,000 bought by direct payment (project P-ASSET); depreciated 1,000 a month Jul–Dec.
- Dec 31: direct-payment indicator unspent 79,000 (财政应返还额度), quota balance 560,000 cancelled, authorized
  indicator 50,000 never issued as quota; closing entries in both bases; every period closed.

Totals: 财政拨款收入 = 600,000 + 85,000×12 + 35,000×11 + 80,000 + 36,000 + 79,000 + 50,000 = 2,250,000;
业务活动费用 = 120,000×12 + 80,000 + 6,000 = 1,526,000; 单位管理费用 = 40,000; 本年盈余 = 684,000;
行政支出 = 85,000×12 + 35,000×11 + 80,000 + 40,000 + 36,000 = 1,561,000; 预算结余 = 689,000.
"""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import transaction

from ibms.accounting import books, statements
from ibms.accounting import services as acc
from ibms.accounting.books import PeriodRange
from ibms.accounting.closing import year_end_close
from ibms.accounting.models import AccountSet, Period
from ibms.core import clock
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

from .builders import Y, run_first_half, year_poster, year_salaries


@pytest.fixture
def aset(db) -> AccountSet:
    """农业农村厅: an organ (7101 行政支出); fresh books for next year (the demo books use this year)."""
    unit = Unit.objects.get(region_code=PROVINCE, code="004")
    year = clock.fiscal_year() + 1
    with transaction.atomic():
        acc.books_ensure(year=year, units=[unit])
    s = AccountSet.objects.get(unit=unit, year=year)
    assert s.unit_type == "organ" and not s.vouchers.exists()
    return s


def run_year(aset, actor) -> None:
    post = year_poster(aset)
    run_first_half(aset)
    for m in range(7, 13):
        year_salaries(post, m)
        post(f"depr-{m}", "asset.depreciated", m, 28, 1_000, {"project": "P-ASSET"})
    # year-end entries (DOMAIN §20.3(e) 1–3)
    post("ye-direct", "year_end.direct_unspent", 12, 31, 79_000)
    post("ye-cancel", "year_end.quota_cancelled", 12, 31, 560_000)
    post("ye-unissued", "year_end.quota_unissued", 12, 31, 50_000)
    # closing entries in both bases, computed from the balances (per project, so 8101 keeps it)
    year_end_close(actor=actor, account_set_id=aset.pk)
    for p in Period.objects.filter(account_set=aset).order_by("number"):
        acc.period_close(actor=actor, pk=p.pk)


@pytest.fixture
def closed_year(aset, user):
    run_year(aset, user("fin_accounting"))
    return aset


def _lines(st: statements.Statement, column: int = 0) -> dict[int, int]:
    """line → value in yuan (None for headings left out)."""
    out = {}
    for r in st.rows:
        v = r.values[column]
        if v is not None:
            assert v % Y == 0, (r.name, v)
            out[r.number] = v // Y
    return out


def _nonzero(values: dict) -> dict:
    return {k: v for k, v in values.items() if v}


def stmt(aset, actor, code, start=1, end=12):
    st = statements.statement_compute(actor=actor, account_set=aset, code=code, period=PeriodRange(start, end))
    assert st.problems == []
    return st


def test_balance_sheet_at_year_end(closed_year, user):
    st = stmt(closed_year, user("fin_accounting"), "balance_sheet")
    assert _nonzero(_lines(st, 0)) == {
        4: 689_000,  # 财政应返还额度 = 79,000 + 560,000 + 50,000
        13: 689_000,  # 流动资产合计
        17: 36_000, 18: 6_000, 19: 30_000,  # 固定资产原值、累计折旧、净值
        36: 30_000,  # 非流动资产合计
        38: 719_000,  # 资产总计
        42: 3_000,  # 其他应交税费: December's tax withheld
        44: 20_000,  # 应付职工薪酬: December's employer contributions
        50: 12_000,  # 其他应付款: December's personal social insurance
        52: 35_000, 59: 35_000,  # 流动负债合计、负债合计
        61: 684_000,  # 累计盈余 (after closing; 本期盈余 line 65 is 0)
        66: 684_000, 67: 719_000,
    }
    assert _nonzero(_lines(st, 1)) == {}  # 年初余额: a new unit's first year


def test_income_expense_statement(closed_year, user):
    st = stmt(closed_year, user("fin_accounting"), "income_expense")
    expected = {1: 2_250_000, 2: 2_250_000, 13: 1_566_000, 14: 1_526_000, 15: 40_000, 23: 684_000}
    assert _nonzero(_lines(st, 0)) == expected  # closing vouchers are not revenue or expense of the period
    assert _nonzero(_lines(st, 1)) == expected
    december = stmt(closed_year, user("fin_accounting"), "income_expense", 12, 12)
    # December: net salary 85,000 + year-end 79,000 + 50,000; expense: salaries 120,000 + depreciation 1,000
    assert _nonzero(_lines(december, 0)) == {1: 214_000, 2: 214_000, 13: 121_000, 14: 121_000, 23: 93_000}
    assert _nonzero(_lines(december, 1)) == expected


def test_budget_revenue_expenditure_statement(closed_year, user):
    st = stmt(closed_year, user("fin_accounting"), "budget_revenue_expenditure")
    assert _nonzero(_lines(st, 1)) == {1: 2_250_000, 2: 2_250_000, 11: 1_561_000, 12: 1_561_000, 20: 689_000}


def test_budget_carryover_statement(closed_year, user):
    st = stmt(closed_year, user("fin_accounting"), "budget_carryover")
    assert _nonzero(_lines(st)) == {
        7: 689_000, 8: 689_000, 9: 689_000,  # 本年变动：财政拨款本年收支差额
        17: 689_000, 18: 689_000, 19: 689_000,  # 年末：财政拨款结转
    }


def test_fiscal_appropriation_statement(closed_year, user):
    st = stmt(closed_year, user("fin_accounting"), "fiscal_appropriation")
    rows = {r.number: (r.name, [None if v is None else v // Y for v in r.values]) for r in st.rows}
    # columns: 年初结转, 年初结余, 调整, 归集调入, 归集上缴或调出, 内部调剂结转, 内部调剂结余, 收入, 支出, 年末结转, 年末结余
    assert rows[1] == ("一、一般公共预算财政拨款", [0, 0, 0, 0, 0, 0, 0, 2_250_000, 1_561_000, 689_000, 0])
    assert rows[2] == ("（一）基本支出", [0, 0, 0, 0, 0, 0, 0, 2_214_000, 1_525_000, 689_000, 0])
    blank = [None] * 8
    assert rows[3] == ("1.人员经费", [*blank, 85_000 * 12 + 35_000 * 11, None, None])
    assert rows[4] == ("2.日常公用经费", [*blank, 80_000 + 40_000, None, None])
    assert rows[5] == ("（二）项目支出", [0, 0, 0, 0, 0, 0, 0, 36_000, 36_000, 0, 0])
    assert rows["5.1"] == ("1.项目 P-ASSET", rows[5][1])
    assert rows[6] == ("二、政府性基金预算财政拨款", [0] * 11)
    assert rows[14] == ("总计", rows[1][1])


def test_surplus_reconciles_with_budget_balance(closed_year, user):
    st = stmt(closed_year, user("fin_accounting"), "surplus_reconciliation")
    assert _nonzero(_lines(st)) == {
        1: 689_000,  # 本年预算结余
        3: -5_000,  # 重要事项的差异 = 1,441,000 − 1,446,000
        4: 1_441_000, 7: 1_441_000,
        8: 85_000 * 12 + (3_000 + 12_000 + 20_000) * 11,  # 支付应付款项: net salaries and remittances
        10: 36_000,  # 资本性支出: the fixed asset
        12: 1_446_000, 16: 1_446_000,
        18: 6_000,  # 计提折旧
        20: 120_000 * 12,  # 应付款项确认的费用: salaries accrued
        22: 684_000,  # = 689,000 − 5,000
        23: 684_000,  # 本年盈余 by the income statement
    }
    assert _lines(st)[21] == 0  # 其他事项差异: nothing unexplained


def test_books_after_the_year(closed_year, user):
    actor = user("fin_accounting")
    tb = books.trial_balance(actor=actor, account_set=closed_year, period=PeriodRange(1, 12))
    assert tb.balanced, tb.problems
    closing = {r.code: r.closing // Y for rows in tb.rows.values() for r in rows if r.closing}
    assert closing == {
        "1201": 689_000, "1201.01": 79_000, "1201.02": 610_000, "1601": 36_000, "1602": -6_000,
        "2102": -3_000, "2201": -20_000, "2307": -12_000, "3001": -684_000,
        "8001": 689_000, "8001.03": 689_000, "8101": -689_000, "8101.07": -689_000,
    }
    gl = books.general_ledger(actor=actor, account_set=closed_year, code="2201", period=PeriodRange(1, 12))
    assert all(m.balance == 0 for m in gl.months[:11]) and gl.closing == -20_000 * Y
    assert gl.months[11].ytd_credit == 120_000 * 12 * Y
    pl = books.project_ledger(actor=actor, account_set=closed_year, period=PeriodRange(1, 12))
    assert pl.totals("P-ASSET") == (36_000 * Y, 36_000 * Y)


def test_any_period_before_closing(aset, user):
    """Mid-year (Jan–Jun, nothing closed): the balance sheet balances with 本期盈余 = revenue − expense."""
    run_first_half(aset)
    actor = user("fin_accounting")
    bs = stmt(aset, actor, "balance_sheet", 1, 6)
    assert _nonzero(_lines(bs)) == {2: 560_000, 13: 560_000, 17: 36_000, 19: 36_000, 36: 36_000, 38: 596_000,
                                    65: 596_000, 66: 596_000, 67: 596_000}
    ie = stmt(aset, actor, "income_expense", 6, 6)
    assert _nonzero(_lines(ie, 0)) == {1: 156_000, 2: 156_000, 13: 120_000, 14: 120_000, 23: 36_000}
    assert _nonzero(_lines(ie, 1)) == {1: 1_436_000, 2: 1_436_000, 13: 840_000, 14: 800_000, 15: 40_000, 23: 596_000}
    rec = stmt(aset, actor, "surplus_reconciliation", 1, 6)
    values = _lines(rec)
    assert (values[1], values[8], values[10], values[20], values[21], values[22]) == (
        560_000, 720_000, 36_000, 720_000, 0, 596_000)
    carry = stmt(aset, actor, "budget_carryover", 1, 6)
    assert _lines(carry)[19] == 560_000  # 年末财政拨款结转 as if closed now


def test_statement_pages_and_exports(closed_year, client_as):
    c = client_as("fin_accounting")
    base = f"/accounting/reports/statements/balance_sheet/?set={closed_year.pk}&start=1&end=12"
    page = c.get(base)
    assert page.status_code == 200 and "资产负债表" in page.content.decode() and "719,000.00" in page.content.decode()
    xlsx = c.get(base + "&format=xlsx")
    assert xlsx.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    cells = {row[0]: row[2] for row in ws.iter_rows(min_row=4, values_only=True) if row[0]}
    assert cells["资产总计"] == Decimal("719000") and cells["负债和净资产总计"] == Decimal("719000")
    assert cells["　累计盈余"] == Decimal("684000")
    pdf = c.get(base + "&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    everything = c.get(f"/accounting/reports/statements/?set={closed_year.pk}&start=1&end=12&format=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(everything.content))
    assert len(wb.sheetnames) == len(statements.definitions())


def test_definitions_cover_the_chart():
    """Every financial balance-sheet account (classes 1–3) is on the balance sheet, so it always balances;
    every account a definition names exists in the unit chart."""
    codes = statements.unit_chart_codes()
    assert statements.definition_problems(codes) == []
    bs = statements.statement_definition_get("balance_sheet")
    named = {t.ref for ln in bs.lines for t in ln.terms if not t.is_line}
    top = {c for c in codes if "." not in c and c[0] in "123"}
    assert top - named == set()
