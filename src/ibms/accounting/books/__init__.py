"""Books (账簿): general ledger, detail ledgers, project ledger and trial balance of an account set.

Every read starts from the caller's scoped querysets (`restrict(user, VIEW)`); an account set outside the
caller's scope is "not found". Only lines of *posted* vouchers count. Amounts are integer fen; balances
are kept debit-positive (借 − 贷) internally and shown with a direction (借/贷/平) on the account's side.

Period ranges are months `start..end` of the set's year. "Before start" is the opening balance; the year
opening is the balance before period 1 (vouchers of a voucher source `opening`, if the engine adds one,
count as before period 1). Year-end closing vouchers (source `closing`) are part of turnover and balances
but are left out of *period amounts* (本期数) of revenue and expense, which is what statements need.

Modules: the starting points and grouped sums (:mod:`.lines`), the trial balance (:mod:`.trial_balance`), the
ledgers (:mod:`.ledgers`); the pure rules (period range, turnover, code ancestry) are :mod:`ibms.accounting.domain`.
"""

from ..domain import PeriodRange, Turnover, ancestors, direction, rolled_up, side_amount
from .ledgers import (
    DIM_FIELDS,
    DetailEntry,
    DetailLedger,
    GeneralLedger,
    MonthRow,
    ProjectLedger,
    ProjectRow,
    detail_ledger,
    general_ledger,
    ledger_accounts,
    project_ledger,
)
from .lines import (
    BASIS_LABELS,
    CLOSING,
    OPENING,
    POSTED,
    monthly,
    posted_lines,
    set_accounts,
    turnovers,
)
from .trial_balance import BalanceRow, BasisTotals, TrialBalance, trial_balance

__all__ = [
    "BASIS_LABELS",
    "CLOSING",
    "DIM_FIELDS",
    "OPENING",
    "POSTED",
    "BalanceRow",
    "BasisTotals",
    "DetailEntry",
    "DetailLedger",
    "GeneralLedger",
    "MonthRow",
    "PeriodRange",
    "ProjectLedger",
    "ProjectRow",
    "TrialBalance",
    "Turnover",
    "ancestors",
    "detail_ledger",
    "direction",
    "general_ledger",
    "ledger_accounts",
    "monthly",
    "posted_lines",
    "project_ledger",
    "rolled_up",
    "set_accounts",
    "side_amount",
    "trial_balance",
    "turnovers",
]
