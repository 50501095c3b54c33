"""Builders for the unit-funds tests: a unit's own bank account registered as 实有资金账户 (through our service),
income recorded into it, and an indicator of fund nature 31 (单位资金·事业收入) built through the indicator services."""

from __future__ import annotations

import itertools

from django.db.models import Sum

from ibms.accounting.models import VoucherLine
from ibms.core import audit
from ibms.masterdata.models import AgentBank, BankAccount
from ibms.unitfunds import services as uf
from ibms.unitfunds.domain import IncomeIn
from ibms.unitfunds.models import UnitAccount
from tests.treasury.builders import YEAR, indicator, school

_n = itertools.count(1)
W = 1_000_000  # 1 万元 in fen


def own_account(clerk, unit=None, *, account_type: str = "63") -> UnitAccount:
    unit = unit or school()
    bank = AgentBank.objects.filter(is_active=True).order_by("id").first()
    ba = BankAccount.objects.create(region_code=unit.region_code, unit=unit, account_type=account_type,
                                    account_no=f"6217{unit.pk:04d}{next(_n):08d}", account_name=unit.name,
                                    bank=bank, bank_name=bank.name)
    audit.record_change(ba, "create")
    return uf.unit_account_register(actor=clerk, bank_account_id=ba.pk)


def income(clerk, ua: UnitAccount, amount: int, kind: str = "shiye", **kw):
    return uf.income_record(actor=clerk, data=IncomeIn(account_id=ua.pk, kind_code=kind, amount=amount,
                                                       payer_name=kw.pop("payer_name", "家长委员会"),
                                                       summary=kw.pop("summary", "培训服务收费"), **kw))


def own_indicator(budget, amount: int, **kw):
    return indicator(budget, amount, fund_nature_code=kw.pop("fund_nature_code", "31"), summary="单位资金指标", **kw)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def balance(code: str, unit=None, basis: str | None = None) -> int:
    """Debit-positive balance of an account (code or its sub-accounts) in the unit's set for YEAR."""
    unit = unit or school()
    qs = VoucherLine.objects.filter(account_set__unit=unit, account_set__year=YEAR, account_set__kind="unit",
                                   account_code__startswith=code)
    t = qs.aggregate(d=Sum("debit"), c=Sum("credit"))
    return (t["d"] or 0) - (t["c"] or 0)
