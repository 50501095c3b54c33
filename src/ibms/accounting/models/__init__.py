"""Accounting (会计核算): charts, account sets (账套), periods, posting rules and vouchers.

Shape of the books (stable field names; the books engineer builds ledgers and statements on them):

- `ChartTemplate` / `ChartAccount`: a chart of accounts per (kind, year), loaded from
  `data/reference/gov_accounting_unit_chart.csv` (kind `unit`, 《政府会计制度》) and
  `data/reference/fiscal_general_accounting_chart_2015.csv` (kind `fiscal`, 2015 总预算会计), plus the
  configured sub-accounts of `data/accounting/sub_accounts.csv`.
- `AccountSet` (账套): one per unit and year (kind `unit`; `unit_type` copied from the unit: organ → 7101,
  institution → 7201) and one per finance bureau (region) and year (kind `fiscal`, `unit` empty).
- `Account`: the set's own copy of the chart. **Codes are dotted**: a top-level account keeps its 4-digit
  code (`4001`), each sub-level adds `.NN` (`4001.01`, `8101.06`); `export_code` drops the dots
  (`400101`, the concatenated form real exports use). Prefix queries work on either form. Only leaves
  (`is_leaf`) take postings; `is_active=False` is a closed account. `aux_dims` lists the auxiliary
  dimensions (辅助核算) a line on that account must carry (see `DIMENSIONS`).
- `basis`: `financial` (财务会计, accrual; unit classes 1–5) or `budget` (预算会计, cash; unit classes 6–8).
  The 2015 finance-bureau chart is a single-basis chart: all its accounts are `financial`, so a
  finance-bureau voucher balances in that one basis.
- `Period`: months 1–12 of the set's year, `open` or `closed`; closed strictly in order. Year-end closing
  entries are dated 12-31 in period 12 (voucher source `closing`); opening balances carried from the previous
  year are posted in period 1 with source `opening` (`services.voucher_post_system`).
- `Voucher` (凭证): `number` is gap-free per (account set, period), assigned when the voucher is posted
  (drafts have none); `status` draft → reviewed → posted; posted vouchers are immutable. Corrections are
  reversals (红字冲销): a new voucher with `reversal_of` = the original, the same accounts and sides and
  negated amounts, so turnover and balances both return to where they were. Vouchers generated from a
  business event carry `event_id` (unique per account set: posting the same event twice returns the same
  voucher), `event_type` and the posting rule's code.
- `VoucherLine`: one line in one basis; `debit` and `credit` in fen, exactly one of them non-zero
  (negative only on reversal lines). Dimensions are plain code strings (accounting does not import the
  budget apps). `account_code` and `account_set` are copied from the account for grouped queries.
  Balance of an account = Σ debit − Σ credit over lines of *posted* vouchers.
- `PostingRule` / `PostingRuleLine`: posting rules as data (`data/accounting/posting_rules.csv`),
  versioned by year; see `ibms.accounting.posting`.
"""

from .books import DIMENSION_LABELS, DIMENSIONS, Account, AccountSet, Period, Voucher, VoucherLine
from .charts import Basis, ChartAccount, ChartKind, ChartTemplate, Side
from .rules import BusinessType, PostingRule, PostingRuleLine

__all__ = [
    "DIMENSIONS", "DIMENSION_LABELS", "Account", "AccountSet", "Basis", "BusinessType", "ChartAccount", "ChartKind",
    "ChartTemplate", "Period", "PostingRule", "PostingRuleLine", "Side", "Voucher", "VoucherLine",
]
