"""The department budget tables (部门预算表): revenue, expenditure, projects, basic expenditure, procurement."""

from __future__ import annotations

from django.db.models import QuerySet, Sum

from ibms.core.errors import invalid
from ibms.core.reports import TEXT, ReportColumn, ReportTable

from .basis import BASIC, EXPENDITURE, PROJECT, Fact, ReportBasis
from .layout import INDENT
from .rows import _add, _col, _eco_table, _func_table, fund_columns, tree_rows

MAX_DETAIL_ROWS = 20_000  # project-level tables beyond this must be asked per department


def table_dept_revenue(b: ReportBasis) -> ReportTable:
    """收入预算表: revenue sources (value set tree, with subtotals) × fund columns."""
    facts = b.revenue()
    fcols, col_of = fund_columns(b, facts)
    width = 1 + len(fcols)
    sums: dict[str, list[int]] = {}
    for f in facts:
        vals = [0] * width
        vals[0] = vals[1 + col_of(f.fund)] = f.amount
        _add(sums.setdefault(f.revenue, [0] * width), vals)
    items = b.value_set_items("bgt_revenue")
    parent = {c: p or None for c, _, p in items}
    names = {c: n for c, n, _ in items}
    rows, bold = tree_rows(sums, parent_of=lambda c: parent.get(c), names=names, width=width,
                           keep=[c for c, _, _ in items])
    cols = [ReportColumn("收入来源编码", TEXT, 0.8), ReportColumn("收入来源", TEXT, 2.0), _col("合计"), *fcols]
    return ReportTable("收入预算表", cols, rows, subtitle=b.subtitle, bold_rows=bold)


def table_dept_expenditure(b: ReportBasis) -> ReportTable:
    """支出预算表: function classes × 基本支出 (人员经费, 公用经费) / 项目支出, every fund nature."""
    return _func_table(b, "支出预算表", b.expenditure(), split=True)


def _detail_rows(qs: QuerySet) -> list[dict]:
    data = list(qs[:MAX_DETAIL_ROWS + 1])
    if len(data) > MAX_DETAIL_ROWS:
        raise invalid("report_too_large", f"明细超过 {MAX_DETAIL_ROWS} 行，请选择部门后查看", "unit")
    return data


def table_dept_projects(b: ReportBasis) -> ReportTable:
    """项目支出表: every project with 项目支出 lines, by unit, × fund columns."""
    qs = (b.lines.filter(direction=EXPENDITURE, exp_kind=PROJECT)
          .values("unit_id", "project__code", "project__name", "project__category", "exp_func_code",
                  "fund_nature_code").annotate(total=Sum("amount")).order_by())
    data = _detail_rows(qs)
    fcols, col_of = fund_columns(b, [Fact(0, 0, "", "", "", r["fund_nature_code"], "", "", 0) for r in data])
    width = 1 + len(fcols)
    categories = b.names("pro_kind")
    projects: dict[tuple[int, str], dict] = {}
    for r in data:
        p = projects.setdefault((r["unit_id"], r["project__code"]), {
            "name": r["project__name"], "category": categories.get(r["project__category"], r["project__category"]),
            "funcs": set(), "vals": [0] * width})
        p["funcs"].add(r["exp_func_code"])
        p["vals"][0] += int(r["total"])
        p["vals"][1 + col_of(r["fund_nature_code"])] += int(r["total"])
    total = [0] * width
    rows: list[list] = [["", "合计", "", "", *total]]
    bold = {0}
    for uid in sorted({u for u, _ in projects}, key=lambda u: b.unit_of(u).path):
        unit = b.unit_of(uid)
        mine = sorted(code for u, code in projects if u == uid)
        sub = [0] * width
        for code in mine:
            _add(sub, projects[(uid, code)]["vals"])
        _add(total, sub)
        rows.append([unit.code, unit.name, "", "", *sub])
        bold.add(len(rows) - 1)
        for code in mine:
            p = projects[(uid, code)]
            rows.append([code, INDENT + p["name"], p["category"], "、".join(sorted(p["funcs"])), *p["vals"]])
    rows[0] = ["", "合计", "", "", *total]
    cols = [ReportColumn("单位/项目编码", TEXT, 1.3), ReportColumn("单位/项目名称", TEXT, 2.0),
            ReportColumn("项目类别", TEXT, 0.8), ReportColumn("功能分类", TEXT, 0.8), _col("合计"), *fcols]
    return ReportTable("项目支出表", cols, rows, subtitle=b.subtitle, bold_rows=bold)


def table_dept_basic(b: ReportBasis) -> ReportTable:
    """基本支出表: department economic classes × 人员经费 / 公用经费, every fund nature."""
    return _eco_table(b, "基本支出表", b.expenditure(lambda f: f.exp_kind == BASIC))


def table_dept_procurement(b: ReportBasis) -> ReportTable:
    """政府采购预算表: the lines flagged 政府采购, by unit and project and economic class, × fund columns."""
    qs = (b.lines.filter(direction=EXPENDITURE, is_gov_pur=True)
          .values("unit_id", "project__code", "project__name", "dep_eco_code", "fund_nature_code")
          .annotate(total=Sum("amount")).order_by())
    data = _detail_rows(qs)
    fcols, col_of = fund_columns(b, [Fact(0, 0, "", "", "", r["fund_nature_code"], "", "", 0) for r in data])
    width = 1 + len(fcols)
    eco_names = b.names("dep_eco", {r["dep_eco_code"] for r in data})
    items: dict[tuple[int, str, str], dict] = {}
    for r in data:
        key = (r["unit_id"], r["project__code"] or "", r["dep_eco_code"])
        it = items.setdefault(key, {"name": r["project__name"] or "", "vals": [0] * width})
        it["vals"][0] += int(r["total"])
        it["vals"][1 + col_of(r["fund_nature_code"])] += int(r["total"])
    total = [0] * width
    rows: list[list] = []
    bold = {0}
    for uid in sorted({k[0] for k in items}, key=lambda u: b.unit_of(u).path):
        unit = b.unit_of(uid)
        keys = sorted(k for k in items if k[0] == uid)
        sub = [0] * width
        for k in keys:
            _add(sub, items[k]["vals"])
        _add(total, sub)
        rows.append([unit.code, unit.name, "", *sub])
        bold.add(len(rows))
        for k in keys:
            eco = f"{k[2]} {eco_names.get(k[2], '')}".strip()
            rows.append([k[1], INDENT + items[k]["name"], eco, *items[k]["vals"]])
    rows.insert(0, ["", "合计", "", *total])
    cols = [ReportColumn("单位/项目编码", TEXT, 1.3), ReportColumn("单位/项目名称", TEXT, 2.0),
            ReportColumn("部门经济分类", TEXT, 1.2), _col("合计"), *fcols]
    return ReportTable("政府采购预算表", cols, rows, subtitle=b.subtitle, bold_rows=bold)
