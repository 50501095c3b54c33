"""Pure payroll rules on plain values (no database): the individual income tax by the cumulative withholding
method (累计预扣法), one person's month from their items, and the changes between two months."""

from __future__ import annotations

from dataclasses import dataclass, field

from ibms.core.errors import Violation
from ibms.core.money import Fen


@dataclass(frozen=True)
class Bracket:
    upper: Fen | None  # cumulative taxable income up to (fen); None: no upper bound
    rate_pct: int
    quick_deduction: Fen


@dataclass(frozen=True)
class ItemRule:
    code: str
    name: str
    kind: str  # earning | deduction
    dep_eco_code: str
    method: str  # fixed | rate | tax
    rate_ppm: int = 0  # rate in parts per million of the base (0.08 → 80,000)
    base: tuple[str, ...] = ()
    standard: Fen = 0
    collector: str = ""
    sort: int = 0


def _round_div(n: int, d: int) -> int:
    """n / d rounded half up (n ≥ 0), in integers."""
    return (2 * n + d) // (2 * d)


def tax_on(cumulative_taxable: Fen, brackets: list[Bracket]) -> Fen:
    """累计应纳税额 = 累计应纳税所得额 × 预扣率 − 速算扣除数 (0 when the taxable income is not positive)."""
    if cumulative_taxable <= 0:
        return 0
    for b in brackets:
        if b.upper is None or cumulative_taxable <= b.upper:
            return max(0, _round_div(cumulative_taxable * b.rate_pct, 100) - b.quick_deduction)
    raise ValueError("the rate table has no open top bracket")


@dataclass(frozen=True)
class TaxResult:
    cumulative_taxable: Fen
    cumulative_tax: Fen
    tax: Fen  # this month's withholding


def cumulative_withholding(*, cum_income: Fen, cum_deductions: Fen, months: int, basic_month: Fen,
                           tax_withheld_before: Fen, brackets: list[Bracket]) -> TaxResult:
    """累计预扣法: 累计预扣预缴应纳税所得额 = 累计收入 − 累计免税收入 − 累计减除费用 (basic × months) − 累计专项扣除
    (social insurance and housing fund, `cum_deductions`); 本期应预扣预缴税额 = 累计应纳税额 − 累计已预扣预缴税额,
    not refunded when negative (暂不退税: 0 this month)."""
    taxable = max(0, cum_income - cum_deductions - basic_month * months)
    cum_tax = tax_on(taxable, brackets)
    return TaxResult(taxable, cum_tax, max(0, cum_tax - tax_withheld_before))


@dataclass
class PersonMonth:
    amounts: dict[str, Fen]  # item code → amount
    gross: Fen = 0
    social: Fen = 0  # pre-tax special deductions (social insurance, housing fund)
    other: Fen = 0  # post-tax deductions (union fee, other)
    tax: Fen = 0
    net: Fen = 0
    cum_income: Fen = 0
    cum_deductions: Fen = 0
    cum_tax: Fen = 0
    violations: list[Violation] = field(default_factory=list)


PRE_TAX_COLLECTORS = ("social", "housing")


def person_month(rules: list[ItemRule], entered: dict[str, Fen], *, prior_income: Fen, prior_deductions: Fen,
                 prior_tax: Fen, months: int, basic_month: Fen, brackets: list[Bracket]) -> PersonMonth:
    """One person's month: earnings as entered (or the item's standard), rate deductions on their base, then the tax
    by the cumulative method (prior_* are this year's earlier months with this withholding agent), then the rest."""
    out = PersonMonth(amounts={})
    for r in sorted(rules, key=lambda r: r.sort):
        if r.kind == "earning":
            out.amounts[r.code] = entered.get(r.code, r.standard)
    for r in sorted(rules, key=lambda r: r.sort):
        if r.kind != "deduction" or r.method == "tax":
            continue
        if r.method == "rate":
            base = sum(out.amounts.get(c, 0) for c in r.base)
            out.amounts[r.code] = _round_div(base * r.rate_ppm, 1_000_000)
        else:
            out.amounts[r.code] = entered.get(r.code, r.standard)
    for code, amount in out.amounts.items():
        if amount < 0:
            out.violations.append(Violation("amount_negative", f"工资项目 {code} 金额不能为负数", code))
    earn = {r.code for r in rules if r.kind == "earning"}
    pre = {r.code for r in rules if r.kind == "deduction" and r.collector in PRE_TAX_COLLECTORS}
    out.gross = sum(a for c, a in out.amounts.items() if c in earn)
    out.social = sum(a for c, a in out.amounts.items() if c in pre)
    out.cum_income, out.cum_deductions = prior_income + out.gross, prior_deductions + out.social
    t = cumulative_withholding(cum_income=out.cum_income, cum_deductions=out.cum_deductions, months=months,
                               basic_month=basic_month, tax_withheld_before=prior_tax, brackets=brackets)
    out.tax, out.cum_tax = t.tax, prior_tax + t.tax
    for r in rules:
        if r.method == "tax":
            out.amounts[r.code] = t.tax
    out.other = sum(a for c, a in out.amounts.items() if c not in earn and c not in pre) - t.tax
    out.net = out.gross - out.social - out.tax - out.other
    if out.net < 0:
        out.violations.append(Violation("net_negative", "扣款合计超过应发工资，实发为负数", "net"))
    return out


@dataclass(frozen=True)
class PersonSnap:
    person_id: int
    name: str
    grade: str
    post: str
    gross: Fen


def month_changes(before: dict[int, PersonSnap], now: dict[int, PersonSnap]) -> list[dict]:
    """What changed since last month: joins, leavers, grade or post changes, gross pay changes."""
    out: list[dict] = []
    for pid, p in sorted(now.items()):
        old = before.get(pid)
        if old is None:
            out.append({"kind": "join", "label": "新增", "person_id": pid, "name": p.name, "detail": "本月新增人员"})
            continue
        if (old.grade, old.post) != (p.grade, p.post):
            out.append({"kind": "grade", "label": "职级变动", "person_id": pid, "name": p.name,
                        "detail": f"{old.post} {old.grade} → {p.post} {p.grade}".strip()})
        if old.gross != p.gross:
            out.append({"kind": "amount", "label": "应发变动", "person_id": pid, "name": p.name,
                        "detail": f"应发 {old.gross / 100:.2f} → {p.gross / 100:.2f} 元"})
    for pid, p in sorted(before.items()):
        if pid not in now:
            out.append({"kind": "leave", "label": "减少", "person_id": pid, "name": p.name, "detail": "本月不再发放"})
    return out
