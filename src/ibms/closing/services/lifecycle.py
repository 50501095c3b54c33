"""The fiscal year's life cycle per region: preparing → executing → closing → closed, and the year-end checklist
(data/closing/steps.csv) between closing and closed.

Each step is a runner registered with `@runner(code)`: `fn(ctx: StepContext) -> dict` (a JSON summary: counts,
yuan strings). A runner owns its transactions (a batch step commits in chunks, each durable, and reports
`ctx.progress(done, total)` so the checklist's progress bar moves), is idempotent (a rerun finds its work done
and changes nothing) and resumable (a crash between chunks leaves finished chunks finished). When its
preconditions fail it raises `Blocked(items)` listing everything that blocks it — each item a dict with
`label` (Chinese) and, where a page shows the thing, `url` — and changes nothing.

`step_run` checks the step's permission (steps.csv), the actor's write scope on the region, the year's status
(`begin` needs executing, every other step closing) and that every earlier step is done; a step that is done
is not run again (the call returns it unchanged).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import check_write_scope, require_perm
from ibms.masterdata.models import FiscalYear, Region

from ..models import YearStep

S = YearStep.Status


@dataclass(frozen=True)
class StepDef:
    order: int
    code: str
    name: str
    permission: str
    description: str


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "closing"


@functools.cache
def step_defs() -> tuple[StepDef, ...]:
    with open(data_dir() / "steps.csv", encoding="utf-8", newline="") as fh:
        rows = [StepDef(int(r["order"]), r["code"].strip(), r["name"].strip(), r["permission"].strip(),
                        r["description"].strip()) for r in csv.DictReader(fh)]
    rows.sort(key=lambda d: d.order)
    if len({d.code for d in rows}) != len(rows) or not rows or rows[0].code != "begin" or rows[-1].code != "close":
        raise ValueError("data/closing/steps.csv: step codes must be unique, first 'begin', last 'close'")
    return tuple(rows)


def step_def(code: str) -> StepDef:
    for d in step_defs():
        if d.code == code:
            return d
    raise invalid("step_unknown", f"没有名为“{code}”的结账步骤", "step")


class Blocked(Conflict):
    """A step's preconditions fail: `items` lists everything that blocks it."""

    def __init__(self, step: str, items: list[dict]):
        name = step_def(step).name if step in {d.code for d in step_defs()} else step
        shown = "；".join(i["label"] for i in items[:5]) + ("……" if len(items) > 5 else "")
        super().__init__("step_blocked", f"“{name}”未通过，共 {len(items)} 项待处理：{shown}",
                         {"step": step, "items": items})
        self.items = items


@dataclass
class StepContext:
    actor: object
    region_code: str
    year: int
    row: YearStep

    def progress(self, done: int, total: int) -> None:
        """Record how far the batch is (its own small transaction, so the page sees it while the step runs)."""
        done = min(done, total)
        with transaction.atomic():
            YearStep.objects.filter(pk=self.row.pk).update(done=done, total=total, updated_at=timezone.now())
        self.row.done, self.row.total = done, total


Runner = Callable[[StepContext], dict]
RUNNERS: dict[str, Runner] = {}


def runner(code: str) -> Callable[[Runner], Runner]:
    def register(fn: Runner) -> Runner:
        RUNNERS[code] = fn
        return fn
    return register


def region_name(region_code: str) -> str:
    return Region.objects.filter(code=region_code).values_list("name", flat=True).first() or region_code


def steps_ensure(region_code: str, year: int) -> list[YearStep]:
    """The year's checklist rows in order (created on first sight)."""
    rows = {r.step: r for r in YearStep.objects.filter(region_code=region_code, year=year)}
    missing = [YearStep(region_code=region_code, year=year, step=d.code) for d in step_defs() if d.code not in rows]
    if missing:
        with transaction.atomic():
            YearStep.objects.bulk_create(missing, ignore_conflicts=True)
        rows = {r.step: r for r in YearStep.objects.filter(region_code=region_code, year=year)}
    return [rows[d.code] for d in step_defs()]


def _year(region_code: str, year: int) -> FiscalYear:
    fy = FiscalYear.objects.filter(region_code=region_code, year=year).first()
    if fy is None:
        raise Conflict("fiscal_year_missing", f"{region_name(region_code)}未设立{year}年度",
                       {"region_code": region_code, "year": year})
    return fy


def _mark(row: YearStep, **values) -> YearStep:
    with transaction.atomic(durable=True):
        fresh = YearStep.objects.select_for_update().get(pk=row.pk)
        audit.update_fields(fresh, **values)
    return fresh


def step_run(*, actor, region_code: str, year: int, step: str) -> YearStep:
    """Run one checklist step (see the module). Returns its row; raises `Blocked` with the list of blockers."""
    d = step_def(step)
    require_perm(actor, d.permission)
    check_write_scope(actor, region_code=region_code, spec=YearStep.scope_spec)
    fy = _year(region_code, year)
    wanted = FiscalYear.Status.EXECUTING if step == "begin" else FiscalYear.Status.CLOSING
    rows = steps_ensure(region_code, year)
    row = next(r for r in rows if r.step == step)
    if row.status == S.DONE:
        return row
    if fy.status != wanted:
        raise Conflict("year_status", f"{region_name(region_code)}{year}年度{fy.get_status_display()}，"
                       f"不能执行“{d.name}”", {"status": fy.status})
    pending = [step_def(r.step).name for r in rows if step_def(r.step).order < d.order and r.status != S.DONE]
    if pending:
        raise Blocked(step, [{"label": f"请先完成“{n}”"} for n in pending])
    fn = RUNNERS.get(step)
    if fn is None:
        raise invalid("step_unknown", f"结账步骤“{d.name}”尚未实现", "step")
    row = _mark(row, status=S.RUNNING, started_at=timezone.now(), run_by=actor, blockers=[])
    ctx = StepContext(actor=actor, region_code=region_code, year=year, row=row)
    try:
        result = fn(ctx)
    except Blocked as exc:
        _mark(row, status=S.BLOCKED, blockers=exc.items)
        raise
    except Exception:
        _mark(row, status=S.PENDING)
        raise
    row = _mark(row, status=S.DONE, result=result or {}, finished_at=timezone.now(),
                done=max(ctx.row.done, ctx.row.total), total=ctx.row.total)
    with transaction.atomic(durable=True):
        audit.record_event("closing.step_done", region_code=region_code, obj=row,
                           payload={"year": year, "step": step, "result": result or {}})
    return row
