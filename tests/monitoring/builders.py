"""Builders for the monitoring tests: rules made through the services (back-tested, then enabled), contexts and
subjects for alerts, and a payment source over a fixed list (the `source` fixture registers one)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction

from ibms.masterdata.models import Unit
from ibms.monitoring import engine, services
from ibms.monitoring.context import sample_context
from ibms.monitoring.models import Rule
from ibms.monitoring.services import Subject
from tests.constants import PROVINCE

DAY = dt.date(2026, 6, 16)
_n = itertools.count(1)


def codes(hits) -> set[str]:
    return {h.rule_code for h in hits}


def make_rule(actor, *, code: str | None = None, condition: str = "payment.amount > params.limit",
              params: dict | None = None, action: str = "warn_yellow", enable: bool = True, **fields) -> Rule:
    """A rule created, back-tested (over whatever sources are registered) and enabled through the services."""
    data = {"code": code or f"T-{next(_n):04d}", "name": "测试规则", "condition": condition,
            "params": {"limit": 1_000_000} if params is None else params, "action": action,
            "message": "测试命中 {payment.amount:yuan}", **fields}
    rule = services.rule_create(actor=actor, data=data)
    if enable:
        services.rule_backtest(actor=actor, rule_or_draft=rule, date_from=DAY, date_to=DAY)
        rule = services.rule_enable(actor=actor, pk=rule.pk)
    return rule


def ctx_for(region: str = PROVINCE, **overrides) -> dict:
    ctx = sample_context(**overrides)
    ctx["payment"]["region_code"] = region
    ctx["unit"]["region_code"] = region
    return ctx


def subject_for(ctx: dict, *, unit_code: str = "001001", object_id: int | None = None, kind: str = "test_payment"):
    region = ctx["payment"]["region_code"]
    unit = Unit.objects.get(region_code=region, code=unit_code)
    oid = object_id if object_id is not None else next(_n)
    return Subject(kind=kind, object_id=oid, number=ctx["payment"]["number"] or f"T-{oid}", region_code=region,
                   unit_path=unit.path, unit_name=unit.name, amount=ctx["payment"]["amount"],
                   date=dt.date.fromisoformat(ctx["payment"]["date"]))


def raise_alert(actor, hit_rule: Rule, ctx: dict | None = None, **kw):
    """One alert of `hit_rule` on a fresh subject (inside a transaction, as treasury does)."""
    ctx = ctx or ctx_for()
    hit = engine.Hit(rule_id=hit_rule.pk, rule_code=hit_rule.code, rule_version=hit_rule.version,
                     name=hit_rule.name, action=hit_rule.action, message="测试疑点")
    with transaction.atomic():
        [alert] = services.alerts_raise(actor=actor, hits=[hit], subject=subject_for(ctx, **kw))
    return alert


class ListSource:
    """A payment source over a fixed list of (subject, context) pairs, filtered like a real one."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def __call__(self, region_codes, date_from, date_to):
        for subject, ctx in self.pairs:
            if region_codes is not None and subject.region_code not in region_codes:
                continue
            if date_from <= subject.date <= date_to:
                yield subject, ctx
