"""The engine: region subtree and department levels, effective dates, whitelist, region overrides, stages,
history_needed, and that the cache follows rule changes (also ones written by another process)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone

from ibms.monitoring import engine, services
from ibms.monitoring.context import HISTORY_KEYS, sample_context
from ibms.monitoring.models import Rule, WhitelistEntry
from tests.constants import CITY, COUNTY, OTHER_CITY, OTHER_COUNTY, PROVINCE

from .builders import codes, ctx_for, make_rule

pytestmark = pytest.mark.django_db
BIG = {"amount": 2_000_000}  # above the test rules' 1,000,000 limit; no shipped rule fires on it


def fires(rule, ctx, stage="inline") -> bool:
    return rule.code in codes(engine.evaluate(ctx, stage=stage))


def test_shipped_rules_do_not_fire_on_big():
    assert engine.evaluate(ctx_for(payment=BIG)) == []


def test_region_rule_applies_to_its_subtree_only(user):
    city = user("city_treasury")
    rule = make_rule(city, region_code=CITY)
    assert rule.region_code == CITY
    assert fires(rule, ctx_for(CITY, payment=BIG))
    assert fires(rule, ctx_for(COUNTY, payment=BIG))  # a county below the city
    assert not fires(rule, ctx_for(PROVINCE, payment=BIG))  # the level above
    assert not fires(rule, ctx_for(OTHER_CITY, payment=BIG))
    assert not fires(rule, ctx_for(OTHER_COUNTY, payment=BIG))
    assert not fires(rule, ctx_for(COUNTY, payment={"amount": 1_000_000}))


def test_national_and_province_rules_apply_below(treasury):
    rule = make_rule(treasury)
    assert rule.region_code == PROVINCE
    assert fires(rule, ctx_for(OTHER_COUNTY, payment=BIG))
    assert "MON-08" in codes(engine.evaluate(ctx_for(OTHER_COUNTY, payment={"amount": 30_000_001})))


def test_department_level(treasury):
    rule = make_rule(treasury, level="department", department_code="001")
    assert fires(rule, ctx_for(payment=BIG, unit={"department_code": "001"}))
    assert not fires(rule, ctx_for(payment=BIG, unit={"department_code": "002"}))
    with pytest.raises(services.ValidationFailed) as exc:
        make_rule(treasury, level="department")
    assert "department_required" in [v.code for v in exc.value.violations]
    with pytest.raises(services.ValidationFailed) as exc:
        make_rule(treasury, level="department", department_code="999")
    assert "department_unknown" in [v.code for v in exc.value.violations]


def test_effective_dates(treasury):
    rule = make_rule(treasury, valid_from=dt.date(2026, 7, 1), valid_to=dt.date(2026, 7, 31))
    assert not fires(rule, ctx_for(payment={**BIG, "date": "2026-06-30"}))
    assert fires(rule, ctx_for(payment={**BIG, "date": "2026-07-01"}))
    assert fires(rule, ctx_for(payment={**BIG, "date": "2026-07-31"}))
    assert not fires(rule, ctx_for(payment={**BIG, "date": "2026-08-03"}))


def test_disabled_rule_is_ignored(treasury):
    rule = make_rule(treasury)
    assert fires(rule, ctx_for(payment=BIG))
    services.rule_disable(actor=treasury, pk=rule.pk)
    assert not fires(rule, ctx_for(payment=BIG))
    services.rule_enable(actor=treasury, pk=rule.pk)  # same version: its back-test still counts
    assert fires(rule, ctx_for(payment=BIG))


def test_whitelist_suppresses(treasury):
    rule = make_rule(treasury)
    base = ctx_for(payment=BIG)
    assert fires(rule, base)
    services.whitelist_add(actor=treasury, rule_id=rule.pk, payee_account=base["payee"]["account_no"],
                           legal_basis="省财政厅〔2026〕1号", valid_from=dt.date(2026, 1, 1))
    assert not fires(rule, base)
    assert fires(rule, ctx_for(payment=BIG, payee={"account_no": "6222999900001111"}))  # another payee


def test_whitelist_by_unit_region_and_dates(user, treasury):
    rule = make_rule(treasury)
    services.whitelist_add(actor=treasury, rule_id=rule.pk, unit_code="001001", legal_basis="文件",
                           valid_from=dt.date(2026, 6, 1), valid_to=dt.date(2026, 6, 30))
    assert not fires(rule, ctx_for(payment=BIG))
    assert fires(rule, ctx_for(payment={**BIG, "date": "2026-07-01"}))  # past the entry's dates
    assert fires(rule, ctx_for(payment=BIG, unit={"code": "002001"}))
    # a county's whitelist covers its own subtree only
    county = user("county_treasury")
    entry = services.whitelist_add(actor=county, rule_id=rule.pk, legal_basis="区文件", valid_from=dt.date(2026, 1, 1))
    assert entry.region_code == COUNTY and entry.rule_code == rule.code
    assert not fires(rule, ctx_for(COUNTY, payment={**BIG, "date": "2026-08-03"}))
    assert fires(rule, ctx_for(CITY, payment={**BIG, "date": "2026-08-03"}))
    services.whitelist_deactivate(actor=county, pk=entry.pk)
    assert fires(rule, ctx_for(COUNTY, payment={**BIG, "date": "2026-08-03"}))


def test_whitelist_needs_legal_basis_and_a_rule_in_scope(user, treasury):
    rule = make_rule(user("city_treasury"), region_code=CITY)
    with pytest.raises(services.ValidationFailed) as exc:
        services.whitelist_add(actor=treasury, rule_id=rule.pk, legal_basis=" ")
    assert {v.code for v in exc.value.violations} == {"legal_basis_required", "region_outside_rule"}


def test_out_of_branch_rule_is_not_found(user):
    city_rule = Rule.objects.create(region_code=OTHER_CITY, code="X-1", name="别市规则", action="notice",
                                    condition="true", message="x")
    with pytest.raises(services.NotFound):
        services.whitelist_add(actor=user("county_treasury"), rule_id=city_rule.pk, legal_basis="x")


def test_region_override_replaces_inherited_rule(user, treasury):
    national = Rule.objects.get(region_code="", code="MON-05")
    ctx = ctx_for(payee={"kind": "individual"}, payment={"amount": 3_000_000})
    assert "MON-05" not in codes(engine.evaluate(ctx))
    local = make_rule(treasury, code="MON-05", condition=national.condition, params={"limit": 2_000_000},
                      message=national.message)
    hits = [h for h in engine.evaluate(ctx) if h.rule_code == "MON-05"]
    assert [h.rule_id for h in hits] == [local.pk]  # one hit, from the province's own version
    assert "20,000.00" in hits[0].message
    other = ctx_for(OTHER_COUNTY, payee={"kind": "individual"}, payment={"amount": 3_000_000})
    assert "MON-05" in codes(engine.evaluate(other))  # inside the province too
    services.rule_disable(actor=treasury, pk=local.pk)  # a disabled override gives the national rule back
    assert "MON-05" not in codes(engine.evaluate(ctx))
    assert "MON-05" in codes(engine.evaluate(ctx_for(payee={"kind": "individual"}, payment={"amount": 5_000_000})))


def test_history_needed(user, treasury):
    base = engine.history_needed(PROVINCE)
    assert base <= HISTORY_KEYS
    assert {"unit_cash_30d_count", "payee_30d_amounts", "unit_eco_paid_ytd", "unit_eco_budget"} <= base
    assert "indicator_paid_dec" not in base  # MON-07 is batch-only
    assert "indicator_paid_dec" in engine.history_needed(PROVINCE, "batch")
    before = engine.history_needed(CITY)
    make_rule(user("city_treasury"), region_code=CITY, condition="history.payee_30d_count > params.limit")
    assert "payee_30d_count" in engine.history_needed(COUNTY) - before
    assert "payee_30d_count" not in engine.history_needed(OTHER_COUNTY)
    with pytest.raises(ValueError):
        engine.history_needed(PROVINCE, "later")


def test_cache_follows_rule_changes(treasury):
    rule = make_rule(treasury)
    ctx = ctx_for(payment=BIG)
    assert fires(rule, ctx)
    assert (rule.pk, rule.version) in engine._programs
    rule = services.rule_update(actor=treasury, pk=rule.pk, data={"params": {"limit": 5_000_000}})
    assert rule.version == 2 and not rule.enabled  # a new version must be back-tested before it runs
    assert not fires(rule, ctx)
    with pytest.raises(services.Conflict) as exc:
        services.rule_enable(actor=treasury, pk=rule.pk)
    assert exc.value.code == "backtest_required"
    services.rule_backtest(actor=treasury, rule_or_draft=rule.pk, date_from=dt.date(2026, 6, 1),
                      date_to=dt.date(2026, 6, 30))
    services.rule_enable(actor=treasury, pk=rule.pk)
    assert not fires(rule, ctx)  # the limit is now 50,000.00
    assert fires(rule, ctx_for(payment={"amount": 5_000_001}))
    assert (rule.pk, 2) in engine._programs


def test_cache_sees_changes_from_another_process(treasury):
    """A write this process did not make (no invalidate() call here) is picked up by the stamp check."""
    rule = make_rule(treasury)
    ctx = ctx_for(payment=BIG)
    assert fires(rule, ctx)
    engine.rule_set()  # cache is current
    Rule.objects.filter(pk=rule.pk).update(params={"limit": 9_000_000}, version=F("version") + 1,
                                           updated_at=timezone.now())
    assert not fires(rule, ctx)
    Rule.objects.filter(pk=rule.pk).update(enabled=False, updated_at=timezone.now())
    assert rule.code not in codes(engine.evaluate(ctx_for(payment={"amount": 9_000_001})))
    WhitelistEntry.objects.create(rule=rule, rule_code="MON-02A", region_code=PROVINCE, legal_basis="x",
                                  valid_from=dt.date(2026, 1, 1))
    assert "MON-02A" not in codes(engine.evaluate(ctx_for(payment={"set_mode": "3", "amount": 9_000_000})))


def test_bad_runtime_data_is_no_hit(treasury):
    rule = make_rule(treasury, condition="payment.amount / params.zero > 1", params={"zero": 1})
    assert fires(rule, ctx_for(payment=BIG))
    Rule.objects.filter(pk=rule.pk).update(params={"zero": 0}, version=F("version") + 1, updated_at=timezone.now())
    assert engine.evaluate(ctx_for(payment=BIG)) == []  # division by zero: logged, not a hit, nothing breaks


def test_missing_sections_get_defaults():
    assert "MON-08" in codes(engine.evaluate({"payment": {"region_code": PROVINCE, "date": "2026-06-16",
                                                          "amount": 100, "hour": 10, "set_mode": "1"}}))
    ctx = sample_context()
    del ctx["history"]
    assert engine.evaluate(ctx) == []
