"""API-level scenario with the real bank simulator (a subprocess): request → review → voucher → the simulator
pays → the worker polls → receipt → indicator spent and the accounting voucher posted; a return (bad payee
account); a refund (before and after its receipt); a batch; 实拨; reconciliation; verify checks pass and fail
when something is tampered."""

from __future__ import annotations

import json

import pytest

from ibms.accounting.models import Voucher
from ibms.banks import services as banks
from ibms.core import clock, outbox
from ibms.core.verify import run_all
from ibms.indicators.models import Reservation
from ibms.treasury import selectors
from ibms.treasury.models import Contract, PaymentRequest, PaymentVoucher, ReconDifference
from tests.constants import DEMO_PIN

from .builders import fresh, indicator, payee, school, work

API = "/api/v1/treasury"


def post(client, url, data=None, **headers):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json", **headers)


def connect(sim, user, agent_bank_code: str) -> None:
    banks.endpoint_register(actor=user("fin_it") if user("fin_it").has_perm("banks.add_bankendpoint")
                            else user("fin_treasury"), agent_bank_code=agent_bank_code, region_code="990000000",
                            base_url=sim.url, admin_token=sim.admin_token)


def new_request(c, ind, amount: str, **extra) -> dict:
    body = {"indicator_id": ind.pk, "amount": amount, "purpose": extra.pop("purpose", "购买教学用品"),
            "payee": extra.pop("payee", {"payee_id": payee().pk}), **extra}
    r = post(c, f"{API}/requests", body)
    assert r.status_code == 201, r.content
    return r.json()


def submit(c, pk: int, key: str, **body):
    return post(c, f"{API}/requests/{pk}/submit", body, HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_payment_round_trip(client_as, user, sim):
    budget = user("fin_budget")
    ind = indicator(budget, 10_000_000)
    clerk, reviewer = client_as("school_clerk"), client_as("school_reviewer")
    req = new_request(clerk, ind, "1234.56")
    assert req["pay_method"] == "centralized"
    connect(sim, user, PaymentRequest.objects.get(pk=req["id"]).agent_bank_code)

    r = submit(clerk, req["id"], "scenario-1")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "submitted"
    assert submit(clerk, req["id"], "scenario-1").json()["status"] == "submitted"  # same key, same answer
    queue = reviewer.get(f"{API}/review-queue").json()
    assert req["id"] in [x["id"] for x in queue["items"]]
    r = post(reviewer, f"{API}/requests/{req['id']}/review", {"approve": True, "comment": "同意", "pin": DEMO_PIN})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "approved" and body["voucher_state"] == "sent"
    vid = body["voucher_id"]
    assert fresh(ind).reserved == 123_456

    work(sim)
    v = PaymentVoucher.objects.get(pk=vid)
    assert v.state == "paid" and v.xpay_amt == 123_456 and v.agent_business_no
    assert v.signers == "unit"  # centralized: the unit's seal only
    ind = fresh(ind)
    assert (ind.reserved, ind.spent, ind.available) == (0, 123_456, 10_000_000 - 123_456)
    acc = Voucher.objects.get(event_id=f"pay:990000000:{v.number}")
    assert acc.status == "posted" and acc.budget_total == 123_456
    assert fresh(PaymentRequest.objects.get(pk=req["id"])).status == "paid"
    detail = clerk.get(f"{API}/vouchers/{vid}").json()
    assert [e["state"] for e in detail["timeline"]][:3] == ["generated", "signed", "sent"]
    assert detail["timeline"][-1]["state"] == "paid"

    # the same receipt again (replayed feed) changes nothing
    work(sim)
    assert fresh(ind).spent == 123_456
    assert Voucher.objects.filter(event_id=f"pay:990000000:{v.number}").count() == 1

    # refund 200.00 of it: indicator restored, accounting reversed
    sim.admin("/admin/refund", {"adm": "990000000", "year": v.year, "voucher_no": v.number, "amount": 20_000,
                                "reason": "收款人账户冻结退回", "refund_no": "TK-0001"})
    work(sim)
    v = fresh(v)
    assert v.state == "partly_refunded" and v.refunded_amt == 20_000
    ind = fresh(ind)
    assert ind.spent == 103_456 and ind.available == 10_000_000 - 103_456
    assert Voucher.objects.get(event_id="refund:990000000:TK-0001").budget_total == 20_000
    assert Reservation.objects.get(consumer=v.consumer).restored == 20_000

    # PDF printing
    resp = clerk.get(f"/treasury/vouchers/{vid}/?format=pdf")
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")

    # reconciliation against the bank's statement: everything agrees
    treasury = client_as("fin_treasury")
    banks.statement_fetch(actor=user("fin_treasury"), agent_bank_code=v.agent_bank_code, date=clock.today(),
                          region_code="990000000")
    r = post(treasury, f"{API}/reconciliations", {"region_code": "990000000", "date": clock.today().isoformat()})
    assert r.status_code == 201, r.content
    run = r.json()
    assert run["has_statement"] and run["difference_count"] == 0, run
    assert fresh(v).state == "partly_refunded"

    problems = run_all()
    for name in ("treasury.spent", "treasury.paid_once", "treasury.reservations", "indicators.balances",
                 "audit.rows", "audit.chains"):
        assert problems[name] == [], (name, problems[name])

    # tampering: a receipted payment whose accounting voucher is gone from the books is reported
    PaymentVoucher.objects.filter(pk=v.pk).update(xpay_amt=v.xpay_amt + 100)
    assert any(v.consumer in p for p in selectors.spent_problems())


@pytest.mark.django_db
def test_return_for_bad_payee_account_voids(client_as, user, sim):
    ind = indicator(user("fin_budget"), 5_000_000)
    clerk, reviewer = client_as("school_clerk"), client_as("school_reviewer")
    req = new_request(clerk, ind, "300.00", payee={"name": "青山文具店", "account_no": "6222990000123456",
                                                   "bank_name": "工商银行青山支行"})
    connect(sim, user, PaymentRequest.objects.get(pk=req["id"]).agent_bank_code)
    sim.admin("/admin/bad-accounts", {"accounts": [{"acct": "6222990000123456", "reason": "收款账号不存在"}]})
    assert submit(clerk, req["id"], "ret-1").status_code == 200
    assert post(reviewer, f"{API}/requests/{req['id']}/review", {"approve": True, "pin": DEMO_PIN}).status_code == 200
    work(sim)
    v = PaymentVoucher.objects.get(request_id=req["id"])
    assert v.state == "returned" and "收款账号不存在" in v.return_reason
    assert fresh(ind).reserved == 0 and fresh(ind).available == 5_000_000
    assert Reservation.objects.get(consumer=v.consumer).status == "voided"
    assert PaymentRequest.objects.get(pk=req["id"]).status == "returned"
    assert not Voucher.objects.filter(event_id=f"pay:990000000:{v.number}").exists()
    assert selectors.reservation_problems() == [] and selectors.spent_problems() == []


@pytest.mark.django_db
def test_batch_payroll_and_contract(client_as, user, sim):
    ind = indicator(user("fin_budget"), 2_000_000_000, dep_eco_code="30101", gov_eco_code="50101")
    clerk, reviewer = client_as("school_clerk"), client_as("school_reviewer")
    lines = [{"payee_name": f"教师{i:03d}", "payee_account_no": f"62170000{i:08d}", "payee_bank_name": "建设银行",
              "amount": f"{3000 + i}.50"} for i in range(1, 2001)]
    req = new_request(clerk, ind, "", lines=lines, is_payroll=True, purpose="发放本月工资")
    assert req["is_batch"] and req["line_count"] == 2000
    total = sum(300_050 + i * 100 for i in range(1, 2001))
    assert req["amount"] == f"{total / 100:.2f}"
    connect(sim, user, PaymentRequest.objects.get(pk=req["id"]).agent_bank_code)
    r = submit(clerk, req["id"], "batch-1")
    assert r.status_code == 200, r.json()
    assert fresh(ind).reserved == total and Reservation.objects.filter(indicator=ind).count() == 1
    assert post(reviewer, f"{API}/requests/{req['id']}/review", {"approve": True, "pin": DEMO_PIN}).status_code == 200
    v = PaymentVoucher.objects.get(request_id=req["id"])
    assert v.vt_code == "8207" and v.details.count() == 2000
    work(sim)
    v = fresh(v)
    assert v.state == "paid" and v.xpay_amt == total
    assert fresh(ind).spent == total
    assert v.details.filter(xpay_amt=0).count() == 0

    # a contract-bound payment adds to the contract's paid amount on receipt
    c = post(clerk, f"{API}/contracts", {"unit_id": school().pk, "number": "HT-S-01", "name": "维修合同",
                                         "amount": "1000.00", "payee_name": "青山建筑维修公司"}).json()
    ind2 = indicator(user("fin_budget"), 1_000_000)
    r2 = new_request(clerk, ind2, "400.00", contract_id=c["id"])
    assert submit(clerk, r2["id"], "batch-2").status_code == 200
    assert post(reviewer, f"{API}/requests/{r2['id']}/review", {"approve": True, "pin": DEMO_PIN}).status_code == 200
    work(sim)
    contract = Contract.objects.get(pk=c["id"])
    assert (contract.committed, contract.paid) == (40_000, 40_000)
    assert selectors.spent_problems() == [] and selectors.paid_twice_problems() == []


@pytest.mark.django_db
def test_refund_before_receipt_is_deferred(client_as, user, sim):
    """A refund seen before its receipt waits (Defer) and is applied once after it."""
    ind = indicator(user("fin_budget"), 1_000_000)
    clerk, reviewer = client_as("school_clerk"), client_as("school_reviewer")
    req = new_request(clerk, ind, "100.00")
    connect(sim, user, PaymentRequest.objects.get(pk=req["id"]).agent_bank_code)
    submit(clerk, req["id"], "def-1")
    post(reviewer, f"{API}/requests/{req['id']}/review", {"approve": True, "pin": DEMO_PIN})
    outbox.drain()
    sim.admin("/admin/tick")
    v = PaymentVoucher.objects.get(request_id=req["id"])
    from ibms.banks import inbound

    with inbound.override("receipt", lambda msg: (_ for _ in ()).throw(inbound.Defer("not yet"))):
        sim.admin("/admin/refund", {"adm": "990000000", "year": v.year, "voucher_no": v.number, "amount": 10_000,
                                    "reason": "全额退回", "refund_no": "TK-DEF-1"})
        banks.endpoint_poll_all()
    assert fresh(v).state in ("sent", "accepted") and fresh(ind).spent == 0
    banks.endpoint_poll_all()
    outbox.drain()
    banks.endpoint_poll_all()
    v = fresh(v)
    assert v.state == "refunded" and v.refunded_amt == 10_000
    ind = fresh(ind)
    assert ind.spent == 0 and ind.available == 1_000_000
    assert selectors.spent_problems() == []


@pytest.mark.django_db
def test_reconciliation_lists_missing_receipt(client_as, user, sim):
    ind = indicator(user("fin_budget"), 1_000_000)
    clerk, reviewer = client_as("school_clerk"), client_as("school_reviewer")
    req = new_request(clerk, ind, "50.00")
    connect(sim, user, PaymentRequest.objects.get(pk=req["id"]).agent_bank_code)
    submit(clerk, req["id"], "rec-1")
    post(reviewer, f"{API}/requests/{req['id']}/review", {"approve": True, "pin": DEMO_PIN})
    outbox.drain()
    sim.admin("/admin/tick")  # the bank paid, but we have not read its feed
    v = PaymentVoucher.objects.get(request_id=req["id"])
    banks.statement_fetch(actor=user("fin_treasury"), agent_bank_code=v.agent_bank_code, date=clock.today(),
                          region_code="990000000")
    run = post(client_as("fin_treasury"), f"{API}/reconciliations",
               {"region_code": "990000000", "date": clock.today().isoformat()}).json()
    kinds = {d["kind"] for d in run["differences"] if d["voucher_no"] == v.number}
    assert kinds == {ReconDifference.Kind.MISSING_RECEIPT}
    # the periodic status query resolves it: the bank says paid → applied once
    from ibms.treasury.services import voucher_query_stuck

    assert voucher_query_stuck(older_than_minutes=0) >= 1
    assert fresh(v).state == "paid" and fresh(ind).spent == 5_000
    banks.endpoint_poll_all()
    assert fresh(ind).spent == 5_000
