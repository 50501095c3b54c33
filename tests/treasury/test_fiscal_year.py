"""The fiscal year's status on payments: only an executing year takes payment requests (create, update, submit,
approve) and 实拨; a closed year answers `fiscal_year_closed`, a preparing one `fiscal_year_not_executing`, with
nothing written; returning a request still works; the bank's receipt of a voucher sent before the year closed is
still applied (with its accounting), dated outside the adjustment period."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ibms.accounting.models import Voucher
from ibms.banks import services as banks
from ibms.banks.models import BankEndpoint
from ibms.core.crypto import generate_sm2_keypair
from ibms.core.errors import Conflict
from ibms.indicators.models import Reservation
from ibms.masterdata.models import FiscalYear
from ibms.treasury import selectors
from ibms.treasury import services as s
from ibms.treasury.models import Allocation, PaymentRequest, PaymentVoucher
from tests.constants import DEMO_PIN, PROVINCE

from .builders import YEAR, create, draft, fresh, indicator, payee

pytestmark = pytest.mark.django_db
API = "/api/v1/treasury"


def set_status(status: str, year: int = YEAR) -> None:
    assert FiscalYear.objects.filter(region_code=PROVINCE, year=year).update(status=status) == 1


def state(ind) -> tuple:
    i = fresh(ind)
    return (i.available, i.reserved, i.spent, Reservation.objects.count(), PaymentRequest.objects.count(),
            PaymentVoucher.objects.count(), Allocation.objects.count())


def _endpoint(user, req) -> None:
    code = fresh(req).agent_bank_code
    if not BankEndpoint.objects.filter(agent_bank_code=code, region_code=PROVINCE).exists():
        banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=code, region_code=PROVINCE,
                                base_url="http://127.0.0.1:9", public_pem=generate_sm2_keypair().public_pem.decode())


def test_an_executing_year_takes_payments(budget, clerk, reviewer, user):
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, 10_000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="fy-exec")
    _endpoint(user, req)
    assert s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN).status == "approved"


def test_a_closed_year_refuses_submit_and_changes_nothing(budget, clerk):
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, 10_000)
    set_status(FiscalYear.Status.CLOSED)
    before = state(ind)
    with pytest.raises(Conflict) as e:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="fy-closed")
    assert e.value.code == "fiscal_year_closed" and f"华夏省{YEAR}年度已结账，不能再办理支付" in e.value.message
    assert state(ind) == before and fresh(req).status == "draft"
    for call in (lambda: create(clerk, ind, 1_000),
                 lambda: s.payment_request_update(actor=clerk, pk=req.pk, data=draft(clerk, ind, 2_000))):
        with pytest.raises(Conflict) as e:
            call()
        assert e.value.code == "fiscal_year_closed"
    assert state(ind) == before and fresh(req).amount == 10_000


def test_a_closed_year_refuses_the_approval_but_not_the_return(budget, clerk, reviewer):
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, 10_000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="fy-review")
    set_status(FiscalYear.Status.CLOSED)
    before = state(ind)
    with pytest.raises(Conflict) as e:
        s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    assert e.value.code == "fiscal_year_closed" and state(ind) == before and fresh(req).status == "submitted"
    s.payment_request_review(actor=reviewer, pk=req.pk, approve=False, comment="年度已结账")
    assert fresh(req).status == "rejected" and fresh(ind).reserved == 0


def test_a_preparing_year_takes_no_payments(budget, clerk, treasury):
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, 10_000)
    set_status(FiscalYear.Status.PREPARING)
    before = state(ind)
    for call in (lambda: create(clerk, ind, 1_000),
                 lambda: s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="fy-prep"),
                 lambda: s.allocation_create(actor=treasury, indicator_id=ind.pk, alloc_type="1", amount=1_000,
                                             purpose="拨付东川市教育补助", payee_region_code="990100000")):
        with pytest.raises(Conflict) as e:
            call()
        assert e.value.code == "fiscal_year_not_executing"
        assert f"华夏省{YEAR}年度尚在编制中，未开始执行，不能办理支付" in e.value.message
    assert state(ind) == before


def test_the_api_answers_409_with_the_code(budget, client_as):
    ind = indicator(budget, 100_000)
    c = client_as("school_clerk")
    req = c.post(f"{API}/requests", data=json.dumps({"indicator_id": ind.pk, "amount": "100.00", "purpose": "购置图书",
                                                      "payee": {"payee_id": payee().pk}}),
                 content_type="application/json").json()
    set_status(FiscalYear.Status.CLOSED)
    r = c.post(f"{API}/requests/{req['id']}/submit", data=json.dumps({"idempotency_key": "fy-api"}),
               content_type="application/json")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "fiscal_year_closed" and "已结账" in body["message"]
    assert body["detail"] == {"region_code": PROVINCE, "year": YEAR, "status": "closed"}
    assert fresh(PaymentRequest.objects.get(pk=req["id"])).status == "draft"


def test_the_bank_receipt_of_a_voucher_sent_before_closing_is_applied(budget, clerk, reviewer, user):
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, 10_000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="fy-receipt")
    _endpoint(user, req)
    s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    set_status(FiscalYear.Status.CLOSED)
    v = selectors.voucher_find(PROVINCE, None, PaymentVoucher.objects.get(request=req).number)
    # dated in March: outside the adjustment period, where a person could no longer book
    s.voucher_receipt_apply(v, xpay_amt=10_000, xpay_date=dt.date(YEAR, 3, 31), business_no="B-fy")
    assert fresh(v).state == "paid" and fresh(ind).spent == 10_000
    booked = Voucher.objects.get(event_id=f"pay:{PROVINCE}:{v.number}")
    assert booked.status == "posted" and booked.date == dt.date(YEAR, 3, 31)
