"""合同变更 / 合同终止 pages: one contract's page section — its schedule (which periods a payment has touched and
so cannot change), its change documents with their status, a form to propose one, and submit / approve / reject.
Thin: parse a form, call one service, render; domain errors are shown on the page with every reason."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core.errors import DomainError
from ibms.core.money import MoneyFormField
from ibms.core.scoping import get_in_scope

from . import changes, domain, hooks, selectors
from .models import ContractChange


class ChangeForm(forms.Form):
    kind = forms.ChoiceField(label="变更类型", choices=ContractChange.Kind.choices)
    new_amount = MoneyFormField(label="变更后合同金额（元，金额变更时填写）", required=False)
    milestones = forms.CharField(label="新的未付款期次（每行：期次名称,金额元；已付款期次保持不变）", required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    reason = forms.CharField(label="变更或终止理由", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_milestones(self):
        try:
            return domain.milestone_lines(self.cleaned_data.get("milestones"))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


def _page(request, contract_id: int, *, form=None, errors=None, status=200):
    port = hooks.contract_port()
    contract = port.find(request.user, contract_id, write=False)
    use = port.milestone_use(contract)
    u = request.user
    rows = list(selectors.changes_for_contract(actor=u, contract_id=contract.pk))
    for ch in rows:
        ch.can_submit = ch.status == ContractChange.Status.DRAFT and u.has_perm(changes.P_SUBMIT)
        ch.can_review = (ch.status == ContractChange.Status.SUBMITTED and u.has_perm(changes.P_REVIEW)
                         and u.pk not in {ch.created_by_id, ch.submitted_by_id})
    schedule = [{**m, "used": use.get(int(m["seq"]), 0), "locked": use.get(int(m["seq"]), 0) > 0}
                for m in contract.schedule or []]
    can_add = contract.status == "active" and bool(contract.plan_id) and u.has_perm(changes.P_ADD)
    if can_add and form is None:
        form = ChangeForm()
    return render(request, "procurement/contract_changes.html", {
        "c": contract, "schedule": schedule, "changes": rows, "form": form if can_add else None,
        "errors": errors or []}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def contract_changes(request, contract_id: int):
    if request.method != "POST":
        return _page(request, contract_id)
    form = ChangeForm(request.POST)
    if not form.is_valid():
        return _page(request, contract_id, form=form, status=422)
    d = form.cleaned_data
    try:
        changes.change_create(actor=request.user, contract_id=contract_id, data=changes.ChangeIn(
            kind=d["kind"], reason=d["reason"], new_amount=d.get("new_amount") or 0, milestones=d["milestones"]))
    except DomainError as exc:
        return _page(request, contract_id, form=form, errors=exc.violations_or_self, status=422)
    return redirect("procurement:contract-changes", contract_id=contract_id)


ACTIONS = {
    "submit": lambda u, pk, post: changes.change_submit(actor=u, pk=pk),
    "approve": lambda u, pk, post: changes.change_review(actor=u, pk=pk, approve=True,
                                                         comment=post.get("comment", "")),
    "reject": lambda u, pk, post: changes.change_review(actor=u, pk=pk, approve=False,
                                                        comment=post.get("comment", "")),
}


@login_required
@require_POST
def change_action(request, pk: int, action: str):
    fn = ACTIONS.get(action)
    if fn is None:
        raise Http404
    ch = get_in_scope(ContractChange.objects.all(), request.user, what="合同变更", pk=pk)
    try:
        fn(request.user, pk, request.POST)
    except DomainError as exc:
        return _page(request, ch.contract_id, errors=exc.violations_or_self, status=422)
    return redirect("procurement:contract-changes", contract_id=ch.contract_id)
