"""Document workflow: status transitions checked against a table, approval chains kept as data per
document type and region, and the to-do items that tell each user what waits for them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone

from . import audit
from .errors import Conflict, PermissionDenied
from .models import ApprovalChain, ApprovalStep, TodoItem
from .policy import PolicyError, policy_rows

TODO_COLUMNS = ["doc_type", "name"]


@dataclass(frozen=True)
class Step:
    order: int
    name: str
    role_code: str
    holder: str


def approval_steps(doc_type: str, region_code: str) -> list[Step]:
    """The region's chain for this document type, else the default chain ('' region)."""
    chain = (ApprovalChain.objects.filter(doc_type=doc_type, region_code__in=[region_code, ""], is_active=True)
             .order_by("-region_code").first())
    if chain is None:
        return []
    return [Step(s.order, s.name, s.role_code, s.holder) for s in chain.steps.all()]


def set_chain(doc_type: str, region_code: str, name: str, steps: list[tuple[str, str, str]]) -> ApprovalChain:
    """Replace a chain: steps are (name, role_code, holder)."""
    chain, _ = ApprovalChain.objects.update_or_create(doc_type=doc_type, region_code=region_code,
                                                      defaults={"name": name, "is_active": True})
    chain.steps.all().delete()
    ApprovalStep.objects.bulk_create(
        ApprovalStep(chain=chain, order=i, name=n, role_code=r, holder=h) for i, (n, r, h) in enumerate(steps, 1))
    return chain


def transition(obj: models.Model, to_status: str, *, transitions: dict[str, set[str]], event_code: str,
               message: str = "", payload: dict | None = None, field: str = "status") -> None:
    """Validate and apply a status change, then write the business event (caller holds the transaction)."""
    current = getattr(obj, field)
    if to_status not in transitions.get(current, set()):
        labels = dict(type(obj)._meta.get_field(field).choices or [])
        raise Conflict("invalid_transition",
                       f"当前状态“{labels.get(current, current)}”不能变更为“{labels.get(to_status, to_status)}”",
                       {"from": current, "to": to_status})
    before = audit.snapshot(obj)
    setattr(obj, field, to_status)
    obj.save(update_fields=[field, *(["updated_at"] if hasattr(obj, "updated_at") else [])])
    audit.record_change(obj, "update", before)
    audit.record_event(event_code, obj=obj, message=message,
                       payload={"from": current, "to": to_status, **(payload or {})})


@functools.cache
def todo_kinds() -> dict[str, str]:
    """The kinds of to-do item and their Chinese names: `data/todo/<app>.csv` (columns `doc_type,name`), in the order
    of INSTALLED_APPS, then of the file. A kind not listed is refused when an item of it is opened."""
    labels = [c.label for c in apps.get_app_configs()]
    rows = sorted(policy_rows(Path(settings.DATA_DIR) / "todo", TODO_COLUMNS, set(labels)),
                  key=lambda r: labels.index(r[0]))
    out: dict[str, str] = {}
    for _app, where, (doc_type, name) in rows:
        if not (doc_type and name) or doc_type in out:
            raise PolicyError(f"{where}: a to-do kind needs a doc_type listed once and its name")
        out[doc_type] = name
    return out


def todo_open(*, doc_type: str, obj: models.Model, title: str, url: str, step: Step, region_code: str,
              unit_path: str = "") -> TodoItem:
    if doc_type not in todo_kinds():
        raise PolicyError(f"to-do kind {doc_type!r} is not listed in data/todo/")
    return TodoItem.objects.create(doc_type=doc_type, object_id=str(obj.pk), title=title[:200], url=url,
                                   step=step.order, role_code=step.role_code, region_code=region_code,
                                   unit_path=unit_path if step.holder != "finance" else "")


def todo_close(*, doc_type: str, obj: models.Model, user) -> int:
    return TodoItem.objects.filter(doc_type=doc_type, object_id=str(obj.pk), status=TodoItem.Status.OPEN).update(
        status=TodoItem.Status.DONE, done_at=timezone.now(), done_by=user)


def check_step_actor(user, step: Step, *, submitted_by_id: int | None) -> None:
    """The holder of the step's role, and never the submitter (segregation of duties)."""
    if step.role_code not in getattr(user, "role_codes", set()):
        raise PermissionDenied(f"当前步骤“{step.name}”需要相应角色办理", code="workflow_role")
    if submitted_by_id is not None and submitted_by_id == user.pk:
        raise PermissionDenied("提交人不能审批自己提交的单据", code="segregation_of_duties")


def todo_for_user(user):
    """Open items for the user's roles, addressed to their own region (finance) or their own unit."""
    roles = getattr(user, "role_codes", set())
    region = getattr(user, "region_code", "")
    if not roles or not region:
        return TodoItem.objects.none()
    return TodoItem.objects.filter(status=TodoItem.Status.OPEN, role_code__in=roles, region_code=region,
                                   unit_path=getattr(user, "unit_path", "") or "").order_by("created_at")
