"""The eight public disclosure tables (部门预算公开)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from ibms.core.reports import TEXT, ReportColumn, ReportTable

from .basis import BASIC, Fact, ReportBasis
from .layout import UNCLASSIFIED
from .rows import UNIT_COLS, _add, _col, _eco_table, _func_table, numeral, revenue_items, unit_rows


def _class_rows(b: ReportBasis, facts: Iterable[Fact], width: int,
                vals: Callable[[Fact], list[int]]) -> list[tuple[str, list[int]]]:
    """(“类 name”, values) per function class 类 that has amounts, in code order."""
    sums: dict[str, list[int]] = {}
    for f in facts:
        _add(sums.setdefault(f.func[:3], [0] * width), vals(f))
    names = b.names("exp_func", sums)
    return [(f"{names.get(c, c) if c else UNCLASSIFIED}", sums[c]) for c in sorted(sums)]


def table_summary(b: ReportBasis) -> ReportTable:
    """收支总表: revenue by source beside expenditure by function class 类; totals side by side."""
    current, carry = revenue_items(b)
    rev: dict[str, int] = defaultdict(int)
    for f in b.revenue():
        rev[f.revenue] += f.amount
    left = [(f"{numeral(i)}、{it.name}", rev[it.code]) for i, it in enumerate(current, 1)]
    right = [(f"{numeral(i)}、{name}", v[0]) for i, (name, v) in
             enumerate(_class_rows(b, b.expenditure(), 1, lambda f: [f.amount]), 1)]
    rows: list[list] = []
    for i in range(max(len(left), len(right))):
        lt = left[i] if i < len(left) else ("", None)
        rt = right[i] if i < len(right) else ("", None)
        rows.append([lt[0], lt[1], rt[0], rt[1]])
    rev_current = sum(v for _, v in left)
    rev_carry = sum(rev[it.code] for it in carry)
    exp_total = sum(v for _, v in right)
    bold_from = len(rows)
    rows.append(["本年收入合计", rev_current, "本年支出合计", exp_total])
    rows.append(["上年结转", rev_carry, "结转下年", 0])
    rows.append(["收入总计", rev_current + rev_carry, "支出总计", exp_total])
    cols = [ReportColumn("收入项目", TEXT, 2.0), _col("预算数"), ReportColumn("支出项目", TEXT, 2.0), _col("预算数")]
    return ReportTable("收支总表", cols, rows, subtitle=b.subtitle, bold_rows={bold_from, bold_from + 1, bold_from + 2})


def table_revenue_total(b: ReportBasis) -> ReportTable:
    """收入总表: units × 合计 / 上年结转 / each revenue source."""
    current, carry = revenue_items(b)
    order = [*carry, *current]
    index = {it.code: i for i, it in enumerate(order)}
    width = 1 + len(order)
    sums: dict[int, list[int]] = {}
    for f in b.revenue():
        vals = [0] * width
        vals[0] = vals[1 + index[f.revenue]] = f.amount
        _add(sums.setdefault(f.unit_id, [0] * width), vals)
    rows, bold = unit_rows(b, sums, width)
    cols = [*UNIT_COLS, _col("合计"), *[_col(it.name) for it in order]]
    return ReportTable("收入总表", cols, rows, subtitle=b.subtitle, bold_rows=bold)


def table_expenditure_total(b: ReportBasis) -> ReportTable:
    """支出总表: function classes × 合计 / 基本支出 / 项目支出, every fund nature."""
    return _func_table(b, "支出总表", b.expenditure(), split=False)


def table_fiscal_summary(b: ReportBasis) -> ReportTable:
    """财政拨款收支总表: 财政拨款 revenue (本年 and 上年结转, by fund) beside 财政拨款 expenditure by 类 × fund."""
    lay = b.layout
    funds = list(lay.fiscal_funds)
    width = 1 + len(funds)
    pos = {g.key: i for i, g in enumerate(funds)}

    def split(amount: int, fund: str) -> list[int]:
        vals = [0] * width
        vals[0] = amount
        if lay.fund_key(fund) in pos:
            vals[1 + pos[lay.fund_key(fund)]] = amount
        return vals

    cur = [0] * width
    carry = [0] * width
    for f in b.revenue():
        if lay.is_fiscal(f.fund):
            _add(carry if f.revenue in lay.carry_over else cur, split(f.amount, f.fund))
    spend = _class_rows(b, b.expenditure(lambda f: lay.is_fiscal(f.fund)), width, lambda f: split(f.amount, f.fund))
    exp_total = [0] * width
    for _, v in spend:
        _add(exp_total, v)
    left: list[tuple[str, int | None]] = [("一、本年收入", cur[0])]
    left += [(f"（{numeral(i)}）{g.name}拨款", cur[1 + pos[g.key]]) for i, g in enumerate(funds, 1)]
    left.append(("二、上年结转", carry[0]))
    left += [(f"（{numeral(i)}）{g.name}拨款", carry[1 + pos[g.key]]) for i, g in enumerate(funds, 1)]
    right: list[tuple[str, list[int | None]]] = [("一、本年支出", list(exp_total))]
    right += [(f"（{numeral(i)}）{name}", list(v)) for i, (name, v) in enumerate(spend, 1)]
    right.append(("二、结转下年", [0] * width))
    rows: list[list] = []
    bold: set[int] = set()
    for i in range(max(len(left), len(right))):
        lt = left[i] if i < len(left) else ("", None)
        rt = right[i] if i < len(right) else ("", [None] * width)
        rows.append([lt[0], lt[1], rt[0], *rt[1]])
        if lt[0].startswith(("一、", "二、")):  # bold is per row: the revenue side's headings lead
            bold.add(i)
    income = cur[0] + carry[0]
    rows.append(["收入总计", income, "支出总计", *exp_total])
    bold.add(len(rows) - 1)
    cols = [ReportColumn("收入项目", TEXT, 1.8), _col("预算数"), ReportColumn("支出项目", TEXT, 1.8), _col("合计"),
            *[_col(g.name) for g in funds]]
    return ReportTable("财政拨款收支总表", cols, rows, subtitle=b.subtitle, bold_rows=bold)


def _fund_facts(b: ReportBasis, key: str, kind: str | None = None) -> list[Fact]:
    return b.expenditure(lambda f: b.layout.fund_key(f.fund) == key and (kind is None or f.exp_kind == kind))


def table_general_expenditure(b: ReportBasis) -> ReportTable:
    """一般公共预算支出表: function classes × 基本支出 (人员经费, 公用经费) / 项目支出."""
    return _func_table(b, f"{b.layout.fund('general').name}支出表", _fund_facts(b, "general"), split=True)


def table_general_basic(b: ReportBasis) -> ReportTable:
    """一般公共预算基本支出表: department economic classes × 人员经费 / 公用经费."""
    return _eco_table(b, f"{b.layout.fund('general').name}基本支出表", _fund_facts(b, "general", BASIC))


def table_sangong(b: ReportBasis) -> ReportTable:
    """三公经费表: units × 因公出国（境）费 / 公务用车购置及运行维护费 (购置, 运行维护) / 公务接待费, for the fund
    natures of `sangong_fund` (一般公共预算), matched by department economic class."""
    lay = b.layout
    groups = list(lay.sangong)
    vehicle = [i for i, g in enumerate(groups) if g.key.startswith("vehicle")]
    cols = [_col("合计")]
    slot: dict[str, int] = {}
    for i, g in enumerate(groups):
        if vehicle and i == vehicle[0]:
            cols.append(_col("公务用车购置及运行维护费"))
        slot[g.key] = len(cols)
        cols.append(_col(f"其中：{g.name}" if i in vehicle else g.name))
    vehicle_col = next((j for j, c in enumerate(cols) if c.label == "公务用车购置及运行维护费"), None)
    width = len(cols)
    sums: dict[int, list[int]] = {}
    for f in b.expenditure(lambda f: lay.is_sangong_fund(f.fund)):
        key = lay.sangong_key(f.eco)
        if not key:
            continue
        vals = [0] * width
        vals[0] = vals[slot[key]] = f.amount
        if key.startswith("vehicle") and vehicle_col is not None:
            vals[vehicle_col] = f.amount
        _add(sums.setdefault(f.unit_id, [0] * width), vals)
    rows, bold = unit_rows(b, sums, width)
    funds = "、".join(g.name for g in lay.sangong_funds)
    return ReportTable(f"三公经费表（{funds}）", [*UNIT_COLS, *cols], rows, subtitle=b.subtitle, bold_rows=bold)


def table_gov_fund_expenditure(b: ReportBasis) -> ReportTable:
    """政府性基金预算支出表: function classes × 合计 / 基本支出 / 项目支出."""
    return _func_table(b, f"{b.layout.fund('gov_fund').name}支出表", _fund_facts(b, "gov_fund"), split=False)
