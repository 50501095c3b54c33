"""Carry-over (结转) and recall (结余) of a region-year's unspent indicator balances, and the checklist step
`carry_over`.

- `carry_run_propose`: the year closing, the next one set up (preparing or executing) and no open payment
  reservation on the year's indicators (`reservations_open`, every one listed): one line per indicator of the
  region and year with an available balance — executable ones and finance's 待分 ones alike (a transfer
  received from an upper region is the receiving region's indicator; what the upper region allotted left its
  own available balance) — each decided by the region's rules (`rules`, `domain.classify`). While the run is
  still proposed a rerun refreshes it: lines follow the ledger, a person's change is kept while its indicator's
  balance is unchanged; nothing changed, nothing written.
- `carry_line_change`: the budget division changes a line (结转 ↔ 结余, or carries part and recalls the rest);
  refused once the run executes.
- `carry_run_execute`: one 上年结转 document in the next year and one 收回 document in the year, then the lines
  in chunks of `CHUNK` (setting `IBMS_CARRY_CHUNK`), each chunk its own durable transaction that writes the lines' movements, their
  `executed_at` and the run's `done_count` together: a crash between chunks leaves finished lines finished and a
  rerun carries on with the rest; an executed run is not touched again. Then the checklist step is completed when
  the steps before it are done. `carry_run_start` (the page) checks and marks the run executing and queues the
  chunks for the worker.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from ibms.core import audit, outbox
from ibms.core.errors import Conflict, ValidationFailed
from ibms.core.faults import crash_point
from ibms.core.money import fen_to_str, format_fen
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.indicators import services as ind_services
from ibms.indicators.ledger import indicators_lock
from ibms.indicators.models import Indicator, Reservation, SourceDocument
from ibms.masterdata.models import FiscalYear

from .. import domain, rules
from ..models import CarryLine, CarryRun, YearStep
from . import lifecycle
from .lifecycle import Blocked, StepContext, region_name, runner

CHUNK = settings.IBMS_CARRY_CHUNK
EXECUTE_TOPIC = "closing.carry_execute"
P_PROPOSE, P_CHANGE, P_EXECUTE = "closing.add_carryrun", "closing.change_carryline", "closing.execute_carryrun"
S = CarryRun.Status
Kind = SourceDocument.Kind
NEXT_OPEN = (FiscalYear.Status.PREPARING, FiscalYear.Status.EXECUTING)


def carry_url(region_code: str, year: int) -> str:
    return f"/closing/carry/?region={region_code}&year={year}"


# --- the facts the rules see --------------------------------------------------------------------------------------

def _lineage(inds: list[Indicator]) -> dict[int, tuple[int, bool]]:
    """indicator id → (times its lineage in its own region was carried over, descends from an upper transfer)."""
    nodes = {i.pk: (i.parent_id, i.source.kind, i.region_code) for i in inds}
    wanted = {p for p, _, _ in nodes.values() if p and p not in nodes}
    while wanted:
        rows = Indicator.objects.filter(pk__in=wanted).values_list("pk", "parent_id", "source__kind", "region_code")
        for pk, parent, kind, region in rows:
            nodes[pk] = (parent, kind, region)
        wanted = {p for p, _, _ in nodes.values() if p and p not in nodes}
    out: dict[int, tuple[int, bool]] = {}
    for ind in inds:
        carried, transfer, pk = 0, False, ind.pk
        while pk in nodes and nodes[pk][2] == ind.region_code:
            parent, kind, _ = nodes[pk]
            carried += kind == Kind.CARRY_OVER
            transfer = transfer or kind in domain.TRANSFER_KINDS
            pk = parent
        out[ind.pk] = (carried, transfer)
    return out


def facts_of(inds: list[Indicator], year: int) -> dict[int, domain.Facts]:
    lineage = _lineage(inds)
    out = {}
    for i in inds:
        carried, transfer_in = lineage[i.pk]
        p = i.project
        out[i.pk] = domain.Facts(
            fund_nature_code=i.fund_nature_code, spending=domain.spending_of(p.category if p else None),
            project_category=p.category if p else "",
            continues=domain.project_continues(status=p.status if p else None, end_year=p.end_year if p else None,
                                               year=year),
            is_track=i.is_track, executable=i.is_executable,
            transfer="in" if transfer_in else ("out" if i.rec_region_code else "none"), carried=carried)
    return out


def _candidates(region_code: str, year: int):
    return (Indicator.objects.filter(region_code=region_code, year=year, available__gt=0)
            .select_related("project", "source").order_by("code"))


# --- the preconditions ----------------------------------------------------------------------------------------

def _years_require(region_code: str, year: int) -> None:
    name = region_name(region_code)
    fy = FiscalYear.objects.filter(region_code=region_code, year=year).first()
    if fy is None or fy.status != FiscalYear.Status.CLOSING:
        shown = fy.get_status_display() if fy else "未设立"
        raise Conflict("year_not_closing", f"{name}{year}年度{shown}，只有年终结账中的年度才能办理结转结余",
                       {"region_code": region_code, "year": year, "status": fy.status if fy else ""})
    nxt = FiscalYear.objects.filter(region_code=region_code, year=year + 1).first()
    if nxt is None or nxt.status not in NEXT_OPEN:
        raise Conflict("next_year_missing", f"{name}尚未设立可登记指标的{year + 1}年度（编制中或执行中），"
                                            "结转指标无处可去", {"region_code": region_code, "year": year + 1,
                                                                   "status": nxt.status if nxt else ""})


def _reservations_require(region_code: str, year: int) -> None:
    policy = rules.policy_for(region_code)
    if policy.open_reservations != "refuse":  # the loader admits no other value yet
        return
    open_ = list(Reservation.objects.filter(region_code=region_code, indicator__year=year,
                                            status=Reservation.Status.RESERVED)
                 .select_related("indicator").order_by("id")[:500])
    if open_:
        items = [{"label": f"支付申请 {r.consumer} 预占指标 {r.indicator.code} {format_fen(r.amount)} 元未结",
                  "consumer": r.consumer, "indicator": r.indicator.code, "amount": fen_to_str(r.amount)}
                 for r in open_]
        raise Conflict("reservations_open", f"{region_name(region_code)}{year}年度还有 {len(items)} 笔支付预占未结"
                                            "（请先完成“支付清理”），不能办理结转结余", {"items": items})


# --- propose ------------------------------------------------------------------------------------------------------

def carry_run_propose(*, actor, region_code: str, year: int) -> CarryRun:
    """Create or (while proposed) refresh the region-year's proposal (see the module)."""
    require_perm(actor, P_PROPOSE)
    check_write_scope(actor, region_code=region_code, spec=CarryRun.scope_spec)
    with transaction.atomic(durable=True):
        run = CarryRun.objects.select_for_update().filter(region_code=region_code, year=year).first()
        if run is not None and run.status != S.PROPOSED:
            raise Conflict("carry_run_not_proposed", f"结转结余清单 {run.number} {run.get_status_display()}，"
                                                     "不能重新生成")
        _years_require(region_code, year)
        _reservations_require(region_code, year)
        policy = rules.policy_for(region_code)
        table = rules.rules_for(region_code)
        inds = list(_candidates(region_code, year))
        facts = facts_of(inds, year)
        if run is None:
            run = CarryRun.objects.create(region_code=region_code, year=year, number=f"JZ{region_code}{year}",
                                          zero_carry=policy.zero_carry, proposed_by=actor)
            audit.record_change(run, "create")
            created = True
        else:
            created = False
        changed = _refresh_lines(run, inds, facts, table, policy)
        if created or changed or run.zero_carry != policy.zero_carry:
            _totals(run, zero_carry=policy.zero_carry, proposed_by=actor)
            audit.record_event("closing.carry_proposed", region_code=region_code, obj=run,
                               message=f"{run.number} {run.line_count} 条",
                               payload={"year": year, "lines": run.line_count, **_money(run)})
        return run


def _refresh_lines(run: CarryRun, inds: list[Indicator], facts: dict, table, policy) -> bool:
    """Make the run's lines follow the ledger; True when anything was written."""
    existing = {ln.indicator_id: ln for ln in run.lines.all()}
    creates, updates, befores = [], [], {}
    for ind in inds:
        d = domain.classify(facts[ind.pk], table, policy)
        ln = existing.pop(ind.pk, None)
        if ln is None:
            carry, recall = domain.split(d.decision, ind.available)
            creates.append(CarryLine(run=run, region_code=run.region_code, unit_path=ind.unit_path, indicator=ind,
                                     unspent=ind.available, decision=d.decision, proposed=d.decision,
                                     carry_amount=carry, recall_amount=recall, rule_code=d.rule_code,
                                     reason=d.reason))
            continue
        keep = ln.changed_by_id is not None and ln.unspent == ind.available
        want = {"proposed": d.decision, "rule_code": d.rule_code, "unit_path": ind.unit_path}
        if not keep:
            carry, recall = domain.split(d.decision, ind.available)
            want.update(unspent=ind.available, decision=d.decision, carry_amount=carry, recall_amount=recall,
                        reason=d.reason, changed_by=None)
        if any(getattr(ln, k) != v for k, v in want.items()):
            befores[str(ln.pk)] = audit.snapshot(ln)
            for k, v in want.items():
                setattr(ln, k, v)
            updates.append(ln)
    gone = list(existing.values())
    if gone:
        audit.record_changes(gone, "delete", {str(ln.pk): audit.snapshot(ln) for ln in gone})
        CarryLine.objects.filter(pk__in=[ln.pk for ln in gone]).delete()
    if updates:
        CarryLine.objects.bulk_update(updates, ["proposed", "rule_code", "unit_path", "unspent", "decision",
                                                "carry_amount", "recall_amount", "reason", "changed_by"],
                                      batch_size=500)
        audit.record_changes(updates, "update", befores)
    if creates:
        CarryLine.objects.bulk_create(creates, batch_size=1000)
        audit.record_changes(creates, "create")
    return bool(gone or updates or creates)


def _totals(run: CarryRun, **extra) -> None:
    t = run.lines.aggregate(n=Count("id"), u=Sum("unspent"), c=Sum("carry_amount"), r=Sum("recall_amount"))
    values = {"line_count": t["n"] or 0, "total_unspent": t["u"] or 0, "total_carry": t["c"] or 0,
              "total_recall": t["r"] or 0, **extra}
    if any(getattr(run, k) != v for k, v in values.items()):
        audit.update_fields(run, **values)


def _money(run: CarryRun) -> dict:
    return {"unspent": fen_to_str(run.total_unspent), "carry": fen_to_str(run.total_carry),
            "recall": fen_to_str(run.total_recall)}


# --- change a line ---------------------------------------------------------------------------------------------

def carry_line_change(*, actor, line_id: int, decision: str, carry_amount: int | None = None,
                      reason: str = "") -> CarryLine:
    """The budget division's decision on one line: 结转 (all, or `carry_amount` with the rest recalled) or 结余收回.
    A decision other than the rule's needs a reason. Refused once the run executes."""
    require_perm(actor, P_CHANGE)
    with transaction.atomic(durable=True):
        found = get_in_scope(CarryLine.objects, actor, CHANGE, what="结转结余明细", pk=line_id)
        run = CarryRun.objects.select_for_update().get(pk=found.run_id)
        line = CarryLine.objects.select_for_update().get(pk=found.pk)
        if run.status != S.PROPOSED:
            raise Conflict("carry_run_not_proposed", f"结转结余清单 {run.number} {run.get_status_display()}，"
                                                     "不能再调整")
        v = domain.change_violations(unspent=line.unspent, proposed=line.proposed, decision=decision,
                                     carry_amount=carry_amount, reason=reason)
        if v:
            raise ValidationFailed(v, message="结转结余调整未通过")
        carry, recall = domain.split(decision, line.unspent, carry_amount)
        reason = (reason or "").strip()[:200]
        as_ruled = decision == line.proposed and recall == (line.unspent if decision == domain.RECALL else 0)
        before = {"decision": line.decision, "carry": fen_to_str(line.carry_amount)}
        audit.update_fields(line, decision=decision, carry_amount=carry, recall_amount=recall,
                            reason=reason or line.reason, changed_by=None if as_ruled and not reason else actor)
        _totals(run)
        audit.record_event("closing.carry_line_changed", region_code=run.region_code, obj=line,
                           message=f"{run.number} {line.indicator_id}",
                           payload={"run": run.number, "indicator_id": line.indicator_id, "before": before,
                                    "decision": decision, "carry": fen_to_str(carry), "recall": fen_to_str(recall),
                                    "reason": line.reason})
        return line


# --- execute ------------------------------------------------------------------------------------------------------

def carry_run_execute(*, actor, run_id: int, chunk: int | None = None, max_chunks: int | None = None) -> CarryRun:
    """Execute the reviewed proposal (see the module). `max_chunks` stops after that many chunks (the run stays
    executing; a rerun carries on): for operators spreading a large run, and for the resume tests."""
    require_perm(actor, P_EXECUTE)
    chunk = chunk or CHUNK
    run = _start(actor, run_id)
    if run.status == S.EXECUTED:
        return run
    done = 0
    while max_chunks is None or done < max_chunks:
        if not _chunk(actor, run.pk, chunk):
            break
        done += 1
        crash_point("closing.carry_chunk")
    else:
        return CarryRun.objects.get(pk=run.pk)
    run = _finish(actor, run.pk)
    _complete_step(actor, run)
    return run


def carry_run_start(*, actor, run_id: int) -> CarryRun:
    """The page's execute: checked and marked executing now (a refusal is shown at once), the chunks then run in
    the worker (`EXECUTE_TOPIC`) while the page polls the run's progress. A worker that dies mid-run leaves its
    message unacknowledged, so the next worker resumes the run where its last chunk ended."""
    require_perm(actor, P_EXECUTE)
    return _start(actor, run_id, queue=True)


@outbox.handler(EXECUTE_TOPIC, outside_transaction=True)
def _execute_queued(msg) -> None:
    actor = get_user_model().objects.get(pk=msg.payload["actor_id"])
    carry_run_execute(actor=actor, run_id=msg.payload["run_id"])


def _start(actor, run_id: int, *, queue: bool = False) -> CarryRun:
    with transaction.atomic(durable=True):
        found = get_in_scope(CarryRun.objects, actor, CHANGE, what="结转结余清单", pk=run_id)
        run = CarryRun.objects.select_for_update().get(pk=found.pk)
        if run.status == S.EXECUTED:
            return run
        _years_require(run.region_code, run.year)
        if run.status == S.PROPOSED:
            _reservations_require(run.region_code, run.year)
            _stale_require(run)
        values = {"status": S.EXECUTING}
        totals = run.lines.values_list("carry_amount", "recall_amount")
        title = f"{region_name(run.region_code)}{run.year}年度"
        if run.carry_source_id is None and any(c for c, _ in totals):
            values["carry_source"] = _document(actor, run, run.year + 1, Kind.CARRY_OVER, "JZ",
                                               f"{title}结转{run.year + 1}年度指标", dt.date(run.year + 1, 1, 1))
        if run.recall_source_id is None and any(r for _, r in totals):
            values["recall_source"] = _document(actor, run, run.year, Kind.RECALL, "SH",
                                                f"{title}结余资金收回", dt.date(run.year, 12, 31))
        if run.status == S.PROPOSED:
            audit.update_fields(run, **values)
            audit.record_event("closing.carry_execution_started", region_code=run.region_code, obj=run,
                               payload={"lines": run.line_count, **_money(run)})
        elif len(values) > 1:
            audit.update_fields(run, **values)
        key = f"closing/carry/{run.pk}"
        if queue and not outbox.pending(EXECUTE_TOPIC, key):
            outbox.enqueue(EXECUTE_TOPIC, {"run_id": run.pk, "actor_id": actor.pk}, key=key)
        return run


def _document(actor, run: CarryRun, year: int, kind: str, suffix: str, title: str, date: dt.date) -> SourceDocument:
    return ind_services.source_document_create(actor=actor, region_code=run.region_code, year=year, kind=kind,
                                               doc_no=f"{run.number}-{suffix}", title=title, doc_date=date)


def _stale_require(run: CarryRun) -> None:
    lines = dict(run.lines.values_list("indicator_id", "unspent"))
    now = dict(_candidates(run.region_code, run.year).values_list("pk", "available"))
    ids = set(lines) | set(now)
    stale = sorted(pk for pk in ids if lines.get(pk) != now.get(pk))
    if stale:
        codes = dict(Indicator.objects.filter(pk__in=stale[:50]).values_list("pk", "code"))
        raise Conflict("proposal_stale", f"清单生成后有 {len(stale)} 个指标的可用余额发生变动，请重新生成清单后再执行",
                       {"items": [{"label": f"指标 {codes.get(pk, pk)} 的可用余额已变动", "indicator": codes.get(pk)}
                                  for pk in stale[:50]]})


def _chunk(actor, run_id: int, size: int) -> int:
    """One durable chunk: up to `size` lines not yet executed; returns how many it executed."""
    with transaction.atomic(durable=True):
        run = CarryRun.objects.select_for_update(of=("self",)).select_related("carry_source", "recall_source").get(pk=run_id)
        lines = list(run.lines.filter(executed_at__isnull=True).order_by("id")[:size])
        if not lines:
            return 0
        locked = indicators_lock(actor, [ln.indicator_id for ln in lines])
        stale = [locked[ln.indicator_id].code for ln in lines if locked[ln.indicator_id].available != ln.unspent]
        if stale:
            raise Conflict("proposal_stale", f"指标 {'、'.join(stale[:10])} 的可用余额在执行中发生变动，本批未执行",
                           {"items": [{"label": f"指标 {c} 的可用余额已变动", "indicator": c} for c in stale]})
        befores = audit.snapshot_rows(CarryLine, [ln.pk for ln in lines])
        carried = [ln for ln in lines if ln.carry_amount]
        news = ind_services.indicators_carry(actor=actor, source=run.carry_source,
                                             items=[(locked[ln.indicator_id], ln.carry_amount) for ln in carried])
        for ln, new in zip(carried, news, strict=True):
            ln.new_indicator = new
        recalled = [ln for ln in lines if ln.recall_amount]
        ind_services.indicators_recall(actor=actor, source=run.recall_source,
                                       items=[(locked[ln.indicator_id], ln.recall_amount) for ln in recalled],
                                       memo="年终结余收回财政")
        now = timezone.now()
        for ln in lines:
            ln.executed_at = now
        CarryLine.objects.bulk_update(lines, ["new_indicator", "executed_at"], batch_size=500)
        audit.record_changes(lines, "update", befores)
        audit.update_fields(run, done_count=run.done_count + len(lines))
        return len(lines)


def _finish(actor, run_id: int) -> CarryRun:
    with transaction.atomic(durable=True):
        run = CarryRun.objects.select_for_update().get(pk=run_id)
        if run.status == S.EXECUTED:
            return run
        audit.update_fields(run, status=S.EXECUTED, executed_by=actor, executed_at=timezone.now())
        audit.record_event("closing.carry_executed", region_code=run.region_code, obj=run,
                           message=f"{run.number} 结转 {format_fen(run.total_carry)} 元，收回 "
                                   f"{format_fen(run.total_recall)} 元",
                           payload={"year": run.year, "lines": run.line_count, **_money(run),
                                    "carry_doc": run.carry_source.doc_no if run.carry_source_id else "",
                                    "recall_doc": run.recall_source.doc_no if run.recall_source_id else ""})
        return run


def _complete_step(actor, run: CarryRun) -> None:
    """Complete the checklist step when every step before it is done (else the checklist's button does it)."""
    rows = lifecycle.steps_ensure(run.region_code, run.year)
    order = lifecycle.step_def("carry_over").order
    mine = next(r for r in rows if r.step == "carry_over")
    earlier = [r for r in rows if lifecycle.step_def(r.step).order < order]
    if mine.status != YearStep.Status.DONE and all(r.status == YearStep.Status.DONE for r in earlier):
        lifecycle.step_run(actor=actor, region_code=run.region_code, year=run.year, step="carry_over")


# --- the checklist step ---------------------------------------------------------------------------------------

@runner("carry_over")
def carry_over_step(ctx: StepContext) -> dict:
    from ..selectors import run_problems

    url = carry_url(ctx.region_code, ctx.year)
    run = CarryRun.objects.filter(region_code=ctx.region_code, year=ctx.year).first()
    if run is None:
        raise Blocked("carry_over", [{"label": "尚未生成结转结余清单", "url": url}])
    if run.status != S.EXECUTED:
        raise Blocked("carry_over", [{"label": f"结转结余清单 {run.number} {run.get_status_display()}，"
                                               f"已执行 {run.done_count}/{run.line_count} 条", "url": url}])
    problems = run_problems(run)
    if problems:
        raise Blocked("carry_over", [{"label": p, "url": url} for p in problems])
    ctx.progress(run.done_count, run.line_count)
    return {"run": run.number, "lines": run.line_count, **_money(run)}
