"""Benchmark `ibms gen`: rows/second per stage (bulk insert + SM3-chained audit), against a same-run baseline:
a plain bulk_create of the same rows without audit (clones of the generated rows in a scratch region prefix,
committed per batch of 2,000 like the generator, then deleted).

    .venv/bin/python bench/gen.py [--scale city] [--seed 1] [--db postgres://postgres@127.0.0.1:5432/ibms_bench]

Without --db it uses a new SQLite file in a temporary directory. With --db the database must be a scratch one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from _common import scratch_django  # bench/_common.py, beside this script

BASELINE_PREFIX = "00"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="city")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    tmp = scratch_django("gen", args.db)
    from django.db import connection, transaction

    from ibms.demo.generator import BATCH_SIZE, STAGES, generate

    print(f"database: {connection.vendor} {os.environ['IBMS_DATABASE_URL'].split('@')[-1]}  scale: {args.scale}")
    ctx = generate(args.scale, args.seed, progress=False)

    cloned: dict = {}  # model → {original pk: clone pk}, so a clone's foreign keys point at clones

    def clone_rows(model, prefix: str) -> tuple[list, list]:
        region_field = "code" if model._meta.model_name == "region" else "region_code"
        rows = list(model._base_manager.filter(**{f"{region_field}__startswith": prefix}).order_by("pk"))
        # unique codes that start with the region (a project's 21-char code …) move to the baseline prefix too
        unique_codes = [f.attname for f in model._meta.concrete_fields
                        if f.unique and not f.primary_key and f.get_internal_type() == "CharField"
                        and f.attname != region_field]
        fks = [f for f in model._meta.concrete_fields if f.is_relation]
        originals = [row.pk for row in rows]
        for row in rows:
            row.pk = None
            setattr(row, region_field, BASELINE_PREFIX + getattr(row, region_field)[2:])
            for name in unique_codes:
                value = getattr(row, name)
                if value.startswith(prefix):
                    setattr(row, name, BASELINE_PREFIX + value[2:])
            for f in fks:  # a tree's parent (self reference) keeps pointing at the original row
                if f.related_model is not model and f.related_model in cloned:
                    value = getattr(row, f.attname)
                    setattr(row, f.attname, cloned[f.related_model].get(value, value))
        return rows, originals

    print(f"{'stage':<14} {'rows':>9} {'audited s':>10} {'audited rows/s':>15} {'plain s':>8} "
          f"{'plain rows/s':>13} {'ratio':>6}")
    total_a = total_p = 0.0
    written = []
    for stage in STAGES:
        rows = ctx.stage_rows.get(stage.name, 0)
        secs = ctx.timings.get(stage.name, 0.0)
        plain = 0.0
        for model in stage.models:
            clones, originals = clone_rows(model, ctx.prefix)
            started = time.perf_counter()
            for i in range(0, len(clones), BATCH_SIZE):
                with transaction.atomic():
                    model._base_manager.bulk_create(clones[i:i + BATCH_SIZE])
            plain += time.perf_counter() - started
            cloned[model] = dict(zip(originals, (c.pk for c in clones), strict=True))
            written.append((model, "code" if model._meta.model_name == "region" else "region_code"))
        total_a, total_p = total_a + secs, total_p + plain
        print(f"{stage.name:<14} {rows:>9,} {secs:>10.2f} {rows / max(secs, 1e-9):>15,.0f} {plain:>8.2f} "
              f"{rows / max(plain, 1e-9):>13,.0f} {secs / max(plain, 1e-9):>5.1f}x")
    for model, field in reversed(written):  # scratch rows are not business data: remove them again
        model._base_manager.filter(**{f"{field}__startswith": BASELINE_PREFIX}).delete()
    rows = sum(ctx.stage_rows.values())
    print(f"{'total':<14} {rows:>9,} {total_a:>10.2f} {rows / total_a:>15,.0f} {total_p:>8.2f} "
          f"{rows / total_p:>13,.0f} {total_a / total_p:>5.1f}x")
    print("audited = generate + bulk insert + read-back + SM3 row hash + chained change log; "
          "plain = bulk_create of the same rows only")
    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
