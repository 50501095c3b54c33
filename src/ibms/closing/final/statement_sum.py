"""政府综合财务报告 data: an accounting statement (资产负债表, 收入费用表 — data/accounting/statements/) computed by
the statements engine for each unit set of the region and summed line by line. A figure drills down to the sets
whose figures it adds."""

from __future__ import annotations

from ibms.accounting.books import PeriodRange
from ibms.accounting.models import AccountSet
from ibms.accounting.statements import statement_compute, statement_definition_get

from .layouts import Part, TableDef
from .scopes import Scope
from .table import FinalRow, FinalTable


def _set_statements(actor, scope: Scope, d: TableDef):
    sets = AccountSet.objects.restrict(actor).filter(pk__in=scope.unit_set_ids).select_related("unit")
    return [statement_compute(actor=actor, account_set=a, code=d.statement, period=PeriodRange(1, 12))
            for a in sets.order_by("unit__path")]


def statement_sum(*, actor, scope: Scope, d: TableDef):
    sd = statement_definition_get(d.statement)
    stmts = _set_statements(actor, scope, d)
    cols = tuple(Part(i, c.label, "", (), None, (), False) for i, c in enumerate(sd.columns, 1))
    rows_def = tuple(Part(ln.line_no, ln.name, "", (), None, (), ln.bold) for ln in sd.lines)
    full = TableDef(d.code, d.title, d.report_no, d.scope, (), d.statement, (), d.provenance, cols, rows_def)
    rows = []
    for ln in sd.lines:
        if ln.is_header:
            values = [None for _ in cols]
        else:
            values = [sum(s.value(ln.line_no, i) or 0 for s in stmts) for i in range(len(cols))]
        rows.append(FinalRow(ln.line_no, None, ln.name, values, ln.bold, 0 if ln.bold else 1))
    problems = [f"{s.account_set.name}：{p}" for s in stmts for p in s.problems]
    return FinalTable(full, scope, rows, problems)


def statement_drill(*, actor, scope: Scope, d: TableDef, row_no: int, col_no: int) -> list[tuple[AccountSet, int]]:
    """(set, its figure) of every unit set the summed figure adds."""
    out = []
    for s in _set_statements(actor, scope, d):
        v = s.value(row_no, col_no - 1)
        if v:
            out.append((s.account_set, v))
    return out
