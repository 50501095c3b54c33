"""Opening balances (期初余额): a closed year's set carries its balances into the next year's set of the same unit
(or the same finance bureau) as one voucher of source `opening` in period 1, dated 1 January.

What carries: every balance-sheet account of the financial basis (classes 1–3: assets, liabilities, net assets)
and every budget-balance account of the budget basis (class 8: 资金结存, 财政拨款结转/结余 …), per account and
dimension combination, taken from the closed set's posted vouchers after its closing entries. Revenue and
expense (4–5) and budget revenue and expenditure (6–7) are zero after closing (`closing.year_end_close`), so the
voucher balances in each basis by itself.

- `opening_balances_carry(prev_set, next_set)`: a building block (caller's transaction); idempotent by the
  deterministic event id `opening:<prev set id>` (a rerun returns the voucher already posted). Accounts the old
  set had (sub-accounts added by hand) and the new one lacks are copied first, where the new set's parent has no
  postings of its own.
- `opening_differences(prev_set, next_set)`: a plain read — every difference between the closed set's carried
  balances and the new set's opening vouchers, in Chinese; empty when they agree.
- `opening_problems()`: the same over every pair whose opening has been carried or whose year is closed
  (for `ibms verify`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Sum

from ibms.core import audit
from ibms.core.errors import Conflict, invalid
from ibms.core.money import format_fen
from ibms.core.transactions import in_callers_transaction
from ibms.masterdata.models import FiscalYear

from ..models import DIMENSION_LABELS, DIMENSIONS, Account, AccountSet, Basis, Voucher, VoucherLine
from ..posting import LineSpec
from .events import voucher_post_system

Key = tuple[str, tuple[tuple[str, str], ...]]  # (account code, sorted non-empty dimensions)
FIELD_DIM = {f: d for d, f in DIMENSIONS.items()}
OPENING = Voucher.Source.OPENING
POSTED = Voucher.Status.POSTED
CARRIED = {Basis.FINANCIAL: "123", Basis.BUDGET: "8"}  # basis → the account classes that carry


def opening_event_id(prev_set: AccountSet) -> str:
    return f"opening:{prev_set.pk}"


def carries(basis: str, code: str) -> bool:
    return code[:1] in CARRIED.get(basis, "")


def _sums(lines) -> dict[Key, tuple[str, int]]:
    fields = list(DIMENSIONS.values())
    out: dict[Key, list] = {}
    for r in lines.values("account_code", "basis", *fields).annotate(d=Sum("debit"), c=Sum("credit")).order_by():
        dims = tuple(sorted((FIELD_DIM[f], r[f]) for f in fields if r[f]))
        slot = out.setdefault((r["account_code"], dims), [r["basis"], 0])
        slot[1] += (r["d"] or 0) - (r["c"] or 0)
    return {k: (b, v) for k, (b, v) in out.items()}


def carried_balances(aset: AccountSet) -> dict[Key, tuple[str, int]]:
    """(account, dims) → (basis, debit − credit) of the accounts that carry, non-zero only."""
    sums = _sums(VoucherLine.objects.filter(account_set=aset, voucher__status=POSTED))
    return {k: (b, v) for k, (b, v) in sums.items() if v and carries(b, k[0])}


def opening_balances(aset: AccountSet) -> dict[Key, int]:
    """(account, dims) → debit − credit over the set's posted opening vouchers."""
    sums = _sums(VoucherLine.objects.filter(account_set=aset, voucher__status=POSTED, voucher__source=OPENING))
    return {k: v for k, (_, v) in sums.items() if v}


def next_set_of(prev_set: AccountSet) -> AccountSet | None:
    """The next year's set of the same unit (unit set) or finance bureau (fiscal set), if there is one."""
    qs = AccountSet.objects.filter(year=prev_set.year + 1, kind=prev_set.kind)
    if prev_set.kind == AccountSet.Kind.UNIT:
        return qs.filter(unit_id=prev_set.unit_id).first()
    return qs.filter(region_code=prev_set.region_code).first()


def _pair_check(prev_set: AccountSet, next_set: AccountSet) -> None:
    same_owner = (prev_set.unit_id == next_set.unit_id if prev_set.kind == AccountSet.Kind.UNIT
                  else prev_set.region_code == next_set.region_code)
    if next_set.year != prev_set.year + 1 or next_set.kind != prev_set.kind or not same_owner:
        raise invalid("opening_pair", f"账套“{next_set.name}”不是“{prev_set.name}”的下一年度账套", "account_set")


def _accounts_ensure(prev_set: AccountSet, next_set: AccountSet, codes: set[str]) -> list[Account]:
    """Copy into the new set the accounts (and their missing ancestors) it lacks; refuse where the new set's
    parent is a leaf with postings of its own (a sub-account can't go under it)."""
    have = {a.code: a for a in Account.objects.filter(account_set=next_set)}
    old = {a.code: a for a in Account.objects.filter(account_set=prev_set)}
    made: list[Account] = []
    for code in sorted(codes - set(have), key=lambda c: (c.count("."), c)):
        chain = []
        c = code
        while c and c not in have:
            chain.append(old[c])
            c = old[c].parent.code if old[c].parent_id else ""
        for src in reversed(chain):
            parent = have.get(src.parent.code) if src.parent_id else None
            if parent is not None and parent.is_leaf:
                if VoucherLine.objects.filter(account=parent).exists():
                    raise invalid("account_missing", f"新账套“{next_set.name}”缺少科目 {code}，且上级科目 "
                                  f"{parent.code} 已有凭证，请先在新账套设置明细科目", "account")
                audit.update_fields(parent, is_leaf=False)
            acc = Account.objects.create(account_set=next_set, region_code=next_set.region_code, code=src.code,
                                         name=src.name, parent=parent, level=src.level, is_leaf=src.is_leaf,
                                         category=src.category, basis=src.basis, balance_side=src.balance_side,
                                         aux_dims=list(src.aux_dims))
            audit.record_change(acc, "create")
            have[acc.code] = acc
            made.append(acc)
    return made


def _lines(balances: dict[Key, tuple[str, int]]) -> list[LineSpec]:
    out = []
    for (code, dims), (basis, amount) in sorted(balances.items()):
        out.append(LineSpec(basis=basis, account_code=code, debit=max(amount, 0), credit=max(-amount, 0),
                            dims=dict(dims), summary="上年结转"))
    return out


@in_callers_transaction
def opening_balances_carry(prev_set: AccountSet, next_set: AccountSet, *, actor=None) -> Voucher | None:
    """Post the closed `prev_set`'s carried balances as the opening voucher of `next_set` (see the module), in
    the caller's transaction. Returns the voucher (the one already posted on a rerun), or None when nothing
    carries. Refused: not the next year's set of the same owner (opening_pair), the old set not closed
    (set_not_closed), another opening voucher in the new set (opening_exists), the new set's January closed or
    an account it cannot take (the voucher checks)."""
    prev_set = AccountSet.objects.select_for_update().get(pk=prev_set.pk)
    next_set = AccountSet.objects.select_for_update().get(pk=next_set.pk)
    _pair_check(prev_set, next_set)
    if prev_set.status != AccountSet.Status.CLOSED:
        raise Conflict("set_not_closed", f"账套“{prev_set.name}”尚未年结，不能结转期初余额")
    event_id = opening_event_id(prev_set)
    other = (Voucher.objects.filter(account_set=next_set, source=OPENING).exclude(event_id=event_id)
             .order_by("id").first())
    if other is not None:
        raise Conflict("opening_exists", f"账套“{next_set.name}”已有期初余额凭证 {other.display_number}，"
                       "不能再次结转", {"voucher_id": other.pk})
    balances = carried_balances(prev_set)
    if not balances:
        return None
    _accounts_ensure(prev_set, next_set, {code for code, _ in balances})
    v = voucher_post_system(actor=actor, account_set=next_set, date=dt.date(next_set.year, 1, 1),
                            summary=f"上年结转期初余额（{prev_set.code}）", lines=_lines(balances), source=OPENING,
                            event_id=event_id)
    return v


def _dims_text(dims: tuple[tuple[str, str], ...]) -> str:
    return "（" + "，".join(f"{DIMENSION_LABELS[d]} {v}" for d, v in dims) + "）" if dims else ""


def opening_differences(prev_set: AccountSet, next_set: AccountSet) -> list[str]:
    """Every (account, dimensions) whose opening balance in `next_set` differs from its carried closing balance in
    `prev_set`, in Chinese; empty when they agree. Reads only."""
    expected = {k: v for k, (_, v) in carried_balances(prev_set).items()}
    actual = opening_balances(next_set)
    out = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key, 0), actual.get(key, 0)
        if want != got:
            out.append(f"{next_set.name}：科目 {key[0]}{_dims_text(key[1])} 期初余额 {format_fen(got)} 元，"
                       f"上年“{prev_set.name}”期末余额 {format_fen(want)} 元")
    return out


def opening_problems() -> list[str]:
    """`ibms verify`: opening = closing for every closed set whose next year's set carries an opening voucher,
    and for every closed set of a closed fiscal year (whose opening must then have been carried)."""
    closed_years = set(FiscalYear.objects.filter(status=FiscalYear.Status.CLOSED).values_list("region_code", "year"))
    carried = set(Voucher.objects.filter(source=OPENING, event_id__startswith="opening:")
                  .values_list("event_id", flat=True))
    out: list[str] = []
    for prev in AccountSet.objects.filter(status=AccountSet.Status.CLOSED).order_by("region_code", "year", "code"):
        done = opening_event_id(prev) in carried
        if not done and (prev.region_code, prev.year) not in closed_years:
            continue
        nxt = next_set_of(prev)
        if nxt is None:
            if carried_balances(prev):
                out.append(f"“{prev.name}”已年结且年度已关闭，但没有{prev.year + 1}年度账套承接期初余额")
            continue
        out += opening_differences(prev, nxt)
    return out


def carried_by_account(aset: AccountSet) -> dict[str, int]:
    """account code → carried balance (all dimensions together): for the statements and tests."""
    out: dict[str, int] = defaultdict(int)
    for (code, _), (_, v) in carried_balances(aset).items():
        out[code] += v
    return {k: v for k, v in out.items() if v}
