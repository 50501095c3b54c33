"""Benchmark the monitoring engine: the cost of one in-line evaluation (`engine.evaluate`) with 100 active rules
against the same with no active rules, over varied sample contexts, in the same run.

    .venv/bin/python bench/monitoring.py [-n 5000] [--db postgres://…]

Without --db it uses a new SQLite file in a temporary directory (schema + `setup_system`, which loads the 24
shipped rules); with --db the database must be a scratch one. The 100 rules are the shipped catalogue plus copies
of it under new codes with other thresholds (the same kinds of conditions a region would add). Printed per
evaluation, in microseconds (mean over n calls after a warm-up):

- 0 rules / 100 rules with the default cache check (one aggregate query per call: `MONITORING_STAMP_TTL` = 0);
- the same with the check throttled to once per second (`MONITORING_STAMP_TTL` = 1), i.e. the rules' own cost;
- their ratio and difference, and `history_needed`.
"""

from __future__ import annotations

import argparse
import random
import time

from _common import scratch_django  # bench/_common.py, beside this script


def contexts(n: int, seed: int = 1) -> list[dict]:
    from ibms.monitoring.context import sample_context

    rng = random.Random(seed)
    out = []
    for i in range(n):
        eco = rng.choice(["30201", "30205", "30217", "30101", "31002"])
        out.append(sample_context(
            payment={"amount": rng.choice([80_000, 1_200_000, 4_999_900, 6_000_000, 95_000_000]),
                     "set_mode": rng.choice("11112233"), "number": f"SQ-{i:06d}",
                     "dep_eco_code": eco,
                     "purpose": rng.choice(["支付水费", "购买办公用品", "节日慰问品", "会议费"]),
                     "date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "hour": rng.randint(7, 20)},
            indicator={"dep_eco_code": eco, "is_personnel": eco.startswith("301")},
            payee={"kind": rng.choice(["corporate", "corporate", "individual"]),
                   "name": rng.choice(["华夏水务有限公司", "华联超市有限公司", "张三"])},
            history={"payee_30d_amounts": [rng.randint(1, 100_000_000) for _ in range(rng.randint(0, 5))],
                     "unit_cash_30d_count": rng.randint(0, 8), "payee_units_90d": rng.randint(0, 7),
                     "unit_eco_paid_ytd": rng.randint(0, 60_000_000)}))
    return out


def per_call_us(fn, ctxs: list[dict], n: int) -> float:
    for c in ctxs[:50]:
        fn(c)
    t = time.perf_counter()
    for i in range(n):
        fn(ctxs[i % len(ctxs)])
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    scratch_django("monitoring", args.db)
    from django.conf import settings
    from django.db import connection

    from ibms.monitoring import engine
    from ibms.monitoring.models import Rule

    shipped = list(Rule.objects.filter(region_code=""))
    copies = []
    k = 0
    while len(shipped) + len(copies) < 100:
        src = shipped[k % len(shipped)]
        params = {key: (v * (2 + k % 3) if isinstance(v, int) and not isinstance(v, bool) else v)
                  for key, v in (src.params or {}).items()}
        copies.append(Rule(region_code="", code=f"BENCH-{k:03d}", name=src.name, catalogue_no=src.catalogue_no,
                           level=src.level, stage=src.stage, action=src.action, condition=src.condition,
                           params=params, message=src.message, enabled=True))
        k += 1
    Rule.objects.bulk_create(copies)
    Rule.objects.update(enabled=True)
    ctxs = contexts(500)
    print(f"database: {connection.vendor}  evaluations: {args.n}  contexts: {len(ctxs)}")

    def run(label: str, active: bool, ttl: float) -> float:
        settings.MONITORING_STAMP_TTL = ttl
        Rule.objects.update(enabled=active)
        engine.invalidate()
        count = Rule.objects.filter(enabled=True).count()
        us = per_call_us(lambda c: engine.evaluate(c, stage="inline"), ctxs, args.n)
        hits = sum(len(engine.evaluate(c)) for c in ctxs[:200]) / 200
        print(f"  {label:<38} active rules {count:>3}: {us:>8.1f} µs per evaluation  ({hits:.2f} hits/payment)")
        return us

    print("cache check per call (MONITORING_STAMP_TTL = 0, the default):")
    zero = run("no active rules", False, 0)
    hundred = run("100 active rules", True, 0)
    print("cache check at most once per second (MONITORING_STAMP_TTL = 1):")
    zero_t = run("no active rules", False, 1)
    hundred_t = run("100 active rules", True, 1)
    settings.MONITORING_STAMP_TTL = 0
    hn = per_call_us(lambda c: engine.history_needed("990000000"), ctxs, args.n)
    print(f"history_needed: {hn:.1f} µs per call")
    print()
    print(f"100 rules vs 0 rules (per-call check): {hundred:.1f} vs {zero:.1f} µs, ratio {hundred / zero:.1f}x, "
          f"monitoring adds {(hundred - zero) / 1000:.3f} ms per payment")
    print(f"100 rules vs 0 rules (throttled check): {hundred_t:.1f} vs {zero_t:.1f} µs, "
          f"ratio {hundred_t / max(zero_t, 0.01):.1f}x, rules cost {(hundred_t - zero_t) / 1000:.3f} ms per payment")


if __name__ == "__main__":
    main()
