"""A payment from a unit's 实有资金账户 end to end through the bank simulator: an indicator of fund nature 31 paid
by a treasury request from the unit's own account (not a zero-balance account), with the unit-funds voucher type
8209 and the `unitfunds.payment` chain (unit review only by default); the receipt books 7201.03 / 8001.01 and
5001 / 1002 and takes the payment off the account; more than the account holds is refused on submit."""

from __future__ import annotations

import json

import pytest

from ibms.core import workflow
from ibms.core.verify import run_all
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from tests.constants import CITY, DEMO_PIN, PROVINCE
from tests.treasury.builders import payee, work
from tests.treasury.conftest import sim  # noqa: F401 - the bank simulator fixture
from tests.treasury.test_scenario import connect

from .builders import W, balance, fresh, income, own_account, own_indicator

API = "/api/v1"


def post(c, url, body=None, **headers):
    return c.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


def _request(clerk, ind, amount: str, key: str):
    r = post(clerk, f"{API}/treasury/requests", {"indicator_id": ind.pk, "amount": amount, "purpose": "购买实验耗材",
                                                "payee": {"payee_id": payee().pk}})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    return pk, post(clerk, f"{API}/treasury/requests/{pk}/submit", HTTP_IDEMPOTENCY_KEY=key)


def _clean() -> None:
    problems = run_all()
    bad = {k: v for k, v in problems.items() if v}
    assert bad == {}


@pytest.mark.django_db
def test_unit_funds_payment_through_the_bank(client_as, user, sim):  # noqa: F811
    clerk_user = user("school_clerk")
    ua = own_account(clerk_user)
    income(clerk_user, ua, 10 * W)
    ind = own_indicator(user("fin_budget"), 20 * W)
    clerk, reviewer = client_as("school_clerk"), client_as("school_reviewer")
    before = {c: balance(c) for c in ("1002", "8001.01", "7201.03", "5001")}

    pk, r = _request(clerk, ind, "30000.00", "uf-1")
    assert r.status_code == 200, r.content
    req = PaymentRequest.objects.get(pk=pk)
    assert req.pay_acct_no == ua.bank_account.account_no  # the unit's own account, not a zero-balance account
    assert r.json()["status"] == "submitted"
    # while in flight the amount is held: the page and the API show 7万 available of 10万
    acc = clerk.get(f"{API}/unitfunds/accounts/{ua.pk}").json()
    assert (acc["balance"], acc["held"], acc["available"]) == ("100000.00", "30000.00", "70000.00")

    # more than what is left is refused, with nothing reserved
    pk2, r2 = _request(clerk, ind, "70000.01", "uf-2")
    assert r2.status_code == 422 and "unit_account_overdraw" in r2.content.decode()
    assert PaymentRequest.objects.get(pk=pk2).status == "draft"

    connect(sim, user, req.agent_bank_code)
    r = post(reviewer, f"{API}/treasury/requests/{pk}/review", {"approve": True, "pin": DEMO_PIN})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "approved"  # one step: no finance treasury review by the default policy
    v = PaymentVoucher.objects.get(request_id=pk)
    assert v.vt_code == "8209" and v.pay_acct_no == ua.bank_account.account_no
    work(sim)
    assert fresh(req).status == "paid"
    assert fresh(ua).balance == 7 * W
    assert balance("7201.03") - before["7201.03"] == 3 * W
    assert balance("8001.01") - before["8001.01"] == -3 * W
    assert balance("1002") - before["1002"] == -3 * W
    assert balance("5001") - before["5001"] == 3 * W
    _clean()

    # 7万 is now exactly payable
    pk3, r3 = _request(clerk, ind, "70000.00", "uf-3")
    assert r3.status_code == 200, r3.content


@pytest.mark.django_db
def test_no_own_account_is_refused_and_region_policy_adds_the_finance_step(client_as, user):
    ind = own_indicator(user("fin_budget"), 5 * W)
    pk, r = _request(client_as("school_clerk"), ind, "100.00", "uf-x")
    assert r.status_code == 422 and "unit_account_missing" in r.content.decode()
    assert [s.role_code for s in workflow.approval_steps("unitfunds.payment", PROVINCE)] == ["unit_reviewer"]
    assert [s.role_code for s in workflow.approval_steps("unitfunds.payment", CITY)] == ["unit_reviewer",
                                                                                      "treasury_division"]


@pytest.mark.django_db
def test_operating_money_pays_as_operating_expense_and_nothing_fiscal_moves(user):
    """Money of 经营收入 (fund nature 32) paid from the unit account books 5201 经营费用 / 7301 经营支出 (rule
    unitfunds.paid.operating, data/accounting/posting_rules.csv) — never 6001 / 1011 / 4001 nor 7201."""
    from ibms.accounting.models import Voucher
    from tests.treasury.builders import paid

    clerk = user("school_clerk")
    ua = own_account(clerk)
    income(clerk, ua, 8 * W, kind="jingying", summary="食堂经营收入")
    ind = own_indicator(user("fin_budget"), 5 * W, fund_nature_code="32")
    codes = ("1002", "8001.01", "7201", "7301", "5001", "5201", "6001", "1011", "4001")
    before = {c: balance(c) for c in codes}
    fiscal = Voucher.objects.filter(account_set__kind="fiscal").count()
    v = paid(user, ind, 2 * W, "uf-op-1")
    assert v.vt_code == "8209" and v.pay_acct_no == ua.bank_account.account_no
    d = {c: balance(c) - before[c] for c in codes}
    assert d == {"1002": -2 * W, "8001.01": -2 * W, "7201": 0, "7301": 2 * W, "5001": 0, "5201": 2 * W, "6001": 0,
                 "1011": 0, "4001": 0}
    assert Voucher.objects.filter(account_set__kind="fiscal").count() == fiscal
    assert fresh(ua).balance == 6 * W
    _clean()
