"""Back-tests of a rule (saved or draft) and the T+1 (事后) batch over the registered payment sources."""

from __future__ import annotations

import datetime as dt
from itertools import islice

from django.db import transaction
from django.utils import timezone

from ibms.core import audit, clock, outbox
from ibms.core.context import acting, actor_of
from ibms.core.errors import ValidationFailed, Violation
from ibms.core.scoping import VIEW, get_in_scope, require_perm, scope_of

from .. import engine, sources
from ..models import BacktestRun, BatchRun, Rule, Stage
from .alerts import _raise
from .rules import _clean_rule, _date, _subtree

P_BACKTEST, P_BATCH = "monitoring.add_backtestrun", "monitoring.add_batchrun"
MAX_BACKTEST_DAYS = 400
MAX_STORED_HITS = 5000
BATCH_CHUNK = 500


def _regions_for(actor, rule_region: str) -> set[str] | None:
    """The payment regions a run may look at: the rule's region subtree within the actor's view scope."""
    scope = scope_of(actor)
    wanted = _subtree(rule_region) if rule_region else None
    if scope.unrestricted:
        return wanted
    allowed = set(scope.view_regions)
    return allowed if wanted is None else wanted & allowed


def _draft_rule(actor, draft: dict) -> Rule:
    region_code = (draft.get("region_code") or getattr(actor, "region_code", "") or "").strip()
    values, problems = _clean_rule(draft, region_code=region_code)
    if problems:
        raise ValidationFailed(problems, message="规则草稿有误，不能回测")
    return Rule(region_code=region_code, code=(draft.get("code") or "DRAFT").strip(), version=0, **values)


def rule_backtest(*, actor, rule_or_draft: Rule | int | dict, date_from: dt.date, date_to: dt.date) -> BacktestRun:
    """Run one rule (a saved rule, by instance or id, or a draft dict of rule fields) over the executed payments of
    its region subtree (within the actor's scope) between the dates, with the same date, level and whitelist logic
    as `engine.evaluate` but whether or not the rule is enabled. A saved rule's run is stored (it is what allows the
    rule's current version to be enabled); a draft's is returned unsaved. `run.hits` lists every hit."""
    require_perm(actor, P_BACKTEST)
    problems: list[Violation] = []
    start, end = _date(date_from, "date_from", problems), _date(date_to, "date_to", problems)
    if not problems and (start is None or end is None):
        problems.append(Violation("dates_required", "请填写回测起止日期", "date_from"))
    elif start and end and end < start:
        problems.append(Violation("dates_invalid", "结束日期不能早于开始日期", "date_to"))
    elif start and end and (end - start).days > MAX_BACKTEST_DAYS:
        problems.append(Violation("range_too_long", f"回测区间不能超过 {MAX_BACKTEST_DAYS} 天", "date_to"))
    if problems:
        raise ValidationFailed(problems, message="不能回测")
    if isinstance(rule_or_draft, dict):
        rule = _draft_rule(actor, rule_or_draft)
    else:
        pk = rule_or_draft.pk if isinstance(rule_or_draft, Rule) else rule_or_draft
        rule = get_in_scope(Rule.objects.all(), actor, VIEW, what="监控规则", pk=pk)
    regions = _regions_for(actor, rule.region_code)
    run = BacktestRun(region_code=rule.region_code, rule_version=rule.version,
                      condition=rule.condition, params=rule.params, date_from=start, date_to=end,
                      created_by=actor if getattr(actor, "pk", None) else None)
    hits, scanned, amount = [], 0, 0
    with engine.also_needed(engine.history_keys_of(rule.condition)):
        for subject, ctx in sources.payments(regions, start, end):
            region = ctx.get("payment", {}).get("region_code", subject.region_code)
            if regions is not None and region not in regions:
                continue
            scanned += 1
            hit = engine.evaluate_one(rule, ctx)
            if hit is None:
                continue
            amount += subject.amount
            hits.append({"kind": subject.kind, "object_id": str(subject.object_id), "number": subject.number,
                         "region_code": subject.region_code, "unit_name": subject.unit_name,
                         "amount": subject.amount, "date": subject.date.isoformat(), "action": hit.action,
                         "message": hit.message})
    run.scanned, run.hit_count, run.hit_amount = scanned, len(hits), amount
    run.hits = hits[:MAX_STORED_HITS]
    if rule.pk:
        run.rule = rule
        with transaction.atomic(durable=True):
            run.save()
            audit.record_event("monitoring.rule_backtested", region_code=rule.region_code, obj=rule,
                               message=f"回测监控规则 {rule.code} 第 {rule.version} 版：{start}～{end} 命中 {len(hits)} 笔",
                               payload={"run_id": run.pk, "scanned": scanned, "hits": len(hits)})
    return run


def batch_run(*, actor, date: dt.date) -> BatchRun:
    """T+1 (事后) monitoring of the payments executed on `date`: the batch-stage rules (and those of both stages)
    over every registered source's payments in the actor's scope; raises alerts. Idempotent per rule + subject: a
    re-run finds the alerts already raised and adds none."""
    require_perm(actor, P_BATCH)
    regions = _regions_for(actor, "")
    scope = scope_of(actor)
    run_region = "" if scope.unrestricted else getattr(actor, "region_code", "")
    with transaction.atomic(durable=True):
        run = BatchRun.objects.create(date=date, region_code=run_region,
                                      created_by=actor if getattr(actor, "pk", None) else None)
    scanned = raised = 0
    stream = iter(sources.payments(regions, date, date))
    while True:
        chunk = list(islice(stream, BATCH_CHUNK))
        if not chunk:
            break
        with transaction.atomic(durable=True):
            for subject, ctx in chunk:
                if regions is not None and subject.region_code not in regions:
                    continue
                scanned += 1
                hits = engine.evaluate(ctx, stage="batch")
                if hits:
                    raised += _raise(actor=actor, hits=hits, subject=subject, explanation="", stage=Stage.BATCH)[1]
    with transaction.atomic(durable=True):
        BatchRun.objects.filter(pk=run.pk).update(scanned=scanned, raised=raised, finished_at=timezone.now())
        audit.record_event("monitoring.batch_run", region_code=run_region,
                           message=f"事后监控 {date}：检查 {scanned} 笔，新增疑点 {raised} 个",
                           payload={"date": date.isoformat(), "scanned": scanned, "raised": raised})
    run.refresh_from_db()
    return run


@outbox.periodic("monitoring.t1_batch", 3600)
def batch_run_daily() -> int:
    """Worker job: once a day, the T+1 batch for yesterday (skipped when yesterday's full run has finished)."""
    from ibms.iam.services import system_user

    yesterday = clock.today() - dt.timedelta(days=1)
    if BatchRun.objects.filter(date=yesterday, region_code="", finished_at__isnull=False).exists():
        return 0
    system = system_user()
    with acting(actor_of(system)):
        run = batch_run(actor=system, date=yesterday)
    return run.raised
