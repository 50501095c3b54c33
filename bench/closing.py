"""Benchmark the year-end batch (issue 13) over a generated province, beside a plain INSERT…SELECT in the same run.

    IBMS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ibms_bench_closing .venv/bin/python bench/closing.py \
        [--scale small|city|province|chongqing] [--seed 1] [--prefix 96] [--all-stages] [--regions N]
    .venv/bin/python bench/closing.py                          # small, on a new SQLite file in a temporary directory

The default scale is `small` (7 regions, 67 account sets: about a minute); `city` (11 regions, 811 sets) takes
about 20 minutes on PostgreSQL on the 2-core reference machine, `province` (36 regions, 3,636 sets) well over an
hour — the batch's time grows with the account sets (`accounts_closed` is most of it).

A PostgreSQL database named by `--db` (default: IBMS_DATABASE_URL) is created when missing; it must be a scratch
one. The province is generated (`ibms gen` stages regions, units, organisations, projects, budgeting, indicators,
accounting — `--all-stages` adds bank accounts, people and payees, which the batch does not read), or reused when
it is there and its year still executing; a province already closed by an earlier run is left alone and the next
free prefix (90–98) is generated. Then every region of the province runs the year end as the checklist does, as
the system account (`iam.services.system_user`), one step over all regions at a time:

- set-up: `begin` (the year to closing; the next year is already set up by the generator), `payments_settled`,
  `reconciliation_clean` (nothing to clear on generated data);
- (a) carry-over: `carry_run_propose`, then `carry_run_execute` in chunks of `closing.services.carryover.CHUNK`;
  rows = carry lines + new (上年结转) indicators + indicator entries written;
- (b) the year-end accounting steps: `periods_closed` (months 1–11 of every set), `year_end_entries` (财政应返还额度,
  国库集中支付结余), `accounts_closed` (closing entries, December, 年结), `next_year_opened` (next year's sets,
  opening balances); rows = accounting rows inserted (sets, accounts, periods, vouchers, voucher lines) + periods
  and sets closed;
- (c) baseline: one plain `INSERT … SELECT` of as many rows as (a) wrote, copying the province's indicator rows
  (repeated as needed) into a scratch table in one transaction, then dropped.

Each prints rows/s (wall), the ratio to the baseline, and load-independent counts: SQL statements per 1,000 rows,
audit (change-log) rows, this process's CPU ms per 1,000 rows and per operation (a carry line, an account set).
The database server's own CPU is not in the CPU figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from _common import scratch_django  # bench/_common.py, beside this script

NEEDED_STAGES = ("regions", "units", "organizations", "projects", "budgeting", "indicators", "accounting")
SETUP_STEPS = ("begin", "payments_settled", "reconciliation_clean")
ACCOUNTING_STEPS = ("periods_closed", "year_end_entries", "accounts_closed", "next_year_opened")


def ensure_pg_database(url: str) -> None:
    """Create the PostgreSQL database `url` names when it does not exist (through the server's `postgres` db)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme.replace("postgresql", "postgres"), parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


@dataclass
class Measure:
    """Wall seconds, this process's CPU seconds and SQL statements of one timed block."""

    wall: float = 0.0
    cpu: float = 0.0
    queries: int = 0
    _started: tuple = field(default=(0.0, 0.0), repr=False)

    def __enter__(self) -> Measure:
        self._started = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc) -> None:
        self.wall += time.perf_counter() - self._started[0]
        self.cpu += time.process_time() - self._started[1]


class QueryCounter:
    """A connection execute wrapper: counts every statement (an executemany counts once)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def pick_province(scale: str, prefix: str | None) -> tuple[str, bool]:
    """(prefix, generate?): the scale's prefix reused while its year still executes, else a free one."""
    from ibms.closing.models import CarryRun
    from ibms.core import clock
    from ibms.demo.generator import SCALES
    from ibms.masterdata.models import FiscalYear, Region

    year = clock.fiscal_year()
    candidates = [prefix] if prefix else [SCALES[scale].default_prefix] + [str(p) for p in range(90, 99)]
    for p in candidates:
        root = Region.objects.filter(code=f"{p}0000000").first()
        if root is None:
            return p, True
        fresh = (FiscalYear.objects.filter(region_code=root.code, year=year,
                                           status=FiscalYear.Status.EXECUTING).exists()
                 and not CarryRun.objects.filter(region_code__startswith=p).exists())
        if fresh and Region.objects.filter(code__startswith=p).count() == SCALES[scale].region_count:
            return p, False
    sys.exit(f"no usable province prefix among {candidates}: use a new database")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="small", help="small | city | province | chongqing (default small)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default=None, help="the generated province's two-digit code prefix (90–98)")
    ap.add_argument("--db", default=os.environ.get("IBMS_DATABASE_URL"))
    ap.add_argument("--all-stages", action="store_true", help="generate every gen stage, not only those the batch reads")
    ap.add_argument("--regions", type=int, default=None,
                    help="run the year end in the first N regions only (by level, then code): a quick smoke run")
    args = ap.parse_args()
    if args.db and args.db.startswith("postgres"):
        ensure_pg_database(args.db)
    tmp = scratch_django("closing", args.db)
    from django.db import connection, transaction

    from ibms.accounting.models import Account, AccountSet, Period, Voucher, VoucherLine
    from ibms.closing.models import CarryLine, CarryRun, YearStep
    from ibms.closing.services import Blocked, carryover, step_run
    from ibms.core import clock
    from ibms.core.context import Actor, acting
    from ibms.core.models import ChangeLog
    from ibms.demo.generator import SCALES, STAGES, generate
    from ibms.iam.services import system_user
    from ibms.indicators.models import Indicator, IndicatorEntry
    from ibms.masterdata.models import Region

    if args.scale not in SCALES:
        sys.exit(f"unknown scale {args.scale!r}: {', '.join(SCALES)}")
    prefix, fresh = pick_province(args.scale, args.prefix)
    where = os.environ["IBMS_DATABASE_URL"].split("@")[-1]
    print(f"database: {connection.vendor} {where}  scale: {args.scale}  province prefix: {prefix}")
    if fresh:
        stages = list(STAGES) if args.all_stages else [s for s in STAGES if s.name in NEEDED_STAGES]
        t = time.perf_counter()
        ctx = generate(args.scale, args.seed, prefix=prefix, progress=False, stages=stages)
        print(f"generated {sum(ctx.stage_rows.values()):,} rows ({', '.join(s.name for s in stages)}) "
              f"in {time.perf_counter() - t:.0f} s")
    else:
        print("reusing the generated province (its year still executing)")
    year = clock.fiscal_year()
    regions = list(Region.objects.filter(code__startswith=prefix).order_by("level", "code").values_list("code",
                                                                                                         flat=True))
    regions = regions[:args.regions] if args.regions else regions
    mine = {"region_code__in": regions}
    indicators = Indicator.objects.filter(**mine, year=year).count()
    sets = AccountSet.objects.filter(**mine, year=year).count()
    print(f"{len(regions)} regions, {indicators:,} indicators, {sets:,} account sets of {year}")

    actor = system_user()
    counter = QueryCounter()
    results: list[tuple[str, int, int, Measure, int]] = []  # label, rows, operations, measure, audit rows

    def audit_rows() -> int:
        return ChangeLog.objects.count()

    def timed(label: str, count_rows, operations: int, body) -> Measure:
        before, audit_before, queries_before = count_rows(), audit_rows(), counter.n
        with Measure() as m:
            body()
        m.queries = counter.n - queries_before
        results.append((label, count_rows() - before, operations, m, audit_rows() - audit_before))
        return m

    def run_step(step: str) -> None:
        for code in regions:
            try:
                step_run(actor=actor, region_code=code, year=year, step=step)
            except Blocked as exc:
                shown = "; ".join(i["label"] for i in exc.items[:5])
                sys.exit(f"step {step} blocked in region {code}: {shown}")

    def carry_rows() -> int:
        return (CarryLine.objects.filter(**mine).count() + Indicator.objects.filter(**mine).count()
                + IndicatorEntry.objects.filter(**mine).count())

    def accounting_rows() -> int:
        inserted = sum(model.objects.filter(**mine).count() for model in (AccountSet, Account, Period, Voucher,
                                                                           VoucherLine))
        closed = (Period.objects.filter(**mine, status=Period.Status.CLOSED).count()
                  + AccountSet.objects.filter(**mine, status=AccountSet.Status.CLOSED).count())
        return inserted + closed

    runs: list[int] = []

    def propose() -> None:
        runs.extend(carryover.carry_run_propose(actor=actor, region_code=code, year=year).pk for code in regions)

    def execute() -> None:
        for pk in runs:
            carryover.carry_run_execute(actor=actor, run_id=pk)

    with acting(Actor(user_id=actor.pk, username=actor.username), request_id=f"bench-closing:{prefix}"), \
            connection.execute_wrapper(counter):
        m = timed("set-up steps (begin, payments, reconciliation)", lambda: 0, len(regions),
                  lambda: [run_step(s) for s in SETUP_STEPS])
        print(f"set-up steps over {len(regions)} regions: {m.wall:.1f} s")
        timed("periods_closed", accounting_rows, sets, lambda: run_step("periods_closed"))
        lines_before = CarryLine.objects.filter(**mine).count()
        timed("carry_run_propose", carry_rows, indicators, propose)
        lines = CarryLine.objects.filter(**mine).count() - lines_before
        timed(f"carry_run_execute (chunks of {carryover.CHUNK})", carry_rows, lines, execute)
        for step in ACCOUNTING_STEPS[1:]:
            timed(step, accounting_rows, sets, lambda step=step: run_step(step))

    carry = [r for r in results if r[0].startswith("carry_run")]
    accounting = [r for r in results if r[0] in ACCOUNTING_STEPS]
    carry_rows_written = sum(r[1] for r in carry)

    # (c) the baseline: the same number of rows, copied from the indicator table by plain INSERT … SELECT
    table, scratch = Indicator._meta.db_table, "bench_closing_copy"
    cols = "src_id, code, region_code, year, amount, available"
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {scratch}")
        cur.execute(f"CREATE TABLE {scratch} (id {'INTEGER' if connection.vendor == 'sqlite' else 'BIGSERIAL'} "
                    "PRIMARY KEY, src_id BIGINT, code VARCHAR(50), region_code VARCHAR(9), year INTEGER, "
                    "amount BIGINT, available BIGINT)")
    source = Indicator.objects.filter(region_code__startswith=prefix).count()
    base = Measure()
    with base, transaction.atomic(), connection.cursor() as cur:
        left = carry_rows_written
        while left > 0:
            cur.execute(f"INSERT INTO {scratch} ({cols}) SELECT id, code, region_code, year, amount, available "
                        f"FROM {table} WHERE region_code LIKE %s ORDER BY id LIMIT %s", [prefix + "%", min(left, source)])
            left -= min(left, source)
            base.queries += 1
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {scratch}")
        copied = cur.fetchone()[0]
        cur.execute(f"DROP TABLE {scratch}")
    base_rate = copied / max(base.wall, 1e-9)

    print(f"\n{'case':<46} {'rows':>9} {'s':>8} {'rows/s':>9} {'×base':>7} {'q/1k rows':>10} "
          f"{'audit rows':>10} {'cpu ms/1k':>10} {'cpu ms/op':>10}")

    def line(label: str, rows: int, ops: int, m: Measure, audit: int, op_name: str = "") -> None:
        rate = rows / max(m.wall, 1e-9)
        per_k = 1000 / max(rows, 1)
        print(f"{label:<46} {rows:>9,} {m.wall:>8.2f} {rate:>9,.0f} {base_rate / max(rate, 1e-9):>6.1f}x "
              f"{m.queries * per_k:>10.1f} {audit:>10,} {m.cpu * 1000 * per_k:>10.1f} "
              f"{m.cpu * 1000 / max(ops, 1):>10.2f}{op_name}")

    def total(label: str, group, op_name: str) -> None:
        m = Measure(wall=sum(r[3].wall for r in group), cpu=sum(r[3].cpu for r in group),
                    queries=sum(r[3].queries for r in group))
        line(label, sum(r[1] for r in group), group[-1][2], m, sum(r[4] for r in group), op_name)

    for label, rows, ops, m, audit in carry:
        line(f"  {label}", rows, ops, m, audit, " /ind" if "propose" in label else " /line")
    total("(a) carry-over", carry, " /line")
    for label, rows, ops, m, audit in accounting:
        line(f"  {label}", rows, ops, m, audit, " /set")
    total("(b) year-end accounting", accounting, " /set")
    line("(c) baseline: INSERT … SELECT (1 transaction)", copied, copied, base, 0)
    print("×base = how many times slower than the baseline's rows/s; q = SQL statements; cpu = this process only; "
          "audit rows = change-log rows written")

    done = CarryRun.objects.filter(**mine, status=CarryRun.Status.EXECUTED).count()
    steps_done = YearStep.objects.filter(**mine, year=year, status=YearStep.Status.DONE,
                                         step__in=(*SETUP_STEPS, "carry_over", *ACCOUNTING_STEPS)).count()
    wanted = len(regions) * (len(SETUP_STEPS) + 1 + len(ACCOUNTING_STEPS))
    if done != len(regions) or steps_done != wanted or copied != carry_rows_written or not carry_rows_written:
        sys.exit(f"check failed: {done}/{len(regions)} carry runs executed, {steps_done}/{wanted} steps done, "
                 f"{carry_rows_written} rows carried, {copied} copied")
    print(f"check: {done}/{len(regions)} carry runs executed; every year-end step done in every region")
    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
