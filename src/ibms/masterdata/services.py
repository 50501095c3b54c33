"""Master-data writers beyond plain create/edit: the blacklist approval flow, reference-data loading."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from ibms.core import audit, workflow
from ibms.core.errors import PermissionDenied, invalid
from ibms.core.scoping import CHANGE, get_in_scope, require_perm

from .models import BlacklistEntry

BLACKLIST_DOC = "payee_blacklist"
DEFAULT_BLACKLIST_CHAIN = [("国库处审核", "treasury_division", "finance")]


def _blacklist_step(entry: BlacklistEntry) -> workflow.Step:
    steps = workflow.approval_steps(BLACKLIST_DOC, entry.region_code)
    if not steps:
        raise invalid("no_chain", "未配置收款人黑名单的审批流程")
    return steps[0]


def blacklist_submit(*, actor, pk: int) -> BlacklistEntry:
    require_perm(actor, "masterdata.change_blacklistentry")
    with transaction.atomic(durable=True):
        entry = get_in_scope(BlacklistEntry.objects.select_for_update(), actor, CHANGE, what="黑名单", pk=pk)
        step = _blacklist_step(entry)
        audit.update_fields(entry, submitted_by=actor)
        workflow.transition(entry, BlacklistEntry.Status.SUBMITTED, transitions=BlacklistEntry.TRANSITIONS,
                            event_code="masterdata.blacklist_submitted")
        workflow.todo_open(doc_type=BLACKLIST_DOC, obj=entry, title=f"收款人黑名单审核：{entry.name}",
                           url=reverse("resource-detail", args=["blacklist", entry.pk]), step=step,
                           region_code=entry.region_code)
        return entry


def blacklist_review(*, actor, pk: int, approve: bool, comment: str = "") -> BlacklistEntry:
    with transaction.atomic(durable=True):
        entry = get_in_scope(BlacklistEntry.objects.select_for_update(), actor, CHANGE, what="黑名单", pk=pk)
        if entry.status != BlacklistEntry.Status.SUBMITTED:
            raise invalid("not_submitted", "只有待审核的黑名单可以审核")
        workflow.check_step_actor(actor, _blacklist_step(entry), submitted_by_id=entry.submitted_by_id)
        if not approve and not comment.strip():
            raise invalid("reason_required", "退回必须填写原因", "comment")
        audit.update_fields(entry, review_comment=comment.strip()[:300])
        target = BlacklistEntry.Status.ACTIVE if approve else BlacklistEntry.Status.REJECTED
        workflow.transition(entry, target, transitions=BlacklistEntry.TRANSITIONS,
                            event_code="masterdata.blacklist_approved" if approve else "masterdata.blacklist_rejected",
                            message=comment[:300])
        workflow.todo_close(doc_type=BLACKLIST_DOC, obj=entry, user=actor)
        return entry


def blacklist_revoke(*, actor, pk: int, reason: str) -> BlacklistEntry:
    if "treasury_division" not in getattr(actor, "role_codes", set()):
        raise PermissionDenied("只有国库处可以撤销黑名单", code="workflow_role")
    with transaction.atomic(durable=True):
        entry = get_in_scope(BlacklistEntry.objects.select_for_update(), actor, CHANGE, what="黑名单", pk=pk)
        workflow.transition(entry, BlacklistEntry.Status.REVOKED, transitions=BlacklistEntry.TRANSITIONS,
                            event_code="masterdata.blacklist_revoked", message=reason[:300])
        return entry
