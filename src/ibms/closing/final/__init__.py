"""决算 (final accounts): 部门决算 tables per unit and department from budget accounting, the region's 总决算 from
总预算会计, and the data of the 政府综合财务报告 from financial accounting — layouts as data
(data/closing/final_accounts/), figures always computed, each drilling down to the rows behind it.

Modules: `layouts` (the data files), `scopes` (whose tables: unit / department / region, read in the actor's
scope), `compute` (figures and drill-down), `statement_sum` (the summed accounting statements), `ties`
(`final_problems` for `ibms verify` and the checklist step `final_accounts`), `api`, `views`, `urls`.
"""

from .compute import FinalTable, drill, final_compute, final_compute_all
from .layouts import table_def, tables
from .scopes import Scope, region_scopes, scope_resolve

__all__ = ["FinalTable", "Scope", "drill", "final_compute", "final_compute_all", "region_scopes", "scope_resolve",
           "table_def", "tables"]
