"""采购计划: the refusals, the review chain and the freeze (无预算不采购)."""

from __future__ import annotations

import pytest

from ibms.core.errors import DomainError, Violation
from ibms.procurement import hooks, rules
from ibms.procurement import services as ps
from ibms.procurement.models import ProcurementPlan
from ibms.procurement.selectors import frozen_problems
from tests.treasury.builders import indicator

from .builders import YUAN, approved_plan, buckets, codes, fresh, gov_indicator, plan

pytestmark = pytest.mark.django_db
W = 10_000 * YUAN  # 万元


def test_approval_freezes_the_plan_amount(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = plan(clerk, ind, 50 * W)
    assert buckets(ind) == (100 * W, 0, 0, 0)  # a draft freezes nothing
    ps.plan_submit(actor=clerk, pk=p.pk)
    assert buckets(ind) == (100 * W, 0, 0, 0)
    p = ps.plan_review(actor=budget, pk=p.pk, approve=True)
    assert p.status == ProcurementPlan.Status.APPROVED and p.frozen == 50 * W
    assert buckets(ind) == (50 * W, 50 * W, 0, 0)
    assert p.source.kind == "hold" and p.source.doc_no == p.number
    assert frozen_problems() == []


def test_plan_above_the_indicator_is_refused(clerk, budget):
    ind = gov_indicator(budget, 10 * W)
    p = plan(clerk, ind, 11 * W)
    with pytest.raises(DomainError) as e:
        ps.plan_submit(actor=clerk, pk=p.pk)
    assert "overdraw" in codes(e.value)
    assert fresh(p).status == ProcurementPlan.Status.DRAFT and buckets(ind) == (10 * W, 0, 0, 0)


def test_available_is_checked_again_at_approval(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    first, second = plan(clerk, ind, 60 * W), plan(clerk, ind, 60 * W, catalogue_code="C16070000")
    ps.plan_submit(actor=clerk, pk=first.pk)
    ps.plan_submit(actor=clerk, pk=second.pk)
    ps.plan_review(actor=budget, pk=first.pk, approve=True)
    with pytest.raises(DomainError) as e:
        ps.plan_review(actor=budget, pk=second.pk, approve=True)
    assert "overdraw" in codes(e.value)
    assert fresh(second).status == ProcurementPlan.Status.SUBMITTED
    assert buckets(ind) == (40 * W, 60 * W, 0, 0)


def test_indicator_without_the_procurement_flag_is_refused(clerk, budget):
    ind = indicator(budget, 100 * W)
    with pytest.raises(DomainError) as e:
        plan(clerk, ind, 10 * W)
    assert "indicator_not_procurement" in codes(e.value)
    assert not ProcurementPlan.objects.filter(indicator=ind).exists()


def test_method_above_its_threshold_is_refused(clerk, budget):
    ind = gov_indicator(budget, 1000 * W)
    p = plan(clerk, ind, 500 * W, method="询价")  # 询价 only below the 400 万元 public-tender standard
    with pytest.raises(DomainError) as e:
        ps.plan_submit(actor=clerk, pk=p.pk)
    assert "method_above_threshold" in codes(e.value)
    ok = plan(clerk, ind, 300 * W, method="询价", catalogue_code="C16070000")
    assert ps.plan_submit(actor=clerk, pk=ok.pk).status == ProcurementPlan.Status.SUBMITTED


def test_split_purchase_below_threshold_is_warned_by_the_national_rule(clerk, budget):
    ind = gov_indicator(budget, 1000 * W)
    a = plan(clerk, ind, 250 * W)
    ps.plan_submit(actor=clerk, pk=a.pk)
    b = ps.plan_submit(actor=clerk, pk=plan(clerk, ind, 200 * W).pk)  # 450 万元 ≥ 400 万元 in two plans
    assert fresh(a).warnings == []
    assert [w["code"] for w in b.warnings] == ["split_purchase"]
    other_item = ps.plan_submit(actor=clerk, pk=plan(clerk, ind, 200 * W, catalogue_code="C16070000").pk)
    assert other_item.warnings == []


def test_split_purchase_is_refused_where_the_region_rule_says_so(clerk, budget, settings, tmp_path):
    ind = gov_indicator(budget, 1000 * W)
    region = ind.region_code
    data = tmp_path / "procurement"
    data.mkdir()
    for name in ("catalogue.csv", "thresholds.csv", "review_chains.csv"):
        (data / name).write_text((rules.data_dir() / name).read_text(encoding="utf-8"), encoding="utf-8")
    (data / "split_rule.csv").write_text(f"region_code,threshold_yuan,action,provenance\n{region},4000000,refuse,测试\n",
                                         encoding="utf-8")
    settings.DATA_DIR = str(tmp_path)
    rules.reload()
    try:
        ps.plan_submit(actor=clerk, pk=plan(clerk, ind, 250 * W).pk)
        p = plan(clerk, ind, 200 * W)
        with pytest.raises(DomainError) as e:
            ps.plan_submit(actor=clerk, pk=p.pk)
        assert "split_purchase" in codes(e.value) and fresh(p).status == ProcurementPlan.Status.DRAFT
    finally:
        settings.DATA_DIR = str(rules.data_dir().parent)
        rules.reload()


def test_return_needs_a_reason_and_freezes_nothing(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = plan(clerk, ind, 10 * W)
    ps.plan_submit(actor=clerk, pk=p.pk)
    with pytest.raises(DomainError) as e:
        ps.plan_review(actor=budget, pk=p.pk, approve=False)
    assert codes(e.value) == ["comment_required"]
    p = ps.plan_review(actor=budget, pk=p.pk, approve=False, comment="品目不对")
    assert p.status == ProcurementPlan.Status.RETURNED and buckets(ind) == (100 * W, 0, 0, 0)


def test_wrong_role_cannot_review_and_clerk_cannot_approve(clerk, budget, reviewer):
    ind = gov_indicator(budget, 100 * W)
    p = plan(clerk, ind, 10 * W)
    ps.plan_submit(actor=clerk, pk=p.pk)
    for who in (clerk, reviewer):
        with pytest.raises(DomainError) as e:
            ps.plan_review(actor=who, pk=p.pk, approve=True)
        assert e.value.http_status == 403
    assert buckets(ind) == (100 * W, 0, 0, 0)


def test_cancel_an_approved_plan_releases_its_freeze(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 30 * W)
    with pytest.raises(DomainError):
        ps.plan_cancel(actor=clerk, pk=p.pk)  # a reason is required
    p = ps.plan_cancel(actor=clerk, pk=p.pk, reason="需求取消")
    assert p.status == ProcurementPlan.Status.CANCELLED and p.frozen == 0
    assert buckets(ind) == (100 * W, 0, 0, 0)
    assert frozen_problems() == []


def test_registered_asset_check_refuses_the_approval(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = plan(clerk, ind, 10 * W, catalogue_code="A02010104")  # 台式计算机: an asset class
    ps.plan_submit(actor=clerk, pk=p.pk)
    seen = []

    def check(plan):
        seen.append(plan.pk)
        return [Violation("asset_standard_exceeded", "超过资产配置标准（测试）", "amount")]

    hooks.register_plan_check(check)
    try:
        with pytest.raises(DomainError) as e:
            ps.plan_review(actor=budget, pk=p.pk, approve=True)
        assert "asset_standard_exceeded" in codes(e.value) and seen == [p.pk]
        assert buckets(ind) == (100 * W, 0, 0, 0) and fresh(p).status == ProcurementPlan.Status.SUBMITTED
        paper = plan(clerk, ind, 1 * W, catalogue_code="A08060301")  # 复印纸: no asset class, not checked
        ps.plan_submit(actor=clerk, pk=paper.pk)
        assert ps.plan_review(actor=budget, pk=paper.pk, approve=True).status == ProcurementPlan.Status.APPROVED
        assert seen == [p.pk]
    finally:
        hooks.unregister_plan_check(check)
