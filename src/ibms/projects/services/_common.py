"""Building blocks shared by the project services: the unit and project a writer may touch, the review
history row and the business event."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from ibms.core import audit, workflow
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope
from ibms.masterdata.models import Unit

from ..models import Project, ReviewRecord

S = Project.Status


def _unit_for_write(actor, unit_id: int) -> Unit:
    unit = get_in_scope(Unit.objects.select_related("department"), actor, VIEW, what="单位", pk=unit_id)
    check_write_scope(actor, region_code=unit.region_code, unit_path=unit.path, spec=Project.scope_spec)
    return unit


def _department_of(unit: Unit) -> Unit:
    return (unit.department or unit) if unit.parent_id else unit


def _project_for_change(actor, pk: int) -> Project:
    return get_in_scope(Project.objects.select_for_update(), actor, CHANGE, what="项目", pk=pk)


def _event(code: str, p: Project, message: str = "", **payload) -> None:
    audit.record_event(f"projects.{code}", obj=p, message=message, payload={"code": p.code, **payload})


def _review_record(p: Project, *, actor, action: str, from_status: str, to_status: str, step: workflow.Step | None,
                   reason: str = "", score: Decimal | None = None) -> ReviewRecord:
    rec = ReviewRecord.objects.create(
        project=p, region_code=p.region_code, step=step.order if step else 0, step_name=step.name if step else "",
        action=action, from_status=from_status, to_status=to_status, actor=actor if getattr(actor, "pk", None) else None,
        actor_name=(str(actor) if getattr(actor, "pk", None) else "系统")[:150], reason=reason[:500], score=score)
    audit.record_change(rec, "create")
    return rec


def _detail_url(p: Project) -> str:
    return reverse("projects:detail", args=[p.pk])
