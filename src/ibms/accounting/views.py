"""Pages: account sets (list, create, chart tree, periods), accounts (sub-accounts, edit), vouchers (list with
filters, detail, manual entry with a lines formset, review/post/reverse/delete), posting rules (read-only).
Thin: parse, call one service or selector, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core import clock
from ibms.core.errors import DomainError, ValidationFailed
from ibms.core.reports import report_response
from ibms.core.scoping import CHANGE, VIEW, get_in_scope, require_perm
from ibms.core.views import xlsx_response
from ibms.masterdata.models import Unit

from . import closing, exports, selectors, services, sources
from .forms import LineFormSet, VoucherForm, initial_lines, lines_of
from .models import DIMENSION_LABELS, DIMENSIONS, Account, AccountSet, PostingRule, Voucher


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- account sets ----------------------------------------------------------------------------------

@login_required
def set_list(request):
    year = _int(request.GET.get("year"))
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    qs = selectors.account_set_list(actor=request.user, year=year, kind=kind, q=q)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "accounting/set_list.html", {
        "page": page, "year": year or "", "kind": kind, "q": q, "kinds": AccountSet.Kind.choices,
        "can_add": request.user.has_perm("accounting.add_accountset"), "page_title": "账套"})


@login_required
@require_http_methods(["GET", "POST"])
def set_create(request):
    require_perm(request.user, "accounting.add_accountset")
    error = None
    if request.method == "POST":
        try:
            year = _int(request.POST.get("year"), clock.fiscal_year())
            if request.POST.get("kind") == AccountSet.Kind.FISCAL:
                aset = services.account_set_create(actor=request.user, year=year,
                                                   region_code=request.user.region_code)
            else:
                code = request.POST.get("unit_code", "").strip()
                unit = get_in_scope(Unit.objects, request.user, VIEW, what="预算单位",
                                    region_code=request.user.region_code, code=code)
                aset = services.account_set_create(actor=request.user, year=year, unit_id=unit.pk)
            return redirect("accounting:set-detail", aset.pk)
        except DomainError as exc:
            error = exc
    return render(request, "accounting/set_form.html", {"error": error, "year": clock.fiscal_year(),
                                                        "page_title": "新建账套"},
                  status=error.http_status if error else 200)


@login_required
def set_detail(request, pk: int):
    period_to = _int(request.GET.get("period"))
    aset, rows = selectors.account_tree(actor=request.user, pk=pk, period_to=period_to)
    can_change = AccountSet.objects.restrict(request.user, CHANGE).filter(pk=pk).exists() or \
        Account.objects.restrict(request.user, CHANGE).filter(account_set_id=pk).exists()
    return render(request, "accounting/set_detail.html", {
        "aset": aset, "rows": rows, "periods": selectors.period_list(account_set=aset), "period_to": period_to or "",
        "dims": DIMENSION_LABELS, "page_title": aset.name,
        "can_close": request.user.has_perm("accounting.close_period") and can_change,
        "can_enter": request.user.has_perm("accounting.add_voucher") and can_change,
        "can_account": request.user.has_perm("accounting.add_account") and can_change})


@login_required
@require_POST
def set_close(request, pk: int):
    aset = services.account_set_close(actor=request.user, pk=pk)
    messages.success(request, f"{aset.name}已年结")
    return redirect("accounting:set-detail", pk)


@login_required
@require_POST
def set_year_end_close(request, pk: int):
    vouchers = closing.year_end_close(actor=request.user, account_set_id=pk)
    messages.success(request, f"年终结账完成，结转凭证 {len(vouchers)} 张")
    return redirect("accounting:set-detail", pk)


# --- accounts ----------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request, pk: int):
    acc = get_in_scope(Account.objects.select_related("account_set"), request.user, VIEW, what="会计科目", pk=pk)
    error = None
    if request.method == "POST":
        try:
            dims = [d for d in DIMENSIONS if request.POST.get(f"dim_{d}")]
            if request.POST.get("action") == "add_child":
                child = services.account_create(actor=request.user, parent_id=pk, suffix=request.POST.get("suffix", ""),
                                                name=request.POST.get("child_name", ""), aux_dims=dims)
                messages.success(request, f"已增加明细科目 {child.code} {child.name}")
                return redirect("accounting:account-edit", child.pk)
            services.account_update(actor=request.user, pk=pk, name=request.POST.get("name"), aux_dims=dims,
                                    is_active=bool(request.POST.get("is_active")))
            messages.success(request, "科目已保存")
            return redirect("accounting:account-edit", pk)
        except DomainError as exc:
            error = exc
    return render(request, "accounting/account_form.html", {
        "acc": acc, "error": error, "dims": DIMENSION_LABELS, "page_title": f"科目 {acc.code}",
        "can_change": request.user.has_perm("accounting.change_account")},
        status=error.http_status if error else 200)


# --- periods -----------------------------------------------------------------------------------------

@login_required
@require_POST
def period_action(request, pk: int, action: str):
    if action == "close":
        period = services.period_close(actor=request.user, pk=pk)
        messages.success(request, f"{period.number}月已结账")
    elif action == "reopen":
        period = services.period_reopen(actor=request.user, pk=pk)
        messages.success(request, f"{period.number}月已反结账")
    else:
        raise ValidationFailed([], message="未知操作")
    return redirect("accounting:set-detail", period.account_set_id)


# --- vouchers ----------------------------------------------------------------------------------------

@login_required
def voucher_list(request):
    f = {"account_set_id": _int(request.GET.get("set")), "year": _int(request.GET.get("year")),
         "period_no": _int(request.GET.get("period")), "status": request.GET.get("status", ""),
         "source": request.GET.get("source", ""), "q": request.GET.get("q", "").strip(),
         "account_code": request.GET.get("account", "").strip()}
    if request.GET.get("todo"):
        qs = selectors.voucher_pending_list(actor=request.user)
    else:
        qs = selectors.voucher_list(actor=request.user, **f)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(exports.vouchers_xlsx(qs), "记账凭证.xlsx")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    aset = selectors.account_set_get(actor=request.user, pk=f["account_set_id"]) if f["account_set_id"] else None
    return render(request, "accounting/voucher_list.html", {
        "page": page, "f": f, "aset": aset, "todo": bool(request.GET.get("todo")),
        "statuses": Voucher.Status.choices, "sources": Voucher.Source.choices, "periods": range(1, 13),
        "page_title": "记账凭证"})


def _leaf_accounts(aset: AccountSet):
    return aset.accounts.filter(is_leaf=True, is_active=True).order_by("code")


@login_required
@require_http_methods(["GET", "POST"])
def voucher_entry(request, pk: int | None = None):
    """New manual voucher (?set=<id>) or edit of a draft (pk)."""
    voucher = None
    if pk is not None:
        require_perm(request.user, "accounting.change_voucher")
        voucher = get_in_scope(Voucher.objects.select_related("account_set"), request.user, CHANGE, what="凭证", pk=pk)
        aset = voucher.account_set
    else:
        require_perm(request.user, "accounting.add_voucher")
        aset = selectors.account_set_get(actor=request.user, pk=_int(request.GET.get("set") or request.POST.get("set"), 0))
    error = None
    if request.method == "POST":
        form, formset = VoucherForm(request.POST), LineFormSet(request.POST, prefix="lines")
        if form.is_valid() and formset.is_valid():
            d = form.cleaned_data
            try:
                kwargs = {"date": d["date"], "summary": d["summary"], "lines": lines_of(formset),
                          "attachments": d.get("attachments") or 0}
                if voucher is None:
                    v = services.voucher_create(actor=request.user, account_set_id=aset.pk, **kwargs)
                else:
                    v = services.voucher_update(actor=request.user, pk=voucher.pk, **kwargs)
                messages.success(request, "凭证已保存，等待审核")
                return redirect("accounting:voucher-detail", v.pk)
            except DomainError as exc:
                error = exc
    else:
        if voucher is not None:
            form = VoucherForm(initial={"date": voucher.date, "summary": voucher.summary,
                                        "attachments": voucher.attachments})
            formset = LineFormSet(initial=initial_lines(voucher), prefix="lines")
        else:
            today = clock.today(aset.region_code)
            form = VoucherForm(initial={"date": today if today.year == aset.year else dt.date(aset.year, 1, 1)})
            formset = LineFormSet(prefix="lines")
    bad = error is not None or (request.method == "POST")
    return render(request, "accounting/voucher_form.html", {
        "aset": aset, "voucher": voucher, "form": form, "formset": formset, "error": error,
        "accounts": _leaf_accounts(aset), "dims": DIMENSION_LABELS, "page_title": "录入记账凭证"},
        status=(error.http_status if error else 422) if bad else 200)


@login_required
def voucher_detail(request, pk: int):
    v = selectors.voucher_get(actor=request.user, pk=pk)
    lines = selectors.voucher_line_list(v)
    u = request.user
    mine = v.entered_by_id == u.pk
    can_write = Voucher.objects.restrict(u, CHANGE).filter(pk=pk).exists()
    manual_draft = v.source == Voucher.Source.MANUAL and v.status == Voucher.Status.DRAFT
    actions = {
        "edit": manual_draft and can_write and u.has_perm("accounting.change_voucher"),
        "delete": manual_draft and can_write and u.has_perm("accounting.delete_voucher"),
        "review": v.status == Voucher.Status.DRAFT and not mine and u.has_perm("accounting.review_voucher"),
        "unreview": v.status == Voucher.Status.REVIEWED and u.has_perm("accounting.review_voucher"),
        "post": v.status == Voucher.Status.REVIEWED and not mine and u.has_perm("accounting.post_voucher"),
        "reverse": (v.status == Voucher.Status.POSTED and v.source != Voucher.Source.REVERSAL
                    and u.has_perm("accounting.post_voucher") and can_write),
    }
    groups = []
    for basis, label in (("financial", "财务会计"), ("budget", "预算会计")):
        rows = [ln for ln in lines if ln.basis == basis]
        if rows:
            groups.append({"label": label, "rows": rows, "debit": sum(r.debit for r in rows),
                           "credit": sum(r.credit for r in rows)})
    source = sources.source_link(v.event_id) if v.event_id else None
    rule_name = selectors.posting_rule_name(v.year, v.rule_code) if v.rule_code else ""
    if request.GET.get("format") in ("pdf", "xlsx", "print"):  # the printed voucher; "print": its preview page
        return report_response(request, exports.voucher_tables(v, groups, rule_name),
                               filename=f"记账凭证{v.year}-{v.period_no:02d}-{v.display_number}")
    return render(request, "accounting/voucher_detail.html", {"source": source, "rule_name": rule_name,
        "v": v, "groups": groups, "actions": actions, "reversed_by": selectors.voucher_reversal_get(v),
        "dims": DIMENSIONS, "page_title": f"凭证 {v.display_number}"})


@login_required
@require_POST
def voucher_action(request, pk: int, action: str):
    u = request.user
    if action == "review":
        services.voucher_review(actor=u, pk=pk, approve=True)
        messages.success(request, "凭证已审核")
    elif action == "unreview":
        services.voucher_review(actor=u, pk=pk, approve=False)
        messages.success(request, "已取消审核")
    elif action == "post":
        v = services.voucher_post(actor=u, pk=pk)
        messages.success(request, f"凭证已记账，凭证号 {v.display_number}")
    elif action == "reverse":
        date = request.POST.get("date") or None
        r = services.voucher_reverse(actor=u, pk=pk, date=dt.date.fromisoformat(date) if date else None,
                                     reason=request.POST.get("reason", ""))
        messages.success(request, f"已生成冲销凭证 {r.display_number}")
        return redirect("accounting:voucher-detail", r.pk)
    elif action == "delete":
        v = get_in_scope(Voucher.objects, u, VIEW, what="凭证", pk=pk)
        set_id = v.account_set_id
        services.voucher_delete(actor=u, pk=pk)
        messages.success(request, "凭证已删除")
        return redirect(f"/accounting/vouchers/?set={set_id}")
    else:
        raise ValidationFailed([], message="未知操作")
    return redirect("accounting:voucher-detail", pk)


# --- posting rules -----------------------------------------------------------------------------------

@login_required
def rule_list(request):
    permitted = PostingRule.objects.permitted(request.user)  # refuses (403) before the years are read
    years = sorted(set(PostingRule.objects.values_list("year", flat=True)), reverse=True)
    year = _int(request.GET.get("year"), years[0] if years else clock.fiscal_year())
    rules = permitted.filter(year=year).prefetch_related("lines").order_by(
        "chart_kind", "event_type", "priority", "code")
    return render(request, "accounting/rule_list.html", {"rules": rules, "year": year, "years": years,
                                                         "page_title": "记账规则"})

