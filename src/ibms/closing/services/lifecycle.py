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
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, outbox, workflow
from ibms.core.errors import Conflict, DomainError, NotFound, invalid
from ibms.core.scoping import check_write_scope, require_perm, scope_of
from ibms.masterdata.models import FiscalYear, Region

from ..models import YearStep

S = YearStep.Status
STEP_TOPIC = "closing.step"
log = logging.getLogger("ibms.closing")


@dataclass(frozen=True)
class StepDef:
    order: int
    code: str
    name: str
    permission: str
    role: str  # whose to-do list shows the step once the one before it is done
    description: str


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "closing"


@functools.cache
def step_defs() -> tuple[StepDef, ...]:
    with open(data_dir() / "steps.csv", encoding="utf-8", newline="") as fh:
        rows = [StepDef(int(r["order"]), r["code"].strip(), r["name"].strip(), r["permission"].strip(),
                        r["role"].strip(), r["description"].strip()) for r in csv.DictReader(fh)]
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
    if any(d.code not in rows for d in step_defs()):
        with transaction.atomic():
            for d in step_defs():
                row, created = YearStep.objects.get_or_create(region_code=region_code, year=year, step=d.code)
                if created:
                    audit.record_change(row, "create")
                rows[d.code] = row
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


def region_write_require(actor, region_code: str) -> None:
    """A region outside the actor's sight is not found (404, like a missing one); one they only read (an upper
    level looking at a lower one) is refused (403 scope_region)."""
    scope = scope_of(actor)
    if not scope.unrestricted and region_code not in scope.view_regions:
        raise NotFound("财政区划")
    check_write_scope(actor, region_code=region_code, spec=YearStep.scope_spec)


def _prepare(actor, region_code: str, year: int, step: str) -> tuple[StepDef, YearStep]:
    """The checks every run of a step passes first (see the module); the step's row."""
    d = step_def(step)
    require_perm(actor, d.permission)
    region_write_require(actor, region_code)
    fy = _year(region_code, year)
    rows = steps_ensure(region_code, year)
    row = next(r for r in rows if r.step == step)
    if row.status == S.DONE:
        return d, row
    wanted = FiscalYear.Status.EXECUTING if step == "begin" else FiscalYear.Status.CLOSING
    if fy.status != wanted:
        raise Conflict("year_status", f"{region_name(region_code)}{year}年度{fy.get_status_display()}，"
                       f"不能执行“{d.name}”", {"status": fy.status})
    pending = [step_def(r.step).name for r in rows if step_def(r.step).order < d.order and r.status != S.DONE]
    if pending:
        raise Blocked(step, [{"label": f"请先完成“{n}”"} for n in pending])
    if step not in RUNNERS:
        raise invalid("step_unknown", f"结账步骤“{d.name}”尚未实现", "step")
    return d, row


def _stale(row: YearStep) -> bool:
    """A running mark older than the worker's lease: its runner died (the rerun resumes it)."""
    return row.started_at is None or (timezone.now() - row.started_at).total_seconds() > outbox.lease_seconds()


def step_run(*, actor, region_code: str, year: int, step: str, queued: bool = False) -> YearStep:
    """Run one checklist step now (see the module). Returns its row; raises `Blocked` with the list of blockers.
    `queued`: the worker runs a step `step_start` marked running."""
    d, row = _prepare(actor, region_code, year, step)
    if row.status == S.DONE:
        return row
    if row.status == S.RUNNING and not queued and not _stale(row):
        raise Conflict("step_running", f"“{d.name}”正在执行，请稍候刷新查看进度")
    row = _mark(row, status=S.RUNNING, started_at=timezone.now(), run_by=actor, blockers=[])
    ctx = StepContext(actor=actor, region_code=region_code, year=year, row=row)
    try:
        result = RUNNERS[step](ctx) or {}
    except Blocked as exc:
        _mark(row, status=S.BLOCKED, blockers=exc.items)
        raise
    except Exception:
        _mark(row, status=S.PENDING)
        raise
    with transaction.atomic(durable=True):
        row = YearStep.objects.select_for_update().get(pk=row.pk)
        audit.update_fields(row, status=S.DONE, result=result, finished_at=timezone.now(),
                            done=max(ctx.row.done, ctx.row.total), total=ctx.row.total)
        audit.record_event("closing.step_done", region_code=region_code, obj=row,
                           payload={"year": year, "step": step, "result": result})
        _todo_advance(actor, row)
    return row


TODO_DOC = "closing.yearstep"


def _todo_advance(actor, done: YearStep) -> None:
    """The done step leaves its holders' to-do lists; the next step enters its role's (in the caller's
    transaction)."""
    workflow.todo_close(doc_type=TODO_DOC, obj=done, user=actor)
    order = step_def(done.step).order
    nxt = next((d for d in step_defs() if d.order > order), None)
    if nxt is None:
        return
    row = YearStep.objects.get(region_code=done.region_code, year=done.year, step=nxt.code)
    if row.status == S.DONE:
        return
    url = reverse("closing:carry") if nxt.code == "carry_over" else reverse("closing:years")
    workflow.todo_open(doc_type=TODO_DOC, obj=row, title=f"年终结账：{region_name(done.region_code)}{done.year}年度"
                       f"“{nxt.name}”", url=f"{url}?region={done.region_code}&year={done.year}",
                       step=workflow.Step(nxt.order, nxt.name, nxt.role, "finance"), region_code=done.region_code)


def step_start(*, actor, region_code: str, year: int, step: str) -> YearStep:
    """Queue a step for the worker (a batch over a whole region takes minutes): the same checks as `step_run`,
    then the row is marked running and its progress shows on the checklist while the worker runs it."""
    d, row = _prepare(actor, region_code, year, step)
    if row.status == S.DONE:
        return row
    with transaction.atomic(durable=True):
        row = YearStep.objects.select_for_update().get(pk=row.pk)
        if row.status == S.RUNNING and not _stale(row):
            raise Conflict("step_running", f"“{d.name}”正在执行，请稍候刷新查看进度")
        audit.update_fields(row, status=S.RUNNING, started_at=timezone.now(), run_by=actor, blockers=[],
                            done=0, total=0)
        outbox.enqueue(STEP_TOPIC, {"region_code": region_code, "year": year, "step": step, "actor_id": actor.pk},
                       key=f"closing/{region_code}/{year}/{step}")
    return row


@outbox.handler(STEP_TOPIC, outside_transaction=True)
def _run_queued(msg) -> None:
    p = msg.payload
    actor = get_user_model().objects.get(pk=p["actor_id"])
    try:
        step_run(actor=actor, region_code=p["region_code"], year=p["year"], step=p["step"], queued=True)
    except DomainError as exc:  # recorded on the row (blocked) or refused before it ran: not worth a retry
        log.info("closing step %s %s/%s not done: %s", p["step"], p["region_code"], p["year"], exc.code)
        row = YearStep.objects.filter(region_code=p["region_code"], year=p["year"], step=p["step"],
                                      status=S.RUNNING).first()
        if row is not None:
            _mark(row, status=S.PENDING)


# --- reads -------------------------------------------------------------------------------------------------------

def checklist(actor, region_code: str, year: int) -> tuple[FiscalYear, list[tuple[StepDef, YearStep]]]:
    """The year's checklist as the actor may see it (403 without closing.view_yearstep, 404 outside the actor's
    regions): every step definition with its row (an unsaved pending row for a step never run)."""
    require_perm(actor, "closing.view_yearstep")
    scope = scope_of(actor)
    if not scope.unrestricted and region_code not in scope.view_regions:
        raise NotFound("预算年度")
    fy = FiscalYear.objects.filter(region_code=region_code, year=year).first()
    if fy is None:
        raise NotFound("预算年度")
    rows = {r.step: r for r in YearStep.objects.filter(region_code=region_code, year=year).select_related("run_by")}
    return fy, [(d, rows.get(d.code) or YearStep(region_code=region_code, year=year, step=d.code))
                for d in step_defs()]


def years_visible(actor):
    """The fiscal years of the actor's regions (newest first) with their status."""
    require_perm(actor, "closing.view_yearstep")
    scope = scope_of(actor)
    qs = FiscalYear.objects.all()
    if not scope.unrestricted:
        qs = qs.filter(region_code__in=scope.view_regions)
    return qs.order_by("-year", "region_code")
