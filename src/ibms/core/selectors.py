"""Reads of core tables."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import BusinessEvent, ChangeLog
from .scoping import require_perm, scope_of


def audit_entries(*, actor, event_code: str = "") -> tuple[QuerySet[ChangeLog], QuerySet[BusinessEvent]]:
    """Changes and business events of the regions the audit administrator may see, plus region-less
    entries (e.g. a failed login for an unknown user name)."""
    require_perm(actor, "core.view_changelog")
    scope = scope_of(actor)
    changes, events = ChangeLog.objects.all(), BusinessEvent.objects.all()
    if not scope.unrestricted:
        regions = scope.view_regions | {""}
        changes, events = changes.filter(region_code__in=regions), events.filter(region_code__in=regions)
    if event_code:
        events = events.filter(code__startswith=event_code)
    return changes, events
