from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import BusinessEvent, ChangeLog
from .resources import require_perm


@login_required
def audit_log(request):
    """For the audit administrator: the latest changes and business events in their scope."""
    require_perm(request.user, "core.view_changelog")
    regions = request.user.data_scope.view_regions
    changes = ChangeLog.objects.all()
    events = BusinessEvent.objects.all()
    if not request.user.data_scope.unrestricted:
        changes = changes.filter(region_code__in=regions | {""})
        events = events.filter(region_code__in=regions | {""})
    code = request.GET.get("code", "")
    if code:
        events = events.filter(code__startswith=code)
    return render(request, "core/audit_log.html", {"changes": changes[:100], "events": events[:100], "code": code})
