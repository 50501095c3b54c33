"""Pages of the year end: the checklist a finance bureau works through (thin: `services.lifecycle` does the work).
A step started here runs in the worker; the page polls its progress while it runs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ibms.core.errors import DomainError

from .models import YearStep
from .services import fiscal_year_start, lifecycle


def _pick(request) -> tuple[str, int | None]:
    years = list(lifecycle.years_visible(request.user))
    region = request.GET.get("region") or getattr(request.user, "region_code", "") or (
        years[0].region_code if years else "")
    mine = [fy for fy in years if fy.region_code == region]
    default = next((fy.year for fy in mine if fy.status == "closing"), None) or next(
        (fy.year for fy in mine if fy.status == "executing"), None) or (mine[0].year if mine else None)
    try:
        year = int(request.GET.get("year") or default or 0) or None
    except ValueError:
        year = default
    return region, year


def _context(request, region: str, year: int) -> dict:
    fy, steps = lifecycle.checklist(request.user, region, year)
    running = any(r.status == YearStep.Status.RUNNING for _, r in steps)
    runnable = next((d.code for d, r in steps if r.status != YearStep.Status.DONE), None)
    return {"fy": fy, "steps": steps, "running": running, "runnable": runnable, "region": region, "year": year,
            "region_name": lifecycle.region_name(region),
            "can_run": request.user.has_perm("closing.run_yearstep")}


@login_required
@require_GET
def year_list(request):
    region, year = _pick(request)
    years = list(lifecycle.years_visible(request.user)[:200])
    ctx = {"years": years, "region": region, "year": year, "fy": None}
    if year is not None:
        ctx.update(_context(request, region, year))
    return render(request, "closing/years.html", ctx)


@login_required
@require_GET
def checklist_partial(request, region: str, year: int):
    return render(request, "closing/_checklist.html", _context(request, region, year))


@login_required
@require_POST
def step_start(request, region: str, year: int, step: str):
    try:
        row = lifecycle.step_start(actor=request.user, region_code=region, year=year, step=step)
        name = lifecycle.step_def(step).name
        messages.success(request, f"“{name}”已完成" if row.status == YearStep.Status.DONE
                         else f"“{name}”已开始执行，进度见下方")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"/closing/?region={region}&year={year}")


@login_required
@require_POST
def year_start(request, region: str, year: int):
    try:
        fiscal_year_start(actor=request.user, region_code=region, year=year)
        messages.success(request, f"{year}年度已开始执行")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"/closing/?region={region}&year={year}")
