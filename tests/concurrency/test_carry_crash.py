"""Kill the worker in the middle of a carry-over (结转结余) run and restart it (PostgreSQL, real processes).

The county's budget division starts the run from the page's service (`carry_run_start`: checked, marked
executing, queued); the worker (`ibms worker`, chunks of 2 lines) runs with `IBMS_CRASH_AT=closing.carry_chunk`
and dies as `kill -9` would right after its first chunk commits. Then: two lines executed, the rest untouched,
nothing written twice. A clean worker picks the message up again once its lease lapses and finishes the run:
every line executed once (one 结转下年 and/or one 收回 movement per part), conservation holds."""

from __future__ import annotations

import time

import pytest

from ibms.closing.models import CarryLine, CarryRun
from ibms.closing.selectors import carry_problems
from ibms.closing.services import carryover
from ibms.core.faults import CRASH_EXIT_CODE
from ibms.indicators.models import IndicatorEntry
from tests.closing.carry_builders import COUNTY, YEAR, closing, county_indicator
from tests.concurrency.test_payment_crash import run

pytestmark = pytest.mark.postgres
E = IndicatorEntry.Kind


def moves(run_: CarryRun) -> dict[int, int]:
    """indicator id → its carry-out and recall movements of this run."""
    out: dict[int, int] = {}
    for ind_id in IndicatorEntry.objects.filter(
            kind__in=[E.CARRY_OUT, E.RECALL], source__in=[run_.carry_source_id, run_.recall_source_id]
    ).values_list("indicator_id", flat=True):
        out[ind_id] = out.get(ind_id, 0) + 1
    return out


def test_worker_killed_mid_run_then_restarted(committed_db, user, monkeypatch):
    county = user("county_budget")
    for i in range(5):
        county_indicator(county, (i + 1) * 100_00, is_track=i % 2 == 0)
    closing()
    proposed = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    assert proposed.line_count >= 5
    carryover.carry_run_start(actor=county, run_id=proposed.pk)
    monkeypatch.setenv("IBMS_CARRY_CHUNK", "2")
    monkeypatch.setenv("IBMS_OUTBOX_LEASE_SECONDS", "1")

    assert run(["worker", "--once"], crash_at="closing.carry_chunk") == CRASH_EXIT_CODE
    crashed = CarryRun.objects.get(pk=proposed.pk)
    assert (crashed.status, crashed.done_count) == ("executing", 2)
    executed = CarryLine.objects.filter(run=crashed, executed_at__isnull=False)
    assert executed.count() == 2
    done = moves(crashed)
    assert set(done) == set(executed.values_list("indicator_id", flat=True))
    assert all(n == (bool(ln.carry_amount) + bool(ln.recall_amount)) for ln in executed for n in [done[ln.indicator_id]])

    time.sleep(1.5)  # the dead worker's claim on the message lapses
    assert run(["worker", "--once"]) == 0
    finished = CarryRun.objects.get(pk=proposed.pk)
    assert (finished.status, finished.done_count) == ("executed", finished.line_count)
    done = moves(finished)
    for ln in CarryLine.objects.filter(run=finished):
        assert done.get(ln.indicator_id, 0) == bool(ln.carry_amount) + bool(ln.recall_amount), ln.indicator_id
        if ln.carry_amount:
            assert ln.new_indicator is not None and ln.new_indicator.amount == ln.carry_amount
    assert CarryLine.objects.filter(run=finished, new_indicator__isnull=False).count() == \
        CarryLine.objects.filter(run=finished, carry_amount__gt=0).count()
    assert carry_problems() == []
