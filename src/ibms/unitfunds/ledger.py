"""The unit account's ledger: an append-only entry and the balance cache, in the caller's transaction (used by the
income service and by the receipt listener)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F

from ibms.core.errors import Conflict

from .models import AccountEntry, UnitAccount


def credit(ua: UnitAccount, *, kind: str, amount: int, ref: str, day: dt.date) -> None:
    """An entry and the balance cache in the caller's transaction (a negative amount must be covered)."""
    AccountEntry.objects.create(account=ua, region_code=ua.region_code, unit_path=ua.unit_path, kind=kind,
                                amount=amount, ref=ref[:60], entry_date=day)
    n = UnitAccount.objects.filter(pk=ua.pk, balance__gte=-amount).update(balance=F("balance") + amount)
    if n != 1:
        raise Conflict("unit_account_overdraw", f"实有资金账户 {ua.bank_account.account_no} 余额不足")
