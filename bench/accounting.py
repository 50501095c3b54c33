"""Benchmark the accounting engine: the `accounting` gen stage (account sets with their charts and periods,
rows/second), then business events posted through the engine (`event_post`, one transaction per event as the
treasury module would call it) against a bare-insert baseline of the same rows in the same run (a voucher and
its four lines written with plain ORM inserts: no rules, no checks, no numbering, no audit).

    .venv/bin/python bench/accounting.py [--scale small|city|province|chongqing] [--events 2000] [--db postgres://…]

Without --db it uses a new SQLite file in a temporary directory. With --db the database must be a scratch one.
Wall clock and this process's CPU time are both printed (a busy shared machine vs a slow program).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from _common import scratch_django  # bench/_common.py, beside this script


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="small")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    scratch_django("accounting", args.db)
    from django.db import connection, transaction

    from ibms.accounting import gen as accounting_gen
    from ibms.accounting import services
    from ibms.accounting.models import Account, AccountSet, Period, Voucher, VoucherLine
    from ibms.demo.generator import STAGES, generate

    print(f"database: {connection.vendor}  scale: {args.scale}")
    timing: dict[str, tuple[float, float]] = {}

    def timed(ctx):
        wall, cpu = time.perf_counter(), time.process_time()
        accounting_gen.stage_accounting(ctx)
        timing["accounting"] = (time.perf_counter() - wall, time.process_time() - cpu)

    stages = [s for s in STAGES if s.name in ("regions", "units")]
    stages.append(next(s for s in STAGES if s.name == "accounting").__class__("accounting", timed, ()))
    ctx = generate(args.scale, args.seed, progress=False, stages=stages)
    rows = sum(ctx.counts.get(k, 0) for k in ("accountset", "account", "period"))
    wall, cpu = timing["accounting"]
    print(f"accounting stage: {ctx.counts.get('accountset', 0):,} sets + {ctx.counts.get('account', 0):,} accounts + "
          f"{ctx.counts.get('period', 0):,} periods = {rows:,} rows (plus as many audit rows)")
    print(f"  wall {wall:8.1f} s  {rows / wall:10,.0f} rows/s")
    print(f"  cpu  {cpu:8.1f} s  {rows / cpu:10,.0f} rows/s (this process)")

    sets = list(AccountSet.objects.filter(region_code__startswith=ctx.prefix, kind="unit").select_related("chart"))
    year = ctx.year
    dims = {"exp_func": "2050203", "dep_eco": "30201", "fund_nature": "111", "payee": "基准测试供应商"}
    methods = ["direct", "authorized"]

    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(args.events):
        aset = sets[i % len(sets)]
        with transaction.atomic():
            services.event_post(event_id=f"bench-{i}", event_type="payment.receipted", date=dt.date(year, 3, 1),
                                amounts={"amount": 10_000 + i}, dimensions=dims,
                                attrs={"pay_method": methods[i % 2]}, account_set=aset)
    engine = (time.perf_counter() - wall, time.process_time() - cpu)

    accounts = {}
    for a in Account.objects.filter(account_set__in=sets, code__in=["5001", "4001.01", "7201.01", "7101.01",
                                                                     "6001.01"]):
        accounts[(a.account_set_id, a.code)] = a
    periods = {p.account_set_id: p for p in Period.objects.filter(account_set__in=sets, number=3)}
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(args.events):
        aset = sets[i % len(sets)]
        exp = "7101.01" if aset.unit_type == "organ" else "7201.01"
        with transaction.atomic():
            v = Voucher.objects.create(account_set=aset, region_code=aset.region_code, unit_path=aset.unit_path,
                                       year=year, period=periods[aset.pk], period_no=3, date=dt.date(year, 3, 1),
                                       summary="基线", source="event", status="draft")
            VoucherLine.objects.bulk_create([
                VoucherLine(voucher=v, account_set=aset, region_code=aset.region_code, line_no=n, basis=basis,
                            account=accounts[(aset.pk, code)], account_code=code, debit=dr, credit=cr)
                for n, (basis, code, dr, cr) in enumerate([("financial", "5001", 1, 0), ("financial", "4001.01", 0, 1),
                                                           ("budget", exp, 1, 0), ("budget", "6001.01", 0, 1)], 1)])
    bare = (time.perf_counter() - wall, time.process_time() - cpu)
    n = args.events
    print(f"post_event × {n:,} (one transaction each, 4 lines, audit, gap-free number):")
    print(f"  wall {engine[0]:8.2f} s  {n / engine[0]:8,.0f} events/s   cpu {engine[1]:8.2f} s  {n / engine[1]:8,.0f} /s")
    print(f"bare insert baseline × {n:,} (voucher + 4 lines, plain ORM, no checks/audit):")
    print(f"  wall {bare[0]:8.2f} s  {n / bare[0]:8,.0f} vouchers/s cpu {bare[1]:8.2f} s  {n / bare[1]:8,.0f} /s")
    print(f"engine cost: {engine[0] / bare[0]:.1f}× the bare insert (wall), {engine[1] / bare[1]:.1f}× (cpu)")


if __name__ == "__main__":
    main()
