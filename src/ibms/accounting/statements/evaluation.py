"""Statements computed from the books: the figures a column's formulas read, the line statements with their
checks, and the matrix statement (财政拨款预算收入支出表)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from ibms.core.errors import invalid
from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable

from ..books import (
    CLOSING,
    PeriodRange,
    Turnover,
    ancestors,
    posted_lines,
    rolled_up,
    set_accounts,
    side_amount,
    turnovers,
)
from ..models import AccountSet, Basis
from .definition import FILTER_FIELDS, RowDef, StatementDef, Term, definitions, statement_definition_get

# --- figures of one column -------------------------------------------------------------------------

@dataclass
class Figures:
    """Everything a column's formulas read: rolled-up turnovers and reconciling-voucher sums."""

    sides: dict[str, str]
    totals: dict[str, Turnover]
    recon: dict[str, tuple[int, int]] = field(default_factory=dict)  # code → (debit, credit), financial basis
    recon_raw: int = 0

    def _codes(self, ref: str) -> list[str]:
        if ref in self.sides:
            return [ref]
        # a class prefix ("4") or a code the set lacks: the level-1 accounts it covers
        return [c for c in self.sides if "." not in c and c.startswith(ref) and c != ref]

    def amount(self, kind: str, term: Term) -> int:
        total = 0
        for code in self._codes(term.ref):
            side = self.sides[code]
            if kind == "recon":
                d, c = self.recon.get(code, (0, 0))
                total += d if term.side == "D" else c
                continue
            t = self.totals.get(code)
            if t is None:
                continue
            if kind == "closing":
                total += side_amount(side, t.closing)
            elif kind == "opening":
                total += side_amount(side, t.opening)
            elif kind == "period":
                total += side_amount(side, t.net)
            elif kind == "debit":
                total += t.debit - t.closing_debit
            elif kind == "credit":
                total += t.credit - t.closing_credit
        return term.sign * total

def _column_range(mode: str, period: PeriodRange) -> PeriodRange:
    if mode == "ytd":
        return PeriodRange(1, period.end)
    if mode == "year_open":
        return PeriodRange(1, 0)
    return period

def _sides(actor, account_set: AccountSet) -> dict[str, str]:
    return {a.code: a.balance_side for a in set_accounts(actor=actor, account_set=account_set)}

def _recon(lines, rng: PeriodRange) -> tuple[dict[str, tuple[int, int]], int]:
    """Sums of the reconciling vouchers' lines: financial (debit, credit) per account rolled up, and the
    raw difference Σ(借−贷) of financial classes 1–3 less Σ(借−贷) of budget class 8."""
    in_range = lines.filter(voucher__period_no__gte=rng.start, voucher__period_no__lte=rng.end) \
        .exclude(voucher__source=CLOSING)
    flows = Q()
    for cls in "4567":
        flows |= Q(account_code__startswith=cls)
    vids = in_range.filter(flows).values("voucher_id")
    rows = (in_range.filter(voucher_id__in=vids).values("basis", "account_code")
            .annotate(d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0)).order_by())
    recon: dict[str, list[int]] = {}
    raw = 0
    for r in rows:
        code, d, c = r["account_code"], r["d"], r["c"]
        if r["basis"] == Basis.FINANCIAL and code[:1] in "123":
            raw += d - c
            for a in ancestors(code):
                acc = recon.setdefault(a, [0, 0])
                acc[0] += d
                acc[1] += c
        elif r["basis"] == Basis.BUDGET and code[:1] == "8":
            raw -= d - c
    return {k: (v[0], v[1]) for k, v in recon.items()}, raw

def _figures(actor, account_set: AccountSet, rng: PeriodRange, sides: dict[str, str], need_recon: bool,
             cache: dict | None = None) -> Figures:
    """A column's figures; `cache` shares them between statements computed together (same set and actor)."""
    cache = {} if cache is None else cache
    lines = posted_lines(actor=actor, account_set=account_set)
    key = (rng.start, rng.end)
    if key not in cache:
        cache[key] = rolled_up(turnovers(lines, rng))
    fig = Figures(sides, cache[key])
    if need_recon and rng.end >= rng.start:
        rkey = ("recon", *key)
        if rkey not in cache:
            cache[rkey] = _recon(lines, rng)
        fig.recon, fig.recon_raw = cache[rkey]
    return fig

# --- results -------------------------------------------------------------------------------------

@dataclass
class StatementRow:
    number: int | str
    name: str
    values: list[int | None]
    bold: bool = False
    level: int = 0

@dataclass
class Statement:
    definition: StatementDef
    account_set: AccountSet
    period: PeriodRange
    columns: list[str]
    rows: list[StatementRow]
    problems: list[str]

    @property
    def title(self) -> str:
        return self.definition.title

    def value(self, line_no: int, column: int = 0) -> int | None:
        for r in self.rows:
            if r.number == line_no:
                return r.values[column]
        raise KeyError(line_no)

    def row(self, name: str) -> StatementRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def subtitle(self) -> str:
        aset = self.account_set
        unit = aset.unit.name if aset.unit_id else aset.name
        return (f"{self.definition.report_no}　编制单位：{unit}　{aset.year}年{self.period.label}"
                f"　单位：元")

    def table(self) -> ReportTable:
        matrix = self.definition.is_matrix
        cols = [ReportColumn("项目", TEXT, 3.2 if not matrix else 2.4)]
        if not matrix:
            cols.append(ReportColumn("行次", TEXT, 0.4))
        cols += [ReportColumn(c, MONEY) for c in self.columns]
        rows, bold = [], set()
        for i, r in enumerate(self.rows):
            name = ("　" * r.level) + r.name
            rows.append([name] + ([] if matrix else [str(r.number)]) + list(r.values))
            if r.bold:
                bold.add(i)
        return ReportTable(self.title, cols, rows, subtitle=self.subtitle, bold_rows=bold)

def _eval_lines(d: StatementDef, fig: Figures) -> dict[int, int | None]:
    by_no = {ln.line_no: ln for ln in d.lines}
    memo: dict[int, int | None] = {}

    def value(n: int, stack: tuple = ()) -> int:
        if n in memo:
            return memo[n] or 0
        if n in stack:
            raise ValueError(f"{d.code}: circular line reference at L{n}")
        ln = by_no[n]
        if ln.is_header:
            memo[n] = None
            return 0
        total = fig.recon_raw if ln.kind == "recon_rest" else 0
        for t in ln.terms:
            total += t.sign * value(t.number, (*stack, n)) if t.is_line else fig.amount(ln.kind, t)
        memo[n] = total
        return total

    for n in by_no:
        value(n)
    return memo

def _check(d: StatementDef, lhs, rhs, get) -> tuple[int, int]:
    return sum(t.sign * (get(t.number) or 0) for t in lhs), sum(t.sign * (get(t.number) or 0) for t in rhs)

def _fmt_terms(terms) -> str:
    return "".join(("+" if t.sign > 0 else "-") + t.ref for t in terms).lstrip("+")

def statement_compute(*, actor, account_set: AccountSet, code: str, period: PeriodRange,
                      cache: dict | None = None) -> Statement:
    """One statement of one account set for a period range (months of the set's year)."""
    d = statement_definition_get(code)
    if d.chart != account_set.kind:
        raise invalid("statement_chart", f"{d.title}不适用于{account_set.get_kind_display()}账套", "statement")
    cache = {} if cache is None else cache
    if "sides" not in cache:
        cache["sides"] = _sides(actor, account_set)
    sides = cache["sides"]
    if d.is_matrix:
        return _compute_matrix(actor, account_set, d, period, sides)
    need_recon = any(ln.kind.startswith("recon") for ln in d.lines)
    per_col = [_eval_lines(d, _figures(actor, account_set, _column_range(c.mode, period), sides, need_recon, cache))
               for c in d.columns]
    rows = []
    for ln in d.lines:
        values = [None if ln.is_header else col[ln.line_no] for col in per_col]
        level = 0 if ln.bold else (1 if ln.name.startswith("（") else 2 if ln.name[:1].isdigit() else 1)
        rows.append(StatementRow(ln.line_no, ln.name, values, ln.bold, level))
    problems = []
    for i, col in enumerate(per_col):
        for lhs, rhs in d.checks:
            a, b = _check(d, lhs, rhs, lambda n, col=col: col.get(n))
            if a != b:
                problems.append(f"{d.title}（{d.columns[i].label}）：{_fmt_terms(lhs)} ≠ {_fmt_terms(rhs)}"
                                f"（{a} ≠ {b} 分）")
    return Statement(d, account_set, period, [c.label for c in d.columns], rows, problems)

def statement_compute_all(*, actor, account_set: AccountSet, period: PeriodRange) -> list[Statement]:
    cache: dict = {}
    return [statement_compute(actor=actor, account_set=account_set, code=c, period=period, cache=cache)
            for c, d in definitions().items() if d.chart == account_set.kind]

# --- the matrix statement (财政拨款预算收入支出表) ------------------------------------------------------------

def _row_match(d: StatementDef, row: RowDef, key: dict[str, str], project: str | None) -> bool:
    code = key["account_code"]
    if row.fund:
        _, revenue, prefix = next(f for f in d.funds if f[0] == row.fund)
        if code.startswith("6001"):
            if not (code == revenue or code.startswith(revenue + ".")):
                return False
        elif not key["fund_nature_code"].startswith(prefix):
            return False
    for name, want in row.filters:
        have = key[FILTER_FIELDS[name]]
        if want == "":
            ok = have == ""
        elif want == "*":
            ok = have != ""
        else:  # prefixes; a line without the dimension matches neither the list nor its negation
            negate = want.startswith("!")
            hit = any(have.startswith(p) for p in want.lstrip("!").split("|"))
            ok = have != "" and hit != negate
        if not ok:
            return False
    return project is None or key["project_code"] == project

def _compute_matrix(actor, account_set: AccountSet, d: StatementDef, period: PeriodRange,
                    sides: dict[str, str]) -> Statement:
    rng = PeriodRange(1, period.end)
    accounts = sorted({t.ref for c in d.columns for t in c.terms})
    q = Q()
    for a in accounts:
        q |= Q(account_code=a) | Q(account_code__startswith=a + ".")
    group = ("account_code", "project_code", "fund_nature_code", "dep_eco_code", "exp_func_code")
    lines = posted_lines(actor=actor, account_set=account_set).filter(q, basis=Basis.BUDGET)
    raw = [(dict(zip(group, k, strict=True)), t) for k, t in turnovers(lines, rng, group_by=group).items()]

    def values(row: RowDef, project: str | None) -> list[int]:
        picked: dict[tuple, Turnover] = {}
        for key, t in raw:
            if _row_match(d, row, key, project):
                picked[(key["account_code"],)] = picked.get((key["account_code"],), Turnover())
                picked[(key["account_code"],)].add(t)
        fig = Figures(sides, rolled_up(picked))
        return [sum(fig.amount(c.kind, t) for t in c.terms) if not row.only or i in row.only else None
                for i, c in enumerate(d.columns, 1)]

    rows: list[StatementRow] = []
    for r in d.rows:
        vals = values(r, None)
        level = 0 if r.bold else (1 if r.name.startswith("（") else 2)
        rows.append(StatementRow(r.row_no, r.name, vals, r.bold, level))
        if r.expand == "project":
            projects = sorted({k["project_code"] for k, _ in raw if k["project_code"] and _row_match(d, r, k, None)})
            for i, p in enumerate(projects, 1):
                pv = values(r, p)
                if any(v for v in pv if v):
                    rows.append(StatementRow(f"{r.row_no}.{i}", f"{i}.项目 {p}", pv, False, 2))
    problems = []
    for r in rows:
        if None in r.values:  # a partial row (expenditure only) has no balance to check
            continue
        for lhs, rhs in d.checks:
            a, b = _check(d, lhs, rhs, lambda n, r=r: r.values[n - 1])
            if a != b:
                problems.append(f"{d.title}「{r.name}」：{_fmt_terms(lhs)} ≠ {_fmt_terms(rhs)}（{a} ≠ {b} 分）")
    return Statement(d, account_set, period, [c.label for c in d.columns], rows, problems)
