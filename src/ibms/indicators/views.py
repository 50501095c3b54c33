"""Indicator pages: thin — parse a form, call one service or selector, render. Domain errors from a service are
shown on the same form with their Chinese message (status 422/409/404 …)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from ibms.core import excel
from ibms.core.errors import DomainError, NotFound, Violation
from ibms.core.scoping import require_perm
from ibms.core.views import xlsx_response

from . import forms as f
from . import selectors, services
from .models import BUCKETS, Indicator, Reallocation, SourceDocument, TransferNotice
from .tables import IndicatorTable, flag_labels

EXPORT_COLUMNS = [
    excel.Column("code", "指标编码", width=24), excel.Column("region_code", "财政区划"),
    excel.Column("year", "年度", kind="int"), excel.Column("doc_no", "来源文号", width=28),
    excel.Column("source_kind", "来源"), excel.Column("department", "主管部门", width=24),
    excel.Column("unit", "预算单位", width=28), excel.Column("project", "项目", width=28),
    excel.Column("fund_nature_code", "资金性质"), excel.Column("exp_func_code", "功能分类"),
    excel.Column("dep_eco_code", "部门经济分类"), excel.Column("gov_eco_code", "政府经济分类"),
    excel.Column("executable", "可执行"), excel.Column("flags", "标识", width=20),
    excel.Column("amount", "指标金额", kind="money"), excel.Column("available", "可用余额", kind="money"),
    excel.Column("reserved", "预占", kind="money"), excel.Column("spent", "已支付", kind="money"),
    excel.Column("frozen", "冻结", kind="money"), excel.Column("allotted", "已下达/转出", kind="money"),
    excel.Column("summary", "指标说明", width=30),
]


def _export_row(ind: Indicator) -> dict:
    return {"code": ind.code, "region_code": ind.region_code, "year": ind.year, "doc_no": ind.source.doc_no,
            "source_kind": ind.source.get_kind_display(), "department": str(ind.department or ""),
            "unit": str(ind.unit or "（财政待分）"), "project": str(ind.project or ""),
            "fund_nature_code": ind.fund_nature_code, "exp_func_code": ind.exp_func_code,
            "dep_eco_code": ind.dep_eco_code, "gov_eco_code": ind.gov_eco_code,
            "executable": "可执行" if ind.is_executable else "待分", "flags": flag_labels(ind),
            "summary": ind.summary, **{b: getattr(ind, b) for b in ("amount", *BUCKETS)}}


@login_required
def indicator_list(request):
    form = f.FilterForm(request.GET or None)
    qs = selectors.indicator_list(actor=request.user, **form.params())
    if request.GET.get("export") == "xlsx":
        rows = (_export_row(i) for i in qs.iterator(chunk_size=2000))
        return xlsx_response(excel.export_rows(EXPORT_COLUMNS, rows, title="预算指标"), "预算指标.xlsx")
    table = IndicatorTable(qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "indicators/list.html", {"table": table, "form": form})


@login_required
def indicator_detail(request, pk: int):
    lin = selectors.indicator_lineage(actor=request.user, pk=pk)
    ind = lin.indicator
    entries = Paginator(selectors.indicator_entries(actor=request.user, pk=pk), 100).get_page(request.GET.get("page"))
    can_change = selectors.indicator_changeable(actor=request.user, pk=pk)
    return render(request, "indicators/detail.html", {
        "ind": ind, "lin": lin, "entries": entries, "can_change": can_change, "flags": flag_labels(ind),
        "bucket_rows": [("指标金额", ind.amount), ("可用余额", ind.available), ("预占", ind.reserved),
                        ("已支付", ind.spent), ("冻结", ind.frozen), ("已下达/转出", ind.allotted)]})


# --- movement forms ---------------------------------------------------------------------------------------------

def _doc(data, region_code: str) -> services.Doc:
    return services.Doc(doc_no=data["doc_no"].strip(), title=data["doc_title"].strip(),
                        doc_date=f.default_date(data.get("doc_date"), region_code),
                        upper_doc_no=(data.get("upper_doc_no") or "").strip(),
                        adj_batch_no=(data.get("adj_batch_no") or "").strip())


MOVES = {
    # name: (title, form, call(actor, ind, data) -> None)
    "increase": ("追加", f.IncreaseForm, lambda a, i, d: services.indicator_increase(
        actor=a, indicator_id=i.pk, amount=d["amount"], kind=d["kind"], doc=_doc(d, i.region_code),
        memo=d.get("memo") or "")),
    "decrease": ("追减", f.AmountForm, lambda a, i, d: services.indicator_decrease(
        actor=a, indicator_id=i.pk, amount=d["amount"], doc=_doc(d, i.region_code), memo=d.get("memo") or "")),
    "adjust": ("预算调整", f.AdjustForm, lambda a, i, d: services.indicator_adjust(
        actor=a, indicator_id=i.pk, delta=d["amount"] if d["direction"] == "+" else -d["amount"],
        doc=_doc(d, i.region_code), memo=d.get("memo") or "")),
    "freeze": ("冻结", f.AmountForm, lambda a, i, d: services.indicator_freeze(
        actor=a, indicator_id=i.pk, amount=d["amount"], doc=_doc(d, i.region_code), reason=d.get("memo") or "")),
    "unfreeze": ("解冻", f.AmountForm, lambda a, i, d: services.indicator_unfreeze(
        actor=a, indicator_id=i.pk, amount=d["amount"], doc=_doc(d, i.region_code), reason=d.get("memo") or "")),
    "recall": ("收回", f.AmountForm, lambda a, i, d: services.indicator_recall(
        actor=a, indicator_id=i.pk, amount=d["amount"], doc=_doc(d, i.region_code), memo=d.get("memo") or "")),
    "transfer": ("转移支付下达", f.TransferForm, lambda a, i, d: services.transfer_allot(
        actor=a, indicator_id=i.pk, rec_region_code=d["rec_region_code"].strip(), amount=d["amount"],
        kind=d["kind"], transfer_type=d["transfer_type"], doc=_doc(d, i.region_code))),
}



@login_required
@require_http_methods(["GET", "POST"])
def indicator_move(request, pk: int, move: str):
    if move not in MOVES:
        raise NotFound("页面")
    title, form_class, call = MOVES[move]
    require_perm(request.user, "indicators.change_indicator")
    ind = selectors.indicator_get(actor=request.user, pk=pk)
    errors, status = [], 200
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            call(request.user, ind, form.cleaned_data)
            return redirect("indicators:detail", pk)
        except DomainError as exc:
            errors, status = exc.violations_or_self, exc.http_status
    elif request.method == "POST":
        status = 422
    return render(request, "indicators/move.html", {"ind": ind, "title": title, "form": form, "errors": errors,
                                                    "move": move}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def indicator_distribute(request, pk: int):
    require_perm(request.user, "indicators.change_indicator")
    ind = selectors.indicator_get(actor=request.user, pk=pk)
    errors, status = [], 200
    form = f.DocFields(request.POST or None)
    lines = f.SplitFormSet(request.POST or None, prefix="lines")
    if request.method == "POST":
        status = 422
        if form.is_valid() and lines.is_valid():
            wanted = [d for d in lines.cleaned_data if d]
            units = selectors.unit_ids_by_code(region_code=ind.region_code,
                                               codes=[d["unit_code"].strip() for d in wanted])
            missing = [d["unit_code"] for d in wanted if d["unit_code"].strip() not in units]
            if missing:
                errors = [Violation("unit_unknown", f"本区划不存在单位：{'、'.join(missing)}")]
            else:
                try:
                    services.indicator_distribute(
                        actor=request.user, indicator_id=pk, doc=_doc(form.cleaned_data, ind.region_code),
                        splits=[services.Split(unit_id=units[d["unit_code"].strip()], amount=d["amount"],
                                               dep_eco_code=(d.get("dep_eco_code") or "").strip()) for d in wanted])
                    return redirect("indicators:detail", pk)
                except DomainError as exc:
                    errors, status = exc.violations_or_self, exc.http_status
    return render(request, "indicators/distribute.html", {"ind": ind, "form": form, "lines": lines,
                                                          "errors": errors}, status=status)


# --- 调剂 -----------------------------------------------------------------------------------------------------

@login_required
def reallocation_list(request):
    rows = selectors.reallocation_list(actor=request.user, status=request.GET.get("status", ""))
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(request, "indicators/reallocation_list.html", {
        "page": page, "statuses": Reallocation.Status.choices,
        "can_submit": request.user.has_perm("indicators.add_reallocation")})


@login_required
@require_http_methods(["GET", "POST"])
def reallocation_new(request):
    require_perm(request.user, "indicators.add_reallocation")
    form = f.ReallocationForm(request.POST or None)
    outs = f.OutFormSet(request.POST or None, prefix="out")
    ins = f.InFormSet(request.POST or None, prefix="in")
    errors, status = [], 200
    if request.method == "POST":
        status = 422
        if form.is_valid() and outs.is_valid() and ins.is_valid():
            out_rows = [d for d in outs.cleaned_data if d]
            in_rows = [d for d in ins.cleaned_data if d]
            codes = {d["indicator_code"].strip() for d in (*out_rows, *in_rows) if d.get("indicator_code")}
            by_code = selectors.indicator_ids_by_code(actor=request.user, codes=codes)
            units = selectors.unit_ids_by_code(region_code=getattr(request.user, "region_code", ""), codes=[
                d["unit_code"].strip() for d in in_rows if d.get("unit_code")])
            missing = sorted(codes - set(by_code)) + sorted(
                d["unit_code"] for d in in_rows if not d.get("indicator_code") and d["unit_code"].strip() not in units)
            if missing:
                errors = [Violation("not_found", f"指标或单位不存在或无权访问：{'、'.join(missing)}")]
            else:
                try:
                    r = services.reallocation_submit(
                        actor=request.user, reason=form.cleaned_data["reason"],
                        outs=[(by_code[d["indicator_code"].strip()], d["amount"]) for d in out_rows],
                        ins=[services.ReallocIn(
                            amount=d["amount"],
                            indicator_id=by_code[d["indicator_code"].strip()] if d.get("indicator_code") else None,
                            unit_id=None if d.get("indicator_code") else units[d["unit_code"].strip()],
                            exp_func_code=(d.get("exp_func_code") or "").strip(),
                            dep_eco_code=(d.get("dep_eco_code") or "").strip()) for d in in_rows])
                    return redirect("indicators:reallocation-detail", r.pk)
                except DomainError as exc:
                    errors, status = exc.violations_or_self, exc.http_status
    return render(request, "indicators/reallocation_new.html", {"form": form, "outs": outs, "ins": ins,
                                                                "errors": errors}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def reallocation_detail(request, pk: int):
    r = selectors.reallocation_get(actor=request.user, pk=pk)
    form = f.ReviewForm(request.POST or None)
    errors, status = [], 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.reallocation_review(actor=request.user, pk=pk,
                                             approve=form.cleaned_data["decision"] == "approve",
                                             comment=form.cleaned_data.get("comment") or "")
                return redirect("indicators:reallocation-detail", pk)
            except DomainError as exc:
                errors, status = exc.violations_or_self, exc.http_status
    lines = selectors.reallocation_lines(r)
    can_review = (r.status == Reallocation.Status.SUBMITTED and request.user.has_perm("indicators.change_reallocation")
                  and r.submitted_by_id != request.user.pk)
    return render(request, "indicators/reallocation_detail.html", {
        "r": r, "lines": lines, "form": form, "errors": errors, "can_review": can_review}, status=status)


# --- transfer payments ------------------------------------------------------------------------------------------

@login_required
def transfer_list(request):
    rows = selectors.transfer_notice_list(actor=request.user, status=request.GET.get("status", ""))
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(request, "indicators/transfer_list.html", {"page": page,
                                                             "statuses": TransferNotice.Status.choices})


@login_required
@require_http_methods(["GET", "POST"])
def transfer_detail(request, pk: int):
    notice = selectors.transfer_notice_get(actor=request.user, pk=pk)
    form = f.ReceiveForm(request.POST or None)
    errors, status = [], 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                ind = services.transfer_receive(actor=request.user, notice_id=pk,
                                                doc_no=form.cleaned_data["doc_no"].strip(),
                                                doc_title=(form.cleaned_data.get("doc_title") or "").strip(),
                                                doc_date=form.cleaned_data.get("doc_date"))
                return redirect("indicators:detail", ind.pk)
            except DomainError as exc:
                errors, status = exc.violations_or_self, exc.http_status
    can_receive = selectors.transfer_notice_receivable(actor=request.user, notice=notice)
    return render(request, "indicators/transfer_detail.html", {"n": notice, "form": form, "errors": errors,
                                                               "can_receive": can_receive}, status=status)


@login_required
def document_list(request):
    year = request.GET.get("year", "")
    rows = selectors.source_document_list(actor=request.user, year=int(year) if year.isdigit() else None,
                                      kind=request.GET.get("kind", ""), q=request.GET.get("q", "").strip())
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(request, "indicators/document_list.html", {"page": page, "kinds": SourceDocument.Kind.choices})
