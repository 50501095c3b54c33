"""Generated budget tables: the department budget tables (部门预算表) and the eight public disclosure tables
(部门预算公开), computed from the budget lines of one round and version on every request — never stored,
never edited by hand.

Each table is a `core.reports.ReportTable` built from aggregate queries over the scoped `BudgetLine` rows
(`BudgetLine.objects.restrict(actor)`), rendered by `core.reports` as HTML, Excel and PDF and by
`report_api` as JSON. The parts of the layout that rest on unverified conventions — which fund natures
form each fund column, which economic classes are 人员经费, which revenue sources are 上年结转, the 三公
economic codes — are data in `data/budgeting/report_layout.csv`; row labels come from the value sets.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from django.conf import settings
from django.db.models import Q, QuerySet, Sum

from ibms.core.errors import invalid
from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable
from ibms.core.scoping import VIEW, get_in_scope, require_perm, scope_of
from ibms.masterdata.models import Region, Unit, ValueSetItem
from ibms.masterdata.selectors import region_chain

from .models import BudgetLine, BudgetRound, Version

VIEW_PERM = "budgeting.view_budgetline"
REVENUE, EXPENDITURE = BudgetLine.Direction.REVENUE.value, BudgetLine.Direction.EXPENDITURE.value
BASIC, PROJECT = BudgetLine.ExpKind.BASIC.value, BudgetLine.ExpKind.PROJECT.value
INDENT = "\u3000"  # full-width space: indentation that survives Excel and PDF
FUNC_LEVELS = (3, 5, 7)  # 类 / 款 / 项
ECO_LEVELS = (3, 5)  # 类 / 款
UNCLASSIFIED = "（未填列）"
MAX_DETAIL_ROWS = 20_000  # project-level tables beyond this must be asked per department
OTHER_FUND = "其他资金"


# ---------------------------------------------------------------------------------------------- layout data

@dataclass(frozen=True)
class Group:
    key: str
    name: str
    codes: tuple[str, ...]

    def matches(self, code: str) -> bool:
        return any(code.startswith(c) for c in self.codes)


@dataclass(frozen=True)
class Layout:
    funds: tuple[Group, ...]  # fund-nature columns, in order
    fiscal: tuple[str, ...]  # fund-nature prefixes that are 财政拨款
    personnel: tuple[str, ...]  # 部门经济分类 prefixes of 人员经费 (the rest of 基本支出 is 公用经费)
    carry_over: frozenset[str]  # 收入来源 codes that are 上年结转
    sangong_funds: tuple[Group, ...]  # fund natures the 三公 table covers
    sangong: tuple[Group, ...]  # 三公 columns by 部门经济分类 prefix

    def fund_key(self, code: str) -> str:
        """The fund column of a fund nature (longest matching prefix), '' when none matches."""
        best, size = "", -1
        for g in self.funds:
            for c in g.codes:
                if code.startswith(c) and len(c) > size:
                    best, size = g.key, len(c)
        return best

    def fund(self, key: str) -> Group:
        return next(g for g in self.funds if g.key == key)

    def is_fiscal(self, fund_code: str) -> bool:
        return fund_code.startswith(self.fiscal)

    def is_personnel(self, eco_code: str) -> bool:
        return bool(eco_code) and eco_code.startswith(self.personnel)

    def sangong_key(self, eco_code: str) -> str:
        return next((g.key for g in self.sangong if eco_code and g.matches(eco_code)), "")

    def is_sangong_fund(self, fund_code: str) -> bool:
        return any(g.matches(fund_code) for g in self.sangong_funds)

    @property
    def fiscal_funds(self) -> tuple[Group, ...]:
        """The fund columns inside 财政拨款 (一般公共预算 / 政府性基金 / 国有资本经营)."""
        return tuple(g for g in self.funds if all(c.startswith(self.fiscal) for c in g.codes))


def layout_path() -> Path:
    return Path(settings.DATA_DIR) / "budgeting" / "report_layout.csv"


@cache
def layout() -> Layout:
    with open(layout_path(), encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))

    def groups(part: str) -> tuple[Group, ...]:
        return tuple(Group(r["key"], r["name"], tuple(r["codes"].split())) for r in rows if r["part"] == part)

    def codes(part: str) -> tuple[str, ...]:
        return tuple(c for g in groups(part) for c in g.codes)

    return Layout(funds=groups("fund"), fiscal=codes("fiscal"),
                  personnel=next((g.codes for g in groups("staff") if g.key == "personnel"), ()),
                  carry_over=frozenset(codes("carry_over")), sangong_funds=groups("sangong_fund"),
                  sangong=groups("sangong"))


# ---------------------------------------------------------------------------------------------- the basis

@dataclass(frozen=True)
class Fact:
    """Budget lines summed over one combination of the dimensions the summary tables use."""

    unit_id: int
    department_id: int
    direction: str
    exp_kind: str
    revenue: str
    fund: str
    func: str
    eco: str
    amount: int


FACT_FIELDS = ("unit_id", "department_id", "direction", "exp_kind", "revenue_code", "fund_nature_code",
               "exp_func_code", "dep_eco_code")


@dataclass
class ReportBasis:
    """What every table of one request is computed from: the scoped lines of a round, version and unit subtree."""

    round: BudgetRound
    version: str
    unit: Unit | None  # the unit (department) subtree reported; None = every line of the region in scope
    region_name: str
    lines: QuerySet

    @cached_property
    def layout(self) -> Layout:
        return layout()

    @cached_property
    def facts(self) -> list[Fact]:
        rows = self.lines.values(*FACT_FIELDS).annotate(total=Sum("amount")).order_by()
        return [Fact(r["unit_id"], r["department_id"], r["direction"], r["exp_kind"] or "", r["revenue_code"] or "",
                     r["fund_nature_code"] or "", r["exp_func_code"] or "", r["dep_eco_code"] or "", int(r["total"]))
                for r in rows]

    def expenditure(self, pred: Callable[[Fact], bool] | None = None) -> list[Fact]:
        return [f for f in self.facts if f.direction == EXPENDITURE and (pred is None or pred(f))]

    def revenue(self) -> list[Fact]:
        return [f for f in self.facts if f.direction == REVENUE]

    @cached_property
    def units(self) -> dict[int, Unit]:
        ids = {f.unit_id for f in self.facts} | {f.department_id for f in self.facts}
        return {u.pk: u for u in Unit.objects.filter(pk__in=ids)}

    def unit_of(self, unit_id: int) -> Unit:
        if unit_id not in self.units:  # lines of the project tables outside the summary facts: never, but safe
            self.units.update({u.pk: u for u in Unit.objects.filter(pk=unit_id)})
        return self.units[unit_id]

    @cached_property
    def _regions(self) -> list[str]:
        return region_chain(self.round.region_code)

    @cached_property
    def _name_cache(self) -> dict[str, dict[str, str]]:
        return {}

    def names(self, value_set: str, codes: Iterable[str] | None = None) -> dict[str, str]:
        """code → name in the round's year, a region's own name winning over the national one."""
        if codes is None:
            if value_set not in self._name_cache:
                self._name_cache[value_set] = self.names(value_set, [])
            return self._name_cache[value_set]
        qs = ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=self.round.year,
                                         region_code__in=self._regions)
        wanted = set(codes)
        if wanted:
            qs = qs.filter(code__in=wanted)
        rank = {r: i for i, r in enumerate(self._regions)}
        out: dict[str, str] = {}
        for code, name, _region in sorted(qs.values_list("code", "name", "region_code"), key=lambda t: rank[t[2]]):
            out[code] = name
        return out

    def value_set_items(self, value_set: str) -> list[tuple[str, str, str]]:
        """(code, name, parent code) of a value set's items for the round's year and region chain."""
        rows = ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=self.round.year,
                                           region_code__in=self._regions, is_active=True)
        seen: dict[str, tuple[str, str, str]] = {}
        rank = {r: i for i, r in enumerate(self._regions)}
        for code, name, parent, _region in sorted(rows.values_list("code", "name", "parent__code", "region_code"),
                                                 key=lambda t: rank[t[3]]):
            seen[code] = (code, name, parent or "")
        return sorted(seen.values())

    @property
    def scope_label(self) -> str:
        return self.unit.name if self.unit is not None else f"{self.region_name}（全部部门）"

    @property
    def version_label(self) -> str:
        return Version(self.version).label

    @property
    def subtitle(self) -> str:
        return (f"编制单位：{self.scope_label}　　预算年度：{self.round.year}年　　版本：{self.version_label}"
                f"　　金额单位：元")


# ---------------------------------------------------------------------------------------------- selectors

def report_rounds(*, actor) -> QuerySet:
    require_perm(actor, VIEW_PERM)
    return BudgetRound.objects.restrict(actor, VIEW).order_by("-year", "region_code")


def report_round(*, actor, round_id: int) -> BudgetRound:
    require_perm(actor, VIEW_PERM)
    return get_in_scope(BudgetRound.objects, actor, VIEW, what="预算编制", pk=round_id)


def report_units(*, actor, round: BudgetRound) -> list[Unit]:
    """The units a user may pick for a round's tables: the departments in scope, or their own unit."""
    scope = scope_of(actor)
    qs = Unit.objects.restrict(actor, VIEW).filter(region_code=round.region_code)
    own = Q(path=scope.unit_path) if scope.unit_path else Q(pk__in=[])
    return list(qs.filter(Q(parent__isnull=True) | own).order_by("path"))


def _own_unit(actor, region_code: str) -> Unit | None:
    path = scope_of(actor).unit_path
    if not path:
        return None
    return Unit.objects.filter(region_code=region_code, path=path).first()


def report_basis(*, actor, round: BudgetRound, version: str = "", unit_id: int | None = None) -> ReportBasis:
    """Scope check and the lines of one round, version and unit subtree. Out-of-scope units are not found."""
    require_perm(actor, VIEW_PERM)
    lines = BudgetLine.objects.restrict(actor, VIEW).filter(round=round)
    if unit_id is not None:
        unit = get_in_scope(Unit.objects.filter(region_code=round.region_code), actor, VIEW, what="单位", pk=unit_id)
    else:
        unit = _own_unit(actor, round.region_code)
    if unit is not None:
        lines = lines.filter(unit_path__startswith=unit.path)
    if not version:
        version = default_version(lines)
    elif version not in Version.values:
        raise invalid("version_invalid", f"版本 {version} 不存在，应为一上、二上或批复", "version")
    region = Region.objects.filter(code=round.region_code).first()
    return ReportBasis(round=round, version=version, unit=unit, region_name=region.name if region else round.region_code,
                       lines=lines.filter(version=version))


def default_version(lines: QuerySet) -> str:
    """The latest version that has lines (批复, else 二上, else 一上)."""
    for v in (Version.REPLY, Version.SECOND_UP, Version.FIRST_UP):
        if lines.filter(version=v).exists():
            return v.value
    return Version.FIRST_UP.value


# ---------------------------------------------------------------------------------------------- row builders

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


# ---------------------------------------------------------------------------------------------- department tables

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


# ---------------------------------------------------------------------------------------------- disclosure tables

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


# ---------------------------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class TableSpec:
    slug: str
    title: str
    group: str  # department | disclosure
    build: Callable[[ReportBasis], ReportTable]


DEPARTMENT, DISCLOSURE = "department", "disclosure"
GROUP_TITLES = {DEPARTMENT: "部门预算表", DISCLOSURE: "部门预算公开表"}
TABLES: dict[str, TableSpec] = {s.slug: s for s in [
    TableSpec("revenue", "收入预算表", DEPARTMENT, table_dept_revenue),
    TableSpec("expenditure", "支出预算表", DEPARTMENT, table_dept_expenditure),
    TableSpec("projects", "项目支出表", DEPARTMENT, table_dept_projects),
    TableSpec("basic", "基本支出表", DEPARTMENT, table_dept_basic),
    TableSpec("procurement", "政府采购预算表", DEPARTMENT, table_dept_procurement),
    TableSpec("summary", "收支总表", DISCLOSURE, table_summary),
    TableSpec("revenue-total", "收入总表", DISCLOSURE, table_revenue_total),
    TableSpec("expenditure-total", "支出总表", DISCLOSURE, table_expenditure_total),
    TableSpec("fiscal-summary", "财政拨款收支总表", DISCLOSURE, table_fiscal_summary),
    TableSpec("general-expenditure", "一般公共预算支出表", DISCLOSURE, table_general_expenditure),
    TableSpec("general-basic", "一般公共预算基本支出表", DISCLOSURE, table_general_basic),
    TableSpec("sangong", "三公经费表", DISCLOSURE, table_sangong),
    TableSpec("gov-fund-expenditure", "政府性基金预算支出表", DISCLOSURE, table_gov_fund_expenditure),
]}


def table_specs(group: str | None = None) -> list[TableSpec]:
    return [s for s in TABLES.values() if group is None or s.group == group]


def build_table(basis: ReportBasis, slug: str) -> ReportTable:
    spec = TABLES.get(slug)
    if spec is None:
        raise invalid("table_unknown", f"报表 {slug} 不存在", "table")
    return spec.build(basis)


def build_group(basis: ReportBasis, group: str) -> list[ReportTable]:
    if group not in GROUP_TITLES:
        raise invalid("table_group_unknown", f"报表组 {group} 不存在", "group")
    return [s.build(basis) for s in table_specs(group)]
