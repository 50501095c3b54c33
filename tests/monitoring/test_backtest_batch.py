"""Back-tests equal a direct evaluation over the same registered source; the T+1 batch raises batch-stage
alerts once per rule and subject however often it runs; the periodic job runs once per day for yesterday."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import transaction

from ibms.core import clock
from ibms.iam.services import system_user
from ibms.monitoring import engine, services, sources
from ibms.monitoring.context import sample_context
from ibms.monitoring.models import Alert, BatchRun, Rule
from ibms.monitoring.setup import read_rules
from tests.constants import CITY, COUNTY, OTHER_COUNTY, PROVINCE

from .builders import ctx_for, make_rule, subject_for
from .cases import CASES

pytestmark = pytest.mark.django_db
START, END = dt.date(2026, 6, 1), dt.date(2026, 12, 31)


def varied_payments(n: int = 120, seed: int = 7) -> list:
    """n payments over the regions and dates, each built from some rule's firing or near-miss case plus noise."""
    rng = random.Random(seed)
    case_list = [c for pair in CASES.values() for c in pair]
    out = []
    for i in range(n):
        overrides = {k: dict(v) for k, v in rng.choice(case_list).items()}
        pay = overrides.setdefault("payment", {})
        if "date" not in pay:
            pay["date"] = (START + dt.timedelta(days=rng.randrange(0, 200))).isoformat()
        pay["number"] = f"BT-{i:04d}"
        if rng.random() < 0.3:
            pay["amount"] = rng.choice([2_000_000, 5_000_000, 6_000_000, 31_000_000])
        region = rng.choice([PROVINCE, CITY, COUNTY, OTHER_COUNTY])
        ctx = ctx_for(region, **overrides)
        out.append((subject_for(ctx, object_id=10_000 + i, kind="test_payment"), ctx))
    return out


def direct(rule_code: str, stage: str, date_from, date_to, regions=None) -> set[str]:
    """The payments `evaluate` flags with this rule, over exactly what the registered sources yield."""
    out = set()
    for subject, ctx in sources.payments(regions, date_from, date_to):
        if rule_code in {h.rule_code for h in engine.evaluate(ctx, stage=stage)}:
            out.add(subject.number)
    return out


def test_backtest_equals_direct_evaluation_for_every_shipped_rule(source, treasury):
    source.pairs = varied_payments()
    # a whitelist entry and dates outside the range: both paths must treat them alike
    mon05 = Rule.objects.get(region_code="", code="MON-05")
    services.whitelist_add(actor=treasury, rule_id=mon05.pk, region_code=PROVINCE, unit_code="001001",
                           legal_basis="测试豁免", valid_from=dt.date(2026, 9, 1))
    total_hits = 0
    for row in read_rules():
        rule = Rule.objects.get(region_code="", code=row["code"])
        run = services.rule_backtest(actor=treasury, rule_or_draft=rule, date_from=START, date_to=dt.date(2026, 11, 30))
        stage = "batch" if rule.stage == "batch" else "inline"
        assert {h["number"] for h in run.hits} == direct(rule.code, stage, START, dt.date(2026, 11, 30)), rule.code
        assert run.hit_count == len(run.hits) and run.scanned == len(list(source(None, START, dt.date(2026, 11, 30))))
        total_hits += run.hit_count
    assert total_hits > 50  # the sample is not trivially empty


def test_backtest_of_a_disabled_draft_and_a_regional_rule(source, user, treasury):
    source.pairs = varied_payments()
    city = user("city_treasury")
    rule = make_rule(city, region_code=CITY, condition="payment.amount >= params.limit",
                     params={"limit": 5_000_000}, enable=False)
    run = services.rule_backtest(actor=city, rule_or_draft=rule, date_from=START, date_to=END)
    # a city's rule sees only its subtree's payments
    assert {h["region_code"] for h in run.hits} <= {CITY, COUNTY}
    assert run.scanned == sum(1 for s, _ in source.pairs if s.region_code in (CITY, COUNTY))
    services.rule_enable(actor=city, pk=rule.pk)
    assert {h["number"] for h in run.hits} == direct(rule.code, "inline", START, END)
    assert run.hit_amount == sum(h["amount"] for h in run.hits) > 0
    # the draft equals the saved rule
    draft = services.rule_backtest(actor=city, rule_or_draft={
        "code": "DRAFT", "region_code": CITY, "name": "草稿", "action": "notice", "message": "x",
        "condition": "payment.amount >= params.limit", "params": {"limit": 5_000_000}},
        date_from=START, date_to=END)
    assert [h["number"] for h in draft.hits] == [h["number"] for h in run.hits]


def _day_payments(day: dt.date, n: int = 6) -> list:
    pairs = []
    for i in range(n):
        ctx = ctx_for(payment={"date": day.isoformat(), "number": f"T1-{day:%m%d}-{i}",
                               "amount": 2_000_000 * (i + 1)},
                      indicator={"project_code": "P001"},
                      history={"indicator_paid_dec": 10_000_000, "indicator_paid_ytd": 12_000_000})
        pairs.append((subject_for(ctx, object_id=20_000 + day.toordinal() * 10 + i, kind="payment_request"), ctx))
    return pairs


def test_batch_run_is_idempotent(source, treasury):
    day = dt.date(2026, 12, 15)
    source.pairs = _day_payments(day) + _day_payments(day + dt.timedelta(days=1))
    run = services.batch_run(actor=treasury, date=day)
    expected = {(s.object_id, h.rule_code) for s, c in source.pairs[:6] for h in engine.evaluate(c, stage="batch")}
    assert ("MON-07" in {code for _, code in expected}) and run.scanned == 6
    alerts = Alert.objects.filter(subject_kind="payment_request", subject_date=day)
    assert {(int(a.subject_id), a.rule_code) for a in alerts} == expected
    assert run.raised == len(expected) and run.finished_at is not None
    assert all(a.stage == "batch" for a in alerts if a.rule_code == "MON-07")
    again = services.batch_run(actor=treasury, date=day)
    assert again.raised == 0 and again.scanned == 6
    assert Alert.objects.filter(subject_kind="payment_request", subject_date=day).count() == len(expected)
    assert not Alert.objects.filter(subject_date=day + dt.timedelta(days=1)).exists()  # another day's payments


def test_batch_does_not_repeat_an_inline_alert(source, treasury, clerk):
    day = dt.date(2026, 6, 16)
    ctx = ctx_for(payment={"set_mode": "3", "amount": 6_000_000})
    subject = subject_for(ctx, object_id=31_000, kind="payment_request")
    source.pairs = [(subject, ctx)]
    with transaction.atomic():
        [inline] = services.alerts_raise(actor=clerk, hits=engine.evaluate(ctx), subject=subject)
    assert inline.rule_code == "MON-02A" and inline.stage == "inline"
    run = services.batch_run(actor=treasury, date=day)
    assert run.scanned == 1 and run.raised == 0
    assert list(Alert.objects.filter(subject_id="31000").values_list("pk", "stage")) == [(inline.pk, "inline")]


def test_batch_needs_permission(user):
    with pytest.raises(services.PermissionDenied):
        services.batch_run(actor=user("school_clerk"), date=dt.date(2026, 6, 1))


def test_periodic_job_runs_yesterday_once(source):
    today = dt.date(2026, 12, 16)
    yesterday = today - dt.timedelta(days=1)
    source.pairs = _day_payments(yesterday)
    with clock.travel(today):
        raised = services.batch_run_daily()
        assert raised > 0
        assert services.batch_run_daily() == 0  # the day is done: skipped
    runs = BatchRun.objects.filter(date=yesterday, region_code="")
    assert runs.count() == 1 and runs[0].created_by == system_user()
    assert Alert.objects.filter(subject_date=yesterday).count() == raised


def test_sources_registry():
    def fn(regions, a, b):
        yield from ()
    before = sources.payment_sources()
    sources.register_payment_source(fn)
    sources.register_payment_source(fn)
    assert sources.payment_sources() == [*before, fn]
    sources.unregister_payment_source(fn)
    assert sources.payment_sources() == before


def test_sample_context_builder():
    ctx = sample_context(payment={"date": "2026-06-20"})
    assert ctx["payment"]["weekday"] == 6 and ctx["payment"]["is_holiday"] and ctx["payment"]["month"] == 6
    with pytest.raises(KeyError):
        sample_context(payment={"amout": 1})
    with pytest.raises(KeyError):
        sample_context(payer={})


def test_backtest_asks_the_source_for_the_tested_rules_history(source, treasury):
    """A draft's history keys are not among the rules in force; during its back-test the source is told to
    compute them too (through `history_needed`, which sources call)."""
    asked: list[frozenset] = []

    def src(regions, a, b):
        asked.append(engine.history_needed(PROVINCE, "batch"))
        yield from ()

    sources.register_payment_source(src)
    try:
        assert "payee_30d_count" not in engine.history_needed(PROVINCE, "batch")
        services.rule_backtest(actor=treasury, rule_or_draft={"name": "草稿", "action": "notice", "message": "x",
                                                         "condition": "history.payee_30d_count > 3"},
                          date_from=START, date_to=END)
    finally:
        sources.unregister_payment_source(src)
    assert asked and "payee_30d_count" in asked[0]
    assert "payee_30d_count" not in engine.history_needed(PROVINCE, "batch")
