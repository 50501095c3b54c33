"""The posting engine: idempotency by event id, the caller's transaction, and every refusal leaving nothing
behind (no voucher, no line, no number used, no audit row)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ibms.accounting import services
from ibms.accounting.models import Account, PostingRule, PostingRuleLine, Voucher, VoucherLine
from ibms.core.errors import Conflict, DomainError, ValidationFailed
from ibms.core.models import BusinessEvent, ChangeLog, Sequence

from .builders import day, post

DIMS = {"exp_func": "2050203", "dep_eco": "30201", "fund_nature": "111", "payee": "华夏文具有限公司"}
PAY = {"pay_method": "direct"}


def state():
    return (Voucher.objects.count(), VoucherLine.objects.count(), ChangeLog.objects.count(),
            BusinessEvent.objects.count(), list(Sequence.objects.order_by("key").values_list("key", "last_value")))


def refused(fn, code: str):
    before = state()
    with pytest.raises(DomainError) as info:
        fn()
    codes = [v.code for v in info.value.violations] if isinstance(info.value, ValidationFailed) else [info.value.code]
    assert code in codes, codes
    assert state() == before
    return info.value


def test_same_event_twice_returns_the_same_voucher(books):
    aset = books["organ"]
    first = post(aset, "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY, event_id="bank-receipt-1")
    after_first = state()
    again = post(aset, "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY, event_id="bank-receipt-1")
    assert again.pk == first.pk
    assert state() == after_first
    nxt = post(aset, "payment.receipted", amounts={"amount": 7000}, dims=DIMS, attrs=PAY, event_id="bank-receipt-2")
    assert (first.number, nxt.number) == (1, 2)


def test_same_event_id_with_other_content_is_a_conflict(books):
    aset = books["organ"]
    post(aset, "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY, event_id="bank-receipt-9")
    err = refused(lambda: post(aset, "payment.receipted", amounts={"amount": 5001}, dims=DIMS, attrs=PAY,
                               event_id="bank-receipt-9"), "event_conflict")
    assert isinstance(err, Conflict)


def test_event_ids_are_per_account_set(books):
    a = post(books["organ"], "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY, event_id="x-1")
    b = post(books["institution"], "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY, event_id="x-1")
    assert a.pk != b.pk


def test_posting_follows_the_callers_transaction(books):
    """Inside the caller's atomic block: the caller's rollback takes the voucher with it."""
    before = state()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        post(books["organ"], "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY, event_id="tx-1")
        assert Voucher.objects.filter(event_id="tx-1").exists()
        raise Boom
    assert state() == before
    assert not Voucher.objects.filter(event_id="tx-1").exists()


def test_a_refusal_leaves_the_callers_transaction_usable(books):
    with transaction.atomic():
        with pytest.raises(ValidationFailed):
            post(books["organ"], "payment.receipted", amounts={"amount": 5000}, dims={}, attrs=PAY, event_id="tx-2")
        v = post(books["organ"], "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY, event_id="tx-3")
    assert Voucher.objects.filter(pk=v.pk).exists()


@pytest.mark.parametrize("missing", ["exp_func", "dep_eco", "fund_nature"])
def test_missing_required_dimension(books, missing):
    dims = {k: v for k, v in DIMS.items() if k != missing}
    refused(lambda: post(books["organ"], "payment.receipted", amounts={"amount": 5000}, dims=dims, attrs=PAY),
            "missing_dimension")


def test_unknown_dimension(books):
    refused(lambda: post(books["organ"], "payment.receipted", amounts={"amount": 5000},
                         dims={**DIMS, "colour": "red"}, attrs=PAY), "unknown_dimension")


def test_no_rule_for_event_type_or_conditions(books):
    refused(lambda: post(books["organ"], "payment.teleported", amounts={"amount": 5000}, dims=DIMS), "no_posting_rule")
    refused(lambda: post(books["organ"], "quota.received", amounts={"amount": 5000}, dims=DIMS,
                         attrs={"pay_method": "barter"}), "no_posting_rule")
    # a finance-bureau event has no rule in a unit's chart
    refused(lambda: post(books["organ"], "treasury.paid", amounts={"amount": 5000}, dims=DIMS), "no_posting_rule")


def _bad_rule(year: int, event_type: str, lines: list[tuple[str, str, str, str]], condition: str = "") -> PostingRule:
    rule = PostingRule.objects.create(year=year, code=f"test.{event_type}", event_type=event_type, name="测试规则",
                                      condition=condition, summary="测试")
    for i, (basis, side, account, amount) in enumerate(lines, 1):
        PostingRuleLine.objects.create(rule=rule, seq=i, basis=basis, side=side, account=account, amount_field=amount)
    return rule


def test_a_rule_that_would_not_balance_is_refused(books, year):
    _bad_rule(year, "test.unbalanced", [("financial", "debit", "5001", "amount"),
                                        ("financial", "credit", "4001.01", "tax")])
    refused(lambda: post(books["organ"], "test.unbalanced", amounts={"amount": 5000, "tax": 300}), "rule_unbalanced")


def test_a_rule_unbalanced_in_one_basis_only_is_refused(books, year):
    _bad_rule(year, "test.halfbudget", [("financial", "debit", "5001", "amount"),
                                        ("financial", "credit", "4001.01", "amount"),
                                        ("budget", "debit", "7101.01", "amount")])
    refused(lambda: post(books["organ"], "test.halfbudget", amounts={"amount": 5000}, dims=DIMS), "rule_unbalanced")


def test_a_rule_posting_to_a_non_leaf_account_is_refused(books, year):
    _bad_rule(year, "test.nonleaf", [("financial", "debit", "5001", "amount"),
                                     ("financial", "credit", "4001", "amount")])
    refused(lambda: post(books["organ"], "test.nonleaf", amounts={"amount": 5000}, dims=DIMS), "non_leaf_account")


def test_a_rule_with_a_broken_expression_is_refused(books, year):
    _bad_rule(year, "test.broken", [("financial", "debit", "=expense ==", "amount"),
                                    ("financial", "credit", "4001.01", "amount")])
    refused(lambda: post(books["organ"], "test.broken", amounts={"amount": 5000}, dims=DIMS), "rule_invalid")


def test_closed_account_is_refused(books, user):
    acc = Account.objects.get(account_set=books["organ"], code="5001")
    services.account_update(actor=user("fin_accounting"), pk=acc.pk, is_active=False)
    refused(lambda: post(books["organ"], "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY),
            "account_closed")


def test_closed_period_and_date_outside_the_year_are_refused(books, user, year):
    aset = books["organ"]
    reviewer = user("fin_accounting")
    for p in aset.periods.filter(number__lte=3).order_by("number"):
        services.period_close(actor=reviewer, pk=p.pk)
    refused(lambda: post(aset, "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY,
                         date=dt.date(year, 3, 31)), "period_closed")
    refused(lambda: post(aset, "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY,
                         date=dt.date(year + 1, 1, 2)), "date_outside_year")
    assert post(aset, "payment.receipted", amounts={"amount": 5000}, dims=DIMS, attrs=PAY,
                date=dt.date(year, 4, 1)).period_no == 4


def test_negative_or_zero_business_amounts_are_refused(books):
    refused(lambda: post(books["organ"], "payment.receipted", amounts={"amount": -5000}, dims=DIMS, attrs=PAY),
            "amount_negative")
    refused(lambda: post(books["organ"], "payment.receipted", amounts={"amount": 0}, dims=DIMS, attrs=PAY),
            "amount_zero")
    refused(lambda: post(books["organ"], "payment.receipted", amounts={"amount": 12.5}, dims=DIMS, attrs=PAY),
            "amount_invalid")


def test_unknown_account_set(db):
    refused(lambda: services.event_post(event_id="nowhere", event_type="payment.receipted", date=day(1999),
                                        amounts={"amount": 1}, unit_id=-1, year=1999), "no_account_set")
