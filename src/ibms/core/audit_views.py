from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import audit_entries


@login_required
def audit_log(request):
    """For the audit administrator: the latest changes and business events in their scope."""
    code = request.GET.get("code", "")
    changes, events = audit_entries(actor=request.user, event_code=code)
    return render(request, "core/audit_log.html", {"changes": changes[:100], "events": events[:100], "code": code})
