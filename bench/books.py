"""Benchmark the books and statements on one large account set.

    .venv/bin/python bench/books.py [--vouchers 50000] [--db postgres://…] [-n 5]

Builds a scratch database (a new SQLite file unless --db names a scratch PostgreSQL database), one unit's
books, and `--vouchers` posted vouchers of four lines each (two per basis; payments in each month over 40
projects, written with plain bulk inserts — the engine's own speed is `bench/accounting.py`). Then prints the
median milliseconds of the trial balance, a general ledger, a detail ledger, the project ledger, and all
statements for the year, next to a baseline: one bare grouped SUM over the set's lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from _common import median_ms, scratch_django  # bench/_common.py, beside this script


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vouchers", type=int, default=50_000)
    ap.add_argument("--db", default=None)
    ap.add_argument("-n", type=int, default=5)
    args = ap.parse_args()
    scratch_django("books", args.db)
    from django.db import connection, transaction
    from django.db.models import Sum
    from django.utils import timezone

    from ibms.accounting import books, services, statements
    from ibms.accounting.books import PeriodRange
    from ibms.accounting.models import Account, AccountSet, Period, Voucher, VoucherLine
    from ibms.demo.province import load_demo_province
    from ibms.iam.models import User
    from ibms.masterdata.models import Unit

    load_demo_province()
    unit = Unit.objects.get(region_code="990000000", code="004")
    year = dt.date.today().year + 1
    with transaction.atomic():
        services.books_ensure(year=year, units=[unit])
    aset = AccountSet.objects.get(unit=unit, year=year)
    acc = {a.code: a for a in Account.objects.filter(account_set=aset)}
    periods = {p.number: p for p in Period.objects.filter(account_set=aset)}
    now = timezone.now()
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, args.vouchers, batch):
        vs = []
        for i in range(start, min(args.vouchers, start + batch)):
            m = i % 12 + 1
            vs.append(Voucher(account_set=aset, region_code=aset.region_code, unit_path=aset.unit_path, year=year,
                              period=periods[m], period_no=m, number=i // 12 + 1, date=dt.date(year, m, 1),
                              summary="基准", source=Voucher.Source.EVENT, status=Voucher.Status.POSTED,
                              posted_at=now, financial_total=1, budget_total=1))
        Voucher.objects.bulk_create(vs, batch_size=2000)
        lines = []
        for v in vs:
            amt = 10_000 + v.number
            dims = {"project_code": f"P{v.number % 40:03d}", "exp_func_code": "2130101", "dep_eco_code": "30201",
                    "fund_nature_code": "111"}
            for n, (code, d, c) in enumerate([("5001", amt, 0), ("4001.01", 0, amt), ("7101.01", amt, 0),
                                              ("6001.01", 0, amt)], 1):
                a = acc[code]
                lines.append(VoucherLine(voucher=v, account_set=aset, region_code=aset.region_code, line_no=n,
                                         basis=a.basis, account=a, account_code=code, debit=d, credit=c, **dims))
        VoucherLine.objects.bulk_create(lines, batch_size=5000)
    print(f"database: {connection.vendor}  {args.vouchers:,} vouchers, {4 * args.vouchers:,} lines "
          f"written in {time.perf_counter() - t0:.1f} s")

    actor = User.objects.get(username="fin_accounting")
    year_range = PeriodRange(1, 12)

    def baseline():
        list(VoucherLine.objects.filter(account_set=aset, voucher__status="posted").values("account_code")
             .annotate(d=Sum("debit"), c=Sum("credit")).order_by())

    cases = {
        "baseline: grouped SUM of the lines": baseline,
        "trial balance (all levels)": lambda: books.trial_balance(actor=actor, account_set=aset, period=year_range),
        "general ledger 5001": lambda: books.general_ledger(actor=actor, account_set=aset, code="5001",
                                                            period=year_range),
        "detail ledger 5001, one month": lambda: books.detail_ledger(actor=actor, account_set=aset, code="5001",
                                                                     period=PeriodRange(3, 3)),
        "project ledger (summary)": lambda: books.project_ledger(actor=actor, account_set=aset, period=year_range),
    }
    for code, d in statements.definitions().items():
        cases[d.title] = lambda code=code: statements.statement_compute(actor=actor, account_set=aset, code=code,
                                                              period=year_range)
    cases["all statements together (shared figures)"] = lambda: statements.statement_compute_all(actor=actor, account_set=aset,
                                                                                    period=year_range)
    base = None
    for name, fn in cases.items():
        ms = median_ms(fn, args.n)
        base = base or ms
        print(f"  {name:40s} {ms:9.1f} ms  ×{ms / base:5.1f}")


if __name__ == "__main__":
    main()
