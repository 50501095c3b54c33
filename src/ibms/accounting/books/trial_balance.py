"""Trial balance (科目余额表 / 试算平衡表): opening, debit, credit and closing of every account per basis."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import PeriodRange, Turnover, rolled_up
from ..models import Account, AccountSet, Basis
from .lines import BASIS_LABELS, posted_lines, set_accounts, turnovers


@dataclass
class BalanceRow:
    account: Account
    opening: int  # debit-positive
    debit: int
    credit: int

    @property
    def closing(self) -> int:
        return self.opening + self.debit - self.credit

    @property
    def code(self) -> str:
        return self.account.code

    @staticmethod
    def split(amount: int) -> tuple[int, int]:
        """(借方余额, 贷方余额)."""
        return (amount, 0) if amount >= 0 else (0, -amount)


@dataclass
class BasisTotals:
    basis: str
    opening_debit: int = 0
    opening_credit: int = 0
    debit: int = 0
    credit: int = 0
    closing_debit: int = 0
    closing_credit: int = 0

    @property
    def label(self) -> str:
        return BASIS_LABELS.get(self.basis, self.basis)

    @property
    def problems(self) -> list[str]:
        out = []
        if self.opening_debit != self.opening_credit:
            out.append(f"{self.label}期初借贷不平衡")
        if self.debit != self.credit:
            out.append(f"{self.label}本期发生额借贷不平衡")
        if self.closing_debit != self.closing_credit:
            out.append(f"{self.label}期末借贷不平衡")
        return out

    @property
    def balanced(self) -> bool:
        return not self.problems


@dataclass
class TrialBalance:
    account_set: AccountSet
    period: PeriodRange
    rows: dict[str, list[BalanceRow]]  # basis → rows (accounts in code order)
    totals: dict[str, BasisTotals]

    @property
    def balanced(self) -> bool:
        return all(t.balanced for t in self.totals.values())

    @property
    def problems(self) -> list[str]:
        return [p for t in self.totals.values() for p in t.problems]


def trial_balance(*, actor, account_set: AccountSet, period: PeriodRange, max_level: int = 0,
                  include_empty: bool = False) -> TrialBalance:
    """Opening, debit, credit, closing of every account per basis; totals from level-1 accounts so that
    sub-accounts are not counted twice. `max_level` 0 = every level."""
    by_leaf = turnovers(posted_lines(actor=actor, account_set=account_set), period)
    rolled = rolled_up(by_leaf)
    accounts = set_accounts(actor=actor, account_set=account_set)
    rows: dict[str, list[BalanceRow]] = {}
    totals: dict[str, BasisTotals] = {}
    for acc in accounts:
        totals.setdefault(acc.basis, BasisTotals(acc.basis))
        t = rolled.get(acc.code, Turnover())
        row = BalanceRow(acc, t.opening, t.debit, t.credit)
        if acc.level == 1:
            tot = totals[acc.basis]
            od, oc = BalanceRow.split(row.opening)
            cd, cc = BalanceRow.split(row.closing)
            tot.opening_debit += od
            tot.opening_credit += oc
            tot.debit += row.debit
            tot.credit += row.credit
            tot.closing_debit += cd
            tot.closing_credit += cc
        if max_level and acc.level > max_level:
            continue
        if not include_empty and not (row.opening or row.debit or row.credit):
            continue
        rows.setdefault(acc.basis, []).append(row)
    order = [b for b in (Basis.FINANCIAL, Basis.BUDGET) if b in totals]
    return TrialBalance(account_set, period, {b: rows.get(b, []) for b in order}, {b: totals[b] for b in order})
