"""政府采购 pages: the plan list, a new plan, its detail (freeze entries) with submit / review / cancel. Thin:
parse a form, call one service or selector, render; domain errors are shown on the page with every reason."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core.errors import DomainError
from ibms.core.money import MoneyFormField
from ibms.core.scoping import get_in_scope
from ibms.indicators.models import Indicator

from . import rules, selectors, services
from .domain import PlanIn
from .models import Method, ProcurementPlan


class PlanForm(forms.Form):
    indicator_id = forms.TypedChoiceField(label="政府采购指标", coerce=int)
    catalogue_code = forms.ChoiceField(label="采购品目（采购目录）")
    method = forms.ChoiceField(label="采购方式", choices=Method.choices)
    name = forms.CharField(label="采购项目名称", max_length=200)
    quantity = forms.IntegerField(label="数量", min_value=1, initial=1)
    amount = MoneyFormField(label="计划金额（元）")
    reason = forms.CharField(label="采购理由", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        inds = (Indicator.objects.restrict(user).filter(is_gov_pur=True, is_executable=True, unit__isnull=False)
                .order_by("code")[:300])
        self.fields["indicator_id"].choices = [(i.pk, f"{i.code} {i.summary}（可用 {i.available / 100:,.2f} 元）")
                                               for i in inds]
        self.fields["catalogue_code"].choices = [(c.code, f"{c.code} {c.name}") for c in rules.catalogue().values()]


@login_required
def plan_list(request):
    status, q = request.GET.get("status", ""), request.GET.get("q", "").strip()
    rows = selectors.plan_list(actor=request.user, status=status, q=q)[:200]
    tpl = "procurement/_plan_rows.html" if request.htmx else "procurement/plan_list.html"
    return render(request, tpl, {"rows": rows, "status": status, "q": q, "statuses": ProcurementPlan.Status.choices,
                                 "can_add": request.user.has_perm(services.P_ADD)})


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request):
    form = PlanForm(request.POST or None, user=request.user)
    errors: list = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            plan = services.plan_create(actor=request.user, data=PlanIn(
                indicator_id=d["indicator_id"], catalogue_code=d["catalogue_code"], method=d["method"],
                name=d["name"], amount=d["amount"], quantity=d["quantity"], reason=d.get("reason") or ""))
            return redirect("procurement:plan-detail", pk=plan.pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "procurement/plan_new.html", {"form": form, "errors": errors},
                  status=422 if errors else 200)


def _detail(request, plan, errors=None, status=200):
    u = request.user
    return render(request, "procurement/plan_detail.html", {
        "p": plan, "entries": selectors.plan_entries(plan), "errors": errors or [],
        "can_submit": plan.status in ProcurementPlan.EDITABLE and u.has_perm(services.P_SUBMIT),
        "can_review": plan.status == ProcurementPlan.Status.SUBMITTED and u.has_perm(services.P_REVIEW),
        "can_cancel": plan.status in {*ProcurementPlan.EDITABLE, ProcurementPlan.Status.APPROVED}
        and u.has_perm(services.P_CHANGE)}, status=status)


@login_required
def plan_detail(request, pk: int):
    return _detail(request, get_in_scope(ProcurementPlan.objects.select_related("unit", "indicator"), request.user,
                                         what="采购计划", pk=pk))


ACTIONS = {
    "submit": lambda u, pk, post: services.plan_submit(actor=u, pk=pk),
    "approve": lambda u, pk, post: services.plan_review(actor=u, pk=pk, approve=True, comment=post.get("comment", "")),
    "return": lambda u, pk, post: services.plan_review(actor=u, pk=pk, approve=False, comment=post.get("comment", "")),
    "cancel": lambda u, pk, post: services.plan_cancel(actor=u, pk=pk, reason=post.get("reason", "")),
}


@login_required
@require_POST
def plan_action(request, pk: int, action: str):
    fn = ACTIONS.get(action)
    if fn is None:
        raise Http404
    try:
        fn(request.user, pk, request.POST)
    except DomainError as exc:
        plan = get_in_scope(ProcurementPlan.objects.select_related("unit", "indicator"), request.user,
                            what="采购计划", pk=pk)
        return _detail(request, plan, exc.violations_or_self, status=422)
    return redirect("procurement:plan-detail", pk=pk)
