"""Bank message pages: list with filters, detail (raw XML, seals and their verification), endpoints (read-only);
signers: one's own signing key (enrol under a PIN, revoke) and the signers in one's scope."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ibms.banks.protocol import KINDS
from ibms.core.errors import DomainError, Violation
from ibms.core.views import xlsx_response

from . import exports, selectors, services
from .models import KIND_NAMES, STAMP_NAMES, BankMessage


@login_required
def message_list(request):
    g = request.GET
    rows = selectors.message_list(actor=request.user, direction=g.get("direction", ""), kind=g.get("kind", ""),
                              status=g.get("status", ""), voucher_no=g.get("voucher_no", ""))
    if g.get("export") == "xlsx":
        return xlsx_response(exports.messages_xlsx(rows), "银行报文.xlsx")
    page = Paginator(rows, 50).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(request, "banks/message_list.html", {
        "page": page, "directions": BankMessage.Direction.choices,
        "kinds": [(k, KIND_NAMES.get(k, k)) for k in (*KINDS, "invalid")],
        "statuses": BankMessage.Status.choices, "query": query.urlencode()})


@login_required
def message_detail(request, pk: int):
    msg = selectors.message_get(actor=request.user, pk=pk)
    return render(request, "banks/message_detail.html", {
        "m": msg, "pretty": selectors.pretty_xml(msg.raw_xml), "stamps": [{**st, "kind_name": STAMP_NAMES.get(st.get("kind"), st.get("kind"))}
                   for st in (msg.verify_result or {}).get("stamps", [])],
        "others": selectors.message_related_list(actor=request.user, msg=msg)[:100]})


@login_required
def endpoint_list(request):
    return render(request, "banks/endpoint_list.html", {"endpoints": selectors.endpoint_list(actor=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def signer_list(request):
    """我的签名证书: enrol one's own key under a PIN (given twice), revoke it; the signers in scope below."""
    errors: list = []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                services.signer_revoke(actor=request.user, pk=int(request.POST.get("signer_id") or 0),
                                       reason=request.POST.get("reason", ""))
            else:
                services.signer_enrol(actor=request.user, pin=request.POST.get("pin", ""),
                                      pin_confirm=request.POST.get("pin_confirm", ""))
            return redirect("banks:signers")
        except DomainError as exc:
            errors = exc.violations_or_self
        except ValueError:
            errors = [Violation("bad_request", "请求参数不正确")]
    mine = list(selectors.signer_mine(actor=request.user)[:20])
    others = (list(selectors.signer_list(actor=request.user)[:500]) if request.user.has_perm("banks.view_signer")
              else [])
    return render(request, "banks/signers.html", {
        "mine": mine, "active": next((x for x in mine if x.status == "active"), None), "signers": others,
        "can_enrol": request.user.has_perm("banks.add_signer"), "can_revoke": request.user.has_perm(
            "banks.change_signer"), "errors": errors}, status=422 if errors else 200)
