"""The review chain as data: default unit review; a region rule adds the treasury division; 退回 voids the
reservation; segregation of duties; monitoring red warnings need an explanation, yellow ones pass with an alert."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.core import workflow
from ibms.core.errors import PermissionDenied, ValidationFailed
from ibms.indicators.models import Reservation
from ibms.masterdata.models import BankAccount
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest
from ibms.treasury.setup import DOC_PAYMENT
from tests.constants import DEMO_PIN

from .builders import codes, create, fresh, indicator, school

pytestmark = pytest.mark.django_db


def test_default_chain_from_data():
    assert [(x.role_code, x.holder) for x in workflow.approval_steps(DOC_PAYMENT, "990000000")] == [
        ("unit_reviewer", "unit")]
    assert [x.role_code for x in workflow.approval_steps(DOC_PAYMENT, "990100000")] == [
        "unit_reviewer", "treasury_division"]


def test_reject_voids_and_clerk_resubmits(budget, clerk, reviewer):
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 100_000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="rv-1")
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_review(actor=reviewer, pk=req.pk, approve=False)
    assert codes(e.value) == ["reason_required"]
    [item] = workflow.todo_for_user(reviewer).filter(object_id=str(req.pk))
    assert item.title == f"支付申请单位审核：{req.number} 购买办公用品"
    s.payment_request_review(actor=reviewer, pk=req.pk, approve=False, comment="用途不清，请补充")
    req = fresh(req)
    assert req.status == PaymentRequest.Status.REJECTED and req.review_comment == "用途不清，请补充"
    assert fresh(ind).reserved == 0 and Reservation.objects.get(consumer=req.number).status == "voided"
    # the returned request waits on the unit's clerks (not on the reviewer any more) until it is submitted again
    assert not workflow.todo_for_user(reviewer).filter(object_id=str(req.pk)).exists()
    [item] = workflow.todo_for_user(clerk).filter(doc_type="treasury.payment", object_id=str(req.pk))
    assert item.title == f"支付申请被退回：{req.number} 购买办公用品（用途不清，请补充）"
    assert item.url == f"/treasury/requests/{req.pk}/"
    s.payment_request_update(actor=clerk, pk=req.pk, data=s.DraftIn(
        indicator_id=ind.pk, amount=80_000, purpose="购买实验耗材（已补充明细）", payee=s.PayeeIn(payee_id=req.payee_id)))
    again = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="rv-2")
    assert again.status == "submitted" and again.consumer.endswith("-R2")
    assert fresh(ind).reserved == 80_000
    assert not workflow.todo_for_user(clerk).filter(doc_type="treasury.payment", object_id=str(req.pk)).exists()
    assert workflow.todo_for_user(reviewer).filter(object_id=str(req.pk)).count() == 1


def test_clerk_cannot_review_and_submitter_never_approves(budget, clerk, user):
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 1000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="sod-1")
    with pytest.raises(PermissionDenied):
        s.payment_request_review(actor=clerk, pk=req.pk, approve=True)
    with pytest.raises(PermissionDenied) as e:  # the treasury division is not this region's first step
        s.payment_request_review(actor=user("fin_treasury"), pk=req.pk, approve=True)
    assert e.value.code == "workflow_role"
    assert fresh(req).status == "submitted"


def test_region_rule_adds_treasury_division(budget, clerk, reviewer, treasury):
    workflow.set_chain(DOC_PAYMENT, "990000000", "支付申请审核", [("单位审核", "unit_reviewer", "unit"),
                                                               ("国库处审核", "treasury_division", "finance")])
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 5000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="chain-1")
    s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, comment="同意", pin=DEMO_PIN)  # signs the content
    req = fresh(req)
    assert req.status == "submitted" and req.current_step == 2
    from ibms.treasury import selectors

    assert req.pk in [r.pk for r in selectors.review_queue(actor=treasury)]
    assert req.pk not in [r.pk for r in selectors.review_queue(actor=reviewer)]
    s.payment_request_review(actor=treasury, pk=req.pk, approve=False, comment="不符合国库支付规定")
    assert fresh(req).status == "rejected" and fresh(ind).reserved == 0


def _own_funds_account() -> BankAccount:
    return BankAccount.objects.create(region_code="990000000", unit=school(), account_type="63",
                                      account_no="990000000001001063", account_name="省第一实验中学收入户",
                                      bank_name="工商银行华夏省分行")


def test_red_warning_needs_explanation(budget, clerk):
    from ibms.monitoring import selectors as mon

    acct = _own_funds_account()
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 20_000, payee=s.PayeeIn(name=acct.account_name, account_no=acct.account_no,
                                                     bank_name=acct.bank_name))
    check = s.payment_request_check(actor=clerk, pk=req.pk)
    assert "MON-01B" in [h.rule_code for h in check.hits]
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="red-1")
    assert "explanation_required" in codes(e.value)
    assert fresh(ind).reserved == 0 and not mon.alert_list_for_subject("payment_request", req.pk)
    done = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="red-2",
                                    explanation="按批复将课题经费转入本单位科研专户")
    assert done.status == "submitted" and fresh(ind).reserved == 20_000
    alerts = mon.alert_list_for_subject("payment_request", req.pk)
    red = [a for a in alerts if a.rule_code == "MON-01B"]
    assert red and red[0].status == "unit_explained" and "科研专户" in red[0].explanation
    assert "MON-01B" in [h["rule_code"] for h in done.monitoring]


def test_yellow_warning_passes_with_alert(budget, clerk):
    from ibms.monitoring import selectors as mon

    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 30_000, purpose="购买节日慰问品")
    done = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="yel-1")
    assert done.status == "submitted"
    assert "MON-15" in [h["rule_code"] for h in done.monitoring]
    assert len(mon.alert_list_for_subject("payment_request", req.pk)) >= 1


def test_scope_other_unit_cannot_see(budget, clerk, user):
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 1000)
    from ibms.core.errors import NotFound

    with pytest.raises(NotFound):
        s.payment_request_submit(actor=user("hospital_clerk"), pk=req.pk, idempotency_key="x-1")


@pytest.mark.parametrize("moment,fires", [(dt.datetime(2026, 11, 21, 10, 0), True),   # a Saturday
                                          (dt.datetime(2026, 11, 23, 22, 30), True),  # a Monday, after hours
                                          (dt.datetime(2026, 11, 23, 10, 0), False)])  # a Monday morning
def test_after_hours_and_holiday_rule_follows_business_time(budget, clerk, moment, fires):
    from ibms.core import clock

    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 12_000)
    with clock.freeze(moment):
        done = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=f"time-{moment:%d%H}")
    assert ("MON-06" in [h["rule_code"] for h in done.monitoring]) is fires
