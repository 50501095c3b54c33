"""A rule whose condition fails at run time on some payment (here: an integer division by zero that the editor's
check on the sample payment did not reach) fails closed when it blocks or asks for an explanation, and is only
logged when it is a yellow warning — in evaluate and in the back-test alike."""

from __future__ import annotations

import pytest

from ibms.monitoring import engine

from .builders import codes, ctx_for, make_rule

pytestmark = pytest.mark.django_db

DIVIDES_BY_ZERO = 'payment.purpose.contains("零星") && payment.amount / (payment.line_count - 1) > 0'


@pytest.mark.parametrize("action,fires", [("block", True), ("warn_red", True), ("warn_yellow", False)])
def test_runtime_failure_fails_closed_for_block_and_red(user, action, fires):
    rule = make_rule(user("fin_treasury"), condition=DIVIDES_BY_ZERO, params={}, action=action)
    assert not [h for h in engine.evaluate(ctx_for()) if h.rule_code == rule.code]
    ctx = ctx_for(payment={"purpose": "零星采购"})
    hits = [h for h in engine.evaluate(ctx) if h.rule_code == rule.code]
    assert (rule.code in codes(hits)) is fires
    if fires:
        assert "执行出错" in hits[0].message and hits[0].action == action
    assert (engine.evaluate_one(rule, ctx) is not None) is fires


def test_a_working_rule_is_not_affected(user):
    rule = make_rule(user("fin_treasury"), condition="payment.amount / payment.line_count > params.limit",
                     params={"limit": 1}, action="block")
    hits = [h for h in engine.evaluate(ctx_for()) if h.rule_code == rule.code]
    assert len(hits) == 1 and "执行出错" not in hits[0].message
