"""Pure rules of the books on plain values: a period range of a set's year, the turnover of an account over a
range (debit-positive balances), account-code ancestry, and how an amount reads on an account's side."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ibms.core.errors import invalid

from .models import Side


@dataclass(frozen=True)
class PeriodRange:
    start: int
    end: int

    @classmethod
    def of(cls, start, end) -> PeriodRange:
        try:
            s, e = int(start), int(end)
        except (TypeError, ValueError):
            raise invalid("period_range", "会计期间必须是 1–12 的月份", "period") from None
        if not (1 <= s <= 12 and 1 <= e <= 12):
            raise invalid("period_range", "会计期间必须是 1–12 的月份", "period")
        if s > e:
            raise invalid("period_order", "起始期间不能晚于截止期间", "period")
        return cls(s, e)

    @property
    def label(self) -> str:
        return f"{self.start:02d}期" if self.start == self.end else f"{self.start:02d}—{self.end:02d}期"



@dataclass
class Turnover:
    """Sums of one account (or account × dimensions) over a period range; debit-positive balances."""

    before_debit: int = 0
    before_credit: int = 0
    debit: int = 0
    credit: int = 0
    closing_debit: int = 0  # the part of debit/credit posted by year-end closing vouchers
    closing_credit: int = 0

    @property
    def opening(self) -> int:
        return self.before_debit - self.before_credit

    @property
    def closing(self) -> int:
        return self.opening + self.debit - self.credit

    @property
    def net(self) -> int:
        """Period movement (借 − 贷) without closing vouchers."""
        return (self.debit - self.closing_debit) - (self.credit - self.closing_credit)

    def add(self, other: Turnover) -> None:
        for f in ("before_debit", "before_credit", "debit", "credit", "closing_debit", "closing_credit"):
            setattr(self, f, getattr(self, f) + getattr(other, f))



def ancestors(code: str) -> list[str]:
    """'8101.06.01' → ['8101.06.01', '8101.06', '8101'] (dotted codes)."""
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def rolled_up(by_leaf: dict[tuple, Turnover]) -> dict[str, Turnover]:
    """Leaf turnovers keyed by (account_code,) → every account code including its parents."""
    out: dict[str, Turnover] = defaultdict(Turnover)
    for (code, *_rest), t in by_leaf.items():
        for a in ancestors(code):
            out[a].add(t)
    return out


def side_amount(side: str, debit_positive: int) -> int:
    """A debit-positive amount seen from the account's normal side."""
    return debit_positive if side == Side.DEBIT else -debit_positive


def direction(debit_positive: int) -> str:
    return "借" if debit_positive > 0 else ("贷" if debit_positive < 0 else "平")
