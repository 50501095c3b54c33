"""决算 pages: the index (year, unit/department picker), each table with its figures as drill-down links, the
drill-down page (voucher lines with links to their vouchers, or carry lines), `?format=xlsx` / `?format=pdf`
downloads (core.reports: Excel text never a formula, PDF escaped in the embedded CJK font). Thin: scopes and
compute do the work; read-only, so no transaction and no write route."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from ibms.accounting.models import DIMENSION_LABELS, DIMENSIONS
from ibms.core import clock
from ibms.core.errors import NotFound, PermissionDenied
from ibms.core.reports import pdf_response, to_pdf, to_xlsx
from ibms.core.views import xlsx_response

from . import compute, layouts
from .scopes import scope_resolve, visible_scopes
from .statement_sum import statement_drill


def _year(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return clock.fiscal_year()


@login_required
def final_index(request):
    user = request.user
    year = _year(request.GET.get("year"))
    q = request.GET.get("q", "").strip()
    try:
        scopes = visible_scopes(actor=user, year=year, q=q)
    except PermissionDenied:  # no accounting view permission: only the region's tables (if any)
        scopes = []
    from ibms.core.scoping import scope_of

    regions = []
    if user.has_perm("closing.view_yearstep"):
        s = scope_of(user)
        from ibms.masterdata.models import Region

        qs = Region.objects.all() if s.unrestricted else Region.objects.filter(code__in=s.view_regions)
        regions = list(qs.order_by("code")[:200])
    defs = layouts.tables().values()
    return render(request, "closing/final_index.html", {
        "year": year, "q": q, "scopes": scopes, "regions": regions, "years": range(year - 3, year + 2),
        "unit_tables": [d for d in defs if d.scope == "unit"],
        "region_tables": [d for d in defs if d.scope != "unit"]})


@login_required
def final_table(request, year: int, scope: str, code: str):
    s = scope_resolve(actor=request.user, year=year, token=scope)
    d = layouts.table_def(code)
    if (d.scope == "unit") != (s.kind != "region"):
        raise NotFound("决算报表")
    t = compute.final_compute(actor=request.user, scope=s, code=code)
    fmt = request.GET.get("format", "")
    filename = f"{year}年{s.name}{t.title}"
    if fmt == "xlsx":
        return xlsx_response(to_xlsx([t.report()]), f"{filename}.xlsx")
    if fmt == "pdf":
        return pdf_response(to_pdf([t.report()], title=filename), f"{filename}.pdf")
    drill = reverse("closing:final-drill", args=[year, scope, code])
    cols = [c.no for c in d.columns]
    rows = [{"row": r, "cells": [(v, f"{drill}?{r.drill_query(c)}") for c, v in zip(cols, r.values, strict=True)]}
            for r in t.rows]
    siblings = [x for x in layouts.tables().values() if (x.scope == "unit") == (s.kind != "region")]
    return render(request, "closing/final_table.html", {"t": t, "rows": rows, "scope": s, "year": year,
                                                         "siblings": siblings, "title": filename})


def _dims(line) -> dict[str, str]:
    return {DIMENSION_LABELS[d]: getattr(line, f) for d, f in DIMENSIONS.items() if getattr(line, f)}


def drill_rows(actor, s, code: str, row: int, col: int, key: str | None) -> tuple[list[dict], int, int]:
    """The rows behind a figure as plain dicts (page and API), their total and count."""
    d = layouts.table_def(code)
    if d.scope != "statement":
        try:
            d.row(row), d.column(col)
        except StopIteration:
            raise NotFound("决算数据") from None
    else:
        out = [{"kind": "set", "voucher": a.code, "date": "", "account": "", "summary": a.unit.name if a.unit else
                a.name, "dimensions": {}, "amount": v,
                "link": reverse("accounting:report-statement", args=[d.statement]) + f"?set={a.pk}&start=1&end=12"}
               for a, v in statement_drill(actor=actor, scope=s, d=d, row_no=row, col_no=col)]
        return out, sum(r["amount"] for r in out), len(out)
    if key == compute.BLANK_KEY:
        key = ""
    lines, total, count = compute.drill(actor=actor, scope=s, code=code, row_no=row, col_no=col, key=key)
    out = []
    for dl in lines:
        ln = dl.line
        if hasattr(ln, "voucher"):
            v = ln.voucher
            out.append({"kind": "voucher_line", "voucher": f"{v.account_set.code} {v}", "date": v.date.isoformat(),
                        "account": ln.account_code, "summary": ln.summary or v.summary, "dimensions": _dims(ln),
                        "amount": dl.amount, "link": reverse("accounting:voucher-detail", args=[v.pk])})
        else:
            ind = ln.indicator
            out.append({"kind": "carry_line", "voucher": ln.run.number, "date": "", "account": ind.code,
                        "summary": f"{ind.summary}（{ln.get_decision_display()}）", "amount": dl.amount,
                        "dimensions": {"资金性质": ind.fund_nature_code, "功能分类": ind.exp_func_code},
                        "link": reverse("indicators:detail", args=[ind.pk])})
    return out, total, count


@login_required
def final_drill(request, year: int, scope: str, code: str):
    s = scope_resolve(actor=request.user, year=year, token=scope)
    t = compute.final_compute(actor=request.user, scope=s, code=code)
    try:
        row, col = int(request.GET.get("row", "")), int(request.GET.get("col", ""))
    except ValueError:
        raise NotFound("决算数据") from None
    key = request.GET.get("key")
    rows, total, count = drill_rows(request.user, s, code, row, col, key)
    want = key if key != compute.BLANK_KEY else ""
    match = next((r for r in t.rows if r.row_no == row and r.key == want), None)
    figure = None
    if match is not None:
        figure = match.values[[c.no for c in t.definition.columns].index(col)]
    ledger = None
    if layouts.table_def(code).scope == "unit":
        ledger = compute.indicator_drill(actor=request.user, scope=s, code=code, row_no=row, col_no=col,
                                         key="" if key == compute.BLANK_KEY else key)
    return render(request, "closing/final_drill.html", {
        "ledger": ledger[0] if ledger else None, "ledger_total": ledger[1] if ledger else None,
        "t": t, "scope": s, "year": year, "rows": rows, "total": total, "count": count, "figure": figure,
        "row_name": match.name if match else "", "col_name": t.definition.column(col).name,
        "back": reverse("closing:final-table", args=[year, scope, code])})
