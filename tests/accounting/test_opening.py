"""Opening balances carried from a closed set into next year's (`services.opening`): what carries (classes 1–3 and
8, per account and dimensions), idempotency, the refusals, sub-accounts copied, and the checks that find any
difference (`opening_differences`, `opening_problems` for `ibms verify`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ibms.accounting import services as acc
from ibms.accounting.closing import year_end_close
from ibms.accounting.models import AccountSet, Period, Voucher
from ibms.accounting.posting import LineSpec
from ibms.accounting.services.opening import carried_by_account, next_set_of
from ibms.core import clock
from ibms.core.errors import DomainError
from ibms.masterdata.models import FiscalYear, Unit
from tests.constants import PROVINCE

from .builders import Y, lines

YEAR = clock.fiscal_year()
FUND = {"fund_nature": "111", "exp_func": "2130101"}
pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(user):
    return user("fin_accounting")


def unit(code: str) -> Unit:
    return Unit.objects.get(region_code=PROVINCE, code=code)


def post(aset, event_id, event_type, amount, dims=None, attrs=None, month=3):
    return acc.event_post(event_id=event_id, event_type=event_type, date=dt.date(aset.year, month, 10),
                          amounts={"amount": amount * Y}, dimensions={**FUND, **(dims or {})}, attrs=attrs or {},
                          account_set=aset)


def close(actor, aset: AccountSet) -> AccountSet:
    year_end_close(actor=actor, account_set_id=aset.pk)
    for p in Period.objects.filter(account_set=aset, status="open").order_by("number"):
        acc.period_close(actor=actor, pk=p.pk)
    return acc.account_set_close(actor=actor, pk=aset.pk)


@pytest.fixture
def pair(actor):
    """农业农村厅 (organ, no demo vouchers): a year of quota, a payment, salaries accrued, a bank sub-account;
    closed; and its next year's set, empty."""
    prev = AccountSet.objects.get(unit=unit("004"), year=YEAR)
    with transaction.atomic():
        post(prev, "o-quota", "quota.received", 1_000, attrs={"pay_method": "authorized"}, month=1)
        post(prev, "o-pay", "payment.receipted", 300, {"dep_eco": "30201", "payee": "华夏文具有限公司"},
             {"pay_method": "direct", "expense": "admin"})
        post(prev, "o-accrue", "payroll.accrued", 200, {"dep_eco": "30101"})
    bank = prev.accounts.get(code="1002")
    acc.account_create(actor=actor, parent_id=bank.pk, suffix="01", name="工商银行基本户")
    with transaction.atomic():
        acc.voucher_post_system(account_set=prev, date=dt.date(YEAR, 4, 1), summary="收到押金", source="manual",
                                lines=[LineSpec(basis="financial", account_code="1002.01", debit=500 * Y),
                                       LineSpec(basis="financial", account_code="2307", credit=500 * Y,
                                                dims={"payee": "华夏物业公司"})])
    close(actor, prev)
    with transaction.atomic():
        acc.books_ensure(year=YEAR + 1, units=[unit("004")])
    return AccountSet.objects.get(pk=prev.pk), AccountSet.objects.get(unit=unit("004"), year=YEAR + 1)


def carry(prev, nxt, actor=None):
    with transaction.atomic():
        return acc.opening_balances_carry(prev, nxt, actor=actor)


def test_the_opening_voucher_carries_balance_sheet_and_budget_balances(pair, actor):
    prev, nxt = pair
    v = carry(prev, nxt, actor)
    assert (v.source, v.period_no, v.date, v.event_id) == ("opening", 1, dt.date(YEAR + 1, 1, 1), f"opening:{prev.pk}")
    got = lines(v)
    assert {code[0] for _, code, *_ in got} <= {"1", "2", "3", "8"}
    assert ("financial", "1011", "Dr", 1_000 * Y, {"fund_nature": "111"}) in got
    assert ("financial", "2201", "Cr", 200 * Y, {}) in got
    assert ("financial", "2307", "Cr", 500 * Y, {"payee": "华夏物业公司"}) in got
    assert ("budget", "8001.02", "Dr", 1_000 * Y, {"fund_nature": "111"}) in got
    assert carried_by_account(prev)["3001"] == -(1_000 + 300 - 300 - 200) * Y  # revenue 1,300 − expense 500
    assert v.financial_total == sum(a for b, _, side, a, _ in got if b == "financial" and side == "Dr")
    assert acc.opening_differences(prev, nxt) == []
    copied = nxt.accounts.get(code="1002.01")  # the hand-made sub-account came along, its parent no longer a leaf
    assert copied.is_leaf and not nxt.accounts.get(code="1002").is_leaf
    n = Voucher.objects.filter(account_set=nxt).count()
    assert carry(prev, nxt, actor).pk == v.pk and Voucher.objects.filter(account_set=nxt).count() == n


def test_refusals_change_nothing(pair, actor):
    prev, nxt = pair
    other = AccountSet.objects.get(unit=unit("001"), year=YEAR)
    with pytest.raises(DomainError) as exc:
        carry(other, nxt)
    assert exc.value.violations_or_self[0].code == "opening_pair"
    AccountSet.objects.filter(pk=prev.pk).update(status="active")
    with pytest.raises(DomainError) as exc:
        carry(prev, nxt)
    assert exc.value.code == "set_not_closed"
    AccountSet.objects.filter(pk=prev.pk).update(status="closed")
    Period.objects.filter(account_set=nxt, number=1).update(status="closed")
    with pytest.raises(DomainError) as exc:
        carry(prev, nxt)
    assert exc.value.violations_or_self[0].code == "period_closed"
    assert not nxt.vouchers.exists() and not nxt.accounts.filter(code="1002.01").exists()
    Period.objects.filter(account_set=nxt, number=1).update(status="open")
    with transaction.atomic():
        acc.voucher_post_system(account_set=nxt, date=dt.date(YEAR + 1, 1, 1), summary="手工期初", source="opening",
                                lines=[LineSpec(basis="financial", account_code="1002", debit=100 * Y),
                                       LineSpec(basis="financial", account_code="3001", credit=100 * Y)])
    with pytest.raises(DomainError) as exc:
        carry(prev, nxt)
    assert exc.value.code == "opening_exists" and nxt.vouchers.count() == 1


def test_differences_are_found(pair, actor):
    prev, nxt = pair
    carry(prev, nxt, actor)
    with transaction.atomic():
        acc.voucher_post_system(account_set=nxt, date=dt.date(YEAR + 1, 1, 1), summary="补录期初", source="opening",
                                lines=[LineSpec(basis="financial", account_code="1002.01", debit=100 * Y),
                                       LineSpec(basis="financial", account_code="3001", credit=100 * Y)])
    diffs = acc.opening_differences(prev, nxt)
    assert len(diffs) == 2 and any("1002.01" in d and "600.00" in d and "500.00" in d for d in diffs)
    assert set(diffs) <= set(acc.opening_problems())


def test_a_closed_year_without_its_opening_is_a_problem(pair):
    prev, nxt = pair
    assert acc.opening_problems() == []  # the year is still open: not carried yet is no problem
    FiscalYear.objects.filter(region_code=PROVINCE, year=YEAR).update(status="closed")
    problems = acc.opening_problems()
    assert any(nxt.name in p and "1011" in p for p in problems)
    assert next_set_of(prev).pk == nxt.pk
    carry(prev, nxt)
    assert acc.opening_problems() == []
