"""Books: general ledger, detail ledger, project ledger, trial balance — from posted vouchers only."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import transaction

from ibms.accounting import books, selectors
from ibms.accounting import services as acc
from ibms.accounting.books import PeriodRange
from ibms.accounting.models import AccountSet
from ibms.accounting.posting import LineSpec
from ibms.core import clock
from ibms.core.errors import NotFound, ValidationFailed
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

FUND = {"fund_nature": "111", "exp_func": "2130101"}


def fresh_books(unit_code: str = "004") -> AccountSet:
    """Next year's (empty) books of a provincial unit — 004 农业农村厅 is an organ (行政单位)."""
    unit = Unit.objects.get(region_code=PROVINCE, code=unit_code)
    year = clock.fiscal_year() + 1
    with transaction.atomic():
        acc.books_ensure(year=year, units=[unit])
    s = AccountSet.objects.get(unit=unit, year=year)
    assert not s.vouchers.exists()
    return s


@pytest.fixture
def aset(db) -> AccountSet:
    return fresh_books()


def post(aset, event_id, event_type, month, day, amount, dims=None, attrs=None, amounts=None):
    return acc.event_post(event_id=event_id, event_type=event_type, date=dt.date(aset.year, month, day),
                          amounts=amounts or {"amount": amount}, dimensions={**FUND, **(dims or {})},
                          attrs=attrs or {}, account_set=aset)


@pytest.fixture
def booked(aset, user):
    """Jan: quota 500,000.00 (authorized), pay 12,000.00 from it (P-A); Feb: direct payment 30,000.00 (P-B);
    Mar: refund 2,000.00 to the zero-balance account (P-A); Apr: a payment 5,000.00 reversed in May."""
    post(aset, "q1", "quota.received", 1, 5, 50_000_000, {"project": "P-A"}, {"pay_method": "authorized"})
    post(aset, "p1", "payment.receipted", 1, 20, 1_200_000, {"project": "P-A", "dep_eco": "30201", "payee": "甲公司"},
         {"pay_method": "authorized"})
    post(aset, "p2", "payment.receipted", 2, 10, 3_000_000, {"project": "P-B", "dep_eco": "30213", "payee": "乙公司"},
         {"pay_method": "direct"})
    post(aset, "r1", "payment.refunded", 3, 3, 200_000, {"project": "P-A", "dep_eco": "30201", "payee": "甲公司"},
         {"pay_method": "authorized"})
    wrong = post(aset, "p3", "payment.receipted", 4, 8, 500_000, {"project": "P-A", "dep_eco": "30201"},
                 {"pay_method": "authorized"})
    acc.voucher_reverse(actor=user("fin_accounting"), pk=wrong.pk, date=dt.date(aset.year, 5, 6), reason="重复支付")
    return aset


def test_trial_balance_balances_per_basis_and_matches_hand_figures(booked, user):
    tb = books.trial_balance(actor=user("fin_accounting"), account_set=booked, period=PeriodRange(1, 12))
    assert tb.balanced, tb.problems
    fin, bud = tb.totals["financial"], tb.totals["budget"]
    # financial: quota 500,000 + pay 12,000 + direct 30,000 + refund 2,000 + 5,000 − 5,000 (reversal)
    assert fin.debit == fin.credit == 50_000_000 + 1_200_000 + 3_000_000 + 200_000
    assert bud.debit == bud.credit == 50_000_000 + 1_200_000 + 3_000_000 + 200_000
    rows = {r.code: r for rows in tb.rows.values() for r in rows}
    assert rows["1011"].closing == 50_000_000 - 1_200_000 + 200_000
    assert rows["4001"].closing == -(50_000_000 + 3_000_000)  # credit balance
    assert rows["4001.01"].closing == rows["4001"].closing  # parent = sum of sub-accounts
    assert rows["5001"].closing == 1_200_000 + 3_000_000 - 200_000
    assert rows["7101.01"].closing == rows["5001"].closing
    assert fin.closing_debit == fin.closing_credit == 50_000_000 - 1_200_000 + 200_000 + 1_200_000 + 3_000_000 - 200_000
    for r in rows.values():
        assert r.closing == r.opening + r.debit - r.credit


def test_trial_balance_of_a_later_range_opens_with_earlier_movements(booked, user):
    tb = books.trial_balance(actor=user("fin_accounting"), account_set=booked, period=PeriodRange(2, 3))
    rows = {r.code: r for rows in tb.rows.values() for r in rows}
    assert rows["1011"].opening == 50_000_000 - 1_200_000
    assert (rows["1011"].debit, rows["1011"].credit) == (200_000, 0)
    assert rows["4001"].opening == -50_000_000 and rows["4001"].credit == 3_000_000
    assert tb.totals["financial"].opening_debit == tb.totals["financial"].opening_credit == 50_000_000
    assert tb.balanced


def test_general_ledger_closing_is_opening_plus_debits_minus_credits(booked, user):
    gl = books.general_ledger(actor=user("fin_accounting"), account_set=booked, code="1011", period=PeriodRange(1, 6))
    assert gl.opening == 0
    by_month = {m.period_no: m for m in gl.months}
    assert (by_month[1].debit, by_month[1].credit, by_month[1].balance) == (50_000_000, 1_200_000, 48_800_000)
    assert (by_month[2].debit, by_month[2].credit) == (0, 0)
    assert by_month[3].debit == 200_000
    # April pays 5,000 from the zero-balance account, May's reversal puts it back (a red credit)
    assert (by_month[4].debit, by_month[4].credit) == (0, 500_000)
    assert (by_month[5].debit, by_month[5].credit) == (0, -500_000)
    assert by_month[5].ytd_credit == 1_200_000
    balance = gl.opening
    for m in gl.months:
        balance += m.debit - m.credit
        assert m.balance == balance
    assert gl.closing == gl.opening + gl.debit - gl.credit == 49_000_000
    later = books.general_ledger(actor=user("fin_accounting"), account_set=booked, code="1011", period=PeriodRange(3, 4))
    assert later.opening == 48_800_000 and later.closing == 48_800_000 + 200_000 - 500_000
    assert [m.period_no for m in later.months] == [3, 4]


def test_detail_ledger_running_balance_over_every_posted_line(booked, user):
    dl = books.detail_ledger(actor=user("fin_accounting"), account_set=booked, code="7101", period=PeriodRange(1, 12))
    assert [(e.debit, e.credit) for e in dl.entries] == [(1_200_000, 0), (3_000_000, 0), (0, 200_000), (500_000, 0),
                                                         (-500_000, 0)]
    assert [e.balance for e in dl.entries] == [1_200_000, 4_200_000, 4_000_000, 4_500_000, 4_000_000]
    assert dl.closing == 4_000_000 and dl.entries[0].dims["project_code"] == "P-A"
    assert all(e.account_code == "7101.01" for e in dl.entries)
    assert dl.month_totals[3] == (0, 200_000) and dl.ytd_totals[12] == (4_200_000, 200_000)
    part = books.detail_ledger(actor=user("fin_accounting"), account_set=booked, code="7101", period=PeriodRange(2, 3),
                               dims={"project_code": "P-A"})
    assert part.opening == 1_200_000 and [e.balance for e in part.entries] == [1_000_000]


def test_project_ledger_splits_budget_revenue_and_expenditure_by_project(booked, user):
    pl = books.project_ledger(actor=user("fin_accounting"), account_set=booked, period=PeriodRange(1, 12),
                              project_code="P-A")
    assert pl.projects == ["P-A", "P-B"]
    assert pl.totals("P-A") == (50_000_000, 1_200_000 - 200_000)  # the April payment and its reversal cancel
    assert pl.totals("P-B") == (3_000_000, 3_000_000)
    # revenue lines carry no economic class (the rules copy it to expenditure only): two rows for P-B
    p_b = sorted((r.dep_eco_code, r.revenue, r.expenditure) for r in pl.rows if r.project_code == "P-B")
    assert p_b == [("", 3_000_000, 0), ("30213", 0, 3_000_000)]
    assert [e.balance for e in pl.entries if e.account_code.startswith("7")] == [1_200_000, 1_000_000, 1_500_000,
                                                                                1_000_000]


def test_unposted_vouchers_do_not_count(booked, user):
    clerk = user("fin_accounting")
    acc.voucher_create(actor=clerk, account_set_id=booked.pk, date=dt.date(booked.year, 2, 1), summary="未审核",
                       lines=[LineSpec(basis="financial", account_code="5001", debit=70_000),
                              LineSpec(basis="financial", account_code="1011", credit=70_000)])
    tb = books.trial_balance(actor=clerk, account_set=booked, period=PeriodRange(1, 12))
    rows = {r.code: r for rows in tb.rows.values() for r in rows}
    assert rows["5001"].closing == 4_000_000 and rows["1011"].closing == 49_000_000


def test_bad_period_range_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        PeriodRange.of(5, 3)
    assert exc.value.violations[0].code == "period_order"
    with pytest.raises(ValidationFailed):
        PeriodRange.of(0, 13)


def test_other_units_books_are_not_found(booked, user):
    with pytest.raises(NotFound):
        selectors.account_set_get(actor=user("school_clerk"), pk=booked.pk)
    assert booked not in selectors.account_set_list(actor=user("school_clerk"), newest_first=True)
    assert booked in selectors.account_set_list(actor=user("fin_accounting"), newest_first=True)


# --- pages and exports -------------------------------------------------------------------------------

def _sheet_rows(content: bytes, sheet: int = 0) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return list(wb.worksheets[sheet].iter_rows(min_row=4, values_only=True))


def test_trial_balance_page_and_excel_show_the_same_numbers(booked, client_as):
    c = client_as("fin_accounting")
    url = f"/accounting/reports/trial-balance/?set={booked.pk}&start=1&end=12"
    page = c.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "科目余额表（财务会计）" in html and "借贷平衡" in html
    assert "490,000.00" in html  # 1011 closing
    rows = _sheet_rows(c.get(url + "&format=xlsx").content)
    by_code = {r[0]: r for r in rows if r[0]}
    # 科目编码, 名称, 期初借, 期初贷, 本期借, 本期贷, 期末借, 期末贷
    # 1011: quota 500,000 + refund 2,000; paid 12,000 + 5,000 and the reversal's red −5,000
    assert by_code["1011"][4:8] == (Decimal("502000"), Decimal("12000"), Decimal("490000"), 0)
    assert by_code["4001"][4:8] == (0, Decimal("530000"), 0, Decimal("530000"))
    total = next(r for r in rows if r[1] == "合计")
    assert total[4] == total[5] == Decimal("544000") and total[6] == total[7]
    budget = _sheet_rows(c.get(url + "&format=xlsx").content, 1)
    assert next(r for r in budget if r[0] == "7101.01")[6] == Decimal("40000")
    pdf = c.get(url + "&format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_ledger_pages(booked, client_as):
    c = client_as("fin_accounting")
    q = f"?set={booked.pk}&start=1&end=6"
    gl = c.get(f"/accounting/reports/general-ledger/{q}&account=1011&format=xlsx")
    rows = _sheet_rows(gl.content)
    assert rows[0][1] == "上年结转" and rows[1][1:] == ("本月合计", Decimal("500000"), Decimal("12000"), "借",
                                                      Decimal("488000"))
    assert rows[-1][1:] == ("本年累计", Decimal("502000"), Decimal("12000"), "借", Decimal("490000"))
    page = c.get(f"/accounting/reports/detail-ledger/{q}&account=7101&project=P-A")
    html = page.content.decode()
    assert page.status_code == 200 and "明细账：7101 行政支出" in html and "甲公司" in html and "乙公司" not in html
    dl = _sheet_rows(c.get(f"/accounting/reports/detail-ledger/{q}&account=7101&format=xlsx").content)
    entries = [r for r in dl if r[2]]
    assert [r[9] for r in entries] == [Decimal("12000"), Decimal("42000"), Decimal("40000"), Decimal("45000"),
                                       Decimal("40000")]
    pl = c.get(f"/accounting/reports/project-ledger/{q}&project=P-B")
    assert pl.status_code == 200 and "项目明细账：P-B" in pl.content.decode()
    assert c.get(f"/accounting/reports/{q}").status_code == 200
    assert c.get(f"/accounting/reports/general-ledger/{q}&format=pdf").content.startswith(b"%PDF")


def test_report_pages_of_another_units_books_are_404(booked, client_as):
    c = client_as("school_clerk")
    for page in ("trial-balance/", "general-ledger/", "detail-ledger/", "project-ledger/",
                 "statements/balance_sheet/"):
        assert c.get(f"/accounting/reports/{page}?set={booked.pk}").status_code == 404, page
    own = c.get("/accounting/reports/trial-balance/")  # defaults to the school's own books
    assert own.status_code == 200 and "第一实验中学" in own.content.decode()


def test_bad_period_on_a_page_is_refused(booked, client_as):
    r = client_as("fin_accounting").get(f"/accounting/reports/trial-balance/?set={booked.pk}&start=7&end=3")
    assert r.status_code == 422 and "起始期间不能晚于截止期间" in r.content.decode()
