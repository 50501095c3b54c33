"""/api/v1/closing/final: the 决算 tables as JSON (rows with line number, name, figures as yuan strings and each
figure's drill-down link) and a figure's drill-down (the voucher lines or carry lines behind it). Read-only;
scoped as the pages (scopes.scope_resolve): a unit sees its own tables, a county its subtree, never a neighbour's."""

from __future__ import annotations

from django.urls import reverse
from ninja import Router, Schema

from ibms.core.money import fen_to_str

from . import compute, layouts
from .scopes import scope_resolve

router = Router(tags=["决算"])


class FinalTableInfo(Schema):
    code: str
    title: str
    report_no: str
    scope: str


class RowOut(Schema):
    line_no: str
    name: str
    level: int
    bold: bool
    values: list[str | None]
    drill: list[str | None]


class FinalTableOut(Schema):
    code: str
    title: str
    report_no: str
    scope: str
    scope_name: str
    year: int
    columns: list[str]
    rows: list[RowOut]
    problems: list[str]
    digest: str


class DrillRowOut(Schema):
    kind: str
    voucher: str
    date: str
    account: str
    summary: str
    dimensions: dict[str, str]
    amount: str
    link: str


class FinalDrillOut(Schema):
    total: str
    count: int
    rows: list[DrillRowOut]


def _page(year: int, scope: str, code: str) -> str:
    return reverse("closing:final-table", args=[year, scope, code])


@router.get("/tables", response=list[FinalTableInfo], summary="决算报表目录")
def table_list(request):
    return [FinalTableInfo(code=d.code, title=d.title, report_no=d.report_no, scope=d.scope)
            for d in layouts.tables().values()]


@router.get("/{year}/{scope}/{code}", response=FinalTableOut, summary="一张决算报表")
def table_get(request, year: int, scope: str, code: str):
    s = scope_resolve(actor=request.auth, year=year, token=scope)
    t = compute.final_compute(actor=request.auth, scope=s, code=code)
    drill = reverse("closing:final-drill", args=[year, scope, code])
    cols = [c.no for c in t.definition.columns]
    rows = [RowOut(line_no=r.label, name=r.name, level=r.level, bold=r.bold,
                   values=[None if v is None else fen_to_str(v) for v in r.values],
                   drill=[None if v is None else f"{drill}?{r.drill_query(c)}" for c, v in zip(cols, r.values,
                                                                                              strict=True)])
            for r in t.rows]
    return FinalTableOut(code=code, title=t.title, report_no=t.definition.report_no, scope=s.token, scope_name=s.name,
                    year=year, columns=t.columns, rows=rows, problems=t.problems, digest=t.digest())


@router.get("/{year}/{scope}/{code}/drill", response=FinalDrillOut, summary="决算数据穿透")
def table_drill(request, year: int, scope: str, code: str, row: int, col: int, key: str | None = None):
    from .views import drill_rows

    s = scope_resolve(actor=request.auth, year=year, token=scope)
    rows, total, count = drill_rows(request.auth, s, code, row, col, key)
    return FinalDrillOut(total=fen_to_str(total), count=count,
                    rows=[DrillRowOut(**{**r, "amount": fen_to_str(r["amount"])}) for r in rows])
