"""Row builders shared by the tables: code hierarchies with subtotals, departments with their units, fund
columns, the function- and economic-class tables, revenue items, Chinese numerals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable

from .basis import BASIC, Fact, ReportBasis
from .layout import ECO_LEVELS, FUNC_LEVELS, INDENT, OTHER_FUND, UNCLASSIFIED


def _add(into: list[int], vals: list[int]) -> None:
    for i, v in enumerate(vals):
        into[i] += v


def level_parent(levels: tuple[int, ...]) -> Callable[[str], str | None]:
    """Parent of a classification code by its level lengths: 2050203 → 20502 → 205 → None."""
    def parent(code: str) -> str | None:
        shorter = [n for n in levels if n < len(code)]
        return code[:shorter[-1]] if shorter else None
    return parent


def tree_rows(sums: dict[str, list[int]], *, parent_of: Callable[[str], str | None], names: dict[str, str],
              width: int, total_label: str = "合计", keep: Iterable[str] = ()) -> tuple[list[list], set[int]]:
    """Rows [code, name, *values] of a code hierarchy: the 合计 row first, then each node before its children
    with the subtotal of its subtree; top-level nodes bold. `keep` lists nodes shown even when empty."""
    nodes: dict[str, list[int]] = {}
    children: dict[str | None, set[str]] = defaultdict(set)
    blank = sums.get("")

    def ensure(code: str) -> None:
        while code not in nodes:
            nodes[code] = [0] * width
            up = parent_of(code)
            children[up].add(code)
            if up is None:
                break
            code = up

    for code in keep:
        ensure(code)
    total = [0] * width
    for code, vals in sums.items():
        _add(total, vals)
        if not code:
            continue
        ensure(code)
        c: str | None = code
        while c is not None:
            _add(nodes[c], vals)
            c = parent_of(c)
    rows: list[list] = [["", total_label, *total]]
    bold = {0}

    def walk(code: str, depth: int) -> None:
        rows.append([code, INDENT * depth + names.get(code, ""), *nodes[code]])
        if depth == 0:
            bold.add(len(rows) - 1)
        for child in sorted(children.get(code, ())):
            walk(child, depth + 1)

    for root in sorted(children.get(None, ())):
        walk(root, 0)
    if blank is not None:
        rows.append(["", UNCLASSIFIED, *blank])
        bold.add(len(rows) - 1)
    return rows, bold


def unit_rows(b: ReportBasis, sums: dict[int, list[int]], width: int) -> tuple[list[list], set[int]]:
    """Rows [code, name, *values]: 合计, then per department its total (bold) and each of its units, the
    department's own lines as 本级."""
    dept_of = {f.unit_id: f.department_id for f in b.facts}
    by_dept: dict[int, list[int]] = defaultdict(list)
    for uid in sums:
        by_dept[dept_of.get(uid, uid)].append(uid)
    total = [0] * width
    for vals in sums.values():
        _add(total, vals)
    rows: list[list] = [["", "合计", *total]]
    bold = {0}
    for dept_id in sorted(by_dept, key=lambda d: b.unit_of(d).path):
        dept = b.unit_of(dept_id)
        dept_total = [0] * width
        for uid in by_dept[dept_id]:
            _add(dept_total, sums[uid])
        rows.append([dept.code, dept.name, *dept_total])
        bold.add(len(rows) - 1)
        for uid in sorted(by_dept[dept_id], key=lambda u: b.unit_of(u).path):
            unit = b.unit_of(uid)
            name = f"{unit.name}（本级）" if uid == dept_id else unit.name
            rows.append([unit.code, INDENT + name, *sums[uid]])
    return rows, bold


def fund_columns(b: ReportBasis, facts: Iterable[Fact]) -> tuple[list[ReportColumn], Callable[[str], int]]:
    """Money columns per fund group (plus 其他资金 only if some fund nature matches none) and a function giving
    a fund nature's column index among them."""
    groups = list(b.layout.funds)
    index = {g.key: i for i, g in enumerate(groups)}
    cols = [ReportColumn(g.name, MONEY) for g in groups]
    if any(b.layout.fund_key(f.fund) == "" for f in facts):
        cols.append(ReportColumn(OTHER_FUND, MONEY))
    other = len(groups)
    return cols, lambda code: index.get(b.layout.fund_key(code), other)


def numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 21 → 二十一 (row numbering of the disclosure tables)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def _col(label: str, kind: str = MONEY, width: float = 0) -> ReportColumn:
    return ReportColumn(label, kind, width)


CODE_COLS = [ReportColumn("科目编码", TEXT, 0.8), ReportColumn("科目名称", TEXT, 2.0)]
UNIT_COLS = [ReportColumn("单位编码", TEXT, 0.8), ReportColumn("单位名称", TEXT, 2.0)]


def _func_names(b: ReportBasis) -> dict[str, str]:
    return b.names("exp_func")


def _func_sums(facts: Iterable[Fact], width: int, vals: Callable[[Fact], list[int]]) -> dict[str, list[int]]:
    sums: dict[str, list[int]] = {}
    for f in facts:
        _add(sums.setdefault(f.func, [0] * width), vals(f))
    return sums


def _basic_split(b: ReportBasis, f: Fact) -> list[int]:
    """[合计, 基本支出, 人员经费, 公用经费, 项目支出] of one fact."""
    a = f.amount
    if f.exp_kind == BASIC:
        personnel = a if b.layout.is_personnel(f.eco) else 0
        return [a, a, personnel, a - personnel, 0]
    return [a, 0, 0, 0, a]


SPLIT_COLS = [_col("合计"), _col("基本支出"), _col("其中：人员经费"), _col("其中：公用经费"), _col("项目支出")]


def _func_table(b: ReportBasis, title: str, facts: list[Fact], *, split: bool) -> ReportTable:
    """Function-class rows (类/款/项 with subtotals) × 合计 / 基本支出 (人员经费, 公用经费) / 项目支出."""
    if split:
        cols, width, vals = SPLIT_COLS, 5, (lambda f: _basic_split(b, f))
    else:
        cols, width = [_col("合计"), _col("基本支出"), _col("项目支出")], 3
        vals = lambda f: [f.amount, f.amount if f.exp_kind == BASIC else 0,  # noqa: E731
                          0 if f.exp_kind == BASIC else f.amount]
    rows, bold = tree_rows(_func_sums(facts, width, vals), parent_of=level_parent(FUNC_LEVELS),
                           names=_func_names(b), width=width)
    return ReportTable(title, [*CODE_COLS, *cols], rows, subtitle=b.subtitle, bold_rows=bold)


def _eco_table(b: ReportBasis, title: str, facts: list[Fact]) -> ReportTable:
    """Department economic class rows (类/款) × 合计 / 人员经费 / 公用经费 of 基本支出."""
    sums: dict[str, list[int]] = {}
    for f in facts:
        personnel = f.amount if b.layout.is_personnel(f.eco) else 0
        _add(sums.setdefault(f.eco, [0, 0, 0]), [f.amount, personnel, f.amount - personnel])
    rows, bold = tree_rows(sums, parent_of=level_parent(ECO_LEVELS), names=b.names("dep_eco"), width=3)
    cols = [ReportColumn("经济分类科目编码", TEXT, 0.8), ReportColumn("经济分类科目名称", TEXT, 2.0),
            _col("合计"), _col("人员经费"), _col("公用经费")]
    return ReportTable(title, cols, rows, subtitle=b.subtitle, bold_rows=bold)


# ---------------------------------------------------------------------------------------------- revenue items

@dataclass(frozen=True)
class RevenueItem:
    code: str
    name: str


def revenue_items(b: ReportBasis) -> tuple[list[RevenueItem], list[RevenueItem]]:
    """(本年收入 items, 上年结转 items): the leaves of value set 收入来源 (bgt_revenue) in code order, plus any
    code found on lines but missing from the value set (so every line is counted)."""
    items = b.value_set_items("bgt_revenue")
    parents = {p for _, _, p in items if p}
    leaves = [RevenueItem(c, n) for c, n, _ in items if c not in parents]
    known = {i.code for i in leaves}
    for f in b.revenue():
        if f.revenue not in known:
            leaves.append(RevenueItem(f.revenue, f.revenue or UNCLASSIFIED))
            known.add(f.revenue)
    carry = [i for i in leaves if i.code in b.layout.carry_over]
    return [i for i in leaves if i.code not in b.layout.carry_over], carry
