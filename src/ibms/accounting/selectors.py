"""Accounting reads: account sets, the chart tree with balances, vouchers, the review queue, and the
invariant checks `ibms verify` runs (one grouped query each)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Max, Q, QuerySet, Sum

from ibms.core.errors import Violation
from ibms.core.scoping import VIEW, get_in_scope

from .models import Account, AccountSet, BusinessType, Period, Voucher, VoucherLine


def account_set_list(*, actor, year: int | None = None, kind: str = "", q: str = "",
                     newest_first: bool = False) -> QuerySet[AccountSet]:
    """Account sets in the actor's scope (403 without the view permission); by region then year, or
    (`newest_first`, the books' pickers) newest year first."""
    qs = AccountSet.objects.permitted(actor).select_related("unit")
    if year:
        qs = qs.filter(year=year)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(region_code__startswith=q))
    if newest_first:
        return qs.order_by("-year", "region_code", "code")
    return qs.order_by("region_code", "-year", "kind", "code")


def business_type_list(year: int) -> list[BusinessType]:
    return list(BusinessType.objects.filter(year=year, is_active=True))


def business_type_for(year: int, dep_eco_code: str) -> str:
    """The default 支付业务类型 of a department economic class: the longest `derive_eco` prefix wins."""
    best, length = "goods_services", 0
    for bt in business_type_list(year):
        for prefix in bt.derive_eco:
            if dep_eco_code.startswith(prefix) and len(prefix) > length:
                best, length = bt.code, len(prefix)
    return best


def business_type_violation(year: int, code: str, dep_eco_code: str) -> Violation | None:
    bt = BusinessType.objects.filter(year=year, code=code, is_active=True).first()
    if bt is None:
        return Violation("business_type_unknown", f"{year}年度没有支付业务类型“{code}”", "business_type")
    if bt.allowed_eco and not any(dep_eco_code.startswith(p) for p in bt.allowed_eco):
        return Violation("business_type_mismatch", f"支付业务类型“{bt.name}”不适用于部门经济分类 {dep_eco_code or '（空）'}"
                         f"（适用：{'、'.join(bt.allowed_eco)}）", "business_type")
    return None


def account_set_get(*, actor, pk: int) -> AccountSet:
    """An account set in the actor's scope (out of scope is not found)."""
    return get_in_scope(AccountSet.objects.select_related("unit", "chart"), actor, VIEW, what="账套", pk=pk)


def posted_lines(account_set_id: int, *, period_to: int | None = None) -> QuerySet[VoucherLine]:
    qs = VoucherLine.objects.filter(account_set_id=account_set_id, voucher__status=Voucher.Status.POSTED)
    if period_to is not None:
        qs = qs.filter(voucher__period_no__lte=period_to)
    return qs


def leaf_balances(account_set_id: int, *, period_to: int | None = None) -> dict[str, tuple[int, int]]:
    """account code → (Σ debit, Σ credit) of posted lines (one grouped query)."""
    rows = posted_lines(account_set_id, period_to=period_to).values("account_code").annotate(
        d=Sum("debit"), c=Sum("credit"))
    return {r["account_code"]: (r["d"] or 0, r["c"] or 0) for r in rows}


@dataclass
class TreeRow:
    account: Account
    debit: int
    credit: int

    @property
    def balance(self) -> int:
        """Signed on the account's normal side."""
        d = self.debit - self.credit
        return d if self.account.balance_side == "debit" else -d


def account_tree(*, actor, pk: int, period_to: int | None = None,
                 account_permitted: bool = False) -> tuple[AccountSet, list[TreeRow]]:
    """The set's accounts in code order (parents before children) with posted totals rolled up to parents.
    `account_permitted`: the accounts are read as such, so a user without their view permission is refused (403)
    before the set is looked up (the chart endpoint); the set page needs only the set's."""
    accounts_qs = Account.objects.permitted(actor) if account_permitted else Account.objects.all()
    aset = account_set_get(actor=actor, pk=pk)
    leaves = leaf_balances(aset.pk, period_to=period_to)
    accounts = list(accounts_qs.filter(account_set=aset).order_by("code"))
    totals: dict[str, list[int]] = {a.code: [0, 0] for a in accounts}
    for code, (d, c) in leaves.items():
        parts = code.split(".")
        for i in range(1, len(parts) + 1):
            key = ".".join(parts[:i])
            if key in totals:
                totals[key][0] += d
                totals[key][1] += c
    return aset, [TreeRow(a, *totals[a.code]) for a in accounts]


def period_list(*, account_set: AccountSet) -> list[Period]:
    counts = dict(Voucher.objects.filter(account_set=account_set).values("period_no").annotate(n=Count("id"))
                  .values_list("period_no", "n"))
    out = list(account_set.periods.order_by("number"))
    for p in out:
        p.voucher_count = counts.get(p.number, 0)
    return out


def voucher_list(*, actor, account_set_id: int | None = None, year: int | None = None, period_no: int | None = None,
                 status: str = "", source: str = "", q: str = "", account_code: str = "") -> QuerySet[Voucher]:
    qs = Voucher.objects.permitted(actor).select_related("account_set", "entered_by", "reviewed_by", "posted_by")
    if account_set_id:
        qs = qs.filter(account_set_id=account_set_id)
    if year:
        qs = qs.filter(year=year)
    if period_no:
        qs = qs.filter(period_no=period_no)
    if status:
        qs = qs.filter(status=status)
    if source:
        qs = qs.filter(source=source)
    if q:
        qs = qs.filter(Q(summary__icontains=q) | Q(event_id__icontains=q))
    if account_code:
        qs = qs.filter(lines__account_code__startswith=account_code).distinct()
    return qs.order_by("-year", "account_set_id", "-period_no", F("number").desc(nulls_first=True), "-id")


def voucher_get(*, actor, pk: int) -> Voucher:
    return get_in_scope(Voucher.objects.select_related("account_set", "period", "reversal_of", "entered_by",
                                                       "reviewed_by", "posted_by"),
                        actor, VIEW, what="凭证", pk=pk)


def voucher_line_list(v: Voucher) -> list[VoucherLine]:
    return list(v.lines.select_related("account").order_by("line_no"))


def voucher_reversal_get(v: Voucher) -> Voucher | None:
    """The reversal voucher of `v`, if it was reversed."""
    return Voucher.objects.filter(reversal_of=v).first()


def voucher_pending_list(*, actor) -> QuerySet[Voucher]:
    """Manual vouchers waiting for review or posting that this user did not enter."""
    return (Voucher.objects.permitted(actor)
            .filter(status__in=[Voucher.Status.DRAFT, Voucher.Status.REVIEWED], source=Voucher.Source.MANUAL)
            .exclude(entered_by=actor).select_related("account_set").order_by("created_at"))


# --- invariants (ibms verify) ------------------------------------------------------------------------

def unbalanced_vouchers() -> list[str]:
    rows = (VoucherLine.objects.values("voucher_id", "basis").annotate(d=Sum("debit"), c=Sum("credit"))
            .exclude(d=F("c")).order_by("voucher_id")[:100])
    return [f"accounting_voucher id={r['voucher_id']}: {r['basis']} does not balance (debit {r['d']} credit {r['c']})"
            for r in rows]


def unbalanced_sets() -> list[str]:
    """Per account set and basis, the trial balance of posted vouchers balances."""
    rows = (VoucherLine.objects.filter(voucher__status=Voucher.Status.POSTED).values("account_set_id", "basis")
            .annotate(d=Sum("debit"), c=Sum("credit")).exclude(d=F("c")).order_by("account_set_id")[:100])
    return [f"accounting_accountset id={r['account_set_id']}: {r['basis']} trial balance off "
            f"(debit {r['d']} credit {r['c']})" for r in rows]


def number_gaps() -> list[str]:
    """Posted voucher numbers are 1..n in every (set, period)."""
    rows = (Voucher.objects.filter(number__isnull=False).values("account_set_id", "period_no")
            .annotate(n=Count("id"), top=Max("number")).exclude(n=F("top")).order_by("account_set_id")[:100])
    return [f"accounting_voucher set={r['account_set_id']} period={r['period_no']}: numbers not gap-free "
            f"({r['n']} vouchers, highest {r['top']})" for r in rows]


def check_balanced() -> list[str]:
    return unbalanced_vouchers() + unbalanced_sets() + number_gaps()


def posting_rule_name(year: int, code: str) -> str:
    """The name of the rule that generated a voucher (shown on the voucher instead of its code)."""
    from .models import PostingRule

    return PostingRule.objects.filter(year=year, code=code).values_list("name", flat=True).first() or ""
