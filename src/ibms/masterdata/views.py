from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ibms.core.errors import DomainError
from ibms.core.scoping import get_in_scope

from . import selectors, services
from .models import BlacklistEntry


@login_required
def region_tree(request):
    return render(request, "masterdata/region_tree.html", {"tree": selectors.region_tree(actor=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def blacklist_submit(request, pk: int):
    if request.method == "POST":
        services.blacklist_submit(actor=request.user, pk=pk)
        return redirect("resource-detail", "blacklist", pk)
    entry = get_in_scope(BlacklistEntry.objects, request.user, pk=pk, what="黑名单")
    return render(request, "masterdata/blacklist_action.html", {"entry": entry, "action": "submit"})


@login_required
@require_http_methods(["GET", "POST"])
def blacklist_review(request, pk: int):
    entry = get_in_scope(BlacklistEntry.objects, request.user, pk=pk, what="黑名单")
    error = None
    if request.method == "POST":
        try:
            services.blacklist_review(actor=request.user, pk=pk, approve=request.POST.get("decision") == "approve",
                                      comment=request.POST.get("comment", ""))
            return redirect("resource-detail", "blacklist", pk)
        except DomainError as exc:
            error = exc
    return render(request, "masterdata/blacklist_action.html", {"entry": entry, "action": "review", "error": error},
                  status=error.http_status if error else 200)
