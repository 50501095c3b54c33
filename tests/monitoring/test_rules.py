"""Rule services: CEL validated on save with every problem listed in Chinese, enabling needs a back-test of the
current version, permissions and scope."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.core.audit import ChangeLog
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.monitoring import services
from ibms.monitoring.models import BacktestRun, Rule
from tests.constants import CITY

from .builders import make_rule

pytestmark = pytest.mark.django_db


def problems(exc) -> set[str]:
    return {v.code for v in exc.value.violations}


def test_create_lists_every_problem(treasury):
    with pytest.raises(ValidationFailed) as exc:
        services.rule_create(actor=treasury, data={"code": "", "name": "", "action": "explode",
                                                   "condition": "payment.amount >", "message": ""})
    assert problems(exc) >= {"code_required", "name_required", "action_invalid", "message_required",
                             "condition_syntax"}
    assert "触发条件不是有效的 CEL 表达式" in exc.value.message


@pytest.mark.parametrize(("condition", "params", "message", "code"), [
    ("payment.amout > 1", {}, "x", "condition_field"),
    ("history.payee_7d_count > 1", {}, "x", "condition_field"),
    ("payment.amount + 1", {}, "x", "condition_not_bool"),
    ("payment.amount > params.limit", {}, "x", "condition_eval"),
    ("payment.amount > 1", {}, "{payment.amout}", "message_field"),
    ("payment.amount > 1", {}, "{params.limit}", "message_field"),
    ("payment.amount > 1", [1], "x", "params_invalid"),
    ("", {}, "x", "condition_required"),
])
def test_condition_checks(treasury, condition, params, message, code):
    with pytest.raises(ValidationFailed) as exc:
        services.rule_create(actor=treasury, data={"code": "T-X", "name": "测试", "action": "notice",
                                                   "condition": condition, "params": params, "message": message})
    assert code in problems(exc)


def test_create_is_disabled_and_audited(treasury):
    rule = make_rule(treasury, code="T-NEW", enable=False)
    assert not rule.enabled and rule.version == 1 and rule.region_code == "990000000"
    assert ChangeLog.objects.filter(object_type="monitoring.rule", object_id=str(rule.pk), action="create").exists()
    with pytest.raises(ValidationFailed) as exc:
        make_rule(treasury, code="T-NEW", enable=False)
    assert problems(exc) == {"code_taken"}


def test_enable_needs_backtest_of_current_version(treasury):
    rule = make_rule(treasury, enable=False)
    with pytest.raises(Conflict) as exc:
        services.rule_enable(actor=treasury, pk=rule.pk)
    assert exc.value.code == "backtest_required" and "回测" in exc.value.message
    run = services.rule_backtest(actor=treasury, rule_or_draft=rule, date_from=dt.date(2026, 6, 1),
                            date_to=dt.date(2026, 6, 30))
    assert run.pk and run.rule_version == 1
    assert services.rule_enable(actor=treasury, pk=rule.pk).enabled
    # a text change keeps the version (and the rule enabled); a logic change makes version 2, disabled
    rule = services.rule_update(actor=treasury, pk=rule.pk, data={"name": "改名", "legal_basis": "新依据"})
    assert rule.enabled and rule.version == 1 and rule.name == "改名"
    rule = services.rule_update(actor=treasury, pk=rule.pk, data={"condition": "payment.amount >= params.limit"})
    assert not rule.enabled and rule.version == 2
    with pytest.raises(Conflict) as exc:
        services.rule_enable(actor=treasury, pk=rule.pk)
    assert exc.value.code == "backtest_required"
    assert BacktestRun.objects.filter(rule=rule).count() == 1


def test_update_refuses_bad_condition_and_keeps_rule(treasury):
    rule = make_rule(treasury)
    with pytest.raises(ValidationFailed) as exc:
        services.rule_update(actor=treasury, pk=rule.pk, data={"condition": "payment.amount >>> 1"})
    assert "condition_syntax" in problems(exc)
    fresh = Rule.objects.get(pk=rule.pk)
    assert fresh.enabled and fresh.version == 1 and fresh.condition == rule.condition


def test_permissions_and_scope(user, treasury):
    with pytest.raises(PermissionDenied):
        make_rule(user("school_clerk"))
    with pytest.raises(PermissionDenied):
        make_rule(user("auditor"))
    with pytest.raises(PermissionDenied):  # 国库处 of the province may not create rules for a city
        make_rule(treasury, region_code=CITY)
    national = Rule.objects.get(region_code="", code="MON-05")
    with pytest.raises(NotFound):  # national rules are read-only here (the catalogue file maintains them)
        services.rule_update(actor=treasury, pk=national.pk, data={"name": "x"})
    city_rule = make_rule(user("city_treasury"), region_code=CITY)
    with pytest.raises(NotFound):  # the province reads a city's rule but does not change it
        services.rule_disable(actor=treasury, pk=city_rule.pk)
    with pytest.raises(NotFound):  # a county does not change its city's rule either
        services.rule_disable(actor=user("county_treasury"), pk=city_rule.pk)


def test_draft_backtest_is_not_stored(treasury):
    run = services.rule_backtest(actor=treasury, rule_or_draft={"code": "D-1", "name": "草稿", "action": "notice",
                                                           "condition": "payment.amount > 1", "message": "x"},
                            date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 6, 30))
    assert run.pk is None and run.hit_count == len(run.hits)
    with pytest.raises(ValidationFailed) as exc:
        services.rule_backtest(actor=treasury, rule_or_draft={"name": "x", "action": "notice", "condition": "1 +",
                                                         "message": "x"},
                          date_from=dt.date(2026, 6, 30), date_to=dt.date(2026, 6, 1))
    assert problems(exc) == {"dates_invalid"}
    with pytest.raises(PermissionDenied):
        services.rule_backtest(actor=treasury.__class__.objects.get(username="school_clerk"),
                          rule_or_draft={}, date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 6, 2))


def test_verify_check(treasury):
    from ibms.monitoring.selectors import rule_problems

    assert rule_problems() == []
    rule = make_rule(treasury, enable=False)
    Rule.objects.filter(pk=rule.pk).update(enabled=True)  # written around the services
    assert rule_problems() == [f"monitoring rule 990000000/{rule.code} v1 is enabled without a back-test"]
    Rule.objects.filter(pk=rule.pk).update(condition="payment.amount +")
    assert any(p.endswith(": condition_syntax") for p in rule_problems())
