"""单位资金 pages: the unit accounts with their balances (booked, held by payments in flight, available), income
entry, an account's incomes and statement lines, every statement line in scope with its match status and the days
read from the bank (the treasury division may read a day by hand), and the alerts raised on unmatched debits. Thin: parse a
form, call one service or selector, render; domain errors are shown with every reason."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ibms.core import clock
from ibms.core.errors import DomainError
from ibms.core.scoping import get_in_scope, require_perm

from . import selectors, services
from .domain import IncomeIn
from .feed import feed_run
from .forms import IncomeForm
from .models import StatementLine, UnitAccount
from .services import P_ADD_INCOME, P_READ_STATEMENT


@login_required
def account_list(request):
    rows = selectors.balances(actor=request.user)
    return render(request, "unitfunds/account_list.html", {
        "rows": rows, "total": sum(r["balance"] for r in rows), "available": sum(r["available"] for r in rows),
        "incomes": selectors.income_list(actor=request.user)[:20], "can_add": request.user.has_perm(P_ADD_INCOME)})


@login_required
def account_detail(request, pk: int):
    ua = get_in_scope(UnitAccount.objects.select_related("bank_account", "unit"), request.user, what="实有资金账户",
                      pk=pk)
    held = selectors.held(ua)
    return render(request, "unitfunds/account_detail.html", {
        "ua": ua, "held": held, "available": ua.balance - held,
        "incomes": selectors.income_list(actor=request.user, account_id=ua.pk)[:100],
        "lines": selectors.statement_lines(actor=request.user, account_id=ua.pk)[:200]})


@login_required
@require_http_methods(["GET", "POST"])
def income_new(request):
    require_perm(request.user, P_ADD_INCOME)
    form = IncomeForm(request.POST or None, user=request.user,
                      initial={"income_date": clock.today(getattr(request.user, "region_code", "") or None)})
    errors: list = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            inc = services.income_record(actor=request.user, data=IncomeIn(
                account_id=d["account_id"], kind_code=d["kind_code"], amount=d["amount"], income_date=d["income_date"],
                payer_name=d["payer_name"], summary=d["summary"]))
            return redirect("unitfunds:account-detail", pk=inc.account_id)
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "unitfunds/income_new.html", {"form": form, "errors": errors},
                  status=422 if errors or (request.method == "POST" and not form.is_valid()) else 200)


@login_required
def alert_list(request):
    return render(request, "unitfunds/alert_list.html", {"alerts": selectors.alert_list(actor=request.user)[:200]})


@login_required
def statement_list(request):
    match = request.GET.get("match", "")
    if match not in StatementLine.Match.values:
        match = ""
    return render(request, "unitfunds/statement_list.html", {
        "lines": selectors.statement_lines(actor=request.user, match=match)[:300], "match": match,
        "matches": StatementLine.Match.choices, "days": selectors.statement_days(actor=request.user)[:60],
        "can_feed": request.user.has_perm(P_READ_STATEMENT),
        "yesterday": clock.today(getattr(request.user, "region_code", "") or None) - dt.timedelta(days=1)})


@login_required
@require_http_methods(["POST"])
def statement_feed(request):
    require_perm(request.user, P_READ_STATEMENT)
    try:
        day = dt.date.fromisoformat(request.POST.get("statement_date", ""))
    except ValueError:
        messages.error(request, "请填写正确的对账单日期")
        return redirect("unitfunds:statement")
    res = feed_run(actor=request.user, date=day)
    messages.success(request, f"{day} 对账单：读取 {res.read} 个账户、新增 {res.lines} 笔、未匹配支出 {res.unmatched} 笔、"
                              f"生成疑点 {res.alerts} 个；此前已读取 {res.skipped} 个账户")
    for failed in res.failed:
        messages.error(request, f"未能读取：{failed}（下次自动重试）")
    return redirect("unitfunds:statement")
