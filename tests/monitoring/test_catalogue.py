"""Every shipped rule fires on a context built for it and not on a near-miss (the catalogue is parametrized from
data/monitoring/rules.csv, so a new rule without a case in cases.py fails here)."""

from __future__ import annotations

import pytest

from ibms.monitoring import engine
from ibms.monitoring.context import sample_context
from ibms.monitoring.models import Rule
from ibms.monitoring.setup import read_rules

from .builders import codes
from .cases import CASES

pytestmark = pytest.mark.django_db
SHIPPED = read_rules()


def _stage(row) -> str:
    return "batch" if row["stage"] == "batch" else "inline"


def test_catalogue_is_loaded_and_covered():
    assert len(SHIPPED) >= 17
    assert {r["catalogue_no"] for r in SHIPPED} >= {str(n) for n in range(1, 18)}  # all 17 patterns of §22.4
    assert set(CASES) == {r["code"] for r in SHIPPED}
    loaded = {r.code: r for r in Rule.objects.filter(region_code="")}
    assert set(loaded) >= set(CASES)
    assert all(loaded[c].enabled for c in CASES)


def test_the_sample_context_is_clean():
    assert engine.evaluate(sample_context(), stage="inline") == []
    assert engine.evaluate(sample_context(), stage="batch") == []


@pytest.mark.parametrize("row", SHIPPED, ids=[r["code"] for r in SHIPPED])
def test_rule_fires(row):
    fire, _ = CASES[row["code"]]
    hits = {h.rule_code: h for h in engine.evaluate(sample_context(**fire), stage=_stage(row))}
    assert row["code"] in hits
    hit = hits[row["code"]]
    assert hit.action == row["action"] and hit.name == row["name"]
    assert "{" not in hit.message and hit.message


@pytest.mark.parametrize("row", SHIPPED, ids=[r["code"] for r in SHIPPED])
def test_rule_does_not_fire_on_near_miss(row):
    _, miss = CASES[row["code"]]
    assert row["code"] not in codes(engine.evaluate(sample_context(**miss), stage=_stage(row)))


@pytest.mark.parametrize("row", SHIPPED, ids=[r["code"] for r in SHIPPED])
def test_stage(row):
    """Inline-only rules stay out of the batch and batch-only rules out of the inline check."""
    fire, _ = CASES[row["code"]]
    ctx = sample_context(**fire)
    inline, batch = codes(engine.evaluate(ctx, stage="inline")), codes(engine.evaluate(ctx, stage="batch"))
    assert (row["code"] in inline) == (row["stage"] in ("inline", "both"))
    assert (row["code"] in batch) == (row["stage"] in ("batch", "both"))


def test_holiday_and_weekend():
    assert "MON-06" in codes(engine.evaluate(sample_context(payment={"date": "2026-06-20"})))  # Saturday
    assert "MON-06" in codes(engine.evaluate(sample_context(payment={"is_holiday": True})))
    assert "MON-06" not in codes(engine.evaluate(sample_context(payment={"date": "2026-06-20", "is_holiday": False})))


def test_message_renders_yuan():
    [hit] = [h for h in engine.evaluate(sample_context(payment={"set_mode": "3", "amount": 12_345_678}))
             if h.rule_code == "MON-02A"]
    assert "123,456.78" in hit.message and "50,000.00" in hit.message


def test_setup_is_idempotent_and_versions_changes(tmp_path):
    from ibms.monitoring.setup import load_rules, rules_file

    assert load_rules() == {"created": 0, "updated": 0}
    text = rules_file().read_text(encoding="utf-8")
    changed = text.replace('{""limit"": 5000000}', '{""limit"": 6000000}', 1)  # MON-02A's cash limit
    assert changed != text
    path = tmp_path / "rules.csv"
    path.write_text(changed, encoding="utf-8")
    before = Rule.objects.get(region_code="", code="MON-02A")
    assert load_rules(path) == {"created": 0, "updated": 1}
    after = Rule.objects.get(region_code="", code="MON-02A")
    assert after.version == before.version + 1 and after.params == {"limit": 6_000_000}
    assert "MON-02A" not in codes(engine.evaluate(sample_context(payment={"set_mode": "3", "amount": 5_500_000})))
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("payment.set_mode == ", "payment.set_mod == ", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="MON-02A"):
        load_rules(bad)
