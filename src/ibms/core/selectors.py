"""Reads of core tables."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet

from . import audit_names
from .audit import label_of
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


def document_history(obj: models.Model, *, limit: int = 200) -> list[dict]:
    """A document's own history for the people who may see the document (its page checked that): each business
    event on it, oldest first, with the event's Chinese name and the actor's name (not their login)."""
    events = list(BusinessEvent.objects.filter(object_type=label_of(obj), object_id=str(obj.pk))
                  .order_by("id")[:limit])
    names = dict(get_user_model().objects.filter(pk__in={e.actor_id for e in events if e.actor_id})
                 .values_list("pk", "real_name"))
    return [{"at": e.created_at, "name": audit_names.event_name(e.code), "message": audit_names.describe(e),
             "actor": names.get(e.actor_id) or audit_names.actor_label(e.actor_name)} for e in events]
