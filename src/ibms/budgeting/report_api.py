"""/api/v1/budgeting/reports/: the generated budget tables as JSON (money as yuan strings, e.g. "1234.56").
Thin: parse, call `reports`, serialize. Mounted by web/api.py with `api.add_router("/budgeting/reports", ...)`."""

from __future__ import annotations

from ninja import Router, Schema

from ibms.core.money import fen_to_str
from ibms.core.reports import MONEY, ReportTable

from . import reports

router = Router(tags=["预算报表"])


class ReportRoundOut(Schema):
    id: int
    region_code: str
    year: int
    name: str
    stage: str


class TableInfo(Schema):
    slug: str
    title: str
    group: str


class ColumnOut(Schema):
    label: str
    kind: str


class TableOut(Schema):
    slug: str
    title: str
    subtitle: str
    version: str
    unit_id: int | None
    columns: list[ColumnOut]
    rows: list[list[str | None]]
    bold_rows: list[int]


def _cell(kind: str, value) -> str | None:
    if value is None or value == "":
        return None
    return fen_to_str(value) if kind == MONEY else str(value)


def _table_out(slug: str, table: ReportTable, basis: reports.ReportBasis) -> dict:
    kinds = [c.kind for c in table.columns]
    return {"slug": slug, "title": table.title, "subtitle": table.subtitle, "version": basis.version,
            "unit_id": basis.unit.pk if basis.unit else None,
            "columns": [{"label": c.label, "kind": c.kind} for c in table.columns],
            "rows": [[_cell(k, v) for k, v in zip(kinds, row, strict=True)] for row in table.rows],
            "bold_rows": sorted(table.bold_rows)}


def _basis(request, round_id: int, version: str, unit_id: int | None) -> reports.ReportBasis:
    rnd = reports.report_round_get(actor=request.auth, round_id=round_id)
    return reports.report_basis_get(actor=request.auth, round=rnd, version=version, unit_id=unit_id)


@router.get("/rounds", response=list[ReportRoundOut], summary="可查看报表的预算编制轮次")
def list_rounds(request):
    return [{"id": r.pk, "region_code": r.region_code, "year": r.year, "name": r.name, "stage": r.stage}
            for r in reports.report_round_list(actor=request.auth)]


@router.get("/tables", response=list[TableInfo], summary="报表目录（部门预算表、部门预算公开表）")
def list_tables(request):
    return [{"slug": s.slug, "title": s.title, "group": s.group} for s in reports.table_specs()]


@router.get("/rounds/{round_id}/tables/{slug}", response=TableOut, summary="一张报表")
def get_table(request, round_id: int, slug: str, version: str = "", unit_id: int | None = None):
    basis = _basis(request, round_id, version, unit_id)
    return _table_out(slug, reports.report_table_build(basis, slug), basis)


@router.get("/rounds/{round_id}/groups/{group}", response=list[TableOut],
            summary="一组报表（disclosure 部门预算公开表 / department 部门预算表）")
def get_group(request, round_id: int, group: str, version: str = "", unit_id: int | None = None):
    basis = _basis(request, round_id, version, unit_id)
    tables = reports.report_group_build(basis, group)
    return [_table_out(s.slug, t, basis) for s, t in zip(reports.table_specs(group), tables, strict=True)]
