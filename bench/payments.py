"""Payments end to end on PostgreSQL, beside pgbench TPC-B measured on the same machine in the same run.

    .venv/bin/python bench/payments.py [--db postgres://postgres@127.0.0.1:5432/ibms_bench_pay] [--payments 400]
        [--clients 4] [--workers 2] [--batch-lines 10000] [--pgbench-seconds 15]

The database named by --db is a scratch database: it is dropped and created again, set up with the demo province
(its approved budget gives every unit indicators). The bank simulator runs as its own process; `--workers` worker
processes (`ibms worker`) send vouchers and poll the bank's feed. Printed:

1. pgbench TPC-B (scale 10, `--clients` clients, `--pgbench-seconds`): transactions per second — what this machine's
   PostgreSQL does with the simplest banking transaction.
2. Settled payments per second: `--clients` threads each create, submit (every control and the in-line monitoring
   with 100 active rules, reservation) and approve (voucher generated and SM2-signed, outbox) payments; the workers
   send them to the simulator, which pays and publishes receipts; the workers poll, verify the bank's seal and apply
   each receipt (reservation posted + accounting voucher) — until every payment is receipted. Ratio to pgbench.
3. The cost of monitoring per payment: the submit-time control pass (`payment_request_check`) with 100 active rules
   and with none, and `engine.evaluate` alone.
4. One payroll batch of `--batch-lines` lines: create, submit, approve (one 8207 voucher with every line, signed),
   then until its receipt is applied.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_ms, scratch_django  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REGION = "990000000"
RULES_WANTED = 100


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pgbench_tps(url: str, clients: int, seconds: int) -> float:
    """TPC-B-like pgbench on a scratch database next to ours: initialise at scale 10, run, parse the tps."""
    base, _ = url.rsplit("/", 1)
    scratch = f"{base}/ibms_pgbench"
    recreate_database(scratch)
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", scratch], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-c", str(clients), "-j", str(clients), "-T", str(seconds), scratch],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)",
                  out)
    if m is None:
        raise RuntimeError(f"cannot read pgbench's tps:\n{out}")
    return float(m.group(1))


def ensure_rules(actor, wanted: int) -> int:
    """Top the active in-line rules up to `wanted` with variants of the shipped catalogue that do not fire on the
    benchmark's payments (their thresholds are out of reach), each back-tested and enabled like a real rule."""
    from ibms.monitoring import services as mon
    from ibms.monitoring.models import Rule

    active = Rule.objects.filter(enabled=True).exclude(stage="batch").count()
    today = dt.date.today()
    for i in range(max(0, wanted - active)):
        rule = mon.rule_create(actor=actor, data={
            "code": f"BENCH-{i:03d}", "name": f"压测规则{i}", "region_code": "", "level": "region", "stage": "inline",
            "action": "warn_yellow",
            "condition": f"payment.amount > params.limit && payment.purpose.contains(\"压测{i}\")",
            "params": {"limit": 10**12 + i}, "message": "压测规则 {payment.amount:yuan}",
        })
        mon.rule_backtest(actor=actor, rule_or_draft=rule.pk, date_from=today - dt.timedelta(days=30), date_to=today)
        mon.rule_enable(actor=actor, pk=rule.pk)
    return Rule.objects.filter(enabled=True).exclude(stage="batch").count()


def set_rules_enabled(enabled_ids: list[int], on: bool) -> None:
    """Switch the rules off and on again through the services (audited, as an administrator would)."""
    from ibms.iam.services import system_user
    from ibms.monitoring import services as mon

    actor = system_user()
    today = dt.date.today()
    for pk in enabled_ids:
        if on:  # a rule is switched on only after a back-test of its current version
            mon.rule_backtest(actor=actor, rule_or_draft=pk, date_from=today - dt.timedelta(days=30), date_to=today)
            mon.rule_enable(actor=actor, pk=pk)
        else:
            mon.rule_disable(actor=actor, pk=pk)


def payment_plan(n: int):
    """n small payments spread over the executable indicators of the demo school (its clerk and reviewer exist),
    each to one of the unit's payees, by transfer."""
    from ibms.indicators.models import Indicator
    from ibms.masterdata.models import Payee

    clerk_unit_path = _user("school_clerk").organization.unit.path
    inds = list(Indicator.objects.filter(region_code=REGION, unit__path=clerk_unit_path, is_executable=True,
                                         available__gt=10_000_00).order_by("pk"))
    payees = list(Payee.objects.filter(region_code=REGION, unit__path=clerk_unit_path, is_active=True).order_by("pk"))
    if not inds or not payees:
        raise SystemExit("the demo school has no executable indicator or payee")
    return [(inds[i % len(inds)], payees[i % len(payees)], 100_00 + i) for i in range(n)]


def _user(username: str):
    from ibms.iam.models import User

    return User.objects.select_related("organization", "organization__unit").get(username=username)


def draft(ind, payee, amount: int, purpose: str):
    from ibms.treasury.services import DraftIn, PayeeIn

    return DraftIn(indicator_id=ind.pk, amount=amount, purpose=purpose, payee=PayeeIn(payee_id=payee.pk))


def connect_bank(sim) -> None:
    """The simulator as the bank of the province's finance zero-balance account, which pays its centralized
    payments (one endpoint: each bank has its own feed, as in production)."""
    from ibms.banks.services import endpoint_register
    from ibms.iam.services import system_user
    from ibms.masterdata.models import BankAccount

    bank = BankAccount.objects.get(region_code=REGION, unit__isnull=True, account_type="11").bank
    endpoint_register(actor=system_user(), agent_bank_code=bank.code, region_code=REGION, base_url=sim.url,
                      admin_token=sim.admin_token)


def start_workers(n: int, db_url: str) -> list[subprocess.Popen]:
    env = dict(os.environ, IBMS_DATABASE_URL=db_url, IBMS_BANK_POLL_SECONDS="0.2",
               PYTHONPATH=str(ROOT / "src"))
    return [subprocess.Popen([sys.executable, "-m", "ibms.cli", "worker", "--interval", "0.05"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]


def wait_paid(numbers: list[str], timeout: float) -> float:
    """Seconds until every request is paid (receipt applied); raises if not within `timeout`."""
    from ibms.treasury.models import PaymentRequest

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if PaymentRequest.objects.filter(number__in=numbers, status="paid").count() == len(numbers):
            return time.perf_counter() - t0
        time.sleep(0.1)
    left = PaymentRequest.objects.filter(number__in=numbers).exclude(status="paid").count()
    raise SystemExit(f"{left} of {len(numbers)} payments not paid within {timeout:.0f} s")


def run_settled(n: int, clients: int) -> tuple[float, float, list[str]]:
    """Payments through the whole chain; returns (seconds for clients to submit and approve all, seconds until the
    last receipt is applied, numbers)."""
    from django.db import connection

    from ibms.demo.users import DEMO_PIN
    from ibms.treasury import services as t

    clerk, reviewer = _user("school_clerk"), _user("school_reviewer")
    plan = payment_plan(n)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(chunk):
        try:
            for ind, payee, amount in chunk:
                req = t.payment_request_create(actor=clerk, data=draft(ind, payee, amount, "办公用品采购（压测）"))
                t.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=uuid.uuid4().hex)
                t.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
                with lock:
                    numbers.append(req.number)
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)
        finally:
            connection.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(plan[i::clients],)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    submitted = time.perf_counter() - t0
    wait_paid(numbers, timeout=600)
    return submitted, time.perf_counter() - t0, numbers


def monitoring_cost(samples: int) -> dict[str, float]:
    """Median ms of the submit-time control pass with the active rules and with none, and of evaluate() alone."""
    from ibms.monitoring import engine
    from ibms.monitoring.models import Rule
    from ibms.treasury import services as t
    from ibms.treasury.monitoring_context import build as build_context

    clerk = _user("school_clerk")
    ind, payee, amount = payment_plan(1)[0]
    req = t.payment_request_create(actor=clerk, data=draft(ind, payee, amount, "监控开销测量"))
    ids = list(Rule.objects.filter(enabled=True).values_list("pk", flat=True))
    out = {"rules": float(Rule.objects.filter(pk__in=ids).exclude(stage="batch").count())}
    out["check_with_rules"] = median_ms(lambda: t.payment_request_check(actor=clerk, pk=req.pk), samples)
    ctx = build_context(req)
    out["evaluate_with_rules"] = median_ms(lambda: engine.evaluate(ctx), samples * 10)
    set_rules_enabled(ids, False)
    try:
        out["check_without_rules"] = median_ms(lambda: t.payment_request_check(actor=clerk, pk=req.pk), samples)
        out["evaluate_without_rules"] = median_ms(lambda: engine.evaluate(ctx), samples * 10)
    finally:
        set_rules_enabled(ids, True)
    return out


def run_batch(lines: int) -> dict[str, float]:
    from ibms.demo.users import DEMO_PIN
    from ibms.indicators.models import Indicator
    from ibms.treasury import services as t
    from ibms.treasury.models import PaymentRequest

    clerk, reviewer = _user("school_clerk"), _user("school_reviewer")
    ind = (Indicator.objects.filter(region_code=REGION, unit__path=clerk.organization.unit.path, is_executable=True,
                                    dep_eco_code__startswith="301").order_by("-available").first())
    each = min(1000_00, ind.available // (lines + 1))
    rows = [t.LineIn(payee_name=f"职工{i:05d}", payee_account_no=f"6217{i:012d}", payee_bank_name="华夏银行",
                     amount=each, id_no="") for i in range(lines)]
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    req = t.payment_request_create(actor=clerk, data=t.DraftIn(indicator_id=ind.pk, amount=each * lines,
                                                               purpose="工资统发（压测）", lines=rows,
                                                               is_payroll=True))
    out["create"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    t.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=uuid.uuid4().hex)
    out["submit"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    t.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    out["approve_sign"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    wait_paid([req.number], timeout=900)
    out["send_pay_receipt"] = time.perf_counter() - t1
    out["total"] = time.perf_counter() - t0
    assert PaymentRequest.objects.get(pk=req.pk).status == "paid"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/ibms_bench_pay")
    ap.add_argument("--payments", type=int, default=400)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-lines", type=int, default=10_000)
    ap.add_argument("--pgbench-seconds", type=int, default=15)
    args = ap.parse_args()
    if not args.db.startswith("postgres"):
        raise SystemExit("bench/payments.py measures PostgreSQL: --db postgres://…")

    print(f"pgbench TPC-B, scale 10, {args.clients} clients, {args.pgbench_seconds} s …", flush=True)
    tps = pgbench_tps(args.db, args.clients, args.pgbench_seconds)
    print(f"  pgbench: {tps:,.0f} tps")

    print("setting up a scratch database with the demo province …", flush=True)
    recreate_database(args.db)
    scratch_django("payments", args.db)
    from ibms.banks.simprocess import SimProcess
    from ibms.demo.province import load_demo_province
    from ibms.iam.services import system_user

    load_demo_province()
    rules = ensure_rules(system_user(), RULES_WANTED)
    print(f"  active in-line monitoring rules: {rules}")

    cost = monitoring_cost(samples=100)
    print("\nmonitoring cost per payment (median, no other load):")
    print(f"  the rules alone (engine.evaluate): {cost['evaluate_with_rules']:.3f} ms with {cost['rules']:.0f} "
          f"rules, {cost['evaluate_without_rules']:.3f} ms with none → "
          f"+{cost['evaluate_with_rules'] - cost['evaluate_without_rules']:.3f} ms")
    print(f"  the whole submit-time control pass: {cost['check_with_rules']:.2f} ms with the rules, "
          f"{cost['check_without_rules']:.2f} ms with none → monitoring adds "
          f"{cost['check_with_rules'] - cost['check_without_rules']:.2f} ms (rules + the history aggregates they "
          "use + rule-change stamp)")

    sim = SimProcess(Path(tempfile.mkdtemp(prefix="ibms-bench-sim-")), pay_delay=0.0).spawn()
    workers: list[subprocess.Popen] = []
    try:
        connect_bank(sim)
        workers = start_workers(args.workers, args.db)

        print(f"\n{args.payments} payments, {args.clients} client threads, {args.workers} workers, "
              "bank simulator paying at once …", flush=True)
        submitted, settled, _ = run_settled(args.payments, args.clients)
        rate = args.payments / settled
        print(f"  created + submitted + approved: {args.payments / submitted:,.1f} /s ({submitted:.1f} s)")
        print(f"  settled end to end (receipt applied, accounting posted): {rate:,.1f} payments/s "
              f"({settled:.1f} s)")
        print(f"  ratio to pgbench TPC-B: {rate / tps:.3f} (pgbench {tps:,.0f} tps; "
              f"{tps / rate:.0f} pgbench transactions per settled payment)")

        print(f"\none payroll batch of {args.batch_lines:,} lines …", flush=True)
        b = run_batch(args.batch_lines)
        print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in b.items()))
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
        sim.stop()


if __name__ == "__main__":
    main()
