"""Alerts (疑点) and their life cycle. `alerts_raise` runs inside the caller's transaction (treasury calls it
from its submit); every other function owns its transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.core.transactions import in_callers_transaction

from .. import engine
from ..models import ALERT_TRANSITIONS, Action, Alert, AlertStatus, Stage

P_EXPLAIN, P_VERIFY = "monitoring.explain_alert", "monitoring.verify_alert"
DOC_ALERT = "monitoring.alert"
# who acts next on an alert in each status: (what they do, role, holder); a notice raised waits on no one
NEXT_STEP = {
    AlertStatus.RAISED: workflow.Step(1, "疑点待单位说明", "unit_clerk", "unit"),
    AlertStatus.UNIT_EXPLAINED: workflow.Step(2, "疑点待财政核实", "treasury_division", "finance"),
    AlertStatus.VIOLATION: workflow.Step(3, "违规疑点待提出整改要求", "treasury_division", "finance"),
    AlertStatus.RECTIFYING: workflow.Step(4, "疑点待整改", "unit_clerk", "unit"),
    AlertStatus.NORMAL: workflow.Step(5, "疑点待办结", "treasury_division", "finance"),
    AlertStatus.RECTIFIED: workflow.Step(5, "疑点待办结", "treasury_division", "finance"),
}


def _todo_sync(actor, alert: Alert) -> None:
    """The alert leaves the to-do list of whoever acted and enters the next actor's (caller's transaction)."""
    workflow.todo_close(doc_type=DOC_ALERT, obj=alert, user=actor if getattr(actor, "pk", None) else None)
    step = NEXT_STEP.get(alert.status)
    if step is None or (alert.status == AlertStatus.RAISED and alert.action == Action.NOTICE):
        return
    workflow.todo_open(doc_type=DOC_ALERT, obj=alert, title=f"{step.name}：{alert.number} {alert.rule_name}"
                       f"（{alert.subject_number}）", url=reverse("monitoring:alert", args=[alert.pk]), step=step,
                       region_code=alert.region_code, unit_path=alert.unit_path)


@dataclass(frozen=True)
class Subject:
    """What an alert is about: a payment request (kind "payment_request") or another document."""

    kind: str
    object_id: str | int
    number: str
    region_code: str
    unit_path: str
    unit_name: str
    amount: int
    date: dt.date


@in_callers_transaction
def alerts_raise(*, actor, hits: list[engine.Hit], subject: Subject, explanation: str = "") -> list[Alert]:
    """One alert per hit for this subject, **inside the caller's transaction**. Idempotent: a rule that already
    has an alert on this subject returns that alert. With an explanation (a red warning explained at submit) the new
    alerts start as explained by `actor`. The caller has checked its own permission for the business action."""
    return _raise(actor=actor, hits=hits, subject=subject, explanation=explanation, stage=Stage.INLINE)[0]


def _raise(*, actor, hits, subject: Subject, explanation: str, stage: str) -> tuple[list[Alert], int]:
    out: list[Alert] = []
    created = 0
    if not hits:
        return out, created
    explanation = (explanation or "").strip()
    key = {"region_code": subject.region_code, "subject_kind": subject.kind, "subject_id": str(subject.object_id)}
    with transaction.atomic():
        for hit in hits:
            existing = Alert.objects.filter(**key, rule_code=hit.rule_code).first()
            if existing is not None:
                if explanation and existing.status == AlertStatus.RAISED:  # resubmitted with an explanation
                    _move(existing, AlertStatus.UNIT_EXPLAINED, "monitoring.alert_explained",
                          f"单位说明疑点 {existing.number}", actor=actor, explanation=explanation, explained_at=timezone.now(),
                          explained_by=actor if getattr(actor, "pk", None) else None)
                out.append(existing)
                continue
            day = subject.date
            alert = Alert(
                number=next_number(f"YD-{subject.region_code[:6]}-{day:%Y%m%d}-", width=5), **key,
                unit_path=subject.unit_path, unit_name=subject.unit_name[:120], subject_number=subject.number,
                subject_amount=subject.amount, subject_date=day, rule_id=hit.rule_id, rule_code=hit.rule_code,
                rule_version=hit.rule_version, rule_name=hit.name[:100], action=hit.action, stage=stage,
                message=hit.message[:500])
            if explanation:
                alert.status = AlertStatus.UNIT_EXPLAINED
                alert.explanation, alert.explained_at = explanation, timezone.now()
                alert.explained_by = actor if getattr(actor, "pk", None) else None
            try:
                with transaction.atomic():
                    alert.save()
            except IntegrityError:  # raised meanwhile by another transaction (the batch beside a resubmit)
                out.append(Alert.objects.get(**key, rule_code=hit.rule_code))
                continue
            audit.record_change(alert, "create")
            audit.record_event("monitoring.alert_raised", obj=alert,
                               message=f"{alert.rule_name}：{subject.number}", payload={"action": alert.action})
            _todo_sync(actor, alert)
            out.append(alert)
            created += 1
    return out, created


def _refuse(alert: Alert, to: str):
    labels = dict(AlertStatus.choices)
    return Conflict("invalid_transition",
                    f"疑点当前状态“{labels.get(alert.status, alert.status)}”不能变更为“{labels.get(to, to)}”",
                    {"from": alert.status, "to": to})


def _alert_for_change(actor, pk: int) -> Alert:
    return get_in_scope(Alert.objects.select_for_update(), actor, CHANGE, what="疑点", pk=pk)


def _move(alert: Alert, to: str, event: str, message: str, payload: dict | None = None, *, actor=None,
          **fields) -> None:
    """Check the transition, write the status with the step's fields, the row audit and the business event."""
    if to not in ALERT_TRANSITIONS.get(alert.status, set()):
        raise _refuse(alert, to)
    frm = alert.status
    audit.update_fields(alert, **fields, status=to)
    audit.record_event(event, obj=alert, message=message, payload={"from": frm, "to": to, **(payload or {})})
    _todo_sync(actor, alert)


def alert_explain(*, actor, pk: int, explanation: str) -> Alert:
    """The unit explains (单位说明): raised → unit_explained."""
    require_perm(actor, P_EXPLAIN)
    with transaction.atomic(durable=True):
        alert = _alert_for_change(actor, pk)
        text = (explanation or "").strip()
        if not text:
            raise invalid("explanation_required", "请填写情况说明", "explanation")
        _move(alert, AlertStatus.UNIT_EXPLAINED, "monitoring.alert_explained", f"单位说明疑点 {alert.number}",
              actor=actor, explanation=text, explained_by=actor, explained_at=timezone.now())
    return alert


def alert_verify(*, actor, pk: int, outcome: str, comment: str = "") -> Alert:
    """Finance verifies (财政核实): unit_explained → normal | violation (a violation needs a comment)."""
    require_perm(actor, P_VERIFY)
    if outcome not in (AlertStatus.NORMAL, AlertStatus.VIOLATION):
        raise invalid("outcome_invalid", "核实结论只能是“正常”或“违规”", "outcome")
    with transaction.atomic(durable=True):
        alert = _alert_for_change(actor, pk)
        comment = (comment or "").strip()
        if outcome == AlertStatus.VIOLATION and not comment:
            raise invalid("comment_required", "认定违规须填写核实意见", "comment")
        _move(alert, outcome, "monitoring.alert_verified", f"财政核实疑点 {alert.number}：{outcome}",
              {"outcome": outcome}, actor=actor, verify_comment=comment, verified_by=actor, verified_at=timezone.now())
    return alert


def alert_rectify(*, actor, pk: int, detail: str = "", ask: str = "", return_amt: int = 0,
                  transfer_amt: int = 0) -> Alert:
    """Rectification (整改). On a violation, finance states what must be done (`ask`): → rectifying. While
    rectifying, the unit reports what it did (`detail`, amounts returned 退回 / re-booked 调账, fen): → rectified."""
    with transaction.atomic(durable=True):
        if not (actor and actor.is_authenticated and (actor.has_perm(P_VERIFY) or actor.has_perm(P_EXPLAIN))):
            raise PermissionDenied()
        alert = _alert_for_change(actor, pk)
        if alert.status == AlertStatus.VIOLATION:
            require_perm(actor, P_VERIFY)
            ask = (ask or "").strip()
            if not ask:
                raise invalid("ask_required", "请填写整改要求", "ask")
            _move(alert, AlertStatus.RECTIFYING, "monitoring.alert_rectify_asked", f"要求整改疑点 {alert.number}",
                  actor=actor, rectify_ask=ask)
        elif alert.status == AlertStatus.RECTIFYING:
            require_perm(actor, P_EXPLAIN)
            detail = (detail or "").strip()
            problems = []
            if not detail:
                problems.append(Violation("detail_required", "请填写整改情况", "detail"))
            for name, value in (("return_amt", return_amt), ("transfer_amt", transfer_amt)):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    problems.append(Violation("amount_invalid", "退回金额、调账金额须为非负金额", name))
                elif value > alert.subject_amount:
                    problems.append(Violation("amount_too_large", "退回金额、调账金额不能超过疑点金额", name))
            if problems:
                raise ValidationFailed(problems, message="整改情况未保存")
            _move(alert, AlertStatus.RECTIFIED, "monitoring.alert_rectified", f"疑点 {alert.number} 已整改",
                  {"return_amt": return_amt, "transfer_amt": transfer_amt}, actor=actor, rectify_detail=detail,
                  return_amt=return_amt, transfer_amt=transfer_amt, rectified_by=actor, rectified_at=timezone.now())
        else:
            raise _refuse(alert, AlertStatus.RECTIFYING)
    return alert


def alert_close(*, actor, pk: int, comment: str = "") -> Alert:
    """Finance closes (办结) a verified-normal or rectified alert; a notice may be closed straight away."""
    require_perm(actor, P_VERIFY)
    with transaction.atomic(durable=True):
        alert = _alert_for_change(actor, pk)
        if alert.status == AlertStatus.RAISED and alert.action != Action.NOTICE:
            raise Conflict("invalid_transition", "预警、阻断类疑点须经单位说明和财政核实后才能办结",
                           {"from": alert.status, "to": AlertStatus.CLOSED})
        _move(alert, AlertStatus.CLOSED, "monitoring.alert_closed", f"疑点 {alert.number} 办结", actor=actor,
              close_comment=(comment or "").strip()[:300], closed_by=actor, closed_at=timezone.now())
    return alert
