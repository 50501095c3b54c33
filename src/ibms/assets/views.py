"""资产管理 pages: the unit's asset cards (register with totals, Excel), a card with its changes and depreciation
schedule, 存量录入, a change (增用修废) with its approval, depreciation runs, the depreciation schedule (Excel). Thin:
parse a form, call one service or selector, render; domain errors are shown with every reason."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.accounting.models import AccountSet
from ibms.core import clock, excel
from ibms.core.errors import DomainError
from ibms.core.scoping import get_in_scope
from ibms.core.views import xlsx_response

from . import selectors, services
from .forms import ChangeForm, OpeningForm, RunForm
from .models import AssetCard, AssetChange, DepreciationRun
from .services import ChangeIn, OpeningIn
from .services._common import P_ADD_CARD, P_ADD_CHANGE, P_CHANGE_CARD, P_DEPRECIATE, P_REVIEW

REGISTER_COLUMNS = [
    excel.Column("number", "卡片编号"), excel.Column("unit", "使用单位"), excel.Column("asset_class", "资产分类代码"),
    excel.Column("class_name", "资产分类"), excel.Column("name", "资产名称"), excel.Column("quantity", "数量"),
    excel.Column("location", "存放地点"), excel.Column("user_name", "使用人"),
    excel.Column("original_value", "原值", kind="money"), excel.Column("accumulated", "累计折旧", kind="money"),
    excel.Column("net_value", "净值", kind="money"), excel.Column("life", "使用年限（月）"),
    excel.Column("acquired_date", "取得日期"), excel.Column("status", "状态"),
]
SCHEDULE_COLUMNS = [excel.Column("number", "卡片编号"), excel.Column("name", "资产名称"),
                    *[excel.Column(f"m{m}", f"{m}月", kind="money") for m in range(1, 13)],
                    excel.Column("total", "本年合计", kind="money"), excel.Column("accumulated", "累计折旧", kind="money")]


def _register_row(c: AssetCard) -> dict:
    return {"number": c.number, "unit": c.unit.name, "asset_class": c.asset_class, "class_name": c.class_name,
            "name": c.name, "quantity": str(c.quantity), "location": c.location, "user_name": c.user_name,
            "original_value": c.original_value, "accumulated": c.accumulated, "net_value": c.net_value,
            "life": str(c.useful_life_months), "acquired_date": c.acquired_date.isoformat(),
            "status": c.get_status_display()}


@login_required
def card_list(request):
    status, q = request.GET.get("status", ""), request.GET.get("q", "").strip()
    if request.GET.get("format") == "xlsx":
        rows = (_register_row(c) for c in selectors.register(actor=request.user).iterator())
        return xlsx_response(excel.export_rows(REGISTER_COLUMNS, rows, title="资产登记簿"), "资产登记簿.xlsx")
    rows = selectors.card_list(actor=request.user, status=status, q=q)
    totals = selectors.register_totals(selectors.register(actor=request.user))
    tpl = "assets/_card_rows.html" if request.htmx else "assets/card_list.html"
    return render(request, tpl, {"rows": rows[:200], "status": status, "q": q, "totals": totals,
                                 "statuses": AssetCard.Status.choices,
                                 "can_add": request.user.has_perm(P_ADD_CARD)})


@login_required
@require_http_methods(["GET", "POST"])
def card_new(request):
    form = OpeningForm(request.POST or None, user=request.user)
    errors: list = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            card = services.card_open(actor=request.user, data=OpeningIn(
                unit_id=d["unit_id"], asset_class=d["asset_class"], name=d["name"], quantity=d["quantity"],
                original_value=d["original_value"], accumulated=d.get("accumulated") or 0,
                acquired_date=d["acquired_date"], location=d.get("location") or "", user_name=d.get("user_name") or "",
                custodian=d.get("custodian") or "", source=d["source"]))
            return redirect("assets:card-detail", pk=card.pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "assets/card_new.html", {"form": form, "errors": errors}, status=422 if errors else 200)


def _card_page(request, card, form=None, errors=None, status=200):
    u = request.user
    return render(request, "assets/card_detail.html", {
        "c": card, "changes": card.changes.order_by("id"), "lines": card.depreciation.order_by("year", "month"),
        "form": form or ChangeForm(region_code=card.region_code), "errors": errors or [],
        "can_change": card.status == AssetCard.Status.IN_USE and (u.has_perm(P_ADD_CHANGE) or u.has_perm(P_CHANGE_CARD))},
        status=status)


@login_required
def card_detail(request, pk: int):
    return _card_page(request, get_in_scope(AssetCard.objects.select_related("unit"), request.user, what="资产卡片",
                                            pk=pk))


@login_required
@require_POST
def change_new(request, pk: int):
    card = get_in_scope(AssetCard.objects.select_related("unit"), request.user, what="资产卡片", pk=pk)
    form = ChangeForm(request.POST, region_code=card.region_code)
    if not form.is_valid():
        return _card_page(request, card, form, status=422)
    d = form.cleaned_data
    try:
        ch = services.change_create(actor=request.user, data=ChangeIn(
            card_id=card.pk, kind=d["kind"], reason=d.get("reason") or "", to_user_name=d.get("to_user_name") or "",
            to_custodian=d.get("to_custodian") or "", to_location=d.get("to_location") or "",
            amount=d.get("amount") or 0, extends_life_months=d.get("extends_life_months") or 0,
            disposal=d.get("disposal") or "", proceeds=d.get("proceeds") or 0, to_unit_id=d.get("to_unit_id")))
    except DomainError as exc:
        return _card_page(request, card, form, exc.violations_or_self, status=422)
    return redirect("assets:change-detail", pk=ch.pk)


def _change_page(request, ch, errors=None, status=200):
    return render(request, "assets/change_detail.html", {
        "ch": ch, "errors": errors or [],
        "can_review": ch.status == AssetChange.Status.SUBMITTED and request.user.has_perm(P_REVIEW)}, status=status)


@login_required
def change_detail(request, pk: int):
    return _change_page(request, get_in_scope(AssetChange.objects.select_related("card", "to_unit"), request.user,
                                              what="资产变动", pk=pk))


@login_required
@require_POST
def change_action(request, pk: int, action: str):
    if action not in ("approve", "return"):
        raise Http404
    try:
        services.change_review(actor=request.user, pk=pk, approve=action == "approve",
                               comment=request.POST.get("comment", ""))
    except DomainError as exc:
        ch = get_in_scope(AssetChange.objects.select_related("card"), request.user, what="资产变动", pk=pk)
        return _change_page(request, ch, exc.violations_or_self, status=422)
    return redirect("assets:change-detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def depreciation(request):
    rows = selectors.run_list(actor=request.user)
    today = clock.today(getattr(request.user, "region_code", "") or None)
    sets = AccountSet.objects.restrict(request.user).filter(kind=AccountSet.Kind.UNIT, year=today.year).order_by("id")
    form = RunForm(request.POST or None, sets=sets[:300], initial={"year": today.year, "month": today.month})
    errors: list = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.depreciation_run(actor=request.user, account_set_id=d["account_set_id"], year=d["year"],
                                      month=d["month"])
            return redirect("assets:depreciation")
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "assets/depreciation.html", {
        "rows": rows[:200], "form": form, "errors": errors,
        "can_run": request.user.has_perm(P_DEPRECIATE)}, status=422 if errors else 200)


@login_required
def schedule(request):
    DepreciationRun.objects.permitted(request.user).exists()  # 403 without the view permission
    try:
        year = int(request.GET.get("year") or clock.today().year)
    except ValueError:
        year = clock.today().year
    rows = selectors.schedule(actor=request.user, year=year)
    if request.GET.get("format") == "xlsx":
        data = ({"number": r["card"].number, "name": r["card"].name, "total": r["total"],
                 "accumulated": r["card"].accumulated, **{f"m{m}": r["months"][m - 1] for m in range(1, 13)}}
                for r in rows)
        return xlsx_response(excel.export_rows(SCHEDULE_COLUMNS, data, title=f"{year}年折旧明细表"), f"{year}年折旧明细表.xlsx")
    return render(request, "assets/schedule.html", {"rows": rows, "year": year, "months": range(1, 13)})
