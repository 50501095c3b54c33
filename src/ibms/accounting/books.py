"""Books (账簿): general ledger, detail ledgers, project ledger and trial balance of an account set.

Every read starts from the caller's scoped querysets (`restrict(user, VIEW)`); an account set outside the
caller's scope is "not found". Only lines of *posted* vouchers count. Amounts are integer fen; balances
are kept debit-positive (借 − 贷) internally and shown with a direction (借/贷/平) on the account's side.

Period ranges are months `start..end` of the set's year. "Before start" is the opening balance; the year
opening is the balance before period 1 (vouchers of a voucher source `opening`, if the engine adds one,
count as before period 1). Year-end closing vouchers (source `closing`) are part of turnover and balances
but are left out of *period amounts* (本期数) of revenue and expense, which is what statements need.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from ibms.core.errors import invalid
from ibms.core.scoping import VIEW, get_in_scope, require_perm

from .models import Account, AccountSet, Basis, Side, Voucher, VoucherLine

VIEW_PERM = "accounting.view_accountset"
POSTED = Voucher.Status.POSTED
CLOSING = Voucher.Source.CLOSING
OPENING = "opening"  # a voucher source for opening balances, if the engine provides one
BASIS_LABELS = dict(Basis.choices)


# --- scoped starting points ----------------------------------------------------------------------

def account_sets(*, actor) -> QuerySet[AccountSet]:
    """Account sets the actor may read, newest year first."""
    require_perm(actor, VIEW_PERM)
    return AccountSet.objects.restrict(actor, VIEW).select_related("unit").order_by("-year", "region_code", "code")


def get_account_set(*, actor, account_set_id) -> AccountSet:
    require_perm(actor, VIEW_PERM)
    return get_in_scope(AccountSet.objects.select_related("unit", "chart"), actor, VIEW, what="账套",
                        pk=account_set_id)


def posted_lines(*, actor, account_set: AccountSet) -> QuerySet[VoucherLine]:
    """Lines of posted vouchers of the set, read through the actor's scope."""
    return VoucherLine.objects.restrict(actor, VIEW).filter(account_set=account_set, voucher__status=POSTED)


def set_accounts(*, actor, account_set: AccountSet) -> list[Account]:
    return list(Account.objects.restrict(actor, VIEW).filter(account_set=account_set).order_by("code"))


# --- period range --------------------------------------------------------------------------------

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


# --- turnover aggregation ------------------------------------------------------------------------

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


def _before_q(start: int) -> Q:
    return Q(voucher__period_no__lt=start) | Q(voucher__source=OPENING)


def turnovers(lines: QuerySet[VoucherLine], period: PeriodRange, *,
              group_by: tuple[str, ...] = ("account_code",)) -> dict[tuple, Turnover]:
    """One grouped query: opening sums (before `start`), in-range sums and the closing-voucher part."""
    before = _before_q(period.start)
    inside = Q(voucher__period_no__gte=period.start) & ~Q(voucher__source=OPENING)
    closing = inside & Q(voucher__source=CLOSING)

    def s(name: str, q: Q):
        return Coalesce(Sum(name, filter=q), 0)

    sums = {"bd": s("debit", before), "bc": s("credit", before), "d": s("debit", inside), "c": s("credit", inside),
            "cd": s("debit", closing), "cc": s("credit", closing)}
    qs = lines.filter(Q(voucher__period_no__lte=period.end) | Q(voucher__source=OPENING))
    if not group_by:
        r = qs.aggregate(**sums)
        return {(): Turnover(r["bd"], r["bc"], r["d"], r["c"], r["cd"], r["cc"])}
    rows = qs.values(*group_by).annotate(**sums).order_by()
    out: dict[tuple, Turnover] = {}
    for r in rows:
        out[tuple(r[g] for g in group_by)] = Turnover(r["bd"], r["bc"], r["d"], r["c"], r["cd"], r["cc"])
    return out


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


# --- trial balance (科目余额表 / 试算平衡表) -----------------------------------------------------------

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


# --- general ledger (总账) ----------------------------------------------------------------------------

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


def monthly(lines: QuerySet[VoucherLine], end: int) -> tuple[int, dict[int, tuple[int, int]]]:
    """(year opening, {period_no: (debit, credit)}) for lines up to period `end`."""
    period_no = Case(When(voucher__source=OPENING, then=Value(0)), default="voucher__period_no",
                     output_field=IntegerField())
    rows = (lines.filter(voucher__period_no__lte=end).annotate(p=period_no).values("p")
            .annotate(d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0)).order_by())
    opening, months = 0, {}
    for r in rows:
        if r["p"] == 0:
            opening += r["d"] - r["c"]
        else:
            months[r["p"]] = (r["d"], r["c"])
    return opening, months


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


# --- detail ledger (明细账) ---------------------------------------------------------------------------

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


# --- project ledger (项目明细账) -----------------------------------------------------------------------

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
