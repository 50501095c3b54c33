"""Through the API with the real bank simulator: plan → freeze → contract (saving released) → two milestone
payments paid by the bank (the freeze drawn, spent grows) → a payment the bank returns (given back to the freeze) →
a refund (back to the freeze) → completion releases the rest; at every step the indicator's buckets, the plan,
the contract and `ibms verify` agree."""

from __future__ import annotations

import json

import pytest

from ibms.core.verify import run_all
from ibms.procurement.models import ProcurementPlan
from ibms.treasury.models import Contract, PaymentRequest, PaymentVoucher
from tests.constants import DEMO_PIN
from tests.treasury.builders import payee, school, work
from tests.treasury.conftest import sim  # noqa: F401 - the bank simulator fixture
from tests.treasury.test_scenario import connect

from .builders import buckets, gov_indicator

W = 1_000_000  # 1 万元 in fen
API = "/api/v1"


def post(c, url, body=None, **headers):
    r = c.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)
    return r


def _consistent() -> None:
    problems = run_all()
    assert problems["procurement.frozen"] == [] and problems["treasury.contract_plans"] == []
    assert problems["treasury.reservations"] == [] and problems["treasury.spent"] == []


def _pay(clerk, reviewer, ind, contract_id, amount: str, milestone: int, key: str, *, bank=None, **payee_kw) -> int:
    r = post(clerk, f"{API}/treasury/requests", {"indicator_id": ind.pk, "amount": amount, "purpose": "合同付款",
                                                "payee": payee_kw or {"payee_id": payee().pk},
                                                "contract_id": contract_id, "milestone": milestone})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    r = post(clerk, f"{API}/treasury/requests/{pk}/submit", HTTP_IDEMPOTENCY_KEY=key)
    assert r.status_code == 200, r.content
    if bank is not None:
        bank(PaymentRequest.objects.get(pk=pk).agent_bank_code)
    r = post(reviewer, f"{API}/treasury/requests/{pk}/review", {"approve": True, "pin": DEMO_PIN})
    assert r.status_code == 200, r.content
    return pk


@pytest.mark.django_db
def test_plan_contract_milestones_paid_returned_refunded_completed(client_as, user, sim):  # noqa: F811
    ind = gov_indicator(user("fin_budget"), 100 * W)
    clerk, reviewer, budget = client_as("school_clerk"), client_as("school_reviewer"), client_as("fin_budget")
    pk = post(clerk, f"{API}/procurement/plans", {"indicator_id": ind.pk, "catalogue_code": "C16070000",
                                                 "method": "公开招标", "name": "台式计算机", "amount": "500000.00"}).json()["id"]
    post(clerk, f"{API}/procurement/plans/{pk}/submit")
    assert post(budget, f"{API}/procurement/plans/{pk}/review", {"approve": True}).status_code == 200
    assert buckets(ind) == (50 * W, 50 * W, 0, 0)
    r = post(clerk, f"{API}/treasury/contracts", {
        "unit_id": school().pk, "number": "HT-SCN-1", "name": "台式计算机采购合同", "amount": "450000.00",
        "payee_id": payee().pk, "plan_id": pk,
        "milestones": [{"name": "预付款", "amount": "150000.00"}, {"name": "验收款", "amount": "300000.00"}]})
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert post(budget, f"{API}/treasury/contracts/{cid}/review", {"approve": True}).status_code == 200
    assert buckets(ind) == (55 * W, 45 * W, 0, 0)
    _consistent()

    assert buckets(ind) == (55 * W, 45 * W, 0, 0)
    first = _pay(clerk, reviewer, ind, cid, "150000.00", 1, "cg-1", bank=lambda code: connect(sim, user, code))
    assert buckets(ind) == (55 * W, 30 * W, 15 * W, 0)
    work(sim)
    assert PaymentRequest.objects.get(pk=first).status == "paid"
    assert buckets(ind) == (55 * W, 30 * W, 0, 15 * W)
    _consistent()

    # the bank returns the second payment (bad account): it goes back to the contract's freeze
    sim.admin("/admin/bad-accounts", {"accounts": [{"acct": "6222990000777777", "reason": "收款账号不存在"}]})
    bad = _pay(clerk, reviewer, ind, cid, "300000.00", 2, "cg-2", name="华夏电脑", account_no="6222990000777777",
               bank_name="工商银行青山支行")
    assert buckets(ind) == (55 * W, 0, 30 * W, 15 * W)
    work(sim)
    assert PaymentRequest.objects.get(pk=bad).status == "returned"
    assert buckets(ind) == (55 * W, 30 * W, 0, 15 * W)
    _consistent()

    second = _pay(clerk, reviewer, ind, cid, "300000.00", 2, "cg-3")
    work(sim)
    assert PaymentRequest.objects.get(pk=second).status == "paid"
    assert buckets(ind) == (55 * W, 0, 0, 45 * W)
    c = Contract.objects.get(pk=cid)
    assert (c.committed, c.paid) == (45 * W, 45 * W)
    # the contract is exhausted: one more fen is refused
    r = post(clerk, f"{API}/treasury/requests", {"indicator_id": ind.pk, "amount": "0.01", "purpose": "超付",
                                                "payee": {"payee_id": payee().pk}, "contract_id": cid, "milestone": 2})
    r = post(clerk, f"{API}/treasury/requests/{r.json()['id']}/submit", HTTP_IDEMPOTENCY_KEY="cg-4")
    assert r.status_code == 422 and "contract_exhausted" in r.content.decode()

    # a refund of 1 万元 on the first payment: back to the contract's freeze while the contract is open
    v = PaymentVoucher.objects.get(request_id=first)
    sim.admin("/admin/refund", {"adm": "990000000", "year": v.year, "voucher_no": v.number, "amount": 1 * W,
                                "reason": "多付退回", "refund_no": "TK-CG-1"})
    work(sim)
    assert buckets(ind) == (55 * W, 1 * W, 0, 44 * W)
    _consistent()

    r = post(clerk, f"{API}/treasury/contracts/{cid}/close", {"terminate": True, "reason": "供货完毕，余款不再支付"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert buckets(ind) == (56 * W, 0, 0, 44 * W)
    assert ProcurementPlan.objects.get(pk=pk).status == ProcurementPlan.Status.CLOSED
    _consistent()
