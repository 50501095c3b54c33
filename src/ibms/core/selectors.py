"""Reads of core tables."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import BusinessEvent, ChangeLog
from .scoping import require_perm, scope_of


def _in_scope(qs: QuerySet, actor) -> QuerySet:
    """The regions the audit administrator may see, plus region-less entries (e.g. a failed login for an unknown
    user name); newest first."""
    scope = scope_of(actor)
    if not scope.unrestricted:
        qs = qs.filter(region_code__in=scope.view_regions | {""})
    return qs.order_by("-id")


def audit_events(*, actor) -> QuerySet[BusinessEvent]:
    """Business events (every act of every person, the administrators' included) in the reader's scope."""
    require_perm(actor, "core.view_businessevent")
    return _in_scope(BusinessEvent.objects.all(), actor)


def audit_changes(*, actor) -> QuerySet[ChangeLog]:
    """Row changes (before/after) in the reader's scope."""
    require_perm(actor, "core.view_changelog")
    return _in_scope(ChangeLog.objects.all(), actor)
