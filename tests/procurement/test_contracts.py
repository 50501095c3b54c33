"""合同备案 against a plan and payments against the contract: the freeze becomes the commitment, the saving goes
back, a payment draws on the freeze (never counting available twice), a refusal gives it back, completion
releases what is left; cumulative payments never exceed the contract (无合同不支付)."""

from __future__ import annotations

import uuid

import pytest

from ibms.core import workflow
from ibms.core.errors import DomainError
from ibms.procurement.models import ProcurementPlan
from ibms.procurement.selectors import frozen_problems
from ibms.treasury import services as ts
from ibms.treasury.models import Contract
from ibms.treasury.selectors import contract_plan_problems
from tests.treasury.builders import create

from .builders import YUAN, approved_plan, buckets, codes, contract, fresh, gov_indicator, plan

pytestmark = pytest.mark.django_db
W = 10_000 * YUAN


def _submit(clerk, req):
    return ts.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=str(uuid.uuid4()))


def test_filing_turns_the_freeze_into_the_commitment_and_releases_the_saving(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    c = contract(clerk, p, 45 * W, milestones=[("预付款", 20 * W), ("验收款", 25 * W)])
    p = fresh(p)
    assert c.plan_id == p.pk and c.indicator_id == ind.pk and [m["amount"] for m in c.schedule] == [20 * W, 25 * W]
    assert p.status == ProcurementPlan.Status.CONTRACTED and p.frozen == 45 * W and p.released == 5 * W
    assert buckets(ind) == (55 * W, 45 * W, 0, 0)
    assert frozen_problems() == []


def test_filing_waits_for_the_review(clerk, budget, reviewer):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    c = contract(clerk, p, 45 * W, approve=False)
    assert c.status == Contract.Status.PENDING and buckets(ind) == (50 * W, 50 * W, 0, 0)
    waiting = workflow.todo_for_user(budget).filter(doc_type="treasury.contract", object_id=str(c.pk))
    assert [t.title for t in waiting] == [f"合同备案审核：{c.number} {c.name}（450,000.00元）"]
    with pytest.raises(DomainError) as e:
        _submit(clerk, create(clerk, ind, 1 * W, contract_id=c.pk, milestone=1))
    assert "contract_not_active" in codes(e.value)
    for who in (clerk, reviewer):  # the clerk entered it; the unit reviewer holds no review permission
        with pytest.raises(DomainError) as e:
            ts.contract_review(actor=who, pk=c.pk, approve=True)
        assert e.value.http_status == 403
    with pytest.raises(DomainError) as e:
        ts.contract_review(actor=budget, pk=c.pk, approve=False)
    assert codes(e.value) == ["comment_required"]
    c = ts.contract_review(actor=budget, pk=c.pk, approve=False, comment="供应商账号有误")
    assert not waiting.all().exists()  # reviewed: off the budget division's list
    assert c.status == Contract.Status.REJECTED and fresh(p).status == ProcurementPlan.Status.APPROVED
    assert buckets(ind) == (50 * W, 50 * W, 0, 0)
    c2 = contract(clerk, p, 40 * W)  # filed again, approved
    assert c2.status == Contract.Status.ACTIVE and buckets(ind) == (60 * W, 40 * W, 0, 0)
    assert frozen_problems() == [] and contract_plan_problems() == []


def test_contract_above_the_plan_is_refused(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    with pytest.raises(DomainError) as e:
        contract(clerk, p, 51 * W)
    assert "contract_exceeds_plan" in codes(e.value)
    assert not Contract.objects.filter(plan=p).exists() and fresh(p).status == ProcurementPlan.Status.APPROVED
    assert buckets(ind) == (50 * W, 50 * W, 0, 0)


def test_schedule_must_sum_to_the_contract_and_plan_must_be_approved(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    with pytest.raises(DomainError) as e:
        contract(clerk, p, 40 * W, milestones=[("预付款", 10 * W)])
    assert "milestones_sum_mismatch" in codes(e.value)
    draft = plan(clerk, ind, 10 * W, catalogue_code="C16070000")
    with pytest.raises(DomainError) as e:
        contract(clerk, draft, 10 * W)
    assert "plan_not_approved" in codes(e.value)
    assert buckets(ind) == (50 * W, 50 * W, 0, 0)


def test_payment_draws_on_the_freeze_and_a_rejection_gives_it_back(clerk, budget, reviewer):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    c = contract(clerk, p, 45 * W, milestones=[("预付款", 20 * W), ("验收款", 25 * W)])
    req_other = create(clerk, ind, 55 * W, contract_id=c.pk, milestone=2)
    with pytest.raises(DomainError) as e:
        _submit(clerk, req_other)
    assert "milestone_exhausted" in codes(e.value)
    req = create(clerk, ind, 20 * W, contract_id=c.pk, milestone=1)
    _submit(clerk, req)
    assert buckets(ind) == (55 * W, 25 * W, 20 * W, 0)  # unfrozen and reserved: available unchanged
    assert fresh(p).frozen == 25 * W and fresh(p).drawn == 20 * W and fresh(c).committed == 20 * W
    assert frozen_problems() == []
    ts.payment_request_review(actor=reviewer, pk=req.pk, approve=False, comment="发票不全")
    assert buckets(ind) == (55 * W, 45 * W, 0, 0)
    assert fresh(p).frozen == 45 * W and fresh(p).drawn == 0 and fresh(c).committed == 0
    assert frozen_problems() == [] and contract_plan_problems() == []


def test_payment_above_the_contract_is_refused(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    c = contract(clerk, p, 45 * W)
    req = create(clerk, ind, 46 * W, contract_id=c.pk, milestone=1)
    with pytest.raises(DomainError) as e:
        _submit(clerk, req)
    assert "contract_exhausted" in codes(e.value)
    assert buckets(ind) == (55 * W, 45 * W, 0, 0)


def test_procurement_payment_without_a_contract_is_refused(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    req = create(clerk, ind, 1 * W)
    with pytest.raises(DomainError) as e:
        _submit(clerk, req)
    assert "contract_required" in codes(e.value)


def test_milestone_is_required_on_a_scheduled_contract(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    c = contract(clerk, approved_plan(clerk, budget, ind, 50 * W), 45 * W)
    with pytest.raises(DomainError) as e:
        _submit(clerk, create(clerk, ind, 1 * W, contract_id=c.pk))
    assert "milestone_required" in codes(e.value)


def test_withdraw_then_complete_releases_what_is_left(clerk, budget):
    ind = gov_indicator(budget, 100 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    c = contract(clerk, p, 45 * W)
    req = create(clerk, ind, 10 * W, contract_id=c.pk, milestone=1)
    _submit(clerk, req)
    with pytest.raises(DomainError) as e:
        ts.contract_close(actor=clerk, pk=c.pk)
    assert codes(e.value) == ["contract_in_flight"]
    ts.payment_request_withdraw(actor=clerk, pk=req.pk)
    assert buckets(ind) == (55 * W, 45 * W, 0, 0)
    c = ts.contract_close(actor=clerk, pk=c.pk)
    assert c.status == Contract.Status.COMPLETED
    assert fresh(p).status == ProcurementPlan.Status.CLOSED and fresh(p).frozen == 0
    assert buckets(ind) == (100 * W, 0, 0, 0)
    assert frozen_problems() == [] and contract_plan_problems() == []


def test_contract_without_a_plan_still_works(clerk, budget):
    from ibms.core import clock
    from tests.treasury.builders import payee, school

    c = ts.contract_create(actor=clerk, unit_id=school().pk, number="HT-NOPLAN-1", name="旧合同", amount=5 * W,
                           sign_date=clock.today(), payee_id=payee().pk)
    assert c.plan_id is None and c.schedule == [] and c.status == Contract.Status.ACTIVE


def test_a_fully_frozen_indicator_pays_from_the_contract_freeze(clerk, budget):
    ind = gov_indicator(budget, 50 * W)
    p = approved_plan(clerk, budget, ind, 50 * W)
    c = contract(clerk, p, 50 * W)
    assert buckets(ind) == (0, 50 * W, 0, 0)  # nothing available: only the contract's own freeze can pay
    _submit(clerk, create(clerk, ind, 30 * W, contract_id=c.pk, milestone=1))
    assert buckets(ind) == (0, 20 * W, 30 * W, 0)
    other = create(clerk, gov_indicator(budget, 1 * W), 1 * W)  # unrelated: still refused without a contract
    with pytest.raises(DomainError):
        _submit(clerk, other)
    assert frozen_problems() == []


def test_verify_sees_a_freeze_written_behind_the_plans_back(clerk, budget):
    ind = gov_indicator(budget, 10 * W)
    p = approved_plan(clerk, budget, ind, 5 * W)
    ProcurementPlan.objects.filter(pk=p.pk).update(frozen=4 * W)
    assert any(p.number in m for m in frozen_problems())
    c = contract(clerk, approved_plan(clerk, budget, ind, 1 * W, catalogue_code="C16070000"), 1 * W)
    Contract.objects.filter(pk=c.pk).update(committed=1)
    assert any(c.number in m for m in contract_plan_problems())
