"""`ibms gen` stages of this app: (name, run(ctx), models written). demo/generator.py registers them in order.

The `accounting` stage opens the generation year's books: an account set (账套) for every generated unit and
department, with its own copy of the chart (about 137 accounts: the 104 accounts of 《政府会计制度》 and the
configured sub-accounts) and 12 periods, and one 总预算会计 set per generated region. Each batch of sets is
written with its accounts, periods and audit rows in one transaction (`services.books_create`).
Deterministic: no randomness, codes follow the units'.
"""

from __future__ import annotations

import time

from django.db import transaction

from .charts import load_all
from .models import Account, AccountSet, ChartKind, ChartTemplate, Period
from .services import account_set_build, books_create

SETS_PER_BATCH = 50  # ≈ 7,000 accounts + 600 periods per transaction


def stage_accounting(ctx) -> None:
    if not ChartTemplate.objects.filter(year=ctx.year).exists():
        load_all([ctx.year])
    unit_tpl = ChartTemplate.objects.get(kind=ChartKind.UNIT, year=ctx.year)
    fiscal_tpl = ChartTemplate.objects.get(kind=ChartKind.FISCAL, year=ctx.year)
    sets = [account_set_build(year=ctx.year, template=unit_tpl, unit=u) for u in ctx.units]
    sets += [account_set_build(year=ctx.year, template=fiscal_tpl, region=r) for r in ctx.regions]
    rows = 0
    started = time.perf_counter()
    with ctx.bar("账套", len(sets)) as bar:
        for i in range(0, len(sets), SETS_PER_BATCH):
            batch = sets[i:i + SETS_PER_BATCH]
            with transaction.atomic():
                made = books_create(batch)
            rows += made["sets"] + made["accounts"] + made["periods"]
            for name, key in (("accountset", "sets"), ("account", "accounts"), ("period", "periods")):
                ctx.counts[name] = ctx.counts.get(name, 0) + made[key]
            bar.update(len(batch))
    elapsed = time.perf_counter() - started
    ctx.data["accounting_rows_per_second"] = round(rows / elapsed) if elapsed else 0


GEN_STAGES: list = [("accounting", stage_accounting, (AccountSet, Account, Period))]
