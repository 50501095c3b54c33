"""决算 tables computed from the books: one grouped query of a scope's posted lines (and, for the carry columns, its
carry-over lines), each figure the sum of the groups its terms select, and the drill-down of one figure — the
same terms as a query over the voucher lines (or carry lines), so the rows behind a figure add up to it.

Year-end closing vouchers (source `closing`, event ids `closing:<set>:…`) never count as the year's flows; the
opening-balance vouchers (source `opening`) are the opening balance.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, CharField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from ibms.accounting.books import CLOSING, OPENING
from ibms.closing.models import CarryLine
from ibms.core.scoping import VIEW
from ibms.masterdata.models import ValueSetItem
from ibms.masterdata.selectors import region_chain, sangong_eco_codes

from .layouts import DIMS, Cond, TableDef, table_def
from .scopes import Scope, lines_of
from .statement_sum import statement_sum
from .table import BLANK_KEY, FinalRow, FinalTable

__all__ = ["BLANK_KEY", "FinalRow", "FinalTable", "cell_terms", "drill", "final_compute", "final_compute_all"]

CLOSING_Q = Q(voucher__source=CLOSING) | Q(voucher__event_id__startswith="closing:")
GROUP = tuple(DIMS.values())
CARRY_FIELDS = {"exp_func_code": "indicator__exp_func_code", "dep_eco_code": "indicator__dep_eco_code",
                "project_code": "indicator__project__code", "fund_nature_code": "indicator__fund_nature_code"}


@dataclass(frozen=True)
class Term:
    sign: int
    measure: str
    conds: tuple[Cond, ...]


def _key_conds(d: TableDef, row_no: int, key: str | None) -> tuple[Cond, ...]:
    if key is None:
        return ()
    dim = d.row(row_no).expand[0]
    if key == "":
        return (Cond(dim, ""),)
    return (Cond(dim, "=" + key if dim == "project" else key),)


def cell_terms(d: TableDef, row_no: int, key: str | None, col_no: int, sign: int = 1) -> list[Term]:
    """The terms a figure sums: formula columns and formula rows expand into the figures they add."""
    row, col = d.row(row_no), d.column(col_no)
    if col.formula:
        return [t for s, n in col.formula for t in cell_terms(d, row_no, key, n, sign * s)]
    if row.formula and key is None:
        return [t for s, n in row.formula for t in cell_terms(d, n, None, col_no, sign * s)]
    measure = row.measure or col.measure
    if not measure:
        return []
    return [Term(sign, measure, d.conds + row.conds + col.conds + _key_conds(d, row_no, key))]


# --- the groups a scope's figures are read from -----------------------------------------------------------------

@dataclass
class Groups:
    lines: list[tuple[dict, str, int, int]]  # (dims, kind f/o/c, debit, credit)
    carry: list[tuple[dict, int, int]]  # (dims, carry, recall)
    sangong: frozenset[str]

    def amount(self, term: Term) -> int:
        total = 0
        if term.measure in ("carry", "recall"):
            if any(c.dim == "account" for c in term.conds):  # carry lines have no account
                return 0
            for dims, carry, recall in self.carry:
                if all(c.matches(dims[DIMS[c.dim]], self.sangong) for c in term.conds):
                    total += carry if term.measure == "carry" else recall
            return term.sign * total
        for dims, kind, d, c in self.lines:
            if not _kind_ok(term.measure, kind):
                continue
            if all(cd.matches(dims[DIMS[cd.dim]], self.sangong) for cd in term.conds):
                total += (d - c) if term.measure == "dr" else (c - d)
        return term.sign * total


def _kind_ok(measure: str, kind: str) -> bool:
    return {"cr": kind == "f", "dr": kind == "f", "open_cr": kind == "o", "end_cr": True}[measure]


def _kind_case():
    return Case(When(voucher__source=OPENING, then=Value("o")), When(CLOSING_Q, then=Value("c")), default=Value("f"),
                output_field=CharField())


def carry_lines(actor, scope: Scope) -> QuerySet[CarryLine]:
    """The scope's lines of the year's executed-or-proposed carry-over batch (结转结余), read in the actor's scope."""
    if scope.kind == "region":
        return CarryLine.objects.none()
    qs = CarryLine.objects.restrict(actor, VIEW).filter(run__year=scope.year, run__region_code=scope.region_code)
    # a unit's own lines only: a department is itself a unit whose path prefixes its subordinates'
    return qs.filter(unit_path=scope.unit_path) if scope.kind == "unit" else qs.filter(
        unit_path__startswith=scope.unit_path)


def groups_load(actor, scope: Scope) -> Groups:
    rows = (lines_of(actor, scope).annotate(k=_kind_case()).values("k", *GROUP)
            .annotate(d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0)).order_by())
    lines = [({g: r[g] or "" for g in GROUP}, r["k"], r["d"], r["c"]) for r in rows]
    carry = []
    for r in (carry_lines(actor, scope).values(*CARRY_FIELDS.values())
              .annotate(cv=Coalesce(Sum("carry_amount"), 0), rv=Coalesce(Sum("recall_amount"), 0)).order_by()):
        dims = {"account_code": "", **{f: r[src] or "" for f, src in CARRY_FIELDS.items()}}
        carry.append((dims, r["cv"], r["rv"]))
    return Groups(lines, carry, sangong_eco_codes(fiscal_year=scope.year, region_code=scope.region_code))


# --- the computed table -----------------------------------------------------------------------------------------

def _names(dim: str, year: int, region_code: str, keys: set[str]) -> dict[str, str]:
    if dim == "project":
        from ibms.projects.models import Project

        return dict(Project.objects.filter(code__in=keys).values_list("code", "name"))
    value_set = {"exp_func": "exp_func", "dep_eco": "dep_eco"}[dim]
    out: dict[str, str] = {}
    for code, name, _ in (ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year, code__in=keys,
                                                       region_code__in=region_chain(region_code))
                          .order_by("region_code").values_list("code", "name", "region_code")):
        out[code] = name
    return out


def _children(d: TableDef, row_no: int, g: Groups, scope: Scope) -> list[tuple[str, int]]:
    """(key, level) of an expanded row's children: the codes of the groups its filters select."""
    row = d.row(row_no)
    dim, lengths = row.expand
    field_name = DIMS[dim]
    conds = d.conds + row.conds
    codes = {dims[field_name] for dims, *_ in g.lines if all(c.matches(dims[DIMS[c.dim]], g.sangong) for c in conds)}
    if any(c.measure in ("carry", "recall") for c in d.columns):
        codes |= {dims[field_name] for dims, *_ in g.carry}
    keys: dict[str, int] = {}
    for code in codes:
        if not code:
            keys[""] = 1
        elif dim == "project":
            keys[code] = 1
        else:
            for level, n in enumerate(lengths, 1):
                if len(code) >= n:
                    keys.setdefault(code[:n], level)
    return sorted(keys.items(), key=lambda kv: (kv[0] == "", kv[0]))


def final_compute(*, actor, scope: Scope, code: str, groups: Groups | None = None) -> FinalTable:
    """One table for one scope; `groups` (groups_load) shares the query between tables of the same scope."""
    d = table_def(code)
    if d.scope == "statement":
        return statement_sum(actor=actor, scope=scope, d=d)
    g = groups if groups is not None else groups_load(actor, scope)
    cols = [c.no for c in d.columns]

    def values(row_no: int, key: str | None) -> list[int]:
        return [sum(g.amount(t) for t in cell_terms(d, row_no, key, c)) for c in cols]

    rows: list[FinalRow] = []
    for r in d.rows:
        level = 0 if r.bold else 1
        rows.append(FinalRow(r.no, None, r.name, values(r.no, None), r.bold, level))
        if r.expand and not r.formula:
            kids = _children(d, r.no, g, scope)
            names = _names(r.expand[0], scope.year, scope.region_code, {k for k, _ in kids if k})
            for key, lvl in kids:
                name = f"{key} {names.get(key, '')}".strip() if key else "（未列明）"
                rows.append(FinalRow(r.no, key, name, values(r.no, key), False, level + lvl))
    t = FinalTable(d, scope, rows)
    t.problems = table_problems(t)
    return t


def table_problems(t: FinalTable) -> list[str]:
    """The table's own checks (tables.csv) in every row (C checks) or every column (L checks)."""
    d, out = t.definition, []
    cols = [c.no for c in d.columns]
    main = {r.row_no: r for r in t.rows if r.key is None}
    for letter, lhs, rhs in d.checks:
        if letter == "C":
            for r in t.rows:
                def get(n, r=r):
                    return r.values[cols.index(n)] or 0
                a, b = sum(s * get(n) for s, n in lhs), sum(s * get(n) for s, n in rhs)
                if a != b:
                    out.append(f"{d.title}「{r.name}」：列校验不平（{a} ≠ {b} 分）")
        else:
            for i, c in enumerate(d.columns):
                a = sum(s * (main[n].values[i] or 0) for s, n in lhs)
                b = sum(s * (main[n].values[i] or 0) for s, n in rhs)
                if a != b:
                    out.append(f"{d.title}（{c.name}）：行校验不平（{a} ≠ {b} 分）")
    # an expanded row equals the sum of its top-level children
    for r in d.rows:
        if r.expand and not r.formula:
            kids = [x for x in t.rows if x.row_no == r.no and x.key is not None and x.level == main[r.no].level + 1]
            for i, c in enumerate(d.columns):
                total = sum(k.values[i] or 0 for k in kids)
                if kids and total != (main[r.no].values[i] or 0):
                    out.append(f"{d.title}「{r.name}」（{c.name}）：明细合计 {total} ≠ {main[r.no].values[i]} 分")
    return out


def final_compute_all(*, actor, scope: Scope) -> list[FinalTable]:
    from .layouts import tables

    wanted = ("region", "statement") if scope.kind == "region" else ("unit",)
    groups = groups_load(actor, scope)
    return [final_compute(actor=actor, scope=scope, code=c, groups=groups if d.scope != "statement" else None)
            for c, d in tables().items() if d.scope in wanted]


# --- drill-down -------------------------------------------------------------------------------------------------

def _cond_q(c: Cond, sangong: frozenset[str], fields: dict[str, str]) -> Q:
    name = fields[DIMS[c.dim]]
    v = c.value
    if v == "":
        return Q(**{name: ""})
    if v == "*":
        return ~Q(**{name: ""})
    if v.startswith("="):
        return Q(**{name: v[1:]})
    negate = v.startswith("!")
    text = v.lstrip("!")
    prefixes = tuple(sorted(sangong)) if text == "@sangong" else tuple(p for p in text.split("|") if p)
    q = Q(pk__in=[])
    for p in prefixes:
        q |= Q(**{f"{name}__startswith": p})
    return ~q if negate else q


def _measure_q(measure: str) -> Q:
    if measure == "open_cr":
        return Q(voucher__source=OPENING)
    if measure in ("cr", "dr"):
        return ~Q(voucher__source=OPENING) & ~CLOSING_Q
    return Q()


@dataclass
class DrillLine:
    sign: int  # +1 / -1: how the line counts in the figure
    amount: int  # its signed contribution (fen)
    line: object  # VoucherLine or CarryLine


def drill(*, actor, scope: Scope, code: str, row_no: int, col_no: int, key: str | None,
          limit: int = 2000) -> tuple[list[DrillLine], int, int]:
    """The voucher lines (or carry lines) behind one figure: (lines, total, count).
    The total is computed over every line; at most `limit` lines are returned."""
    d = table_def(code)
    sangong = sangong_eco_codes(fiscal_year=scope.year, region_code=scope.region_code)
    out: list[DrillLine] = []
    total = count = 0
    for t in cell_terms(d, row_no, key, col_no):
        if t.measure in ("carry", "recall"):
            qs = carry_lines(actor, scope).select_related("indicator", "run")
            fields = {"account_code": "pk", **CARRY_FIELDS}
            if any(c.dim == "account" for c in t.conds):
                continue
            for c in t.conds:
                qs = qs.filter(_cond_q(c, sangong, fields))
            for ln in qs.order_by("indicator__code"):
                amount = t.sign * (ln.carry_amount if t.measure == "carry" else ln.recall_amount)
                total += amount
                count += 1
                if len(out) < limit:
                    out.append(DrillLine(t.sign, amount, ln))
            continue
        qs = lines_of(actor, scope).filter(_measure_q(t.measure)).select_related("voucher", "account_set")
        fields = {f: f for f in GROUP}
        for c in t.conds:
            qs = qs.filter(_cond_q(c, sangong, fields))
        sign = t.sign * (1 if t.measure == "dr" else -1)
        for ln in qs.order_by("voucher__date", "voucher_id", "line_no"):
            amount = sign * (ln.debit - ln.credit)
            total += amount
            count += 1
            if len(out) < limit:
                out.append(DrillLine(sign, amount, ln))
    return out, total, count


FISCAL_SPENDING = ("7101.01", "7201.01")
ENTRY_FIELDS = {"account_code": "pk", "exp_func_code": "indicator__exp_func_code",
                "dep_eco_code": "indicator__dep_eco_code", "project_code": "indicator__project__code",
                "fund_nature_code": "indicator__fund_nature_code"}


def indicator_drill(*, actor, scope: Scope, code: str, row_no: int, col_no: int, key: str | None,
                    limit: int = 500):
    """For a 财政拨款 expenditure figure (every term a `dr` on 7101.01/7201.01): the indicator ledger's spending
    entries (支付核销, 退回恢复) of the scope's indicators with the same classification — (entries, total), whose
    total equals the figure when the books and the ledger agree. None for any other figure."""
    from ibms.indicators.models import IndicatorEntry

    terms = cell_terms(table_def(code), row_no, key, col_no)
    if scope.kind == "region" or not terms:
        return None
    for t in terms:
        accounts = [c for c in t.conds if c.dim == "account"]
        if t.measure != "dr" or not accounts or any(
                not set(c.value.split("|")) <= set(FISCAL_SPENDING) for c in accounts):
            return None
    sangong = sangong_eco_codes(fiscal_year=scope.year, region_code=scope.region_code)
    base = IndicatorEntry.objects.restrict(actor, VIEW).filter(
        indicator__year=scope.year, indicator__region_code=scope.region_code, indicator__fund_nature_code__startswith="1")
    base = base.exclude(d_spent=0)
    if scope.kind == "unit":
        base = base.filter(indicator__unit_id=int(scope.ident))
    else:
        base = base.filter(indicator__unit__path__startswith=scope.unit_path)
    entries, total = [], 0
    for t in terms:
        qs = base
        for c in t.conds:
            if c.dim != "account":
                qs = qs.filter(_cond_q(c, sangong, ENTRY_FIELDS))
        for e in qs.select_related("indicator").order_by("id"):
            total += t.sign * e.d_spent
            if len(entries) < limit:
                entries.append((t.sign * e.d_spent, e))
    return entries, total
