"""Statements (会计报表) computed from the books; line definitions are data (`data/accounting/statements/`).

`statements.csv` lists the statements: code, title, report number, chart kind, columns (`label:mode`,
mode `current` = the chosen period range, `ytd` = period 1 to the end of the range, `year_open` = the
year's opening) and checks (`L38=L67`: sums of lines that must agree in every column).

`<code>.csv` holds the lines: `line_no, name, kind, formula, bold`. A formula is a list of terms
`+CODE` / `-CODE` / `+Ln`: an account code (dotted sub-accounts allowed; a class prefix such as `4`
sums the level-1 accounts of that class) seen from that account's normal balance side, or another
line's value. `kind` says which amount an account term takes:

- `closing` / `opening`: the balance at the end / start of the column's range;
- `period`: the movement in the range, year-end closing vouchers left out (本期数);
- `debit` / `credit`: debit / credit turnover in the range, closing vouchers left out;
- `recon`: terms `CODE:D` / `CODE:C`: debit / credit amounts of financial-basis lines of *reconciling
  vouchers* — posted, not closing, with at least one line on a revenue, expense, budget revenue or
  budget expenditure account (classes 4–7) — so each line names one kind of difference between
  本年盈余 and 预算结余;
- `recon_rest`: the balance-sheet movement of those vouchers (financial classes 1–3, 借 − 贷) less
  their budget-balance movement (class 8), plus the formula's line terms: what the listed items leave
  unexplained (其他事项差异). The reconciliation's check then holds only if each voucher balances in
  each basis.

The 财政拨款预算收入支出表 is a matrix: its rows (`fiscal_appropriation.csv`) are dimension filters
(fund type, `project=` empty / `project=*` any / `dep_eco=301|303` prefixes / `!` negation, `expand`
= one child row per project, `columns` = the only columns shown) and its columns
(`fiscal_appropriation_columns.csv`) are formulas evaluated year-to-date.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from ibms.core.errors import invalid
from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable

from .books import (
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
from .models import AccountSet, Basis

KINDS = {"", "closing", "opening", "period", "debit", "credit", "recon", "recon_rest"}
MODES = {"current", "ytd", "year_open"}
_TERM = re.compile(r"^([+-])(L\d+|C\d+|\d[\d.]*)(?::([DC]))?$")

def statements_dir() -> Path:
    return Path(settings.DATA_DIR) / "accounting" / "statements"

def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))

# --- definitions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    sign: int
    ref: str  # account code, "L<n>" (line) or "C<n>" (column)
    side: str = ""  # D / C for recon terms

    @property
    def is_line(self) -> bool:
        return self.ref[0] in "LC"

    @property
    def number(self) -> int:
        return int(self.ref[1:])

def parse_formula(text: str) -> tuple[Term, ...]:
    """'+1001 -1602 +L3 +1601:D' → terms; also accepts 'L1+L4-L7' (no spaces, check syntax)."""
    text = re.sub(r"(?<=[\w:])(?=[+-])", " ", (text or "").strip())
    out = []
    for tok in text.split():
        if tok[0] not in "+-":
            tok = "+" + tok
        m = _TERM.match(tok)
        if not m:
            raise ValueError(f"bad formula term {tok!r}")
        out.append(Term(1 if m.group(1) == "+" else -1, m.group(2), m.group(3) or ""))
    return tuple(out)

@dataclass(frozen=True)
class LineDef:
    line_no: int
    name: str
    kind: str
    terms: tuple[Term, ...]
    bold: bool

    @property
    def is_header(self) -> bool:
        return not self.terms and self.kind not in ("recon_rest",)

@dataclass(frozen=True)
class ColumnDef:
    label: str
    mode: str = "current"
    kind: str = ""  # fiscal-appropriation columns: their own kind and formula
    terms: tuple[Term, ...] = ()

@dataclass(frozen=True)
class RowDef:
    """A fiscal-appropriation row: fund type and dimension filters."""

    row_no: int
    name: str
    fund: str
    filters: tuple[tuple[str, str], ...]
    expand: str
    # columns shown (empty = all): economic-class rows show expenditure only, since budget revenue and
    # balance lines carry no economic class
    only: tuple[int, ...]
    bold: bool

@dataclass(frozen=True)
class StatementDef:
    code: str
    title: str
    report_no: str
    chart: str
    columns: tuple[ColumnDef, ...]
    checks: tuple[tuple[tuple[Term, ...], tuple[Term, ...]], ...]
    lines: tuple[LineDef, ...] = ()
    rows: tuple[RowDef, ...] = ()
    funds: tuple[tuple[str, str, str], ...] = ()  # (fund, revenue account, fund-nature prefix)

    @property
    def is_matrix(self) -> bool:
        return bool(self.rows)

def _columns(text: str) -> tuple[ColumnDef, ...]:
    out = []
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        label, _, mode = part.partition(":")
        if mode not in MODES:
            raise ValueError(f"unknown column mode {mode!r}")
        out.append(ColumnDef(label, mode))
    return tuple(out)

def _checks(text: str) -> tuple:
    out = []
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        lhs, _, rhs = part.partition("=")
        out.append((parse_formula(lhs), parse_formula(rhs)))
    return tuple(out)

def _filters(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for tok in (text or "").split():
        key, _, value = tok.partition("=")
        if key not in FILTER_FIELDS:
            raise ValueError(f"unknown row filter {key!r}")
        out.append((key, value))
    return tuple(out)

FILTER_FIELDS = {"project": "project_code", "dep_eco": "dep_eco_code", "exp_func": "exp_func_code",
                 "fund_nature": "fund_nature_code"}

@lru_cache(maxsize=4)
def _load(root: str) -> dict[str, StatementDef]:
    base = Path(root)
    out = {}
    for s in _read(base / "statements.csv"):
        code = s["code"]
        common = {"code": code, "title": s["title"], "report_no": s["report_no"], "chart": s["chart"],
                  "columns": _columns(s["columns"]), "checks": _checks(s["checks"])}
        if (base / f"{code}_columns.csv").exists():  # a matrix statement
            cols = tuple(ColumnDef(c["label"], "ytd", c["kind"], parse_formula(c["formula"]))
                         for c in _read(base / f"{code}_columns.csv"))
            rows = tuple(RowDef(int(r["row_no"]), r["name"], r["fund"], _filters(r["filter"]), r["expand"],
                                tuple(int(c) for c in r["columns"].split()), bool(r["bold"]))
                         for r in _read(base / f"{code}.csv"))
            funds = tuple((f["fund"], f["revenue_account"], f["fund_nature_prefix"])
                          for f in _read(base / f"{code}_funds.csv"))
            out[code] = StatementDef(**{**common, "columns": cols}, rows=rows, funds=funds)
        else:
            lines = tuple(LineDef(int(r["line_no"]), r["name"], r["kind"], parse_formula(r["formula"]),
                                  bool(r["bold"])) for r in _read(base / f"{code}.csv"))
            out[code] = StatementDef(**common, lines=lines)
    return out

def definitions() -> dict[str, StatementDef]:
    return _load(str(statements_dir()))

def get_definition(code: str) -> StatementDef:
    d = definitions().get(code)
    if d is None:
        raise invalid("unknown_statement", f"没有该报表：{code}", "statement")
    return d

def definition_problems(chart_codes: set[str] | None = None) -> list[str]:
    """Static checks of the definitions: kinds, line references, recon sides, known account codes."""
    problems = []
    for d in definitions().values():
        numbers = [ln.line_no for ln in d.lines]
        if len(set(numbers)) != len(numbers):
            problems.append(f"{d.code}: duplicate line numbers")
        for ln in d.lines:
            if ln.kind not in KINDS:
                problems.append(f"{d.code} L{ln.line_no}: unknown kind {ln.kind!r}")
            for t in ln.terms:
                if t.is_line:
                    if t.ref[0] != "L" or t.number not in numbers:
                        problems.append(f"{d.code} L{ln.line_no}: no line {t.ref}")
                    continue
                if not ln.kind or ln.kind == "recon_rest":
                    problems.append(f"{d.code} L{ln.line_no}: account term {t.ref} needs a balance kind")
                if (ln.kind == "recon") != bool(t.side):
                    problems.append(f"{d.code} L{ln.line_no}: {t.ref} side D/C only (and always) in recon lines")
                if chart_codes is not None and len(t.ref) >= 4 and t.ref not in chart_codes:
                    problems.append(f"{d.code} L{ln.line_no}: account {t.ref} not in the chart")
        for c in d.columns:
            for t in c.terms:
                if t.is_line:
                    problems.append(f"{d.code} column {c.label}: line reference in a column formula")
                elif chart_codes is not None and t.ref not in chart_codes:
                    problems.append(f"{d.code} column {c.label}: account {t.ref} not in the chart")
        for lhs, rhs in d.checks:
            for t in lhs + rhs:
                if d.is_matrix and not (t.ref[0] == "C" and 1 <= t.number <= len(d.columns)):
                    problems.append(f"{d.code}: check refers to unknown column {t.ref}")
                if not d.is_matrix and not (t.ref[0] == "L" and t.number in numbers):
                    problems.append(f"{d.code}: check refers to unknown line {t.ref}")
    return problems

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

def compute(*, actor, account_set: AccountSet, code: str, period: PeriodRange, cache: dict | None = None) -> Statement:
    """One statement of one account set for a period range (months of the set's year)."""
    d = get_definition(code)
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

def compute_all(*, actor, account_set: AccountSet, period: PeriodRange) -> list[Statement]:
    cache: dict = {}
    return [compute(actor=actor, account_set=account_set, code=c, period=period, cache=cache)
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

def unit_chart_codes() -> set[str]:
    """Codes of the unit chart as the engine loads it (for the definition check)."""
    from .charts import chart_rows  # the engine's chart reader (data files only)

    return {r["code"] for r in chart_rows("unit")}
