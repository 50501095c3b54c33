"""Monitoring reads: alert queues and detail, rules, whitelist, back-test runs. A list starts from
`Model.objects.permitted(actor)` (403 without the view permission; `strict=False` for a panel on another model's
page: empty instead), one row from `get_in_scope`; `alert_list_for_subject` is for an object the calling module has
already found in its own scope."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ibms.core.scoping import VIEW, get_in_scope

from .models import Alert, AlertStatus, BacktestRun, Rule, WhitelistEntry


def _readable(model, actor, strict: bool):
    return model.objects.permitted(actor) if strict else model.objects.restrict(actor, VIEW)

# queue name → (title, statuses)
QUEUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "explain": ("待说明", (AlertStatus.RAISED,)),
    "verify": ("待核实", (AlertStatus.UNIT_EXPLAINED,)),
    "rectify": ("违规整改", (AlertStatus.VIOLATION, AlertStatus.RECTIFYING, AlertStatus.RECTIFIED)),
    "all": ("全部疑点", ()),
}


def alert_list_for_subject(kind: str, object_id) -> list[Alert]:
    """Every alert on one subject (e.g. a payment request), oldest first."""
    return list(Alert.objects.filter(subject_kind=kind, subject_id=str(object_id)).order_by("id"))


def alert_queue(*, actor, queue: str = "all", q: str = "", action: str = "", status: str = "") -> QuerySet:
    qs = Alert.objects.permitted(actor).select_related("rule")
    statuses = QUEUES.get(queue, QUEUES["all"])[1]
    if statuses:
        qs = qs.filter(status__in=statuses)
    if status:
        qs = qs.filter(status=status)
    if action:
        qs = qs.filter(action=action)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(subject_number__icontains=q) | Q(unit_name__icontains=q)
                       | Q(rule_name__icontains=q) | Q(rule_code__icontains=q))
    return qs.order_by("-id")


def alert_get(*, actor, pk: int) -> Alert:
    return get_in_scope(Alert.objects.select_related("rule", "explained_by", "verified_by", "rectified_by",
                                                     "closed_by"), actor, VIEW, what="疑点", pk=pk)


def rule_list(*, actor, q: str = "", enabled: str = "", action: str = "", stage: str = "",
              strict: bool = True) -> QuerySet:
    qs = _readable(Rule, actor, strict)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(catalogue_no__icontains=q))
    if enabled in ("true", "false"):
        qs = qs.filter(enabled=enabled == "true")
    if action:
        qs = qs.filter(action=action)
    if stage:
        qs = qs.filter(stage=stage)
    return qs.order_by("region_code", "code")


def rule_get(*, actor, pk: int) -> Rule:
    return get_in_scope(Rule.objects.all(), actor, VIEW, what="监控规则", pk=pk)


def backtest_list(*, actor, rule_id: int, strict: bool = True) -> QuerySet:
    return _readable(BacktestRun, actor, strict).filter(rule_id=rule_id).order_by("-id")


def backtest_get(*, actor, pk: int) -> BacktestRun:
    return get_in_scope(BacktestRun.objects.select_related("rule"), actor, VIEW, what="回测记录", pk=pk)


def whitelist_list(*, actor, rule_id: int | None = None, active_only: bool = False,
                   strict: bool = True) -> QuerySet:
    qs = _readable(WhitelistEntry, actor, strict).select_related("rule")
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("region_code", "rule_code", "id")


def rule_problems() -> list[str]:
    """`ibms verify`: every enabled rule still compiles and runs on the sample context, and was back-tested in its
    current version unless it comes from the shipped catalogue (region '' rules are maintained by the data file)."""
    from . import engine

    problems: list[str] = []
    tested = set(BacktestRun.objects.values_list("rule_id", "rule_version"))
    for r in Rule.objects.filter(enabled=True).order_by("region_code", "code"):
        for e in engine.check_rule(r.condition, r.params, r.message):
            problems.append(f"monitoring rule {r.region_code or 'national'}/{r.code} v{r.version}: {e.code}")
        if r.region_code and (r.pk, r.version) not in tested:
            problems.append(f"monitoring rule {r.region_code}/{r.code} v{r.version} is enabled without a back-test")
    return problems
