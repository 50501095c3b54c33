"""Bank message pages: list with filters, detail (raw XML, seals and their verification), endpoints. Read-only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from ibms.banks.protocol import KINDS

from . import selectors
from .models import BankMessage


@login_required
def message_list(request):
    g = request.GET
    rows = selectors.message_list(actor=request.user, direction=g.get("direction", ""), kind=g.get("kind", ""),
                              status=g.get("status", ""), voucher_no=g.get("voucher_no", ""))
    page = Paginator(rows, 50).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(request, "banks/message_list.html", {
        "page": page, "directions": BankMessage.Direction.choices, "kinds": [*KINDS, "invalid"],
        "statuses": BankMessage.Status.choices, "query": query.urlencode()})


@login_required
def message_detail(request, pk: int):
    msg = selectors.message_get(actor=request.user, pk=pk)
    return render(request, "banks/message_detail.html", {
        "m": msg, "pretty": selectors.pretty_xml(msg.raw_xml), "stamps": (msg.verify_result or {}).get("stamps", []),
        "others": selectors.message_related_list(actor=request.user, msg=msg)[:100]})


@login_required
def endpoint_list(request):
    return render(request, "banks/endpoint_list.html", {"endpoints": selectors.endpoint_list(actor=request.user)})
