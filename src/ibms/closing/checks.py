"""`ibms verify` checks of the year end (registered in apps.py): conservation of every executed carry-over
(carried + recalled = unspent, per indicator, run and fund nature), next year's opening balances equal to the
closed year's closing balances, and the final accounts tied to the trial balances and the indicator ledger."""

from __future__ import annotations


def _carry() -> list[str]:
    from .selectors import carry_problems

    return carry_problems()


def _opening() -> list[str]:
    from ibms.accounting.services.opening import opening_problems

    return opening_problems()


def _final() -> list[str]:
    from .final.ties import final_problems

    return final_problems()


CHECKS = [("closing.carry_over", _carry), ("closing.opening_balances", _opening), ("closing.final_accounts", _final)]
