"""Year-end closing computed from the books (`closing.year_end_close`), on the small year of test_year.py
without its hand-driven closing entries. Figures by hand (yuan), see test_year.py's docstring:
收入 2,250,000 − 费用 (1,526,000 + 40,000) = 本年盈余 684,000 → 3001;
财政拨款预算收入 2,250,000 − 行政支出 1,561,000 = 689,000 → 8101.07 (P-ASSET: 36,000 − 36,000 = 0)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ibms.accounting import books, statements
from ibms.accounting import services as acc
from ibms.accounting.books import PeriodRange
from ibms.accounting.closing import year_end_close
from ibms.accounting.models import AccountSet, Period, Voucher, VoucherLine
from ibms.accounting.posting import LineSpec
from ibms.core import clock
from ibms.core.errors import DomainError
from ibms.masterdata.models import Region, Unit
from tests.constants import PROVINCE

from .builders import Y, run_first_half, year_poster, year_salaries

REVENUE = 600_000 + 85_000 * 12 + 35_000 * 11 + 80_000 + 36_000 + 79_000 + 50_000
EXPENSE = 120_000 * 12 + 80_000 + 6_000 + 40_000
BUDGET_REVENUE = REVENUE
BUDGET_EXPENDITURE = 85_000 * 12 + 35_000 * 11 + 80_000 + 40_000 + 36_000


@pytest.fixture
def aset(db) -> AccountSet:
    unit = Unit.objects.get(region_code=PROVINCE, code="004")
    year = clock.fiscal_year() + 1
    with transaction.atomic():
        acc.books_ensure(year=year, units=[unit])
    return AccountSet.objects.get(unit=unit, year=year)


@pytest.fixture
def actor(user):
    return user("fin_accounting")


def run_year_unclosed(aset) -> None:
    post = year_poster(aset)
    run_first_half(aset)
    for m in range(7, 13):
        year_salaries(post, m)
        post(f"depr-{m}", "asset.depreciated", m, 28, 1_000, {"project": "P-ASSET"})
    post("ye-direct", "year_end.direct_unspent", 12, 31, 79_000)
    post("ye-cancel", "year_end.quota_cancelled", 12, 31, 560_000)
    post("ye-unissued", "year_end.quota_unissued", 12, 31, 50_000)


def balances(aset) -> dict[str, int]:
    """top-level account → debit − credit (fen) over all posted vouchers."""
    out: dict[str, int] = {}
    for ln in VoucherLine.objects.filter(voucher__account_set=aset, voucher__status=Voucher.Status.POSTED):
        top = ln.account_code.split(".")[0]
        out[top] = out.get(top, 0) + ln.debit - ln.credit
    return out


def test_close_moves_everything_into_surplus_and_carry_over(aset, actor):
    run_year_unclosed(aset)
    before = balances(aset)
    assert before["4001"] == -REVENUE * Y and before["7101"] == BUDGET_EXPENDITURE * Y
    vouchers = year_end_close(actor=actor, account_set_id=aset.pk)
    assert vouchers and all(v.source == Voucher.Source.CLOSING and v.date == dt.date(aset.year, 12, 31)
                            and v.event_id.startswith(f"closing:{aset.pk}:") for v in vouchers)
    after = balances(aset)
    assert {c: v for c, v in after.items() if c[0] in "4567" and v} == {}
    assert after["3001"] - before.get("3001", 0) == -(REVENUE - EXPENSE) * Y
    assert after.get("3301", 0) == 0 and after.get("3302", 0) == 0
    assert after["8101"] == -(BUDGET_REVENUE - BUDGET_EXPENDITURE) * Y
    by_leaf: dict[tuple[str, str], int] = {}
    for ln in VoucherLine.objects.filter(voucher__account_set=aset, account_code__startswith="8101"):
        by_leaf[(ln.account_code, ln.project_code)] = by_leaf.get((ln.account_code, ln.project_code), 0) \
            + ln.debit - ln.credit
    assert {k: v for k, v in by_leaf.items() if v} == {("8101.07", ""): -689_000 * Y}
    # nothing else moved: assets, liabilities and 8001 as before
    assert {c: v for c, v in after.items() if c[0] in "12" or c == "8001"} == \
        {c: v for c, v in before.items() if c[0] in "12" or c == "8001"}


def test_fund_detail_kept_per_project(aset, actor):
    run_year_unclosed(aset)
    year_end_close(actor=actor, account_set_id=aset.pk)
    pl = books.project_ledger(actor=actor, account_set=aset, period=PeriodRange(1, 12))
    assert pl.totals("P-ASSET") == (36_000 * Y, 36_000 * Y)
    # the P-ASSET revenue and expenditure were closed with the project dimension on 8101.06 and 8101.07
    closing = VoucherLine.objects.filter(voucher__account_set=aset, voucher__source=Voucher.Source.CLOSING,
                                         account_code__in=["8101.06", "8101.07"], project_code="P-ASSET")
    assert {(ln.account_code, ln.debit, ln.credit) for ln in closing} == {
        ("8101.06", 0, 36_000 * Y), ("8101.06", 36_000 * Y, 0)}  # revenue in, expenditure out, nothing to carry
    fr = Voucher.objects.filter(account_set=aset, event_type="closing.fiscal_revenue")
    assert {v.lines.filter(account_code="6001.01").get().project_code for v in fr} == {"", "P-ASSET"}


def test_rerun_is_idempotent(aset, actor):
    run_year_unclosed(aset)
    first = year_end_close(actor=actor, account_set_id=aset.pk)
    count = Voucher.objects.filter(account_set=aset).count()
    again = year_end_close(actor=actor, account_set_id=aset.pk)
    assert [v.pk for v in again] == [v.pk for v in first]
    assert Voucher.objects.filter(account_set=aset).count() == count


def test_statements_hold_after_closing(aset, actor):
    run_year_unclosed(aset)
    year_end_close(actor=actor, account_set_id=aset.pk)
    for p in Period.objects.filter(account_set=aset).order_by("number"):
        acc.period_close(actor=actor, pk=p.pk)
    tb = books.trial_balance(actor=actor, account_set=aset, period=PeriodRange(1, 12))
    assert tb.balanced, tb.problems
    for code in ("balance_sheet", "income_expense", "budget_revenue_expenditure", "budget_carryover"):
        st = statements.statement_compute(actor=actor, account_set=aset, code=code, period=PeriodRange(1, 12))
        assert st.problems == [], (code, st.problems)
    bs = statements.statement_compute(actor=actor, account_set=aset, code="balance_sheet", period=PeriodRange(1, 12))
    lines = {r.number: r.values[0] for r in bs.rows}
    assert lines[61] == 684_000 * Y and lines[67] == 719_000 * Y
    ie = statements.statement_compute(actor=actor, account_set=aset, code="income_expense", period=PeriodRange(1, 12))
    assert {r.number: r.values[0] for r in ie.rows}[23] == (REVENUE - EXPENSE) * Y


def _code(fn) -> str:
    with pytest.raises(DomainError) as exc:
        fn()
    violations = getattr(exc.value, "violations", None)
    return violations[0].code if violations else exc.value.code


def test_refused_with_unposted_voucher(aset, actor):
    run_year_unclosed(aset)
    acc.voucher_create(actor=actor, account_set_id=aset.pk, date=dt.date(aset.year, 11, 2), summary="未记账",
                       lines=[LineSpec(basis="financial", account_code="5001", debit=1_000),
                              LineSpec(basis="financial", account_code="1011", credit=1_000)])
    assert _code(lambda: year_end_close(actor=actor, account_set_id=aset.pk)) == "unposted_vouchers"
    assert not Voucher.objects.filter(account_set=aset, source=Voucher.Source.CLOSING).exists()


def test_refused_when_december_or_set_closed(aset, actor):
    run_year_unclosed(aset)
    for p in Period.objects.filter(account_set=aset).order_by("number"):
        acc.period_close(actor=actor, pk=p.pk)
    assert _code(lambda: year_end_close(actor=actor, account_set_id=aset.pk)) == "period_closed"
    acc.account_set_close(actor=actor, pk=aset.pk)
    assert _code(lambda: year_end_close(actor=actor, account_set_id=aset.pk)) == "set_closed"
    assert not Voucher.objects.filter(account_set=aset, source=Voucher.Source.CLOSING).exists()


def test_refused_without_permission(aset, user):
    run_year_unclosed(aset)
    with pytest.raises(DomainError):
        year_end_close(actor=user("school_clerk"), account_set_id=aset.pk)


def test_finance_bureau_set(db, actor):
    year = clock.fiscal_year() + 1
    with transaction.atomic():
        acc.books_ensure(year=year, regions=[Region.objects.get(code=PROVINCE)])
    fiscal = AccountSet.objects.get(region_code=PROVINCE, year=year, kind="fiscal")
    when = dt.date(year, 5, 10)
    acc.event_post(event_id="rev", event_type="treasury.revenue", date=when, amounts={"amount": 1_000 * Y},
                   dimensions={"fund_nature": "111"}, account_set=fiscal)
    acc.event_post(event_id="paid", event_type="treasury.paid", date=when, amounts={"amount": 600 * Y},
                   dimensions={"fund_nature": "111", "exp_func": "2130101"}, account_set=fiscal)
    year_end_close(actor=actor, account_set_id=fiscal.pk)
    after = balances(fiscal)
    assert {c: v for c, v in after.items() if c[0] in "45" and v} == {}
    assert after["3001"] == -400 * Y


def test_api_endpoint(aset, client_as):
    run_year_unclosed(aset)
    c = client_as("fin_accounting")
    r = c.post(f"/api/v1/accounting/sets/{aset.pk}/year-end-close")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["vouchers"] == Voucher.objects.filter(account_set=aset, source=Voucher.Source.CLOSING).count() > 0
    r2 = c.post(f"/api/v1/accounting/sets/{aset.pk}/year-end-close")
    assert r2.status_code == 200 and r2.json()["vouchers"] == body["vouchers"]
    page = c.post(f"/accounting/sets/{aset.pk}/year-end-close/")
    assert page.status_code == 302


def test_api_refusal_code(aset, client_as, actor):
    for p in Period.objects.filter(account_set=aset).order_by("number"):
        acc.period_close(actor=actor, pk=p.pk)
    r = client_as("fin_accounting").post(f"/api/v1/accounting/sets/{aset.pk}/year-end-close")
    assert r.status_code == 422 or r.status_code == 400, r.content
    assert "period_closed" in r.content.decode()
