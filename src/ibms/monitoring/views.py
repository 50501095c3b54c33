"""Monitoring pages: alert queues and detail with the life-cycle actions, rule list and editor with back-test,
whitelist. Thin: parse a form, call one service or selector, render; a service's refusal is shown on the page
with its Chinese message and status."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core.errors import DomainError, NotFound, ValidationFailed
from ibms.core.money import api_fen
from ibms.core.scoping import CHANGE, require_perm
from ibms.core.views import xlsx_response

from . import exports, selectors, services, sources
from . import forms as f
from .models import Action, AlertStatus, BacktestRun, Rule

PAGE = 25



# --- alerts -----------------------------------------------------------------------------------------------------

@login_required
def alert_list(request):
    queue = request.GET.get("queue", "all")
    if queue not in selectors.QUEUES:
        queue = "all"
    qs = selectors.alert_queue(actor=request.user, queue=queue, q=request.GET.get("q", "").strip(),
                               action=request.GET.get("action", ""), status=request.GET.get("status", ""))
    if request.GET.get("export") == "xlsx":
        return xlsx_response(exports.alerts_xlsx(qs), "疑点.xlsx")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(request, "monitoring/alert_list.html", {
        "page": page, "queue": queue, "title": selectors.QUEUES[queue][0], "queues": selectors.QUEUES,
        "actions": Action.choices, "statuses": AlertStatus.choices})


def _alert_page(request, alert, errors=(), status=200):
    user = request.user
    from .models import Alert

    writable = Alert.objects.restrict(user, CHANGE).filter(pk=alert.pk).exists()
    can_explain = writable and user.has_perm(services.P_EXPLAIN)
    can_verify = writable and user.has_perm(services.P_VERIFY)
    return render(request, "monitoring/alert_detail.html", {
        "a": alert, "errors": errors, "subject_kind_name": sources.subject_kind_name(alert.subject_kind),
        "show_explain": can_explain and alert.status == AlertStatus.RAISED,
        "show_verify": can_verify and alert.status == AlertStatus.UNIT_EXPLAINED,
        "show_ask": can_verify and alert.status == AlertStatus.VIOLATION,
        "show_rectify": can_explain and alert.status == AlertStatus.RECTIFYING,
        "show_close": can_verify and (alert.status in (AlertStatus.NORMAL, AlertStatus.RECTIFIED)
                                      or (alert.status == AlertStatus.RAISED and alert.action == Action.NOTICE)),
        "others": selectors.alert_list_for_subject(alert.subject_kind, alert.subject_id),
    }, status=status)


@login_required
def alert_detail(request, pk: int):
    return _alert_page(request, selectors.alert_get(actor=request.user, pk=pk))


def _alert_call(step: str, user, pk: int, post) -> None:
    if step == "explain":
        services.alert_explain(actor=user, pk=pk, explanation=post.get("explanation", ""))
    elif step == "verify":
        services.alert_verify(actor=user, pk=pk, outcome=post.get("outcome", ""), comment=post.get("comment", ""))
    elif step == "rectify":
        ret = api_fen(post.get("return_amt"), "return_amt", blank=0)
        tra = api_fen(post.get("transfer_amt"), "transfer_amt", blank=0)
        services.alert_rectify(actor=user, pk=pk, detail=post.get("detail", ""), ask=post.get("ask", ""),
                               return_amt=ret, transfer_amt=tra)
    elif step == "close":
        services.alert_close(actor=user, pk=pk, comment=post.get("comment", ""))
    else:
        raise NotFound("页面")


@login_required
@require_POST
def alert_action(request, pk: int, step: str):
    alert = selectors.alert_get(actor=request.user, pk=pk)
    try:
        _alert_call(step, request.user, pk, request.POST)
    except ValidationFailed as exc:
        return _alert_page(request, alert, exc.violations_or_self, exc.http_status)
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        return _alert_page(request, selectors.alert_get(actor=request.user, pk=pk), exc.violations_or_self, exc.http_status)
    done = selectors.alert_get(actor=request.user, pk=pk)
    messages.success(request, f"疑点 {done.number} 已办理，当前状态：{done.get_status_display()}")
    return redirect("monitoring:alert", pk)


# --- rules ------------------------------------------------------------------------------------------------------

@login_required
def rule_list(request):
    qs = selectors.rule_list(actor=request.user, q=request.GET.get("q", "").strip(), enabled=request.GET.get("enabled", ""),
                         action=request.GET.get("action", ""), stage=request.GET.get("stage", ""))
    return render(request, "monitoring/rule_list.html", {
        "page": Paginator(qs, 50).get_page(request.GET.get("page")), "actions": Action.choices,
        "can_add": request.user.has_perm(services.P_RULE_ADD)})


def _initial(rule: Rule) -> dict:
    return {**{k: getattr(rule, k) for k in ("code", "name", "catalogue_no", "level", "department_code", "stage",
                                             "action", "condition", "message", "valid_from", "valid_to",
                                             "legal_basis", "provenance")},
            "params": json.dumps(rule.params or {}, ensure_ascii=False, indent=1)}


@login_required
@require_http_methods(["GET", "POST"])
def rule_new(request):
    require_perm(request.user, services.P_RULE_ADD)
    form = f.RuleForm(request.POST or None)
    errors, status = [], 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                rule = services.rule_create(actor=request.user, data=form.cleaned_data)
                return redirect("monitoring:rule", rule.pk)
            except DomainError as exc:
                errors, status = exc.violations_or_self, exc.http_status
    return render(request, "monitoring/rule_form.html", {"form": form, "errors": errors, "rule": None}, status=status)


def _rule_page(request, rule: Rule, *, form=None, bt_form=None, errors=(), run=None, status=200):
    user = request.user
    can_change = (user.has_perm(services.P_RULE_CHANGE)
                  and Rule.objects.restrict(user, CHANGE).filter(pk=rule.pk).exists())
    if form is None and can_change:
        form = f.RuleForm(initial=_initial(rule))
        form.fields["code"].disabled = True
    return render(request, "monitoring/rule_detail.html", {
        "rule": rule, "form": form, "bt_form": bt_form or f.BacktestForm(), "errors": errors, "run": run,
        "can_change": can_change, "can_backtest": user.has_perm(services.P_BACKTEST),
        "backtested": BacktestRun.objects.filter(rule=rule, rule_version=rule.version).exists(),
        "runs": selectors.backtest_list(actor=user, rule_id=rule.pk, strict=False)[:10],
        "whitelist": selectors.whitelist_list(actor=user, rule_id=rule.pk, strict=False),
        "params_text": json.dumps(rule.params or {}, ensure_ascii=False)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_detail(request, pk: int):
    rule = selectors.rule_get(actor=request.user, pk=pk)
    if request.method == "GET":
        return _rule_page(request, rule)
    require_perm(request.user, services.P_RULE_CHANGE)
    form = f.RuleForm(request.POST, initial=_initial(rule))
    form.fields["code"].disabled = True
    if not form.is_valid():
        return _rule_page(request, rule, form=form, status=422)
    try:
        services.rule_update(actor=request.user, pk=pk, data=form.cleaned_data)
    except DomainError as exc:
        return _rule_page(request, rule, form=form, errors=exc.violations_or_self, status=exc.http_status)
    return redirect("monitoring:rule", pk)


@login_required
@require_POST
def rule_toggle(request, pk: int, on: str):
    if on not in ("enable", "disable"):
        raise NotFound("页面")
    rule = selectors.rule_get(actor=request.user, pk=pk)
    try:
        (services.rule_enable if on == "enable" else services.rule_disable)(actor=request.user, pk=pk)
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        return _rule_page(request, rule, errors=exc.violations_or_self, status=exc.http_status)
    return redirect("monitoring:rule", pk)


@login_required
@require_POST
def rule_backtest(request, pk: int):
    rule = selectors.rule_get(actor=request.user, pk=pk)
    form = f.BacktestForm(request.POST)
    if not form.is_valid():
        return _rule_page(request, rule, bt_form=form, status=422)
    try:
        run = services.rule_backtest(actor=request.user, rule_or_draft=rule, date_from=form.cleaned_data["date_from"],
                                date_to=form.cleaned_data["date_to"])
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        return _rule_page(request, rule, bt_form=form, errors=exc.violations_or_self, status=exc.http_status)
    return redirect("monitoring:backtest", run.pk)


@login_required
def backtest_detail(request, pk: int):
    run = selectors.backtest_get(actor=request.user, pk=pk)
    return render(request, "monitoring/backtest_detail.html", {"run": run, "rule": run.rule,
                                                               "current": run.rule_version == run.rule.version})


# --- whitelist --------------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def whitelist(request):
    user = request.user
    entries = selectors.whitelist_list(actor=user)  # refuses (403) before anything else is read
    can_add = user.has_perm(services.P_WL_ADD)
    rules = list(selectors.rule_list(actor=user, strict=False)) if can_add else []
    form = f.WhitelistForm(request.POST or None, rules=rules,
                           initial={"rule_id": request.GET.get("rule")} if request.GET.get("rule") else None)
    errors, status = [], 200
    if request.method == "POST":
        require_perm(user, services.P_WL_ADD)
        status = 422
        if form.is_valid():
            try:
                services.whitelist_add(actor=user, **form.cleaned_data)
                return redirect("monitoring:whitelist")
            except DomainError as exc:
                errors, status = exc.violations_or_self, exc.http_status
    rows = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "monitoring/whitelist.html", {"page": rows, "form": form if can_add else None,
                                                         "errors": errors,
                                                         "can_change": user.has_perm(services.P_WL_CHANGE)},
                  status=status)


@login_required
@require_POST
def whitelist_deactivate(request, pk: int):
    services.whitelist_deactivate(actor=request.user, pk=pk)
    return redirect("monitoring:whitelist")
