"""Lazy history: with `evaluate(…, history=fn)` every rule first runs without the history aggregates and only the
rules that reach one get them. Over every catalogue case (firing and near-miss) the hits equal the eager
evaluation with the full history, and the aggregates are asked for only when a rule needs them."""

from __future__ import annotations

import pytest

from ibms.monitoring import engine
from ibms.monitoring.context import sample_context

from .cases import CASES

pytestmark = pytest.mark.django_db

CONTEXTS = [(code, kind, ctx) for code, (fire, miss) in CASES.items() for kind, ctx in (("fire", fire), ("miss", miss))]


@pytest.mark.parametrize("stage", ["inline", "batch"])
@pytest.mark.parametrize("code,kind,overrides", CONTEXTS, ids=[f"{c}-{k}" for c, k, _ in CONTEXTS])
def test_lazy_history_gives_the_eager_hits(code, kind, overrides, stage):
    full = sample_context(**overrides)
    asked: list[frozenset[str]] = []

    def history(keys: frozenset[str]) -> dict:
        asked.append(keys)
        return {k: full["history"][k] for k in keys}

    lazy = engine.evaluate({**full, "history": {}}, stage=stage, history=history)
    eager = engine.evaluate(full, stage=stage)
    assert [(h.rule_code, h.message) for h in lazy] == [(h.rule_code, h.message) for h in eager]
    assert len(asked) <= 1


def test_a_plain_transfer_needs_no_history_at_all():
    asked = []
    hits = engine.evaluate({**sample_context(), "history": {}}, history=lambda keys: asked.append(keys) or {})
    assert hits == [] and asked == []


def test_a_cash_payment_asks_only_for_the_cash_aggregates():
    asked: list[frozenset[str]] = []
    ctx = sample_context(payment={"set_mode": "3"})

    def history(keys):
        asked.append(keys)
        return {"unit_cash_30d_count": 9}

    hits = engine.evaluate({**ctx, "history": {}}, history=history)
    assert asked and "unit_cash_30d_count" in asked[0] and "unit_eco_budget" not in asked[0]
    assert "MON-02B" in {h.rule_code for h in hits}
