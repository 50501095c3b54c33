"""Statement definitions: the data files under `data/accounting/statements/` read into line, column and row
definitions, formula terms, and the static checks of those definitions."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from ibms.core.errors import invalid

KINDS = {"", "closing", "opening", "period", "debit", "credit", "recon", "recon_rest"}
MODES = {"current", "ytd", "year_open"}
_TERM = re.compile(r"^([+-])(L\d+|C\d+|\d[\d.]*)(?::([DC]))?$")

def statements_dir() -> Path:
    return Path(settings.DATA_DIR) / "accounting" / "statements"

def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


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

def formula_parse(text: str) -> tuple[Term, ...]:
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
        out.append((formula_parse(lhs), formula_parse(rhs)))
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
            cols = tuple(ColumnDef(c["label"], "ytd", c["kind"], formula_parse(c["formula"]))
                         for c in _read(base / f"{code}_columns.csv"))
            rows = tuple(RowDef(int(r["row_no"]), r["name"], r["fund"], _filters(r["filter"]), r["expand"],
                                tuple(int(c) for c in r["columns"].split()), bool(r["bold"]))
                         for r in _read(base / f"{code}.csv"))
            funds = tuple((f["fund"], f["revenue_account"], f["fund_nature_prefix"])
                          for f in _read(base / f"{code}_funds.csv"))
            out[code] = StatementDef(**{**common, "columns": cols}, rows=rows, funds=funds)
        else:
            lines = tuple(LineDef(int(r["line_no"]), r["name"], r["kind"], formula_parse(r["formula"]),
                                  bool(r["bold"])) for r in _read(base / f"{code}.csv"))
            out[code] = StatementDef(**common, lines=lines)
    return out

def definitions() -> dict[str, StatementDef]:
    return _load(str(statements_dir()))

def statement_definition_get(code: str) -> StatementDef:
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


def unit_chart_codes() -> set[str]:
    """Codes of the unit chart as the engine loads it (for the definition check)."""
    from ..charts import chart_rows  # the engine's chart reader (data files only)

    return {r["code"] for r in chart_rows("unit")}
