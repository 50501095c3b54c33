"""Alerts: raised inside the caller's transaction (idempotent per rule and subject), the life cycle with its
refusals — wrong role (403), wrong order (409), out of scope (404) — and the audit trail."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.core import workflow
from ibms.core.audit import BusinessEvent
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.monitoring import engine, selectors, services
from ibms.monitoring.models import Alert, AlertStatus, Rule
from tests.constants import COUNTY

from .builders import ctx_for, raise_alert, subject_for

pytestmark = pytest.mark.django_db
S = AlertStatus


@pytest.fixture
def rule():
    return Rule.objects.get(region_code="", code="MON-05")


def test_raise_from_evaluation_inside_callers_transaction(clerk):
    ctx = ctx_for(payee={"kind": "individual"}, payment={"amount": 6_000_000, "set_mode": "3"})
    hits = engine.evaluate(ctx)
    assert {"MON-02A", "MON-05"} <= {h.rule_code for h in hits}
    subject = subject_for(ctx, object_id=4242, kind="payment_request")
    with transaction.atomic():
        alerts = services.alerts_raise(actor=clerk, hits=hits, subject=subject)
        again = services.alerts_raise(actor=clerk, hits=hits, subject=subject)  # idempotent
    assert [a.pk for a in alerts] == [a.pk for a in again]
    assert len(alerts) == len(hits)
    a = alerts[0]
    assert a.status == S.RAISED and a.number.startswith("YD-990000-20260616-") and a.subject_amount == 6_000_000
    assert a.unit_name == "省第一实验中学" and a.stage == "inline"
    assert [x.pk for x in selectors.alert_list_for_subject("payment_request", 4242)] == sorted(x.pk for x in alerts)
    assert BusinessEvent.objects.filter(code="monitoring.alert_raised", object_id=str(a.pk)).exists()


def test_raise_with_explanation_and_rollback(clerk, rule):
    ctx = ctx_for()
    hit = engine.Hit(rule.pk, rule.code, rule.version, rule.name, "warn_red", "红色预警")
    with transaction.atomic():
        [a] = services.alerts_raise(actor=clerk, hits=[hit], subject=subject_for(ctx, object_id=77),
                                    explanation="经批准的专项补助")
    assert a.status == S.UNIT_EXPLAINED and a.explained_by == clerk
    # the caller's rollback takes the alerts with it
    with pytest.raises(RuntimeError), transaction.atomic():
        services.alerts_raise(actor=clerk, hits=[hit], subject=subject_for(ctx, object_id=78))
        raise RuntimeError("submit refused")
    assert not Alert.objects.filter(subject_id="78").exists()


def test_full_life_cycle(clerk, treasury, rule):
    def waiting(who) -> list[str]:  # the alert's item on the person's to-do list
        return [t.title.split("：")[0] for t in workflow.todo_for_user(who).filter(doc_type="monitoring.alert",
                                                                              object_id=str(a.pk))]

    a = raise_alert(clerk, rule)
    assert (waiting(clerk), waiting(treasury)) == (["疑点待单位说明"], [])
    a = services.alert_explain(actor=clerk, pk=a.pk, explanation="按合同支付劳务费")
    assert a.status == S.UNIT_EXPLAINED
    assert (waiting(clerk), waiting(treasury)) == ([], ["疑点待财政核实"])
    a = services.alert_verify(actor=treasury, pk=a.pk, outcome="violation", comment="未经审批")
    assert a.status == S.VIOLATION and a.verified_by == treasury
    assert waiting(treasury) == ["违规疑点待提出整改要求"]
    a = services.alert_rectify(actor=treasury, pk=a.pk, ask="收回资金")
    assert a.status == S.RECTIFYING and a.rectify_ask == "收回资金"
    assert (waiting(clerk), waiting(treasury)) == (["疑点待整改"], [])
    a = services.alert_rectify(actor=clerk, pk=a.pk, detail="已收回", return_amt=100_000, transfer_amt=0)
    assert a.status == S.RECTIFIED and a.return_amt == 100_000
    assert (waiting(clerk), waiting(treasury)) == ([], ["疑点待办结"])
    a = services.alert_close(actor=treasury, pk=a.pk, comment="整改到位")
    assert a.status == S.CLOSED
    assert (waiting(clerk), waiting(treasury)) == ([], [])
    events = list(BusinessEvent.objects.filter(object_id=str(a.pk), code__startswith="monitoring.alert")
                  .order_by("id").values_list("code", flat=True))
    assert events == ["monitoring.alert_raised", "monitoring.alert_explained", "monitoring.alert_verified",
                      "monitoring.alert_rectify_asked", "monitoring.alert_rectified", "monitoring.alert_closed"]


def test_normal_outcome_closes(clerk, treasury, rule):
    a = raise_alert(clerk, rule)
    services.alert_explain(actor=clerk, pk=a.pk, explanation="说明")
    services.alert_verify(actor=treasury, pk=a.pk, outcome="normal")
    assert services.alert_close(actor=treasury, pk=a.pk).status == S.CLOSED


def test_wrong_role(user, clerk, treasury, rule):
    a = raise_alert(clerk, rule)
    for who in ("school_reviewer", "school_head", "fin_treasury", "auditor"):
        with pytest.raises(PermissionDenied):
            services.alert_explain(actor=user(who), pk=a.pk, explanation="x")
    services.alert_explain(actor=clerk, pk=a.pk, explanation="说明")
    for who in ("school_clerk", "school_reviewer", "fin_budget", "auditor"):
        with pytest.raises(PermissionDenied):
            services.alert_verify(actor=user(who), pk=a.pk, outcome="normal")
    services.alert_verify(actor=treasury, pk=a.pk, outcome="violation", comment="违规")
    with pytest.raises(PermissionDenied):  # the unit cannot set its own rectification demand
        services.alert_rectify(actor=clerk, pk=a.pk, ask="自己定")
    services.alert_rectify(actor=treasury, pk=a.pk, ask="退回")
    with pytest.raises(PermissionDenied):  # finance does not report the unit's rectification
        services.alert_rectify(actor=treasury, pk=a.pk, detail="已退回")
    with pytest.raises(PermissionDenied):
        services.alert_close(actor=clerk, pk=a.pk)


def test_wrong_order(clerk, treasury, rule):
    a = raise_alert(clerk, rule)
    with pytest.raises(Conflict) as exc:
        services.alert_verify(actor=treasury, pk=a.pk, outcome="normal")
    assert exc.value.code == "invalid_transition"
    with pytest.raises(Conflict) as exc:
        services.alert_close(actor=treasury, pk=a.pk)  # a warning cannot be closed before it is explained
    assert exc.value.code == "invalid_transition"
    with pytest.raises(Conflict) as exc:
        services.alert_rectify(actor=treasury, pk=a.pk, ask="x")
    assert exc.value.code == "invalid_transition"
    services.alert_explain(actor=clerk, pk=a.pk, explanation="说明")
    with pytest.raises(Conflict) as exc:
        services.alert_explain(actor=clerk, pk=a.pk, explanation="再说明")
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ValidationFailed):
        services.alert_verify(actor=treasury, pk=a.pk, outcome="violation")  # a violation needs a comment
    with pytest.raises(ValidationFailed):
        services.alert_verify(actor=treasury, pk=a.pk, outcome="maybe")
    services.alert_verify(actor=treasury, pk=a.pk, outcome="normal")
    with pytest.raises(Conflict) as exc:
        services.alert_rectify(actor=clerk, pk=a.pk, detail="x")
    assert exc.value.code == "invalid_transition"
    assert Alert.objects.get(pk=a.pk).status == S.NORMAL


def test_notice_closes_straight_away(clerk, treasury):
    notice = Rule.objects.create(region_code="990000000", code="N-1", name="提示", action="notice",
                                 condition="true", message="提示", enabled=True)
    a = raise_alert(clerk, notice)
    assert services.alert_close(actor=treasury, pk=a.pk).status == S.CLOSED


def test_rectify_amounts_checked(clerk, treasury, rule):
    a = raise_alert(clerk, rule)
    services.alert_explain(actor=clerk, pk=a.pk, explanation="说明")
    services.alert_verify(actor=treasury, pk=a.pk, outcome="violation", comment="违规")
    services.alert_rectify(actor=treasury, pk=a.pk, ask="退回")
    with pytest.raises(ValidationFailed) as exc:
        services.alert_rectify(actor=clerk, pk=a.pk, detail="", return_amt=-1, transfer_amt=a.subject_amount + 1)
    assert {v.code for v in exc.value.violations} == {"detail_required", "amount_invalid", "amount_too_large"}


def test_out_of_scope_is_not_found(user, clerk, rule):
    a = raise_alert(clerk, rule)
    for who in ("hospital_clerk", "county_school_clerk"):  # another unit; the same unit code in another region
        with pytest.raises(NotFound):
            services.alert_explain(actor=user(who), pk=a.pk, explanation="x")
        with pytest.raises(NotFound):
            selectors.alert_get(actor=user(who), pk=a.pk)
    services.alert_explain(actor=clerk, pk=a.pk, explanation="说明")
    with pytest.raises(NotFound):  # a county's treasury does not verify the province's alerts
        services.alert_verify(actor=user("county_treasury"), pk=a.pk, outcome="normal")
    county_alert = raise_alert(user("county_school_clerk"), rule, ctx_for(COUNTY))
    with pytest.raises(NotFound):  # the province reads a county's alert but verifies only its own region's
        services.alert_explain(actor=clerk, pk=county_alert.pk, explanation="x")
    assert selectors.alert_get(actor=user("fin_treasury"), pk=county_alert.pk) == county_alert
    assert selectors.alert_get(actor=user("auditor"), pk=county_alert.pk) == county_alert


def test_queues(user, clerk, treasury, rule):
    a = raise_alert(clerk, rule)
    b = raise_alert(clerk, rule)
    services.alert_explain(actor=clerk, pk=b.pk, explanation="说明")
    explain = set(selectors.alert_queue(actor=clerk, queue="explain").values_list("pk", flat=True))
    verify = set(selectors.alert_queue(actor=treasury, queue="verify").values_list("pk", flat=True))
    assert a.pk in explain and b.pk not in explain
    assert b.pk in verify and a.pk not in verify
    assert not selectors.alert_queue(actor=user("hospital_clerk")).filter(pk__in=[a.pk, b.pk]).exists()


def test_resubmission_with_explanation_explains_open_alerts(clerk, rule):
    ctx = ctx_for()
    hit = engine.Hit(rule.pk, rule.code, rule.version, rule.name, "warn_red", "红色预警")
    subject = subject_for(ctx, object_id=91)
    with transaction.atomic():
        [a] = services.alerts_raise(actor=clerk, hits=[hit], subject=subject)
    assert a.status == S.RAISED
    with transaction.atomic():
        [b] = services.alerts_raise(actor=clerk, hits=[hit], subject=subject, explanation="补充说明")
    assert b.pk == a.pk and b.status == S.UNIT_EXPLAINED and b.explanation == "补充说明"
