"""Every parallel entry of DOMAIN-REFERENCE §20.3 (unit) and §20.4 (finance bureau): the business event is posted
through the engine and the exact lines are asserted in both bases (accounts, sides, amounts, dimensions)."""

from __future__ import annotations

import pytest

from ibms.accounting.models import Voucher

from .builders import lines, post

A = 1_234_500  # 12,345.00 yuan
FULL = {"exp_func": "2050203", "dep_eco": "30201", "gov_eco": "50201", "fund_nature": "111",
        "project": "990000260000000000123", "payee": "华夏文具有限公司", "department": "001"}
FUND = {k: FULL[k] for k in ("exp_func", "project", "fund_nature")}  # copied onto 4001/6001 lines
CASH = {k: FULL[k] for k in ("project", "fund_nature")}  # copied onto 1011/8001/1201 lines
EXP = {"organ": "7101.01", "institution": "7201.01"}


def test_quota_received_authorized(books):
    """(a) authorized: Dr 1011 / Cr 4001; Dr 8001—零余额账户用款额度 / Cr 6001."""
    v = post(books["institution"], "quota.received", amounts={"amount": A}, dims=FULL,
             attrs={"pay_method": "authorized"})
    assert lines(v) == [
        ("financial", "1011", "Dr", A, CASH),
        ("financial", "4001.01", "Cr", A, FUND),
        ("budget", "8001.02", "Dr", A, CASH),
        ("budget", "6001.01", "Cr", A, FUND),
    ]
    assert (v.status, v.source, v.rule_code, v.number) == ("posted", "event", "quota.received.authorized", 1)


def test_quota_received_direct_makes_no_entry(books):
    """(a) direct payment: no entry when the indicator is approved."""
    before = Voucher.objects.count()
    assert post(books["institution"], "quota.received", amounts={"amount": A}, dims=FULL,
                attrs={"pay_method": "direct"}) is None
    assert Voucher.objects.count() == before


@pytest.mark.parametrize("kind", ["organ", "institution"])
def test_payment_direct(books, kind):
    """(b) direct: Dr 5001 / Cr 4001; Dr 7101 (organ) or 7201 (institution) / Cr 6001."""
    v = post(books[kind], "payment.receipted", amounts={"amount": A}, dims=FULL, attrs={"pay_method": "direct"})
    assert lines(v) == [
        ("financial", "5001", "Dr", A, FULL),
        ("financial", "4001.01", "Cr", A, FUND),
        ("budget", EXP[kind], "Dr", A, FULL),
        ("budget", "6001.01", "Cr", A, FUND),
    ]
    assert v.financial_total == v.budget_total == A


@pytest.mark.parametrize("kind", ["organ", "institution"])
def test_payment_authorized(books, kind):
    """(b) authorized from the zero-balance account: Dr 5001 / Cr 1011; Dr 7101/7201 / Cr 8001—零余额."""
    v = post(books[kind], "payment.receipted", amounts={"amount": A}, dims=FULL, attrs={"pay_method": "authorized"})
    assert lines(v) == [
        ("financial", "5001", "Dr", A, FULL),
        ("financial", "1011", "Cr", A, CASH),
        ("budget", EXP[kind], "Dr", A, FULL),
        ("budget", "8001.02", "Cr", A, CASH),
    ]


def test_payment_centralized_without_quota_is_direct(books):
    v = post(books["organ"], "payment.receipted", amounts={"amount": A}, dims=FULL, attrs={"pay_method": "centralized"})
    assert [(b, c, s) for b, c, s, *_ in lines(v)] == [("financial", "5001", "Dr"), ("financial", "4001.01", "Cr"),
                                                       ("budget", "7101.01", "Dr"), ("budget", "6001.01", "Cr")]


def test_payment_admin_expense_and_government_fund(books):
    """单位管理费用 5101 on request; fund nature 12x → the 政府性基金 sub-accounts 4001.02 / 6001.02."""
    dims = {**FULL, "fund_nature": "121"}
    v = post(books["institution"], "payment.receipted", amounts={"amount": A}, dims=dims,
             attrs={"pay_method": "direct", "expense": "admin"})
    assert [(b, c, s, a) for b, c, s, a, _ in lines(v)] == [
        ("financial", "5101", "Dr", A), ("financial", "4001.02", "Cr", A),
        ("budget", "7201.01", "Dr", A), ("budget", "6001.02", "Cr", A)]


def test_payment_from_own_funds_non_fiscal(books):
    """Non-fiscal money (fund nature 3 单位资金): Dr 5001 / Cr 1002; Dr 7201—其他资金支出 / Cr 8001—货币资金."""
    dims = {**FULL, "fund_nature": "3"}
    v = post(books["institution"], "payment.receipted", amounts={"amount": A}, dims=dims)
    own = {"project": FULL["project"], "fund_nature": "3"}
    assert lines(v) == [
        ("financial", "5001", "Dr", A, dims),
        ("financial", "1002", "Cr", A, own),
        ("budget", "7201.03", "Dr", A, dims),
        ("budget", "8001.01", "Cr", A, own),
    ]


@pytest.mark.parametrize(("method", "fin", "bud"), [("direct", "4001.01", "6001.01"), ("authorized", "1011", "8001.02")])
def test_refund(books, method, fin, bud):
    """A refund of a current-year payment reverses the payment's entry in both bases."""
    v = post(books["organ"], "payment.refunded", amounts={"amount": A}, dims=FULL, attrs={"pay_method": method})
    cash = FUND if method == "direct" else CASH
    assert lines(v) == [
        ("financial", fin, "Dr", A, cash),
        ("financial", "5001", "Cr", A, FULL),
        ("budget", bud, "Dr", A, cash),
        ("budget", "7101.01", "Cr", A, FULL),
    ]


def test_payroll_accrue_and_withhold_are_financial_only(books):
    """(c)1 Dr 5001 / Cr 2201 (no budget entry); (c)2 Dr 2201 / Cr 2102 (tax), Cr 2307 (personal contributions)."""
    aset = books["organ"]
    dims = {"dep_eco": "30101", "department": "001"}
    v = post(aset, "payroll.accrued", amounts={"amount": 9_600_000}, dims=dims)
    assert lines(v) == [("financial", "5001", "Dr", 9_600_000, dims),
                        ("financial", "2201", "Cr", 9_600_000, {"department": "001"})]
    v = post(aset, "payroll.withheld", amounts={"tax": 32_000, "social": 105_000}, dims=dims)
    dept = {"department": "001"}
    assert lines(v) == [("financial", "2201", "Dr", 32_000, dept), ("financial", "2102", "Cr", 32_000, dept),
                        ("financial", "2201", "Dr", 105_000, dept), ("financial", "2307", "Cr", 105_000, dept)]
    assert v.budget_total == 0


@pytest.mark.parametrize(("kind", "method", "fin", "bud"), [
    ("organ", "direct", "4001.01", "6001.01"), ("institution", "authorized", "1011", "8001.02")])
def test_payroll_paid(books, kind, method, fin, bud):
    """(c)3 Dr 2201 / Cr 4001 (or 1011); Dr 7101/7201 / Cr 6001 (or 8001), classified 30101."""
    dims = {"exp_func": "2080505", "dep_eco": "30101", "fund_nature": "111", "department": "001"}
    v = post(books[kind], "payroll.paid", amounts={"amount": 8_230_000}, dims=dims, attrs={"pay_method": method})
    cash = {"exp_func": "2080505", "fund_nature": "111"} if method == "direct" else {"fund_nature": "111"}
    assert lines(v) == [
        ("financial", "2201", "Dr", 8_230_000, {"department": "001"}),
        ("financial", fin, "Cr", 8_230_000, cash),
        ("budget", EXP[kind], "Dr", 8_230_000, dims),
        ("budget", bud, "Cr", 8_230_000, cash),
    ]


@pytest.mark.parametrize(("method", "fin", "bud"), [("direct", "4001.01", "6001.01"), ("authorized", "1011", "8001.02")])
def test_payroll_remitted(books, method, fin, bud):
    """(c)4 Dr 2102 / 2307 / 2201 (employer share) / Cr 4001 or 1011; Dr 7201 / Cr 6001 or 8001 (30108 …)."""
    dims = {"exp_func": "2080505", "dep_eco": "30108", "fund_nature": "111", "department": "001"}
    total = 32_000 + 105_000 + 210_000
    v = post(books["institution"], "payroll.remitted", amounts={"tax": 32_000, "social": 105_000, "employer": 210_000},
             dims=dims, attrs={"pay_method": method})
    dept = {"department": "001"}
    cash = {"exp_func": "2080505", "fund_nature": "111"} if method == "direct" else {"fund_nature": "111"}
    assert lines(v) == [
        ("financial", "2102", "Dr", 32_000, dept),
        ("financial", "2307", "Dr", 105_000, dept),
        ("financial", "2201", "Dr", 210_000, dept),
        ("financial", fin, "Cr", total, cash),
        ("budget", "7201.01", "Dr", total, dims),
        ("budget", bud, "Cr", total, cash),
    ]


@pytest.mark.parametrize(("installation", "asset"), [(False, "1601"), (True, "1613")])
def test_fixed_asset_purchase_direct(books, installation, asset):
    """(d) Dr 1601 (or 1613 在建工程) / Cr 4001; Dr 7101 / Cr 6001, classified 310xx."""
    dims = {**FULL, "dep_eco": "31002", "gov_eco": "50306"}
    v = post(books["organ"], "asset.purchased", amounts={"amount": A}, dims=dims,
             attrs={"pay_method": "direct", "installation": installation})
    assert lines(v) == [
        ("financial", asset, "Dr", A, {k: dims[k] for k in ("project", "fund_nature", "payee", "department")}),
        ("financial", "4001.01", "Cr", A, FUND),
        ("budget", "7101.01", "Dr", A, dims),
        ("budget", "6001.01", "Cr", A, FUND),
    ]


def test_fixed_asset_purchase_authorized(books):
    v = post(books["institution"], "asset.purchased", amounts={"amount": A}, dims=FULL,
             attrs={"pay_method": "authorized"})
    assert [(b, c, s) for b, c, s, *_ in lines(v)] == [("financial", "1601", "Dr"), ("financial", "1011", "Cr"),
                                                       ("budget", "7201.01", "Dr"), ("budget", "8001.02", "Cr")]


@pytest.mark.parametrize(("expense", "account"), [("business", "5001"), ("admin", "5101")])
def test_depreciation_financial_only(books, expense, account):
    """(d) monthly depreciation, financial only: Dr 5001 / 5101 / Cr 1602."""
    v = post(books["organ"], "asset.depreciated", amounts={"amount": 41_667}, dims={"department": "001"},
             attrs={"expense": expense})
    assert lines(v) == [("financial", account, "Dr", 41_667, {"department": "001"}),
                        ("financial", "1602", "Cr", 41_667, {"department": "001"})]


@pytest.mark.parametrize(("event", "expected"), [
    # (e)1 direct-payment indicator not spent
    ("year_end.direct_unspent", [("financial", "1201.01", "Dr", CASH), ("financial", "4001.01", "Cr", FUND),
                                 ("budget", "8001.03", "Dr", CASH), ("budget", "6001.01", "Cr", FUND)]),
    # (e)2 authorized quota cancelled at the bank
    ("year_end.quota_cancelled", [("financial", "1201.02", "Dr", CASH), ("financial", "1011", "Cr", CASH),
                                  ("budget", "8001.03", "Dr", CASH), ("budget", "8001.02", "Cr", CASH)]),
    # (e)3 authorized indicator never issued as quota
    ("year_end.quota_unissued", [("financial", "1201.02", "Dr", CASH), ("financial", "4001.01", "Cr", FUND),
                                 ("budget", "8001.03", "Dr", CASH), ("budget", "6001.01", "Cr", FUND)]),
    # (e)4 quota restored the next January
    ("year_end.quota_restored", [("financial", "1011", "Dr", CASH), ("financial", "1201.02", "Cr", CASH),
                                 ("budget", "8001.02", "Dr", CASH), ("budget", "8001.03", "Cr", CASH)]),
])
def test_year_end_entries(books, event, expected):
    v = post(books["institution"], event, amounts={"amount": A}, dims=FULL)
    assert lines(v) == [(b, c, s, A, d) for b, c, s, d in expected]


@pytest.mark.parametrize(("event", "attrs", "expected"), [
    # (e)5 budget closing
    ("closing.fiscal_revenue", {}, [("budget", "6001.01", "Dr"), ("budget", "8101.06", "Cr")]),
    ("closing.fiscal_expense", {}, [("budget", "8101.06", "Dr"), ("budget", "7101.01", "Cr")]),
    ("closing.fiscal_carry", {}, [("budget", "8101.06", "Dr"), ("budget", "8101.07", "Cr")]),
    ("closing.fiscal_to_surplus", {}, [("budget", "8101.07", "Dr"), ("budget", "8102.04", "Cr")]),
    ("closing.nonfiscal_revenue", {"source_account": "6101"}, [("budget", "6101", "Dr"), ("budget", "8201.04", "Cr")]),
    ("closing.nonfiscal_expense", {"source_account": "7101.03"},
     [("budget", "8201.04", "Dr"), ("budget", "7101.03", "Cr")]),
    ("closing.nonfiscal_carry", {}, [("budget", "8201.04", "Dr"), ("budget", "8201.05", "Cr")]),
    ("closing.nonfiscal_to_surplus", {}, [("budget", "8201.05", "Dr"), ("budget", "8202", "Cr")]),
    ("closing.nonfiscal_distribution", {}, [("budget", "8202", "Dr"), ("budget", "8701", "Cr")]),
    # (e)6 financial closing
    ("closing.revenue_to_surplus", {"source_account": "4001.01"},
     [("financial", "4001.01", "Dr"), ("financial", "3301", "Cr")]),
    ("closing.expense_to_surplus", {"source_account": "5001"}, [("financial", "3301", "Dr"), ("financial", "5001", "Cr")]),
    ("closing.surplus_to_distribution", {}, [("financial", "3301", "Dr"), ("financial", "3302", "Cr")]),
    ("closing.distribution_to_accumulated", {}, [("financial", "3302", "Dr"), ("financial", "3001", "Cr")]),
])
def test_closing_steps(books, event, attrs, expected, year):
    import datetime as dt

    v = post(books["organ"], event, amounts={"amount": A}, attrs=attrs, date=dt.date(year, 12, 31))
    assert [(b, c, s, a) for b, c, s, a, _ in lines(v)] == [(b, c, s, A) for b, c, s in expected]
    assert v.source == "closing" and v.period_no == 12


def test_closing_negative_amount_posts_on_the_other_side(books):
    """A deficit carried (expense > revenue) flips the closing entry: Dr 8101.07 / Cr 8101.06."""
    v = post(books["organ"], "closing.fiscal_carry", amounts={"amount": -A})
    assert [(c, s, a) for _, c, s, a, _ in lines(v)] == [("8101.06", "Cr", A), ("8101.07", "Dr", A)]


# --- §20.4 finance bureau (总预算会计) -------------------------------------------------------------------

TDIMS = {"exp_func": "2050203", "fund_nature": "111"}


@pytest.mark.parametrize(("fund", "expense"), [("111", "5001"), ("121", "5002")])
def test_treasury_paid(books, fund, expense):
    """Dr 5001 一般公共预算本级支出 (5002 for 政府性基金) / Cr 1001 国库存款."""
    dims = {**TDIMS, "fund_nature": fund}
    v = post(books["fiscal"], "treasury.paid", amounts={"amount": A}, dims=dims)
    assert lines(v) == [("financial", expense, "Dr", A, dims), ("financial", "1001", "Cr", A, {"fund_nature": fund})]


def test_treasury_year_end_unspent(books):
    """Dr 5001 / Cr 2011 应付国库集中支付结余."""
    v = post(books["fiscal"], "treasury.year_end_unspent", amounts={"amount": A}, dims=TDIMS)
    assert lines(v) == [("financial", "5001", "Dr", A, TDIMS), ("financial", "2011", "Cr", A, TDIMS)]


def test_treasury_revenue(books):
    """Dr 1001 / Cr 4001 一般公共预算本级收入."""
    v = post(books["fiscal"], "treasury.revenue", amounts={"amount": A}, dims={"fund_nature": "111"})
    assert lines(v) == [("financial", "1001", "Dr", A, {"fund_nature": "111"}),
                        ("financial", "4001", "Cr", A, {"fund_nature": "111"})]


@pytest.mark.parametrize(("via", "credit"), [("treasury", "1001"), ("current", "1031")])
def test_treasury_transfer_to_lower(books, via, credit):
    """Dr 5011 补助支出 / Cr 1001 (or 1031 与下级往来)."""
    dims = {**TDIMS, "payee": "东川市财政局"}
    v = post(books["fiscal"], "treasury.transfer_to_lower", amounts={"amount": A}, dims=dims, attrs={"via": via})
    assert lines(v) == [("financial", "5011", "Dr", A, dims),
                        ("financial", credit, "Cr", A, {"fund_nature": "111", "payee": "东川市财政局"})]


def test_treasury_advance(books):
    """Dr 1011 预拨经费 / Cr 1001."""
    v = post(books["fiscal"], "treasury.advance", amounts={"amount": A}, dims=TDIMS)
    assert lines(v) == [("financial", "1011", "Dr", A, TDIMS), ("financial", "1001", "Cr", A, {"fund_nature": "111"})]


def test_treasury_year_end_closing(books, year):
    """Dr 3001 一般公共预算结转结余 / Cr 5001."""
    import datetime as dt

    v = post(books["fiscal"], "closing.treasury_expense", amounts={"amount": A}, dims={"fund_nature": "111"},
             attrs={"source_account": "5001"}, date=dt.date(year, 12, 31))
    assert lines(v) == [("financial", "3001", "Dr", A, {"fund_nature": "111"}),
                        ("financial", "5001", "Cr", A, {"fund_nature": "111"})]
