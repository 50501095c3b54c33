"""Benchmark a month of payroll (issue 14): N people generated, reviewed, approved and paid, beside a plain INSERT
of the same slip lines in the same run.

    IBMS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ibms_bench_payroll .venv/bin/python bench/payroll.py \
        [--scale small|city|province] [--people N]
    .venv/bin/python bench/payroll.py --people 200          # on a new SQLite file in a temporary directory

N is the headcount of the `ibms gen` scale (units × the mean of its people per unit: small ≈ 480, city ≈ 8,800,
province ≈ 46,800), all paid as ONE run of the demo school (the worst case for a run: every slip, line and voucher
detail in one document); `--people` overrides it. A PostgreSQL database named by `--db` (default:
IBMS_DATABASE_URL) is created when missing and must be a scratch one: the demo province is loaded, then N people and
their payroll profiles are bulk-inserted (not timed) and a 人员类 indicator large enough is approved. Timed, as the
unit's clerk, reviewer and head would do it through the services:

- generate: `payroll_run_generate` (every person's items, the tax by the cumulative method, the changes);
- review: submit, 单位审核, 单位负责人审批;
- pay: `payroll_run_pay` — the net-pay batch, the tax and the withholdings as three treasury requests, each with
  every control, reserved, submitted; the accrual and the withholding booked;
- approve: the treasury review of the three requests (vouchers generated, SM2-signed, queued);
- receipt: the bank's receipt of each voucher applied in process (reservation posted, both books);
- baseline: one plain INSERT (executemany, one transaction) of N rows with the slip's columns into a scratch table.

Printed per step: wall s, people/s, ×baseline, SQL statements per person, this process's CPU ms per person.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

from _common import scratch_django  # bench/_common.py, beside this script
from closing import Measure, QueryCounter, ensure_pg_database

YUAN = 100
PAY = {"JBGZ": 5000 * YUAN, "XJGZ": 1000 * YUAN, "JTBT": 2000 * YUAN}


def people_of(scale: str) -> int:
    from ibms.demo.generator import SCALES

    s = SCALES[scale]
    return s.units * (s.people_per_unit[0] + s.people_per_unit[1]) // 2


def add_people(unit, n: int) -> None:
    """N people of the unit with a payroll profile each, bulk-inserted (set-up, not timed)."""
    from django.db import transaction

    from ibms.masterdata.models import Person
    from ibms.payroll.models import PayProfile

    with transaction.atomic():
        PayProfile.objects.filter(unit=unit).update(is_active=False)
        base = Person.objects.count() + 1
        people = Person.objects.bulk_create(
            [Person(region_code=unit.region_code, unit=unit, name=f"职工{base + i:06d}",
                    id_number=f"99{base + i:016d}") for i in range(n)], batch_size=2000)
        PayProfile.objects.bulk_create(
            [PayProfile(region_code=unit.region_code, unit=unit, unit_path=unit.path, person=p, post="教师",
                        grade="专技十级", card_no=f"6217{p.pk:012d}", card_bank="华夏银行营业部", items=dict(PAY))
             for p in people], batch_size=2000)


def personnel_indicator(unit, amount: int):
    from django.db import transaction

    from ibms.core import clock
    from ibms.iam.models import User
    from ibms.indicators import services as ins

    budget = User.objects.get(username="fin_budget")
    with transaction.atomic():
        src = ins.source_document_create(actor=budget, region_code=unit.region_code, year=clock.fiscal_year(),
                                         kind="budget_reply", doc_no=f"工资压测〔{time.time_ns()}〕号",
                                         title="工资统发压测", doc_date=clock.today())
        [ind] = ins.indicators_create(actor=budget, source=src, specs=[ins.IndicatorSpec(
            amount=amount, unit_id=unit.pk, fund_nature_code="111", exp_func_code="2050202", dep_eco_code="30101",
            gov_eco_code="50501")])
    return ind


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="small", help="small | city | province (default small)")
    ap.add_argument("--people", type=int, default=None, help="the headcount (default: the scale's)")
    ap.add_argument("--db", default=os.environ.get("IBMS_DATABASE_URL"))
    args = ap.parse_args()
    if args.db and args.db.startswith("postgres"):
        ensure_pg_database(args.db)
    tmp = scratch_django("payroll", args.db)
    from django.db import connection, transaction

    from ibms.banks import services as banks
    from ibms.banks.models import BankEndpoint
    from ibms.core import clock
    from ibms.core.crypto import generate_sm2_keypair
    from ibms.demo.province import load_demo_province
    from ibms.demo.users import DEMO_PIN
    from ibms.iam.models import User
    from ibms.masterdata.models import Unit
    from ibms.payroll import services as ps
    from ibms.payroll.models import PayrollRun, PayrollSlip
    from ibms.treasury import selectors as tsel
    from ibms.treasury import services as ts
    from ibms.treasury.models import PaymentVoucher

    load_demo_province()
    n = args.people or people_of(args.scale)
    unit = Unit.objects.get(region_code="990000000", code="001001")
    clerk, reviewer, head, treasury = (User.objects.get(username=u) for u in (
        "school_clerk", "school_reviewer", "school_head", "fin_treasury"))
    year = clock.fiscal_year()
    month = (PayrollRun.objects.filter(unit=unit, year=year).order_by("-month").values_list("month", flat=True)
             .first() or 0) + 1
    if month > 12:
        sys.exit("the demo school has a run for every month of the year: use a new database")
    where = os.environ["IBMS_DATABASE_URL"].split("@")[-1]
    print(f"database: {connection.vendor} {where}  scale: {args.scale}  people: {n:,}  month: {month}")
    t = time.perf_counter()
    add_people(unit, n)
    ind = personnel_indicator(unit, n * 9_000 * YUAN)
    print(f"set-up: {n:,} people and profiles inserted, indicator {ind.code} in {time.perf_counter() - t:.0f} s")

    counter = QueryCounter()
    steps: list[tuple[str, Measure]] = []
    state: dict = {}

    def timed(label: str, body) -> None:
        q = counter.n
        with Measure() as m:
            body()
        m.queries = counter.n - q
        steps.append((label, m))
        print(f"  {label}: {m.wall:.1f} s", flush=True)

    def generate():
        state["run"] = ps.payroll_run_generate(actor=clerk, unit_id=unit.pk, year=year, month=month)

    def review():
        pk = state["run"].pk
        ps.payroll_run_submit(actor=clerk, pk=pk)
        ps.payroll_run_review(actor=reviewer, pk=pk, approve=True, comment="审核无误")
        ps.payroll_run_review(actor=head, pk=pk, approve=True, comment="同意发放")

    def pay():
        state["run"] = ps.payroll_run_pay(actor=clerk, pk=state["run"].pk, indicator_id=ind.pk)

    def approve():
        for p in state["run"].payments.select_related("request"):
            ts.payment_request_review(actor=reviewer, pk=p.request_id, approve=True, pin=DEMO_PIN)

    def receipt():
        for p in state["run"].payments.select_related("request"):
            req = p.request
            with transaction.atomic():
                v = tsel.voucher_find(req.region_code, None, PaymentVoucher.objects.get(request=req).number)
                ts.voucher_receipt_apply(v, xpay_amt=req.amount, xpay_date=clock.today(), business_no=f"B-{req.number}")

    with connection.execute_wrapper(counter):
        timed("generate", generate)
        timed("review (submit, 2 steps)", review)
        timed("pay (3 requests)", pay)
        code = state["run"].payments.first().request.agent_bank_code
        if not BankEndpoint.objects.filter(agent_bank_code=code, region_code=unit.region_code).exists():
            banks.endpoint_register(actor=treasury, agent_bank_code=code, region_code=unit.region_code,
                                    base_url="http://127.0.0.1:9", public_pem=generate_sm2_keypair().public_pem.decode())
        timed("approve (treasury review, sign)", approve)
        timed("receipt (3 vouchers, both books)", receipt)

    run = PayrollRun.objects.get(pk=state["run"].pk)
    slips = list(PayrollSlip.objects.filter(run=run).values_list(
        "region_code", "unit_path", "person_id", "name", "id_number", "card_no", "card_bank", "gross", "social",
        "tax", "other", "net"))
    scratch = "bench_payroll_copy"
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {scratch}")
        cur.execute(f"CREATE TABLE {scratch} (id {'INTEGER' if connection.vendor == 'sqlite' else 'BIGSERIAL'} "
                    "PRIMARY KEY, region_code VARCHAR(9), unit_path VARCHAR(255), person_id BIGINT, name VARCHAR(50),"
                    " id_number VARCHAR(18), card_no VARCHAR(32), card_bank VARCHAR(100), gross BIGINT, social BIGINT,"
                    " tax BIGINT, other BIGINT, net BIGINT)")
    base = Measure()
    with base, transaction.atomic(), connection.cursor() as cur:
        cur.executemany(f"INSERT INTO {scratch} (region_code, unit_path, person_id, name, id_number, card_no, "
                        "card_bank, gross, social, tax, other, net) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                        slips)
        base.queries = 1
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {scratch}")
        copied = cur.fetchone()[0]
        cur.execute(f"DROP TABLE {scratch}")
    base_rate = copied / max(base.wall, 1e-9)

    print(f"\n{'step':<36} {'s':>8} {'people/s':>10} {'×base':>8} {'q/person':>9} {'cpu ms/person':>14}")

    def line(label: str, m: Measure) -> None:
        rate = n / max(m.wall, 1e-9)
        print(f"{label:<36} {m.wall:>8.2f} {rate:>10,.0f} {base_rate / max(rate, 1e-9):>7.1f}x "
              f"{m.queries / n:>9.2f} {m.cpu * 1000 / n:>14.2f}")

    for label, m in steps:
        line(f"  {label}", m)
    total = Measure(wall=sum(m.wall for _, m in steps), cpu=sum(m.cpu for _, m in steps),
                    queries=sum(m.queries for _, m in steps))
    line("month generated, approved and paid", total)
    line("baseline: plain INSERT of the slips", base)
    print("×base = how many times slower than the baseline's people/s; q = SQL statements; cpu = this process only")

    paid = [p.request.status for p in run.payments.select_related("request")]
    if run.headcount != n or copied != n or run.status != "paid" or paid != ["paid"] * len(paid):
        sys.exit(f"check failed: {run.headcount}/{n} slips, {copied} copied, run {run.status}, requests {paid}")
    print(f"check: {n:,} slips; run paid; {len(paid)} requests paid by receipt; gross {run.gross / 100:,.2f} yuan")
    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
