"""Pages of the generated budget tables: rounds, the tables of a round (version and unit selector), one table,
and a group of tables (all disclosure tables / all department tables) — each as HTML, `?format=xlsx` (one sheet
per table) or `?format=pdf`. Thin: parse, call `reports`, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ibms.core.errors import invalid
from ibms.core.reports import report_response

from . import reports
from .models import Version


def _unit_id(request) -> int | None:
    raw = request.GET.get("unit", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise invalid("unit_invalid", "单位参数不正确", "unit")
    return int(raw)


def _basis(request, round_id: int) -> reports.ReportBasis:
    rnd = reports.report_round_get(actor=request.user, round_id=round_id)
    return reports.report_basis_get(actor=request.user, round=rnd, version=request.GET.get("version", "").strip(),
                                    unit_id=_unit_id(request))


def _context(request, basis: reports.ReportBasis) -> dict:
    return {"round": basis.round, "basis": basis, "versions": Version.choices,
            "units": reports.report_unit_list(actor=request.user, round=basis.round),
            "unit_id": basis.unit.pk if basis.unit else None}


def _filename(basis: reports.ReportBasis, title: str) -> str:
    return f"{basis.round.year}年{basis.scope_label}{title}（{basis.version_label}）"


@login_required
def report_index(request):
    rounds = list(reports.report_round_list(actor=request.user))
    return render(request, "budgeting/reports/index.html", {"rounds": rounds})


@login_required
def round_reports(request, round_id: int):
    basis = _basis(request, round_id)
    groups = [(reports.GROUP_TITLES[g], g, reports.table_specs(g)) for g in (reports.DISCLOSURE, reports.DEPARTMENT)]
    return render(request, "budgeting/reports/round.html", {**_context(request, basis), "groups": groups})


@login_required
def report_table(request, round_id: int, slug: str):
    basis = _basis(request, round_id)
    table = reports.report_table_build(basis, slug)
    return report_response(request, [table], filename=_filename(basis, table.title),
                           template="budgeting/reports/table.html", context=_context(request, basis))


@login_required
def report_group(request, round_id: int, group: str):
    basis = _basis(request, round_id)
    tables = reports.report_group_build(basis, group)
    return report_response(request, tables, filename=_filename(basis, reports.GROUP_TITLES[group]),
                           template="budgeting/reports/table.html", context=_context(request, basis))
