"""合同变更 / 合同终止 as documents with review: an amount change moves the contract and the plan's freeze together
(an increase frozen again, never above the plan or the indicator's available balance; a decrease unfrozen as
saving, never below what is paid or in flight), a schedule change keeps the paid periods, a termination releases
what is neither paid nor in flight and the contract then refuses payments; the maker never reviews, another unit
sees nothing, an approved change cannot be approved again; `ibms verify` agrees after each."""

from __future__ import annotations

import json
import uuid

import pytest

from ibms.core import workflow
from ibms.core.errors import DomainError
from ibms.core.verify import run_all
from ibms.indicators.models import IndicatorEntry
from ibms.procurement import changes
from ibms.procurement.changes import ChangeIn
from ibms.procurement.models import ContractChange, ProcurementPlan
from ibms.treasury import services as ts
from ibms.treasury.models import Contract
from tests.treasury.builders import create

from .builders import YUAN, approved_plan, buckets, codes, contract, fresh, gov_indicator

pytestmark = pytest.mark.django_db
W = 10_000 * YUAN
CS = ContractChange.Status


def _clean() -> None:
    problems = run_all()
    for name in ("procurement.frozen", "treasury.contract_plans", "procurement.contract_changes",
                 "treasury.reservations"):
        assert problems[name] == [], (name, problems[name])


def _pay(clerk, ind, c, amount: int, milestone: int):
    req = create(clerk, ind, amount, contract_id=c.pk, milestone=milestone)
    return ts.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=str(uuid.uuid4()))


def _propose(clerk, c, kind: str, *, new_amount: int = 0, milestones=(), reason: str = "供货范围调整"):
    ch = changes.change_create(actor=clerk, contract_id=c.pk, data=ChangeIn(kind=kind, reason=reason,
                                                                            new_amount=new_amount,
                                                                            milestones=list(milestones)))
    return changes.change_submit(actor=clerk, pk=ch.pk)


def _approve(budget, ch):
    return changes.change_review(actor=budget, pk=ch.pk, approve=True, comment="同意")


def _setup(clerk, budget, *, ind_amount=100 * W, plan_amount=50 * W, amount=40 * W, milestones=None):
    ind = gov_indicator(budget, ind_amount)
    p = approved_plan(clerk, budget, ind, plan_amount)
    c = contract(clerk, p, amount, milestones=milestones)
    return ind, p, c


def test_increase_freezes_the_difference_out_of_the_saving(clerk, budget):
    ind, p, c = _setup(clerk, budget)
    assert buckets(ind) == (60 * W, 40 * W, 0, 0)
    ch = _propose(clerk, c, "amount", new_amount=45 * W, milestones=[("交货验收", 45 * W)])
    assert ch.status == CS.SUBMITTED and ch.get_status_display() == "审核中"
    todo = workflow.todo_for_user(budget)
    assert [t.object_id for t in todo.filter(doc_type=changes.DOC_CHANGE)] == [str(ch.pk)]
    assert buckets(ind) == (60 * W, 40 * W, 0, 0)  # nothing moves before the approval
    ch = _approve(budget, ch)
    assert ch.status == CS.APPROVED and ch.get_status_display() == "已批准" and ch.released == -5 * W
    assert ch.reviewed_by_id == budget.pk and ch.created_by_id == clerk.pk
    assert not workflow.todo_for_user(budget).filter(doc_type=changes.DOC_CHANGE).exists()
    c, p = fresh(c), fresh(p)
    assert c.amount == 45 * W and [(m["seq"], m["amount"]) for m in c.schedule] == [(1, 45 * W)]
    assert (p.contract_amount, p.frozen, p.released, p.status) == (45 * W, 45 * W, 5 * W, "contracted")
    assert buckets(ind) == (55 * W, 45 * W, 0, 0)
    entry = IndicatorEntry.objects.filter(consumer=p.number).order_by("-id").first()
    assert entry.d_frozen == 5 * W and ch.number in entry.memo and entry.source_id == p.source_id
    _clean()


def test_decrease_releases_the_difference_and_keeps_the_paid_period(clerk, budget):
    ind, p, c = _setup(clerk, budget, milestones=[("预付款", 10 * W), ("验收款", 30 * W)])
    _pay(clerk, ind, c, 10 * W, 1)
    assert buckets(ind) == (60 * W, 30 * W, 10 * W, 0)
    ch = _approve(budget, _propose(clerk, c, "amount", new_amount=30 * W, milestones=[("验收款", 20 * W)]))
    assert ch.released == 10 * W
    c, p = fresh(c), fresh(p)
    assert c.amount == 30 * W and c.committed == 10 * W
    assert [(m["seq"], m["name"], m["amount"]) for m in c.schedule] == [(1, "预付款", 10 * W), (2, "验收款", 20 * W)]
    assert (p.contract_amount, p.frozen, p.drawn, p.released) == (30 * W, 20 * W, 10 * W, 20 * W)
    assert buckets(ind) == (70 * W, 20 * W, 10 * W, 0)
    _clean()


def test_increase_above_the_plan_or_the_available_balance_is_refused(clerk, budget):
    ind, p, c = _setup(clerk, budget, ind_amount=60 * W)
    assert buckets(ind) == (20 * W, 40 * W, 0, 0)
    with pytest.raises(DomainError) as e:
        _propose(clerk, c, "amount", new_amount=51 * W, milestones=[("交货验收", 51 * W)])
    assert e.value.http_status == 422 and "contract_exceeds_plan" in codes(e.value)
    assert "超过采购计划" in " ".join(v.message for v in e.value.violations)
    assert not ContractChange.objects.filter(contract=c).exists()
    ch = _propose(clerk, c, "amount", new_amount=48 * W, milestones=[("交货验收", 48 * W)])
    # the indicator's available balance shrinks (another plan frozen) before the review: refused at approval
    approved_plan(clerk, budget, ind, 15 * W, catalogue_code="C16070000")
    assert buckets(ind) == (5 * W, 55 * W, 0, 0)
    with pytest.raises(DomainError) as e:
        _approve(budget, ch)
    assert codes(e.value) == ["overdraw"] and "可用余额" in e.value.violations[0].message
    assert fresh(ch).status == CS.SUBMITTED and fresh(c).amount == 40 * W
    assert buckets(ind) == (5 * W, 55 * W, 0, 0) and fresh(p).contract_amount == 40 * W
    _clean()


def test_decrease_below_what_is_paid_or_in_flight_is_refused(clerk, budget):
    ind, p, c = _setup(clerk, budget, milestones=[("预付款", 25 * W), ("尾款", 15 * W)])
    _pay(clerk, ind, c, 20 * W, 1)
    with pytest.raises(DomainError) as e:
        _propose(clerk, c, "amount", new_amount=19 * W, milestones=[])
    assert "contract_below_committed" in codes(e.value)
    assert "低于合同已支付及在途金额" in " ".join(v.message for v in e.value.violations)
    with pytest.raises(DomainError) as e:  # above what is paid, but the paid period alone is more
        _propose(clerk, c, "amount", new_amount=22 * W, milestones=[])
    assert codes(e.value) == ["paid_milestones_exceed"]
    assert not ContractChange.objects.exists()
    assert fresh(c).amount == 40 * W and buckets(ind) == (60 * W, 20 * W, 20 * W, 0)
    _clean()


def test_schedule_change_replaces_only_the_unpaid_periods(clerk, budget):
    ind, p, c = _setup(clerk, budget, milestones=[("预付款", 10 * W), ("中期款", 15 * W), ("尾款", 15 * W)])
    _pay(clerk, ind, c, 5 * W, 1)
    with pytest.raises(DomainError) as e:
        _propose(clerk, c, "schedule", milestones=[("二期", 20 * W), ("三期", 15 * W)])
    assert codes(e.value) == ["milestones_sum_mismatch"]
    ch = _approve(budget, _propose(clerk, c, "schedule", milestones=[("二期", 20 * W), ("三期", 10 * W)]))
    assert ch.released == 0
    c = fresh(c)
    assert [(m["seq"], m["name"], m["amount"]) for m in c.schedule] == [
        (1, "预付款", 10 * W), (2, "二期", 20 * W), (3, "三期", 10 * W)]
    assert c.amount == 40 * W and buckets(ind) == (60 * W, 35 * W, 5 * W, 0)
    _pay(clerk, ind, c, 20 * W, 2)  # the new period pays in full
    with pytest.raises(DomainError) as e:
        _pay(clerk, ind, c, 6 * W, 1)  # the kept period is still 10 万元
    assert "milestone_exhausted" in codes(e.value)
    _clean()


def test_termination_releases_the_rest_and_refuses_later_payments(clerk, budget):
    ind, p, c = _setup(clerk, budget, milestones=[("预付款", 10 * W), ("尾款", 30 * W)])
    req = _pay(clerk, ind, c, 10 * W, 1)
    with pytest.raises(DomainError) as e:
        _propose(clerk, c, "terminate", reason="  ")
    assert codes(e.value) == ["reason_required"]
    ch = _approve(budget, _propose(clerk, c, "terminate", reason="供应商无法履约"))
    assert ch.released == 30 * W and ch.get_kind_display() == "合同终止"
    c, p = fresh(c), fresh(p)
    assert c.status == Contract.Status.CLOSED and c.get_status_display() == "已终止"
    assert p.status == ProcurementPlan.Status.CLOSED and p.frozen == 0
    assert buckets(ind) == (90 * W, 0, 10 * W, 0)  # the payment in flight keeps its reservation
    _clean()
    with pytest.raises(DomainError) as e:
        _pay(clerk, ind, c, 1 * W, 2)
    assert "contract_not_active" in codes(e.value)
    with pytest.raises(DomainError) as e:  # no further change either
        _propose(clerk, c, "amount", new_amount=35 * W, milestones=[("尾款", 25 * W)])
    assert "contract_not_active" in codes(e.value)
    ts.payment_request_withdraw(actor=clerk, pk=req.pk)  # the payment in flight withdrawn: back to available
    assert buckets(ind) == (100 * W, 0, 0, 0) and fresh(c).committed == 0
    _clean()


def test_maker_cannot_review_and_rejection_needs_a_reason(clerk, budget, reviewer):
    ind, p, c = _setup(clerk, budget)
    ch = _propose(clerk, c, "terminate", reason="项目取消")
    for who in (clerk, reviewer):  # neither holds the review permission
        with pytest.raises(DomainError) as e:
            _approve(who, ch)
        assert e.value.http_status == 403
    ContractChange.objects.filter(pk=ch.pk).update(created_by=budget)  # a reviewer who made the change
    with pytest.raises(DomainError) as e:
        _approve(budget, ch)
    assert e.value.http_status == 403 and codes(e.value) == ["segregation_of_duties"]
    ContractChange.objects.filter(pk=ch.pk).update(created_by=clerk)
    with pytest.raises(DomainError) as e:
        changes.change_review(actor=budget, pk=ch.pk, approve=False)
    assert codes(e.value) == ["comment_required"]
    ch = changes.change_review(actor=budget, pk=ch.pk, approve=False, comment="理由不充分")
    assert ch.status == CS.REJECTED and ch.get_status_display() == "已驳回"
    assert fresh(c).status == Contract.Status.ACTIVE and buckets(ind) == (60 * W, 40 * W, 0, 0)
    _clean()


def test_approved_change_cannot_be_approved_again(clerk, budget):
    ind, p, c = _setup(clerk, budget)
    ch = _approve(budget, _propose(clerk, c, "amount", new_amount=45 * W, milestones=[("交货验收", 45 * W)]))
    for approve in (True, False):
        with pytest.raises(DomainError) as e:
            changes.change_review(actor=budget, pk=ch.pk, approve=approve, comment="再次审核")
        assert e.value.http_status == 409 and codes(e.value) == ["change_not_submitted"]
    with pytest.raises(DomainError) as e:
        changes.change_submit(actor=clerk, pk=ch.pk)
    assert codes(e.value) == ["change_not_draft"]
    assert fresh(c).amount == 45 * W and buckets(ind) == (55 * W, 45 * W, 0, 0)
    _clean()


def _post(c, url, body=None):
    return c.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_api_flow_and_another_units_clerk(client_as, user):
    clerk_u, budget_u = user("school_clerk"), user("fin_budget")
    ind, p, c = _setup(clerk_u, budget_u)
    clerk, budget, other = client_as("school_clerk"), client_as("fin_budget"), client_as("hospital_clerk")
    base = f"/api/v1/procurement/contracts/{c.pk}/changes"
    r = _post(clerk, base, {"kind": "amount", "reason": "增加采购数量", "new_amount": "500000.01",
                            "milestones": [{"name": "交货验收", "amount": "500000.01"}]})
    assert r.status_code == 422 and r.json()["code"] in {"contract_exceeds_plan", "validation_failed"}
    assert "contract_exceeds_plan" in r.content.decode()
    r = _post(clerk, base, {"kind": "amount", "reason": "增加采购数量", "new_amount": "450000.00",
                            "milestones": [{"name": "交货验收", "amount": "450000.00"}]})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["status_display"] == "草稿" and r.json()["kind_display"] == "合同金额变更"
    # another unit's clerk: the contract and the change are not found, nothing written
    assert other.get(base).status_code == 404
    assert _post(other, base, {"kind": "terminate", "reason": "x"}).status_code == 404
    assert _post(other, f"/api/v1/procurement/changes/{pk}/submit").status_code == 404
    assert other.get(f"/procurement/contracts/{c.pk}/changes/").status_code == 404
    assert _post(budget, base, {"kind": "terminate", "reason": "x"}).status_code == 403  # no add permission
    assert _post(clerk, f"/api/v1/procurement/changes/{pk}/submit").json()["status"] == "submitted"
    assert _post(clerk, f"/api/v1/procurement/changes/{pk}/review", {"approve": True}).status_code == 403
    r = _post(budget, f"/api/v1/procurement/changes/{pk}/review", {"approve": True, "comment": "同意"})
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["released"] == "-50000.00"
    r = _post(budget, f"/api/v1/procurement/changes/{pk}/review", {"approve": True})
    assert r.status_code == 409 and r.json()["code"] == "change_not_submitted"
    assert [x["id"] for x in clerk.get(base).json()] == [pk]
    assert buckets(ind) == (55 * W, 45 * W, 0, 0)
    _clean()


def test_contract_page_section(client_as, user):
    clerk_u, budget_u = user("school_clerk"), user("fin_budget")
    ind, p, c = _setup(clerk_u, budget_u, milestones=[("预付款", 10 * W), ("尾款", 30 * W)])
    _pay(clerk_u, ind, c, 10 * W, 1)
    clerk, budget = client_as("school_clerk"), client_as("fin_budget")
    url = f"/procurement/contracts/{c.pk}/changes/"
    page = clerk.get(url).content.decode()
    assert "合同变更与终止" in page and "已付款，不可变更" in page and 'id="change-form"' in page
    assert f"/procurement/contracts/{c.pk}/changes/" in clerk.get("/treasury/contracts/").content.decode()
    r = clerk.post(url, {"kind": "terminate", "reason": ""})
    assert r.status_code == 422 and not ContractChange.objects.exists()
    r = clerk.post(url, {"kind": "terminate", "reason": "项目取消"})
    assert r.status_code == 302
    ch = ContractChange.objects.get(contract=c)
    assert "草稿" in clerk.get(url).content.decode()
    assert clerk.post(f"/procurement/changes/{ch.pk}/submit/").status_code == 302
    page = budget.get(url).content.decode()
    assert "审核中" in page and f"/procurement/changes/{ch.pk}/approve/" in page
    assert f"/procurement/changes/{ch.pk}/approve/" not in clerk.get(url).content.decode()
    r = budget.post(f"/procurement/changes/{ch.pk}/reject/", {"comment": ""})
    assert r.status_code == 422 and "驳回必须填写原因" in r.content.decode()
    assert budget.post(f"/procurement/changes/{ch.pk}/approve/", {"comment": "同意"}).status_code == 302
    page = clerk.get(url).content.decode()
    assert "已批准" in page and "已终止" in page and 'id="change-form"' not in page
    assert buckets(ind) == (90 * W, 0, 10 * W, 0)
    _clean()
