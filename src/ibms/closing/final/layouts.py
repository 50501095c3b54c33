"""决算 table layouts as data (data/closing/final_accounts/): `tables.csv` lists the tables (code, title, report
number, scope, the table's own line filter, the checks), `<code>.csv` its columns and rows.

A table's scope is `unit` (部门决算: budget-basis lines 6xxx/7xxx/8xxx of a unit's account set, or of every set of
a department's unit subtree), `region` (总决算: the region's 总预算会计 set) or `statement` (政府综合财务报告 data:
the accounting statement named in `filter`, summed over the region's unit sets).

Each column and row has a `measure` (a row's wins over its column's), a `filter` (the row's, the column's and the
table's all apply), a `formula` (`L1+L2` for rows, `C1+C2-C3` for columns: a sum of other figures) and, for rows,
`expand` (`exp_func:3 5 7` one child row per 功能分类 类/款/项, `dep_eco:3 5` per 经济分类 类/款, `project` per
项目). Measures: `cr` / `dr` the year's flows (credit − debit / debit − credit; year-end closing vouchers and
opening-balance vouchers left out), `open_cr` the opening balance (credit − debit of the opening vouchers),
`end_cr` the year-end balance (every line), `carry` / `recall` the carried / recalled amounts of the year's
carry-over batch (结转结余批次, by the indicator's dimensions). Filters are space-separated `dim=value` terms:
dimensions `account`, `exp_func`, `dep_eco`, `project`, `fund_nature`; a value is `|`-separated prefixes, `!` before
them negates (a blank code is then included), `` (empty) means blank, `*` any non-blank, `=code` exactly that code,
`@sangong` the year's 三公 economic classes.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ibms.core.errors import NotFound

MEASURES = {"", "cr", "dr", "open_cr", "end_cr", "carry", "recall"}
DIMS = {"account": "account_code", "exp_func": "exp_func_code", "dep_eco": "dep_eco_code",
        "project": "project_code", "fund_nature": "fund_nature_code"}
SCOPES = {"unit", "region", "statement"}
_REF = re.compile(r"([+-]?)([LC])(\d+)")


def layouts_dir() -> Path:
    return Path(settings.DATA_DIR) / "closing" / "final_accounts"


@dataclass(frozen=True)
class Cond:
    dim: str
    value: str  # raw: '' | '*' | '!a|b' | 'a|b' | '@sangong'

    def matches(self, have: str, sangong: frozenset[str] = frozenset()) -> bool:
        v = self.value
        if v == "":
            return have == ""
        if v == "*":
            return have != ""
        if v.startswith("="):
            return have == v[1:]
        negate = v.startswith("!")
        prefixes = _prefixes(v.lstrip("!"), sangong)
        hit = have != "" and any(have.startswith(p) for p in prefixes)
        return hit != negate


def _prefixes(text: str, sangong: frozenset[str]) -> tuple[str, ...]:
    if text == "@sangong":
        return tuple(sorted(sangong)) or ("\x00",)  # no 三公 classes: matches nothing
    return tuple(p for p in text.split("|") if p)


def parse_filter(text: str) -> tuple[Cond, ...]:
    out = []
    for tok in (text or "").split():
        dim, eq, value = tok.partition("=")
        if not eq or dim not in DIMS:
            raise ValueError(f"bad filter term {tok!r}")
        out.append(Cond(dim, value))
    return tuple(out)


def parse_formula(text: str, letter: str) -> tuple[tuple[int, int], ...]:
    """'L1+L5-L3' → ((1, 1), (1, 5), (-1, 3))."""
    text = (text or "").replace(" ", "")
    if not text:
        return ()
    terms = _REF.findall(text)
    if "".join(s + k + n for s, k, n in terms) != text or any(k != letter for _, k, _ in terms):
        raise ValueError(f"bad formula {text!r}")
    return tuple((-1 if s == "-" else 1, int(n)) for s, _, n in terms)


@dataclass(frozen=True)
class Part:
    no: int
    name: str
    measure: str
    conds: tuple[Cond, ...]
    expand: tuple[str, tuple[int, ...]] | None  # (dimension, prefix lengths) or ('project', ())
    formula: tuple[tuple[int, int], ...]
    bold: bool


@dataclass(frozen=True)
class TableDef:
    code: str
    title: str
    report_no: str
    scope: str
    conds: tuple[Cond, ...]
    statement: str  # scope 'statement': the accounting statement summed
    checks: tuple[tuple[str, tuple, tuple], ...]  # (letter, lhs, rhs)
    provenance: str
    columns: tuple[Part, ...] = ()
    rows: tuple[Part, ...] = ()

    def column(self, no: int) -> Part:
        return next(c for c in self.columns if c.no == no)

    def row(self, no: int) -> Part:
        return next(r for r in self.rows if r.no == no)


def _expand(text: str) -> tuple[str, tuple[int, ...]] | None:
    if not text:
        return None
    dim, _, lengths = text.partition(":")
    if dim not in ("exp_func", "dep_eco", "project"):
        raise ValueError(f"bad expand {text!r}")
    return dim, tuple(int(n) for n in lengths.split())


def _part(r: dict, letter: str) -> Part:
    measure = r["measure"].strip()
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    return Part(int(r["no"]), r["name"].strip(), measure, parse_filter(r["filter"]), _expand(r["expand"].strip()),
                parse_formula(r["formula"], letter), bool(r["bold"].strip()))


def _checks(text: str) -> tuple:
    out = []
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        lhs, _, rhs = part.partition("=")
        letter = lhs.strip()[:1]
        out.append((letter, parse_formula(lhs, letter), parse_formula(rhs, letter)))
    return tuple(out)


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@functools.lru_cache(maxsize=4)
def _load(root: str) -> dict[str, TableDef]:
    base = Path(root)
    out: dict[str, TableDef] = {}
    for t in _read(base / "tables.csv"):
        code, scope = t["code"].strip(), t["scope"].strip()
        if scope not in SCOPES:
            raise ValueError(f"{code}: unknown scope {scope!r}")
        common = {"code": code, "title": t["title"].strip(), "report_no": t["report_no"].strip(), "scope": scope,
                  "checks": _checks(t["checks"]), "provenance": t["provenance"].strip()}
        if scope == "statement":
            out[code] = TableDef(**common, conds=(), statement=t["filter"].strip())
            continue
        parts = _read(base / f"{code}.csv")
        out[code] = TableDef(**common, conds=parse_filter(t["filter"]), statement="",
                             columns=tuple(_part(r, "C") for r in parts if r["part"] == "col"),
                             rows=tuple(_part(r, "L") for r in parts if r["part"] == "row"))
    return out


def tables() -> dict[str, TableDef]:
    return _load(str(layouts_dir()))


def table_def(code: str) -> TableDef:
    d = tables().get(code)
    if d is None:
        raise NotFound("决算报表")
    return d


def layout_problems() -> list[str]:
    """Static checks of the layouts: formula and check references, unique numbers, known statements."""
    from ibms.accounting.statements import definitions

    problems = []
    for d in tables().values():
        if d.scope == "statement":
            if d.statement not in definitions():
                problems.append(f"final {d.code}: no accounting statement {d.statement!r}")
            continue
        for letter, parts in (("C", d.columns), ("L", d.rows)):
            numbers = [p.no for p in parts]
            if len(set(numbers)) != len(numbers):
                problems.append(f"final {d.code}: duplicate {letter} numbers")
            for p in parts:
                for _, n in p.formula:
                    if n not in numbers or n == p.no:
                        problems.append(f"final {d.code} {letter}{p.no}: bad reference {letter}{n}")
        for letter, lhs, rhs in d.checks:
            numbers = [p.no for p in (d.columns if letter == "C" else d.rows)]
            if any(n not in numbers for _, n in lhs + rhs):
                problems.append(f"final {d.code}: check refers to an unknown {letter}")
    return problems
