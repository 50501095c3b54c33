"""Pages of the carry-over proposal (结转结余清单): review the lines with filters and totals, change a line's
decision (HTMX: the row is swapped in place), propose/refresh, execute (confirmed), the progress while a run
executes (polled). Thin: selectors and `services.carryover` do the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ibms.core.errors import DomainError
from ibms.core.money import MoneyError, parse_yuan

from . import selectors
from .services import carryover
from .services.lifecycle import region_name

DECISION_CHOICES = [("", "全部"), ("carry", "结转"), ("recall", "结余收回")]


def _region_year(request) -> tuple[str, int | None]:
    region = (request.GET.get("region") or request.POST.get("region") or getattr(request.user, "region_code", "")
              or "").strip()
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or 0) or None
    except ValueError:
        year = None
    if year is None:
        last = selectors.run_list(actor=request.user, region_code=region).first()
        year = last.year if last else None
    return region, year


@login_required
@require_GET
def carry_page(request):
    region, year = _region_year(request)
    run = selectors.run_find(actor=request.user, region_code=region, year=year) if year else None
    f = {k: (request.GET.get(k) or "").strip() for k in ("unit", "decision", "fund")}
    ctx = {"region": region, "year": year, "region_name": region_name(region) if region else "", "run": run,
           "f": f, "decisions": DECISION_CHOICES,
           "can_propose": request.user.has_perm("closing.add_carryrun"),
           "can_change": request.user.has_perm("closing.change_carryline"),
           "can_execute": request.user.has_perm("closing.execute_carryrun")}
    if run is not None:
        lines = selectors.line_list(actor=request.user, run=run, unit_code=f["unit"], decision=f["decision"],
                                    fund_nature_code=f["fund"])
        ctx["natures"] = selectors.nature_totals(selectors.line_list(actor=request.user, run=run))
        ctx["page"] = Paginator(lines, 100).get_page(request.GET.get("page"))
        ctx["query"] = "&".join(f"{k}={v}" for k, v in (("region", region), ("year", year), *f.items()) if v)
    return render(request, "closing/carry_list.html", ctx)


@login_required
@require_POST
def carry_propose(request):
    region, year = _region_year(request)
    try:
        run = carryover.carry_run_propose(actor=request.user, region_code=region, year=year or 0)
        messages.success(request, f"结转结余清单 {run.number} 已生成，共 {run.line_count} 条")
    except DomainError as exc:
        items = (exc.detail or {}).get("items", []) if isinstance(exc.detail, dict) else []
        messages.error(request, exc.message + ("：" + "；".join(i["label"] for i in items[:10]) if items else ""))
    return redirect(carryover.carry_url(region, year or 0))


@login_required
@require_POST
def carry_line(request, pk: int):
    raw = (request.POST.get("carry_amount") or "").strip()
    errors = []
    try:
        carry = parse_yuan(raw) if raw else None
        carryover.carry_line_change(actor=request.user, line_id=pk, decision=request.POST.get("decision", ""),
                                    carry_amount=carry, reason=request.POST.get("reason", ""))
    except MoneyError:
        errors = [{"code": "amount_invalid", "message": "结转金额格式不正确"}]
    except DomainError as exc:
        if exc.http_status in (403, 404):
            raise
        errors = [v.as_dict() for v in exc.violations_or_self]
    line = selectors.line_get(actor=request.user, pk=pk)
    if not request.htmx:
        for e in errors:
            messages.error(request, e["message"])
        return redirect(carryover.carry_url(line.region_code, line.run.year))
    return render(request, "closing/carry_line.html", {"ln": line, "errors": errors, "can_change": True},
                  status=422 if errors else 200)


@login_required
@require_POST
def carry_execute(request, pk: int):
    run = selectors.run_get(actor=request.user, pk=pk)
    try:
        run = carryover.carry_run_start(actor=request.user, run_id=run.pk)
        if run.status != run.Status.EXECUTED:
            messages.success(request, f"结转结余清单 {run.number} 已开始执行：后台逐批执行，进度见下方；完成后结转部分在"
                                      f"{run.year + 1}年度生效，结余收回")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(carryover.carry_url(run.region_code, run.year))


@login_required
@require_GET
def carry_progress(request, pk: int):
    run = selectors.run_get(actor=request.user, pk=pk)
    response = render(request, "closing/carry_progress.html", {"run": run})
    if request.headers.get("HX-Request") and run.status == run.Status.EXECUTED:
        response["HX-Refresh"] = "true"  # the polled run is done: reload, so each line links its new indicator
    return response
