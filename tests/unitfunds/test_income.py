"""单位资金收入 into a registered 实有资金账户: booked by `unitfunds.income_received` (Dr 1002 / Cr 4101·4401·46xx,
Dr 8001.01 / Cr 6101·6401·6609), the account's balance grows, `ibms verify` stays clean; refusals change nothing."""

from __future__ import annotations

import pytest

from ibms.core.errors import DomainError, NotFound, PermissionDenied
from ibms.core.verify import run_all
from ibms.masterdata.models import BankAccount
from ibms.unitfunds import services as uf
from ibms.unitfunds.models import AccountEntry, Income

from .builders import W, balance, fresh, income, own_account


def _codes(exc) -> list[str]:
    return [v.code for v in getattr(exc, "violations", [])] or [exc.code]


@pytest.mark.django_db
def test_income_books_both_bases_and_grows_the_balance(user):
    clerk = user("school_clerk")
    ua = own_account(clerk)
    before = {c: balance(c) for c in ("1002", "4101", "4401", "8001.01", "6101", "6401", "6609", "4603")}
    a = income(clerk, ua, 12 * W)
    b = income(clerk, ua, 3 * W, kind="jingying", summary="食堂经营收入")
    c = income(clerk, ua, 50_000, kind="juanzeng", summary="校友捐赠")
    assert fresh(ua).balance == 12 * W + 3 * W + 50_000
    lines = sorted((ln.account_code, ln.debit, ln.credit) for ln in a.voucher.lines.all())
    assert [x[0] for x in lines] == sorted(["1002", "4101", "8001.01", "6101"]) or \
        {x[0].replace(".", "") for x in lines} == {"1002", "4101", "800101", "6101"}
    assert balance("1002") - before["1002"] == 15 * W + 50_000
    assert balance("8001.01") - before["8001.01"] == 15 * W + 50_000
    assert balance("4101") - before["4101"] == -12 * W and balance("6101") - before["6101"] == -12 * W
    assert balance("4401") - before["4401"] == -3 * W and balance("6401") - before["6401"] == -3 * W
    assert balance("4603") - before["4603"] == -50_000 and balance("6609") - before["6609"] == -50_000
    assert b.voucher_id != c.voucher_id
    assert AccountEntry.objects.filter(account=ua).count() == 3
    assert run_all()["unitfunds.balances"] == []


@pytest.mark.django_db
def test_income_refusals_change_nothing(user):
    clerk = user("school_clerk")
    ua = own_account(clerk)
    for kw, code in (({"amount": 0}, "amount_not_positive"), ({"kind": "nope"}, "income_kind_unknown"),
                     ({"payer_name": " "}, "payer_required")):
        amount = kw.pop("amount", W)
        with pytest.raises(DomainError) as e:
            income(clerk, ua, amount, **kw)
        assert code in _codes(e.value)
    # another unit's clerk does not see the account at all; a reviewer may not record income
    with pytest.raises(NotFound):
        income(user("hospital_clerk"), ua, W)
    with pytest.raises(PermissionDenied):
        income(user("school_reviewer"), ua, W)
    assert Income.objects.filter(account=ua).count() == 0 and fresh(ua).balance == 0


@pytest.mark.django_db
def test_register_refuses_a_zero_balance_account_and_a_second_registration(user):
    clerk = user("school_clerk")
    with pytest.raises(DomainError) as e:
        own_account(clerk, account_type="12")
    assert _codes(e.value) == ["account_type_not_allowed"]
    ua = own_account(clerk)
    with pytest.raises(DomainError) as e:
        uf.unit_account_register(actor=clerk, bank_account_id=ua.bank_account_id)
    assert _codes(e.value) == ["unit_account_exists"]
    other = BankAccount.objects.get(pk=ua.bank_account_id)
    with pytest.raises(NotFound):
        uf.unit_account_register(actor=user("hospital_clerk"), bank_account_id=other.pk)
