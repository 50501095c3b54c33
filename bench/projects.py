"""Benchmark the project library at scale: the `projects` gen stage (rows/second, wall clock and this process's
CPU time, which tells a busy shared machine from a slow program), then the reads budgeting and the pages use
on the generated province (budgetable projects of a year, the list page's first page with its count).

    .venv/bin/python bench/projects.py [--scale province] [--seed 1] [--db postgres://…/ibms_scratch]

Without --db it uses a new SQLite file in a temporary directory. With --db the database must be a scratch one.
"""

from __future__ import annotations

import argparse
import time

from _common import scratch_django  # bench/_common.py, beside this script


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="province")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    scratch_django("projects", args.db)
    from django.db import connection

    from ibms.core import clock
    from ibms.core.scoping import FULL_SCOPE
    from ibms.demo.generator import STAGES, generate
    from ibms.projects import gen as project_gen
    from ibms.projects import selectors

    print(f"database: {connection.vendor}  scale: {args.scale}")
    timing: dict[str, tuple[float, float]] = {}
    original = project_gen.stage_projects

    def timed(ctx):
        wall, cpu = time.perf_counter(), time.process_time()
        original(ctx)
        timing["projects"] = (time.perf_counter() - wall, time.process_time() - cpu)

    stages = [s for s in STAGES if s.name in ("regions", "units", "people")]
    stages.append(next(s for s in STAGES if s.name == "projects").__class__("projects", timed, ()))
    ctx = generate(args.scale, args.seed, progress=False, stages=stages)
    rows = ctx.counts.get("project", 0) + ctx.counts.get("projectyearplan", 0)
    wall, cpu = timing["projects"]
    print(f"projects stage: {ctx.counts.get('project', 0):,} projects + {ctx.counts.get('projectyearplan', 0):,} "
          f"year plans = {rows:,} rows (plus as many audit rows)")
    print(f"  wall {wall:8.1f} s  {rows / wall:10,.0f} rows/s")
    print(f"  cpu  {cpu:8.1f} s  {rows / cpu:10,.0f} rows/s (this process)")

    class Everyone:  # a user object with full scope, for the selectors
        is_authenticated = is_active = True
        data_scope = FULL_SCOPE
        region_code = ctx.regions[0].code

    year = clock.fiscal_year()
    started = time.perf_counter()
    n = sum(1 for _ in selectors.budgetable_projects(Everyone(), year).filter(
        region_code__startswith=ctx.prefix).iterator(chunk_size=2000))
    print(f"budgetable_projects({year}): {n:,} projects in {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    qs = selectors.project_list(Everyone(), year=year, status="in_library")
    count, first = qs.count(), list(qs[:50])
    print(f"list page (count {count:,} + first 50): {time.perf_counter() - started:.2f} s ({len(first)} rows)")


if __name__ == "__main__":
    main()
