"""Builders for the accounting tests: post events to a set, read a voucher's lines as plain tuples, and the small
year of an administrative unit that test_year.py and test_year_end_close.py share (figures in test_year.py)."""

from __future__ import annotations

import datetime as dt

from ibms.accounting import services
from ibms.accounting.models import DIMENSIONS, AccountSet, Voucher

FUND = {"fund_nature": "111", "exp_func": "2130101"}
Y = 100  # fen per yuan


def day(year: int, month: int = 3, d: int = 15) -> dt.date:
    return dt.date(year, month, d)


def lines(v: Voucher) -> list[tuple]:
    """(basis, account code, 'Dr'|'Cr', amount fen, {dimension: value}) in line order."""
    out = []
    for ln in v.lines.order_by("line_no"):
        dims = {d: getattr(ln, f) for d, f in DIMENSIONS.items() if getattr(ln, f)}
        out.append((ln.basis, ln.account_code, "Dr" if ln.debit else "Cr", ln.debit or ln.credit, dims))
    return out


def post(aset: AccountSet, event_type: str, *, amounts: dict, dims: dict | None = None, attrs: dict | None = None,
         event_id: str | None = None, date: dt.date | None = None, actor=None):
    return services.event_post(actor=actor, event_id=event_id or f"t-{event_type}-{aset.pk}-{sorted(amounts.items())}",
                               event_type=event_type, date=date or day(aset.year), amounts=amounts,
                               dimensions=dims or {}, attrs=attrs or {}, account_set=aset)


def year_poster(aset):
    """post(event_id, event_type, month, day, amount_yuan, dims, attrs, amounts) on `aset` with FUND's dimensions."""
    def post(event_id, event_type, month, day, amount=0, dims=None, attrs=None, amounts=None):
        return services.event_post(event_id=event_id, event_type=event_type, date=dt.date(aset.year, month, day),
                                   amounts=amounts or {"amount": amount * Y}, dimensions={**FUND, **(dims or {})},
                                   attrs=attrs or {}, account_set=aset)
    return post


def run_first_half(aset) -> None:
    post = year_poster(aset)
    post("quota-01", "quota.received", 1, 4, 600_000, attrs={"pay_method": "authorized"})
    for m in range(1, 7):
        year_salaries(post, m)
    post("repair", "payment.receipted", 2, 15, 80_000, {"dep_eco": "30213", "payee": "华夏建筑维修公司"},
         {"pay_method": "direct"})
    post("office", "payment.receipted", 3, 10, 45_000, {"dep_eco": "30201", "payee": "华夏文具有限公司"},
         {"pay_method": "authorized", "expense": "admin"})
    post("office-refund", "payment.refunded", 4, 20, 5_000, {"dep_eco": "30201", "payee": "华夏文具有限公司"},
         {"pay_method": "authorized", "expense": "admin"})
    post("asset", "asset.purchased", 6, 18, 36_000, {"dep_eco": "31002", "project": "P-ASSET",
                                                     "payee": "华夏办公设备公司"}, {"pay_method": "direct"})


def year_salaries(post, m: int) -> None:
    post(f"pay-accrue-{m}", "payroll.accrued", m, 10, 120_000, {"dep_eco": "30101"})
    post(f"pay-withhold-{m}", "payroll.withheld", m, 10, amounts={"tax": 3_000 * Y, "social": 12_000 * Y})
    post(f"pay-net-{m}", "payroll.paid", m, 15, 85_000, {"dep_eco": "30101"}, {"pay_method": "direct"})
    if m <= 11:
        post(f"pay-remit-{m}", "payroll.remitted", m, 20, dims={"dep_eco": "30108"}, attrs={"pay_method": "direct"},
             amounts={"tax": 3_000 * Y, "social": 12_000 * Y, "employer": 20_000 * Y})
