"""Reads: profiles and runs within the reader's scope, a run's slips, a person's profile history (the change log),
and the `payroll.runs` verify check."""

from __future__ import annotations

from django.db.models import Sum

from ibms.core.scoping import get_in_scope

from .models import PayProfile, PayrollPayment, PayrollRun, PayrollSlip


def profile_list(*, actor, unit_id: int | None = None):
    qs = PayProfile.objects.restrict(actor).select_related("person", "unit").order_by("unit_id", "person_id")
    return qs.filter(unit_id=unit_id) if unit_id else qs


def profile_get(*, actor, pk: int) -> PayProfile:
    return get_in_scope(PayProfile.objects.select_related("person", "unit"), actor, what="工资档案", pk=pk)


def profile_history(profile: PayProfile) -> list[dict]:
    from ibms.core.models import ChangeLog

    return [{"at": c.created_at, "action": c.action, "before": c.before or {}, "after": c.after or {},
             "user": c.actor_name}
            for c in ChangeLog.objects.filter(object_type=_label(), object_id=str(profile.pk)).order_by("id")]


def _label() -> str:
    from ibms.core.audit import label_of

    return label_of(PayProfile)


def run_list(*, actor, unit_id: int | None = None, year: int | None = None):
    qs = PayrollRun.objects.restrict(actor).select_related("unit", "payment_request")
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-year", "-month", "unit_id")


def run_get(*, actor, pk: int) -> PayrollRun:
    return get_in_scope(PayrollRun.objects.select_related("unit", "payment_request"), actor, what="工资表", pk=pk)


def slip_get(*, actor, run_id: int, person_id: int) -> PayrollSlip:
    run = run_get(actor=actor, pk=run_id)
    return get_in_scope(PayrollSlip.objects.filter(run=run), actor, what="工资条", permission="payroll.view_payrollrun",
                        person_id=person_id)


def run_problems() -> list[str]:
    """Each run's totals are the sum of its slips; a paid run's requests carry exactly its gross."""
    out: list[str] = []
    sums = {r["run_id"]: r for r in PayrollSlip.objects.values("run_id").annotate(
        gross=Sum("gross"), social=Sum("social"), tax=Sum("tax"), other=Sum("other"), net=Sum("net"))}
    paid = {r["run_id"]: r["s"] for r in PayrollPayment.objects.filter(attempt=1).values("run_id").annotate(
        s=Sum("amount"))}  # the first payment of each kind: a re-payment pays the same lines again
    for run in PayrollRun.objects.iterator():
        s = sums.get(run.pk, {})
        for f in ("gross", "social", "tax", "other", "net"):
            if (s.get(f) or 0) != getattr(run, f):
                out.append(f"工资表 {run.number}：{f} 合计 {getattr(run, f)} 与工资条合计 {s.get(f) or 0} 不一致")
        if run.status == PayrollRun.Status.PAID and paid.get(run.pk, 0) != run.gross:
            out.append(f"工资表 {run.number}：已发放但支付申请金额合计与应发合计不一致")
    return out
