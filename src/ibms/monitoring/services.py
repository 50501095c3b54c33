"""Monitoring writers: rules (CEL validated on save; enabled only after a back-test of the current version),
whitelist entries, alerts and their life cycle, the T+1 batch and back-tests.

`alerts_raise` runs inside the caller's transaction (`transaction.atomic()`, a savepoint) — treasury calls it
from its submit. Everything else owns its transaction (`durable=True`), checks permission first (403), then scope
(out of scope = 404), then state (409), and writes the audit in the same transaction.

Alert life cycle (PRODUCT §7, DOMAIN-REFERENCE §22.2/§23):
    raised --explain (unit)--> unit_explained --verify (finance)--> normal | violation
    violation --rectify (finance: ask)--> rectifying --rectify (unit: detail, amounts)--> rectified
    normal | rectified --close (finance)--> closed;  a notice (提示) may be closed straight from raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from itertools import islice

from django.db import IntegrityError, transaction
from django.utils import timezone

from ibms.core import audit, clock, outbox
from ibms.core.context import acting, actor_of
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm, scope_of
from ibms.masterdata.models import Region, Unit

from . import engine, sources
from .models import (
    ALERT_TRANSITIONS,
    Action,
    Alert,
    AlertStatus,
    BacktestRun,
    BatchRun,
    Level,
    Rule,
    Stage,
    WhitelistEntry,
)

log = logging.getLogger("ibms.monitoring")

P_RULE_ADD, P_RULE_CHANGE = "monitoring.add_rule", "monitoring.change_rule"
P_WL_ADD, P_WL_CHANGE = "monitoring.add_whitelistentry", "monitoring.change_whitelistentry"
P_BACKTEST, P_BATCH = "monitoring.add_backtestrun", "monitoring.add_batchrun"
P_EXPLAIN, P_VERIFY = "monitoring.explain_alert", "monitoring.verify_alert"

# Changing any of these makes a new version: it must be back-tested before it may be enabled again.
LOGIC_FIELDS = ("condition", "params", "level", "department_code", "stage", "action", "valid_from", "valid_to")
TEXT_FIELDS = ("name", "catalogue_no", "message", "legal_basis", "provenance")
MAX_BACKTEST_DAYS = 400
MAX_STORED_HITS = 5000
BATCH_CHUNK = 500


@dataclass(frozen=True)
class Subject:
    """What an alert is about: a payment request (kind "payment_request") or another document."""

    kind: str
    object_id: str | int
    number: str
    region_code: str
    unit_path: str
    unit_name: str
    amount: int
    date: dt.date


# --- rules ------------------------------------------------------------------------------------------------------

def _date(value, field: str, problems: list[Violation]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(Violation("date_invalid", f"日期格式应为 YYYY-MM-DD：{value}", field))
        return None


def _clean_rule(data: dict, *, region_code: str) -> tuple[dict, list[Violation]]:
    """Normalise and check the rule fields; returns (values, every problem found)."""
    problems: list[Violation] = []
    v = {k: (data.get(k) or "").strip() if isinstance(data.get(k, ""), str) else data.get(k)
         for k in ("name", "catalogue_no", "level", "department_code", "stage", "action", "condition", "message",
                   "legal_basis", "provenance")}
    v = {k: (x if x is not None else "") for k, x in v.items()}
    v["level"] = v["level"] or Level.REGION
    v["stage"] = v["stage"] or Stage.INLINE
    params = data.get("params")
    v["params"] = {} if params in (None, "") else params
    v["valid_from"] = _date(data.get("valid_from"), "valid_from", problems)
    v["valid_to"] = _date(data.get("valid_to"), "valid_to", problems)
    if not v["name"]:
        problems.append(Violation("name_required", "请填写规则名称", "name"))
    if v["level"] not in Level.values:
        problems.append(Violation("level_invalid", "规则级次只能是区划级或部门级", "level"))
    if v["stage"] not in Stage.values:
        problems.append(Violation("stage_invalid", "监控环节只能是事中、事后或两者", "stage"))
    if v["action"] not in Action.values:
        problems.append(Violation("action_invalid", "处理方式只能是阻断、红色预警、黄色预警或提示", "action"))
    if v["level"] == Level.DEPARTMENT:
        if not v["department_code"]:
            problems.append(Violation("department_required", "部门级规则须填写主管部门代码", "department_code"))
        else:
            units = Unit.objects.filter(code=v["department_code"], parent__isnull=True)
            if region_code:
                units = units.filter(region_code__in=_subtree(region_code))
            if not units.exists():
                problems.append(Violation("department_unknown", f"主管部门 {v['department_code']} 不存在",
                                          "department_code"))
    else:
        v["department_code"] = ""
    if not v["message"]:
        problems.append(Violation("message_required", "请填写提示信息", "message"))
    if v["valid_from"] and v["valid_to"] and v["valid_to"] < v["valid_from"]:
        problems.append(Violation("dates_invalid", "失效日期不能早于生效日期", "valid_to"))
    problems.extend(Violation(e.code, e.message, e.field)
                    for e in engine.check_rule(v["condition"], v["params"], v["message"]))
    return v, problems


def _subtree(region_code: str) -> set[str]:
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        return {region_code}
    return set(Region.objects.filter(path__startswith=region.path).values_list("code", flat=True))


def rule_create(*, actor, data: dict) -> Rule:
    """A new rule of the actor's region (or `data["region_code"]` when writable), disabled, version 1."""
    require_perm(actor, P_RULE_ADD)
    region_code = (data.get("region_code") or getattr(actor, "region_code", "") or "").strip()
    code = (data.get("code") or "").strip()
    with transaction.atomic(durable=True):
        check_write_scope(actor, region_code=region_code)
        values, problems = _clean_rule(data, region_code=region_code)
        if not code:
            problems.insert(0, Violation("code_required", "请填写规则编码", "code"))
        elif Rule.objects.filter(region_code=region_code, code=code).exists():
            problems.insert(0, Violation("code_taken", f"本区划已有编码为 {code} 的规则", "code"))
        if problems:
            raise ValidationFailed(problems, message="规则未保存")
        rule = Rule.objects.create(region_code=region_code, code=code, enabled=False, version=1,
                                   created_by=actor, **values)
        audit.record_change(rule, "create")
        audit.record_event("monitoring.rule_created", obj=rule, message=f"新建监控规则 {code}")
    engine.invalidate()
    return rule


def rule_update(*, actor, pk: int, data: dict) -> Rule:
    """Change a rule. A change of its logic (condition, params, level, stage, action, dates) makes a new version
    and disables the rule until that version is back-tested and enabled again."""
    require_perm(actor, P_RULE_CHANGE)
    with transaction.atomic(durable=True):
        rule = get_in_scope(Rule.objects.select_for_update(), actor, CHANGE, what="监控规则", pk=pk)
        merged = {f: getattr(rule, f) for f in (*LOGIC_FIELDS, *TEXT_FIELDS)}
        merged.update({k: v for k, v in data.items() if k in merged})
        values, problems = _clean_rule(merged, region_code=rule.region_code)
        if problems:
            raise ValidationFailed(problems, message="规则未保存")
        before = audit.snapshot(rule)
        logic_changed = any(values[f] != getattr(rule, f) for f in LOGIC_FIELDS)
        for f, value in values.items():
            setattr(rule, f, value)
        if logic_changed:
            rule.version += 1
            rule.enabled = False
        rule.save()
        audit.record_change(rule, "update", before)
        if logic_changed:
            audit.record_event("monitoring.rule_versioned", obj=rule,
                               message=f"监控规则 {rule.code} 修改为第 {rule.version} 版（须回测后启用）")
    engine.invalidate()
    return rule


def _set_enabled(actor, pk: int, enabled: bool) -> Rule:
    require_perm(actor, P_RULE_CHANGE)
    with transaction.atomic(durable=True):
        rule = get_in_scope(Rule.objects.select_for_update(), actor, CHANGE, what="监控规则", pk=pk)
        if rule.enabled == enabled:
            return rule
        if enabled:
            if not BacktestRun.objects.filter(rule=rule, rule_version=rule.version).exists():
                raise Conflict("backtest_required", f"启用前须先对规则当前版本（第 {rule.version} 版）进行回测")
            problems = engine.check_rule(rule.condition, rule.params, rule.message)
            if problems:
                raise ValidationFailed([Violation(e.code, e.message, e.field) for e in problems], message="规则不能启用")
        before = audit.snapshot(rule)
        rule.enabled = enabled
        rule.save(update_fields=["enabled", "updated_at"])
        audit.record_change(rule, "update", before)
        audit.record_event("monitoring.rule_enabled" if enabled else "monitoring.rule_disabled", obj=rule,
                           message=f"{'启用' if enabled else '停用'}监控规则 {rule.code} 第 {rule.version} 版")
    engine.invalidate()
    return rule


def rule_enable(*, actor, pk: int) -> Rule:
    return _set_enabled(actor, pk, True)


def rule_disable(*, actor, pk: int) -> Rule:
    return _set_enabled(actor, pk, False)


# --- whitelist --------------------------------------------------------------------------------------------------

def whitelist_add(*, actor, rule_id: int, legal_basis: str, valid_from: dt.date | str | None = None,
                  valid_to: dt.date | str | None = None, region_code: str = "", unit_code: str = "",
                  payee_account: str = "", indicator_code: str = "") -> WhitelistEntry:
    """Exempt payments of a region subtree (optionally one unit / payee account / indicator) from a rule code."""
    require_perm(actor, P_WL_ADD)
    region_code = (region_code or getattr(actor, "region_code", "") or "").strip()
    with transaction.atomic(durable=True):
        rule = get_in_scope(Rule.objects.all(), actor, VIEW, what="监控规则", pk=rule_id)
        check_write_scope(actor, region_code=region_code)
        problems: list[Violation] = []
        start = _date(valid_from, "valid_from", problems) or clock.today(region_code)
        end = _date(valid_to, "valid_to", problems)
        if not (legal_basis or "").strip():
            problems.append(Violation("legal_basis_required", "白名单须填写豁免依据（文件或法规）", "legal_basis"))
        if end and end < start:
            problems.append(Violation("dates_invalid", "失效日期不能早于生效日期", "valid_to"))
        if rule.region_code and rule.region_code not in engine.rule_set().chain(region_code):
            problems.append(Violation("region_outside_rule", "白名单区划不在该规则的适用范围内", "region_code"))
        if unit_code and not Unit.objects.filter(region_code=region_code, code=unit_code.strip()).exists():
            problems.append(Violation("unit_unknown", f"本区划不存在单位 {unit_code}", "unit_code"))
        if problems:
            raise ValidationFailed(problems, message="白名单未保存")
        entry = WhitelistEntry.objects.create(
            rule=rule, rule_code=rule.code, region_code=region_code, unit_code=unit_code.strip(),
            payee_account=payee_account.strip(), indicator_code=indicator_code.strip(),
            legal_basis=legal_basis.strip(), valid_from=start, valid_to=end, created_by=actor)
        audit.record_change(entry, "create")
    engine.invalidate()
    return entry


def whitelist_deactivate(*, actor, pk: int) -> WhitelistEntry:
    require_perm(actor, P_WL_CHANGE)
    with transaction.atomic(durable=True):
        entry = get_in_scope(WhitelistEntry.objects.select_for_update(), actor, CHANGE, what="白名单", pk=pk)
        before = audit.snapshot(entry)
        entry.is_active = False
        entry.save(update_fields=["is_active", "updated_at"])
        audit.record_change(entry, "update", before)
    engine.invalidate()
    return entry


# --- alerts -----------------------------------------------------------------------------------------------------

def alerts_raise(*, actor, hits: list[engine.Hit], subject: Subject, explanation: str = "") -> list[Alert]:
    """One alert per hit for this subject, **inside the caller's transaction**. Idempotent: a rule that already
    has an alert on this subject returns that alert. With an explanation (a red warning explained at submit) the new
    alerts start as explained by `actor`. The caller has checked its own permission for the business action."""
    return _raise(actor=actor, hits=hits, subject=subject, explanation=explanation, stage=Stage.INLINE)[0]


def _raise(*, actor, hits, subject: Subject, explanation: str, stage: str) -> tuple[list[Alert], int]:
    out: list[Alert] = []
    created = 0
    if not hits:
        return out, created
    explanation = (explanation or "").strip()
    key = {"region_code": subject.region_code, "subject_kind": subject.kind, "subject_id": str(subject.object_id)}
    with transaction.atomic():
        for hit in hits:
            existing = Alert.objects.filter(**key, rule_code=hit.rule_code).first()
            if existing is not None:
                if explanation and existing.status == AlertStatus.RAISED:  # resubmitted with an explanation
                    _move(existing, AlertStatus.UNIT_EXPLAINED, "monitoring.alert_explained",
                          f"单位说明疑点 {existing.number}", explanation=explanation, explained_at=timezone.now(),
                          explained_by=actor if getattr(actor, "pk", None) else None)
                out.append(existing)
                continue
            day = subject.date
            alert = Alert(
                number=next_number(f"YD-{subject.region_code[:6]}-{day:%Y%m%d}-", width=5), **key,
                unit_path=subject.unit_path, unit_name=subject.unit_name[:120], subject_number=subject.number,
                subject_amount=subject.amount, subject_date=day, rule_id=hit.rule_id, rule_code=hit.rule_code,
                rule_version=hit.rule_version, rule_name=hit.name[:100], action=hit.action, stage=stage,
                message=hit.message[:500])
            if explanation:
                alert.status = AlertStatus.UNIT_EXPLAINED
                alert.explanation, alert.explained_at = explanation, timezone.now()
                alert.explained_by = actor if getattr(actor, "pk", None) else None
            try:
                with transaction.atomic():
                    alert.save()
            except IntegrityError:  # raised meanwhile by another transaction (the batch beside a resubmit)
                out.append(Alert.objects.get(**key, rule_code=hit.rule_code))
                continue
            audit.record_change(alert, "create")
            audit.record_event("monitoring.alert_raised", obj=alert,
                               message=f"{alert.rule_name}：{subject.number}", payload={"action": alert.action})
            out.append(alert)
            created += 1
    return out, created


def _refuse(alert: Alert, to: str):
    labels = dict(AlertStatus.choices)
    return Conflict("invalid_transition",
                    f"疑点当前状态“{labels.get(alert.status, alert.status)}”不能变更为“{labels.get(to, to)}”",
                    {"from": alert.status, "to": to})


def _alert_for_change(actor, pk: int) -> Alert:
    return get_in_scope(Alert.objects.select_for_update(), actor, CHANGE, what="疑点", pk=pk)


def _move(alert: Alert, to: str, event: str, message: str, payload: dict | None = None, **fields) -> None:
    """Check the transition, write the status with the step's fields, the row audit and the business event."""
    if to not in ALERT_TRANSITIONS.get(alert.status, set()):
        raise _refuse(alert, to)
    before = audit.snapshot(alert)
    frm = alert.status
    for k, v in fields.items():
        setattr(alert, k, v)
    alert.status = to
    alert.save(update_fields=[*fields, "status", "updated_at"])
    audit.record_change(alert, "update", before)
    audit.record_event(event, obj=alert, message=message, payload={"from": frm, "to": to, **(payload or {})})


def alert_explain(*, actor, pk: int, explanation: str) -> Alert:
    """The unit explains (单位说明): raised → unit_explained."""
    require_perm(actor, P_EXPLAIN)
    with transaction.atomic(durable=True):
        alert = _alert_for_change(actor, pk)
        text = (explanation or "").strip()
        if not text:
            raise invalid("explanation_required", "请填写情况说明", "explanation")
        _move(alert, AlertStatus.UNIT_EXPLAINED, "monitoring.alert_explained", f"单位说明疑点 {alert.number}",
              explanation=text, explained_by=actor, explained_at=timezone.now())
    return alert


def alert_verify(*, actor, pk: int, outcome: str, comment: str = "") -> Alert:
    """Finance verifies (财政核实): unit_explained → normal | violation (a violation needs a comment)."""
    require_perm(actor, P_VERIFY)
    if outcome not in (AlertStatus.NORMAL, AlertStatus.VIOLATION):
        raise invalid("outcome_invalid", "核实结论只能是“正常”或“违规”", "outcome")
    with transaction.atomic(durable=True):
        alert = _alert_for_change(actor, pk)
        comment = (comment or "").strip()
        if outcome == AlertStatus.VIOLATION and not comment:
            raise invalid("comment_required", "认定违规须填写核实意见", "comment")
        _move(alert, outcome, "monitoring.alert_verified", f"财政核实疑点 {alert.number}：{outcome}",
              {"outcome": outcome}, verify_comment=comment, verified_by=actor, verified_at=timezone.now())
    return alert


def alert_rectify(*, actor, pk: int, detail: str = "", ask: str = "", return_amt: int = 0,
                  transfer_amt: int = 0) -> Alert:
    """Rectification (整改). On a violation, finance states what must be done (`ask`): → rectifying. While
    rectifying, the unit reports what it did (`detail`, amounts returned 退回 / re-booked 调账, fen): → rectified."""
    with transaction.atomic(durable=True):
        if not (actor and actor.is_authenticated and (actor.has_perm(P_VERIFY) or actor.has_perm(P_EXPLAIN))):
            raise PermissionDenied()
        alert = _alert_for_change(actor, pk)
        if alert.status == AlertStatus.VIOLATION:
            require_perm(actor, P_VERIFY)
            ask = (ask or "").strip()
            if not ask:
                raise invalid("ask_required", "请填写整改要求", "ask")
            _move(alert, AlertStatus.RECTIFYING, "monitoring.alert_rectify_asked", f"要求整改疑点 {alert.number}",
                  rectify_ask=ask)
        elif alert.status == AlertStatus.RECTIFYING:
            require_perm(actor, P_EXPLAIN)
            detail = (detail or "").strip()
            problems = []
            if not detail:
                problems.append(Violation("detail_required", "请填写整改情况", "detail"))
            for name, value in (("return_amt", return_amt), ("transfer_amt", transfer_amt)):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    problems.append(Violation("amount_invalid", "退回金额、调账金额须为非负金额", name))
                elif value > alert.subject_amount:
                    problems.append(Violation("amount_too_large", "退回金额、调账金额不能超过疑点金额", name))
            if problems:
                raise ValidationFailed(problems, message="整改情况未保存")
            _move(alert, AlertStatus.RECTIFIED, "monitoring.alert_rectified", f"疑点 {alert.number} 已整改",
                  {"return_amt": return_amt, "transfer_amt": transfer_amt}, rectify_detail=detail,
                  return_amt=return_amt, transfer_amt=transfer_amt, rectified_by=actor, rectified_at=timezone.now())
        else:
            raise _refuse(alert, AlertStatus.RECTIFYING)
    return alert


def alert_close(*, actor, pk: int, comment: str = "") -> Alert:
    """Finance closes (办结) a verified-normal or rectified alert; a notice may be closed straight away."""
    require_perm(actor, P_VERIFY)
    with transaction.atomic(durable=True):
        alert = _alert_for_change(actor, pk)
        if alert.status == AlertStatus.RAISED and alert.action != Action.NOTICE:
            raise Conflict("invalid_transition", "预警、阻断类疑点须经单位说明和财政核实后才能办结",
                           {"from": alert.status, "to": AlertStatus.CLOSED})
        _move(alert, AlertStatus.CLOSED, "monitoring.alert_closed", f"疑点 {alert.number} 办结",
              close_comment=(comment or "").strip()[:300], closed_by=actor, closed_at=timezone.now())
    return alert


# --- back-test and the T+1 batch --------------------------------------------------------------------------------

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


def backtest(*, actor, rule_or_draft: Rule | int | dict, date_from: dt.date, date_to: dt.date) -> BacktestRun:
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
def t1_batch_job() -> int:
    """Worker job: once a day, the T+1 batch for yesterday (skipped when yesterday's full run has finished)."""
    from ibms.iam.services import system_user

    yesterday = clock.today() - dt.timedelta(days=1)
    if BatchRun.objects.filter(date=yesterday, region_code="", finished_at__isnull=False).exists():
        return 0
    system = system_user()
    with acting(actor_of(system)):
        run = batch_run(actor=system, date=yesterday)
    return run.raised


__all__ = ["Subject", "NotFound", "alerts_raise", "alert_explain", "alert_verify", "alert_rectify", "alert_close",
           "rule_create", "rule_update", "rule_enable", "rule_disable", "whitelist_add", "whitelist_deactivate",
           "backtest", "batch_run", "t1_batch_job"]
