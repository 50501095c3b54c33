"""Balances that may not be negative when the year closes (data/closing/no_negative_balances.csv): one grouped
query over every set of the region, each balance signed on its account's own side."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from django.conf import settings
from django.db.models import Sum

from ibms.accounting.models import Account, AccountSet, Voucher, VoucherLine
from ibms.core.money import format_fen

from .common import set_item

FILE = "no_negative_balances.csv"


@functools.cache
def rules() -> dict[str, tuple[tuple[str, str], ...]]:
    """set kind (unit | fiscal) → ((account spec, why), …) in file order: the first matching row decides."""
    out: dict[str, list[tuple[str, str]]] = {}
    with open(Path(settings.DATA_DIR) / "closing" / FILE, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            out.setdefault(r["chart"].strip(), []).append((r["account"].strip(), r["why"].strip()))
    return {k: tuple(v) for k, v in out.items()}


def _why(acct: Account, kind: str) -> str | None:
    for spec, why in rules().get(kind, ()):
        if spec.startswith("!"):
            if acct.code == spec[1:] or acct.code.startswith(spec[1:] + "."):
                return None
            continue
        if spec.startswith("category:") and acct.category == spec.removeprefix("category:"):
            return why
        if acct.code == spec or acct.code.startswith(spec + "."):
            return why
    return None


def negative_balances(sets: list[AccountSet]) -> list[dict]:
    """Checklist items for every (set, account) whose posted balance is below zero on its own side."""
    by_id = {s.pk: s for s in sets}
    sums = (VoucherLine.objects.filter(account_set_id__in=by_id, voucher__status=Voucher.Status.POSTED)
            .values("account_set_id", "account_code").annotate(d=Sum("debit"), c=Sum("credit")).order_by())
    totals = {(r["account_set_id"], r["account_code"]): (r["d"] or 0) - (r["c"] or 0) for r in sums}
    if not totals:
        return []
    accounts = {(a.account_set_id, a.code): a for a in Account.objects.filter(
        account_set_id__in={k[0] for k in totals}, code__in={k[1] for k in totals})}
    items = []
    for (set_id, code), net in sorted(totals.items()):
        acct = accounts.get((set_id, code))
        if acct is None:
            continue
        balance = net if acct.balance_side == "debit" else -net
        aset = by_id[set_id]
        why = _why(acct, "fiscal" if aset.kind == AccountSet.Kind.FISCAL else "unit") if balance < 0 else None
        if why:
            items.append(set_item(aset, f"{acct.code} {acct.name} 余额为 {format_fen(balance)} 元：{why}",
                                  "negative_balance"))
    return items
