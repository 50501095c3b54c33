"""Generated budget tables: the department budget tables (部门预算表) and the eight public disclosure tables
(部门预算公开), computed from the budget lines of one round and version on every request — never stored,
never edited by hand.

Each table is a `core.reports.ReportTable` built from aggregate queries over the scoped `BudgetLine` rows
(`BudgetLine.objects.restrict(actor)`), rendered by `core.reports` as HTML, Excel and PDF and by
`report_api` as JSON. The parts of the layout that rest on unverified conventions are data (:mod:`.layout`,
`data/budgeting/report_layout.csv`); row labels come from the value sets.

- :mod:`.layout`: the layout data; :mod:`.basis`: the scoped lines and facts, and the reads that pick them.
- :mod:`.rows`: shared row builders; :mod:`.department`, :mod:`.disclosure`: the tables.
- :mod:`.registry`: slug → table, by group.
"""

from .basis import (
    BASIC,
    EXPENDITURE,
    PROJECT,
    REVENUE,
    Fact,
    ReportBasis,
    default_version,
    report_basis_get,
    report_round_get,
    report_round_list,
    report_unit_list,
)
from .department import MAX_DETAIL_ROWS
from .layout import (
    ECO_LEVELS,
    FUNC_LEVELS,
    INDENT,
    OTHER_FUND,
    UNCLASSIFIED,
    Group,
    Layout,
    layout,
    layout_path,
)
from .registry import (
    DEPARTMENT,
    DISCLOSURE,
    GROUP_TITLES,
    TABLES,
    TableSpec,
    report_group_build,
    report_table_build,
    table_specs,
)
from .rows import RevenueItem, fund_columns, level_parent, numeral, revenue_items, tree_rows, unit_rows

__all__ = [
    "BASIC", "DEPARTMENT", "DISCLOSURE", "ECO_LEVELS", "EXPENDITURE", "FUNC_LEVELS", "GROUP_TITLES", "INDENT",
    "MAX_DETAIL_ROWS", "OTHER_FUND", "PROJECT", "REVENUE", "TABLES", "UNCLASSIFIED", "Fact", "Group",
    "Layout", "ReportBasis", "RevenueItem", "TableSpec", "default_version", "fund_columns", "layout", "layout_path",
    "level_parent", "numeral", "report_basis_get", "report_group_build", "report_round_get", "report_round_list",
    "report_table_build", "report_unit_list", "revenue_items", "table_specs", "tree_rows", "unit_rows",
]
