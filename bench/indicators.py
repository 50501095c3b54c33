"""Indicator reservation throughput, beside a bare-insert baseline measured in the same run.

    IBMS_DATABASE_URL=sqlite:////tmp/ibms_ind_bench.sqlite3 .venv/bin/python bench/indicators.py [-n 2000]
    IBMS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ibms_ind_bench .venv/bin/python bench/indicators.py \
        [-n 2000] [--threads 8]

The database is set up (schema, reference data, demo province) when it is empty. Each case runs `n` operations,
one transaction each, and prints operations per second:

- baseline: a bare `INSERT` of one row into a scratch table, committed — what the database itself costs;
- reserve: `indicator_reserve` (lock the indicator, reservation row, journal entry, cached buckets, audit);
- reserve + post: a payment's two phases;
- on PostgreSQL also `--threads` workers reserving at once, against one indicator (they queue on its row lock)
  and against one indicator each.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10.0f} /s  ({seconds * 1000 / n:.2f} ms each)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ibms.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from ibms.core import clock
    from ibms.core.context import Actor, acting
    from ibms.iam.models import User
    from ibms.indicators import services as s
    from ibms.masterdata.models import Region, Unit

    call_command("migrate", interactive=False, verbosity=0)
    if not Region.objects.filter(code="990000000").exists():
        from ibms.demo.province import load_demo_province
        from ibms.demo.setup import setup_system

        print("setting up the database (reference data, demo province) …")
        setup_system(verbosity=0)
        load_demo_province()

    budget = User.objects.get(username="fin_budget")
    year = clock.fiscal_year()
    run = uuid.uuid4().hex[:8]
    unit = Unit.objects.get(region_code="990000000", code="001001")

    def indicators(count: int, amount: int) -> list[int]:
        with transaction.atomic():
            src = s.source_document_create(actor=budget, region_code="990000000", year=year, kind="budget_reply",
                                           doc_no=f"基准测试〔{run}〕{uuid.uuid4().hex[:6]}号", title="基准测试",
                                           doc_date=clock.today())
            return [i.pk for i in s.indicators_create(actor=budget, source=src, specs=[s.IndicatorSpec(
                amount=amount, fund_nature_code="111", exp_func_code="2050202", unit_id=unit.pk)] * count)]

    n = args.n
    print(f"database {connection.vendor}; {n} operations per case, one transaction each")
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, consumer VARCHAR(100), "
                    "amount BIGINT)" if connection.vendor == "sqlite" else
                    "CREATE TABLE IF NOT EXISTS bench_baseline (id BIGSERIAL PRIMARY KEY, consumer VARCHAR(100), "
                    "amount BIGINT)")

    t = time.perf_counter()
    for i in range(n):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("INSERT INTO bench_baseline (consumer, amount) VALUES (%s, %s)", [f"{run}:{i}", 100])
    base = time.perf_counter() - t
    print(f"{'baseline: bare INSERT':<34}{rate(n, base)}")

    with acting(Actor(user_id=budget.pk, username=budget.username)):
        [one] = indicators(1, n * 100)
        t = time.perf_counter()
        for i in range(n):
            with transaction.atomic(durable=True):
                s.indicator_reserve(actor=budget, indicator_id=one, amount=100, consumer=f"bench:{run}:r{i}")
        reserve = time.perf_counter() - t
        print(f"{'indicator_reserve':<34}{rate(n, reserve)}   ×{reserve / base:.1f} the baseline")

        [two] = indicators(1, n * 100)
        t = time.perf_counter()
        for i in range(n // 2):
            with transaction.atomic(durable=True):
                s.indicator_reserve(actor=budget, indicator_id=two, amount=100, consumer=f"bench:{run}:p{i}")
            with transaction.atomic(durable=True):
                s.reservation_post(actor=budget, consumer=f"bench:{run}:p{i}")
        both = time.perf_counter() - t
        print(f"{'reserve, then post (per call)':<34}{rate(n // 2 * 2, both)}")

    if connection.vendor != "postgresql":
        return
    threads = args.threads
    per = n // threads
    for label, targets in (("one indicator", indicators(1, n * 100) * threads),
                           ("one indicator each", indicators(threads, n * 100))):
        barrier = threading.Barrier(threads + 1)

        def work(k: int, target: int, label: str = label, barrier: threading.Barrier = barrier) -> None:
            try:
                with acting(Actor(user_id=budget.pk, username=budget.username)):
                    barrier.wait()
                    for i in range(per):
                        with transaction.atomic(durable=True):
                            s.indicator_reserve(actor=budget, indicator_id=target, amount=100,
                                                consumer=f"bench:{run}:{label}:{k}:{i}")
            finally:
                connection.close()

        workers = [threading.Thread(target=work, args=(k, targets[k])) for k in range(threads)]
        for w in workers:
            w.start()
        barrier.wait()
        t = time.perf_counter()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t
        print(f"{f'{threads} threads, {label}':<34}{rate(per * threads, elapsed)}")


if __name__ == "__main__":
    main()
