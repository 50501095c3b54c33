"""Year-end closing (年终结账): compute every closing amount from the posted balances of an account set and
post the closing steps through the posting rules (`closing.*` events), so the accounts they move are the
rules' business, not this module's.

Unit sets (政府会计制度, year-end closing entries):
- budget basis: 6001.xx → 8101.06 (closing.fiscal_revenue), 7101.01/7201.01 → 8101.06 (closing.fiscal_expense),
  other 6xxx/7xxx → 8201.04 (closing.nonfiscal_revenue/expense), then 8101.06 → 8101.07 and
  8201.04 → 8201.05 per project and fund nature (closing.*_carry); non-project non-fiscal balances
  8201.05 → 8202 (closing.nonfiscal_to_surplus).
- financial basis: 4xxx → 3301, 5xxx → 3301, 3301 → 3302, 3302 → 3001.
Finance bureau sets (总预算会计, 20.4): 4xxx/5xxx → 3001 (closing.treasury_revenue/expense).

Every step is posted per dimension combination of the balance it moves (the rule lines copy the
dimensions), with the deterministic event id `closing:<set id>:<step>[:<key>]`. Balances are computed
without this set's own earlier closing vouchers and each posted voucher's lines are applied to them, so a
rerun recomputes the same events and `event_post` returns the vouchers already posted (no new ones).
Not automated (a person's decision, not a balance): closing.fiscal_to_surplus (completed projects' carry-over
→ 财政拨款结余) and closing.nonfiscal_distribution (结余分配).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Sum

from ibms.core import audit
from ibms.core.audit import canonical
from ibms.core.crypto import sm3_hex
from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import VIEW, check_write_scope, get_in_scope, require_perm

from . import services
from .models import DIMENSIONS, AccountSet, Period, Voucher, VoucherLine

Key = tuple[str, tuple[tuple[str, str], ...]]  # (account code, sorted non-empty dimensions)
FIELD_DIM = {f: d for d, f in DIMENSIONS.items()}
CARRY_DIMS = ("project", "fund_nature")


def event_prefix(aset: AccountSet) -> str:
    return f"closing:{aset.pk}:"


def _base_balances(aset: AccountSet) -> dict[Key, int]:
    """(account, dims) → debit − credit over the set's posted vouchers, its own closing vouchers excluded."""
    fields = list(DIMENSIONS.values())
    rows = (VoucherLine.objects.filter(voucher__account_set=aset, voucher__status=Voucher.Status.POSTED)
            .exclude(voucher__event_id__startswith=event_prefix(aset))
            .values("account_code", *fields).annotate(d=Sum("debit"), c=Sum("credit")))
    out: dict[Key, int] = defaultdict(int)
    for r in rows:
        dims = tuple(sorted((FIELD_DIM[f], r[f]) for f in fields if r[f]))
        out[(r["account_code"], dims)] += (r["d"] or 0) - (r["c"] or 0)
    return out


def _apply(balances: dict[Key, int], v: Voucher | None) -> None:
    if v is None:
        return
    for ln in v.lines.all():
        dims = tuple(sorted((d, getattr(ln, f)) for d, f in DIMENSIONS.items() if getattr(ln, f)))
        balances[(ln.account_code, dims)] += ln.debit - ln.credit


def _groups(balances: dict[Key, int], match, keep: tuple[str, ...] | None = None) -> dict[Key, int]:
    """Balances of the accounts `match(code)` accepts, per account and dimensions (`keep` only, if given)."""
    out: dict[Key, int] = defaultdict(int)
    for (code, dims), amount in balances.items():
        if match(code):
            kept = dims if keep is None else tuple((d, v) for d, v in dims if d in keep)
            out[(code, kept)] += amount
    return {k: v for k, v in out.items() if v}


def _dim_key(key: Key) -> str:
    return sm3_hex(canonical([key[0], list(key[1])]).encode())[:16]


class _Closer:
    def __init__(self, actor, aset: AccountSet):
        self.actor, self.aset = actor, aset
        self.date = dt.date(aset.year, 12, 31)
        self.balances = _base_balances(aset)
        self.vouchers: list[Voucher] = []

    def post(self, step: str, amount: int, key: Key | None = None, attrs: dict | None = None) -> None:
        if not amount:
            return
        event_id = event_prefix(self.aset) + step + (f":{_dim_key(key)}" if key else "")
        v = services.event_post(actor=self.actor, event_id=event_id, event_type=f"closing.{step}", date=self.date,
                                amounts={"amount": amount}, dimensions=dict(key[1]) if key else {},
                                attrs=attrs or {}, account_set=self.aset)
        _apply(self.balances, v)
        if v is not None:
            self.vouchers.append(v)

    def each(self, step: str, match, *, credit_balance: bool, source: bool = False,
             keep: tuple[str, ...] | None = None) -> None:
        for key, bal in sorted(_groups(self.balances, match, keep).items()):
            self.post(step, -bal if credit_balance else bal, key,
                      {"source_account": key[0]} if source else None)

    def unit(self) -> None:
        leaf_expense = "7101.01" if self.aset.unit_type == "organ" else "7201.01"
        self.each("fiscal_revenue", lambda c: c.startswith("6001."), credit_balance=True)
        self.each("fiscal_expense", lambda c: c == leaf_expense, credit_balance=False)
        self.each("nonfiscal_revenue", lambda c: c[0] == "6" and not c.startswith("6001."), credit_balance=True,
                  source=True)
        self.each("nonfiscal_expense", lambda c: c[0] == "7" and c != leaf_expense, credit_balance=False,
                  source=True)
        self.each("fiscal_carry", lambda c: c == "8101.06", credit_balance=True, keep=CARRY_DIMS)
        self.each("nonfiscal_carry", lambda c: c == "8201.04", credit_balance=True, keep=CARRY_DIMS)
        for key, bal in sorted(_groups(self.balances, lambda c: c == "8201.05", CARRY_DIMS).items()):
            if "project" not in dict(key[1]):
                self.post("nonfiscal_to_surplus", -bal, key)
        self.each("revenue_to_surplus", lambda c: c[0] == "4", credit_balance=True, source=True)
        self.each("expense_to_surplus", lambda c: c[0] == "5", credit_balance=False, source=True)
        self.post("surplus_to_distribution", -self.total("3301"))
        self.post("distribution_to_accumulated", -self.total("3302"))

    def fiscal(self) -> None:
        self.each("treasury_revenue", lambda c: c[0] == "4", credit_balance=True, source=True)
        self.each("treasury_expense", lambda c: c[0] == "5", credit_balance=False, source=True)

    def total(self, code: str) -> int:
        return sum(v for (c, _), v in self.balances.items() if c == code or c.startswith(code + "."))

    def left_over(self) -> list[str]:
        classes = "4567" if self.aset.kind == AccountSet.Kind.UNIT else "45"
        totals: dict[str, int] = defaultdict(int)
        for (code, _), v in self.balances.items():
            if code[0] in classes:
                totals[code] += v
        return sorted(c for c, v in totals.items() if v)


def year_end_close(*, actor, account_set_id: int) -> list[Voucher]:
    """年终结账: post the closing vouchers of the set (dated 31 December) in one transaction and return them.
    Idempotent: a rerun returns the vouchers already posted. Refused when the set is closed (set_closed),
    December is closed (period_closed), a voucher of the year is not posted (unposted_vouchers), or a
    revenue/expense account would keep a balance the rules cannot close (closing_incomplete)."""
    require_perm(actor, "accounting.close_period")
    with transaction.atomic(durable=True):
        aset = get_in_scope(AccountSet.objects.select_for_update(of=("self",)).select_related("chart"), actor, VIEW,
                            what="账套", pk=account_set_id)
        check_write_scope(actor, region_code=aset.region_code, unit_path=aset.unit_path or None,
                          spec=Period.scope_spec)
        if aset.status == AccountSet.Status.CLOSED:
            raise Conflict("set_closed", f"账套“{aset.name}”已年结，不能再做年终结账")
        if Period.objects.filter(account_set=aset, number=12, status=Period.Status.CLOSED).exists():
            raise invalid("period_closed", f"{aset.year}年12月已结账，不能做年终结账，请先反结账", "period")
        pending = Voucher.objects.filter(account_set=aset).exclude(status=Voucher.Status.POSTED).count()
        if pending:
            raise invalid("unposted_vouchers", f"本年度还有 {pending} 张凭证未记账，不能年终结账", "period")
        closer = _Closer(actor, aset)
        if aset.kind == AccountSet.Kind.UNIT:
            closer.unit()
        else:
            closer.fiscal()
        left = closer.left_over()
        if left:
            raise invalid("closing_incomplete", f"年终结账后以下科目仍有余额，请检查记账规则：{'、'.join(left)}")
        audit.record_event("accounting.year_end_closed", obj=aset,
                           payload={"year": aset.year, "vouchers": [v.pk for v in closer.vouchers]})
        return closer.vouchers
