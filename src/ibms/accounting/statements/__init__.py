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

Definitions are read by :mod:`.definition`; statements are computed by :mod:`.evaluation`.
"""

from .definition import (
    FILTER_FIELDS,
    KINDS,
    MODES,
    ColumnDef,
    LineDef,
    RowDef,
    StatementDef,
    Term,
    definition_problems,
    definitions,
    formula_parse,
    statement_definition_get,
    statements_dir,
    unit_chart_codes,
)
from .evaluation import Figures, Statement, StatementRow, statement_compute, statement_compute_all

__all__ = [
    "FILTER_FIELDS",
    "KINDS",
    "MODES",
    "ColumnDef",
    "Figures",
    "LineDef",
    "RowDef",
    "Statement",
    "StatementDef",
    "StatementRow",
    "Term",
    "definition_problems",
    "definitions",
    "formula_parse",
    "statement_compute",
    "statement_compute_all",
    "statement_definition_get",
    "statements_dir",
    "unit_chart_codes",
]
