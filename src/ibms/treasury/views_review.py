"""批量审核: the review queue's selected requests approved (or returned) together — still one service call, one
transaction and one signature per request, each with its own result shown; what one refuses changes nothing else."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from ibms.core.errors import DomainError
from ibms.core.scoping import require_perm

from . import selectors, services

MAX_BATCH = 200


@login_required
@require_POST
def review_batch(request):
    require_perm(request.user, "treasury.review_paymentrequest")
    approve = request.POST.get("action") == "approve"
    comment, pin = request.POST.get("comment", "").strip(), request.POST.get("pin", "")
    ids = list(dict.fromkeys(int(x) for x in request.POST.getlist("ids") if x.isdigit()))[:MAX_BATCH]
    error = "" if ids else "请勾选要审核的支付申请"
    if ids and not approve and not comment:
        error = "批量退回必须填写退回原因"
    results = []
    if not error:
        numbers = selectors.request_numbers(actor=request.user, ids=ids)
        for pk in ids:
            try:
                req = services.payment_request_review(actor=request.user, pk=pk, approve=approve, comment=comment,
                                                      pin=pin)
                results.append({"number": req.number, "ok": True, "message": "已审核通过" if approve else "已退回"})
            except DomainError as exc:
                results.append({"number": numbers.get(pk, str(pk)), "ok": False, "message": exc.message})
    return render(request, "treasury/review_queue.html", {
        "rows": selectors.review_queue(actor=request.user), "results": results, "batch_error": error,
        "done": sum(r["ok"] for r in results)}, status=422 if error else 200)
