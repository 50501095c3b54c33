"""Ledgers: the general ledger (总账), detail ledgers (明细账) and the project ledger (项目明细账)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from ibms.core.errors import invalid
from ibms.core.scoping import VIEW, get_in_scope

from ..domain import PeriodRange, ancestors
from ..models import Account, AccountSet, Basis
from .lines import CLOSING, OPENING, monthly, posted_lines, set_accounts, turnovers


@dataclass
class MonthRow:
    period_no: int
    debit: int
    credit: int
    balance: int  # debit-positive, at month end
    ytd_debit: int
    ytd_credit: int


@dataclass
class GeneralLedger:
    account: Account
    period: PeriodRange
    opening: int  # at the start of the range
    year_opening: int
    months: list[MonthRow]

    @property
    def debit(self) -> int:
        return sum(m.debit for m in self.months)

    @property
    def credit(self) -> int:
        return sum(m.credit for m in self.months)

    @property
    def closing(self) -> int:
        return self.opening + self.debit - self.credit


def _account(actor, account_set: AccountSet, code: str) -> Account:
    return get_in_scope(Account.objects.all(), actor, VIEW, what="会计科目", account_set=account_set, code=code)


def _code_q(code: str) -> Q:
    return Q(account_code=code) | Q(account_code__startswith=code + ".")


def general_ledger(*, actor, account_set: AccountSet, code: str, period: PeriodRange) -> GeneralLedger:
    """总账 of one account (its sub-accounts included): opening, then per month 本月合计 and 本年累计."""
    acc = _account(actor, account_set, code)
    lines = posted_lines(actor=actor, account_set=account_set).filter(_code_q(code))
    year_opening, months = monthly(lines, period.end)
    balance, ytd_d, ytd_c = year_opening, 0, 0
    opening = year_opening
    rows = []
    for p in range(1, period.end + 1):
        d, c = months.get(p, (0, 0))
        balance += d - c
        ytd_d += d
        ytd_c += c
        if p < period.start:
            opening = balance
            continue
        rows.append(MonthRow(p, d, c, balance, ytd_d, ytd_c))
    return GeneralLedger(acc, period, opening, year_opening, rows)


def ledger_accounts(*, actor, account_set: AccountSet, period: PeriodRange, level: int = 1) -> list[Account]:
    """Accounts of a level with a balance or movement up to the end of the range (for pickers and books)."""
    used = {c for (c,) in turnovers(posted_lines(actor=actor, account_set=account_set), period)}
    used_codes = {a for c in used for a in ancestors(c)}
    return [a for a in set_accounts(actor=actor, account_set=account_set)
            if (not level or a.level == level) and a.code in used_codes]


@dataclass
class DetailEntry:
    period_no: int
    date: object
    voucher_id: int
    voucher_no: str
    account_code: str
    summary: str
    debit: int
    credit: int
    balance: int  # running, debit-positive
    dims: dict[str, str] = field(default_factory=dict)


@dataclass
class DetailLedger:
    account: Account
    period: PeriodRange
    opening: int
    entries: list[DetailEntry]
    month_totals: dict[int, tuple[int, int]]  # period_no → (debit, credit) in the range
    ytd_totals: dict[int, tuple[int, int]]  # period_no → year-to-date (debit, credit)

    @property
    def closing(self) -> int:
        return self.entries[-1].balance if self.entries else self.opening

    @property
    def debit(self) -> int:
        return sum(e.debit for e in self.entries)

    @property
    def credit(self) -> int:
        return sum(e.credit for e in self.entries)


DIM_FIELDS = ("exp_func_code", "dep_eco_code", "gov_eco_code", "project_code", "fund_nature_code", "payee_name",
              "department_code")


def detail_ledger(*, actor, account_set: AccountSet, code: str, period: PeriodRange,
                  dims: dict[str, str] | None = None) -> DetailLedger:
    """明细账: every posted line of the account (and its sub-accounts) in the range, in posting order,
    with the running balance; optional exact dimension filters (e.g. {"project_code": "…"})."""
    acc = _account(actor, account_set, code)
    lines = posted_lines(actor=actor, account_set=account_set).filter(_code_q(code))
    if dims:
        bad = [k for k in dims if k not in DIM_FIELDS]
        if bad:
            raise invalid("unknown_dimension", f"未知的辅助核算维度：{'、'.join(bad)}", "dims")
        lines = lines.filter(**dims)
    year_opening, months = monthly(lines, period.end)
    opening = year_opening + sum(d - c for p, (d, c) in months.items() if p < period.start)
    balance = opening
    entries = []
    month_totals: dict[int, list[int]] = {}
    qs = (lines.filter(voucher__period_no__gte=period.start, voucher__period_no__lte=period.end)
          .exclude(voucher__source=OPENING)
          .select_related("voucher")
          .order_by("voucher__period_no", "voucher__number", "voucher__date", "voucher_id", "line_no"))
    for ln in qs:
        v = ln.voucher
        balance += ln.debit - ln.credit
        entries.append(DetailEntry(v.period_no, v.date, v.pk, v.display_number, ln.account_code,
                                   ln.summary or v.summary, ln.debit, ln.credit, balance,
                                   {f: getattr(ln, f) for f in DIM_FIELDS if getattr(ln, f)}))
        m = month_totals.setdefault(v.period_no, [0, 0])
        m[0] += ln.debit
        m[1] += ln.credit
    ytd, d, c = {}, 0, 0
    for p in range(1, period.end + 1):
        md, mc = months.get(p, (0, 0))
        d, c = d + md, c + mc
        if p >= period.start:
            ytd[p] = (d, c)
    return DetailLedger(acc, period, opening, entries, {k: (v[0], v[1]) for k, v in month_totals.items()}, ytd)


@dataclass
class ProjectRow:
    project_code: str
    exp_func_code: str
    dep_eco_code: str
    fund_nature_code: str
    revenue: int  # budget revenue (6xxx, credit-positive)
    expenditure: int  # budget expenditure (7xxx, debit-positive)


@dataclass
class ProjectLedger:
    account_set: AccountSet
    period: PeriodRange
    rows: list[ProjectRow]
    entries: list[DetailEntry]  # the selected project's budget lines (empty when none selected)
    project_code: str = ""

    def totals(self, project_code: str | None = None) -> tuple[int, int]:
        rows = [r for r in self.rows if project_code is None or r.project_code == project_code]
        return sum(r.revenue for r in rows), sum(r.expenditure for r in rows)

    @property
    def projects(self) -> list[str]:
        return sorted({r.project_code for r in self.rows})


def project_ledger(*, actor, account_set: AccountSet, period: PeriodRange, project_code: str = "") -> ProjectLedger:
    """项目明细账: budget-accounting revenue (6xxx) and expenditure (7xxx) per project code and
    classification (function class, economic class, fund nature) for the range, year-end closing
    vouchers left out; with `project_code`, also that project's lines with a running expenditure total."""
    lines = (posted_lines(actor=actor, account_set=account_set)
             .filter(basis=Basis.BUDGET).exclude(project_code="")
             .filter(Q(account_code__startswith="6") | Q(account_code__startswith="7"))
             .exclude(voucher__source=CLOSING))
    group = ("project_code", "exp_func_code", "dep_eco_code", "fund_nature_code", "account_code")
    sums = turnovers(lines, period, group_by=group)
    agg: dict[tuple, list[int]] = {}
    for (proj, func, eco, fund, code), t in sums.items():
        r = agg.setdefault((proj, func, eco, fund), [0, 0])
        if code.startswith("6"):
            r[0] -= t.net
        else:
            r[1] += t.net
    rows = [ProjectRow(*k, *v) for k, v in sorted(agg.items()) if v[0] or v[1]]
    entries: list[DetailEntry] = []
    if project_code:
        running = 0
        qs = (lines.filter(project_code=project_code, voucher__period_no__gte=period.start,
                           voucher__period_no__lte=period.end)
              .select_related("voucher").order_by("voucher__period_no", "voucher__number", "voucher_id", "line_no"))
        for ln in qs:
            v = ln.voucher
            if ln.account_code.startswith("7"):  # running total of expenditure; revenue lines leave it
                running += ln.debit - ln.credit
            entries.append(DetailEntry(v.period_no, v.date, v.pk, v.display_number, ln.account_code,
                                       ln.summary or v.summary, ln.debit, ln.credit, running,
                                       {f: getattr(ln, f) for f in DIM_FIELDS if getattr(ln, f)}))
    return ProjectLedger(account_set, period, rows, entries, project_code)
