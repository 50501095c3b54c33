"""Set-up data this app needs in every deployment (approval chains, value sets, rules), idempotent."""

from ibms.core.workflow import set_chain

from .charts import load_all

VOUCHER_DOC = "accounting_voucher"  # a unit's voucher: reviewed and posted by the unit's reviewer
FISCAL_VOUCHER_DOC = "accounting_voucher_fiscal"  # a finance bureau's 总预算会计 voucher
DEFAULT_CHAINS = {
    VOUCHER_DOC: ("记账凭证审核", [("审核记账", "unit_reviewer", "unit")]),
    FISCAL_VOUCHER_DOC: ("总预算会计凭证审核", [("审核记账", "accounting_division", "finance")]),
}


def setup_app(years: list[int]) -> None:
    """Chart templates and posting rules for each year (from data files), and the voucher review chains."""
    load_all(years)
    for doc, (name, steps) in DEFAULT_CHAINS.items():
        set_chain(doc, "", name, steps)
