"""Submit controls: each refusal lists every reason and reserves nothing; idempotent submit."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.core import clock
from ibms.core.errors import Conflict, ValidationFailed
from ibms.indicators.models import Reservation
from ibms.masterdata.models import BlacklistEntry
from ibms.treasury import selectors
from ibms.treasury import services as s
from ibms.treasury.domain import vt_code_for
from ibms.treasury.models import PaymentRequest

from .builders import codes, create, fresh, indicator, school

pytestmark = pytest.mark.django_db


def _nothing_reserved(ind, req):
    ind = fresh(ind)
    assert ind.reserved == 0 and ind.available == ind.amount
    assert not Reservation.objects.filter(indicator=ind).exists()
    assert fresh(req).status == PaymentRequest.Status.DRAFT


def test_submit_reserves_and_opens_review(budget, clerk):
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 250_000)
    assert req.number.startswith(f"SQ-990000-{clock.today():%Y%m%d}-")
    req = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="k-ok-1")
    assert req.status == PaymentRequest.Status.SUBMITTED
    ind = fresh(ind)
    assert (ind.available, ind.reserved) == (750_000, 250_000)
    r = Reservation.objects.get(consumer=req.number)
    assert r.amount == 250_000 and r.status == "reserved"


def test_overdraw_and_mismatch_listed_together(budget, clerk):
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, 150_000, exp_func_code="2050203", dep_eco_code="30202")
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="k-bad-1")
    found = codes(e.value)
    assert "overdraw" in found
    assert found.count("classification_mismatch") == 2
    _nothing_reserved(ind, req)


def test_contract_required_and_exhausted(budget, clerk):
    ind = indicator(budget, 10_000_000, is_gov_pur=True)
    req = create(clerk, ind, 100_000)
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="k-c-1")
    assert "contract_required" in codes(e.value)  # monitoring's 无合同 rule may block as well
    _nothing_reserved(ind, req)
    c = s.contract_create(actor=clerk, unit_id=school().pk, number="HT-T-001", name="教学设备采购", amount=300_000,
                          sign_date=clock.today(), payee_name="华夏设备有限公司")
    first = create(clerk, ind, 200_000, contract_id=c.pk)
    s.payment_request_submit(actor=clerk, pk=first.pk, idempotency_key="k-c-2")
    assert fresh(c).committed == 200_000
    second = create(clerk, ind, 150_000, contract_id=c.pk)
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_submit(actor=clerk, pk=second.pk, idempotency_key="k-c-3")
    assert "contract_exhausted" in codes(e.value)
    assert fresh(c).committed == 200_000
    assert fresh(ind).reserved == 200_000


def test_blacklisted_payee_refused(budget, clerk):
    ind = indicator(budget, 1_000_000)
    bl = BlacklistEntry.objects.get(name="虚构空壳贸易有限公司")
    req = create(clerk, ind, 10_000, payee=s.PayeeIn(name=bl.name, account_no=bl.account_no, bank_name="工商银行"))
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="k-b-1")
    assert "payee_blacklisted" in codes(e.value)
    _nothing_reserved(ind, req)


def test_expired_blacklist_entry_does_not_refuse(budget, clerk):
    ind = indicator(budget, 1_000_000)
    bl = BlacklistEntry.objects.get(name="虚构空壳贸易有限公司")
    BlacklistEntry.objects.filter(pk=bl.pk).update(valid_to=clock.today() - dt.timedelta(days=1),
                                                   valid_from=clock.today() - dt.timedelta(days=30))
    req = create(clerk, ind, 10_000, payee=s.PayeeIn(name=bl.name, account_no=bl.account_no, bank_name="工商银行"))
    assert s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="k-b-2").status == "submitted"


def test_manual_payee_validated_with_every_problem(budget, clerk):
    ind = indicator(budget, 1_000_000)
    with pytest.raises(ValidationFailed) as e:
        create(clerk, ind, 0, purpose="", payee=s.PayeeIn(name="", account_no="12ab", bank_name=""))
    assert set(codes(e.value)) == {"payee_name_required", "payee_account_invalid", "payee_bank_required",
                                   "purpose_required", "amount_not_positive"}


def test_idempotent_submit(budget, clerk):
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 100_000)
    a = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="same-key")
    b = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="same-key")
    assert a.pk == b.pk and b.status == "submitted"
    assert fresh(ind).reserved == 100_000
    assert Reservation.objects.filter(indicator=ind).count() == 1
    with pytest.raises(Conflict) as e:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="same-key", explanation="不同的请求")
    assert e.value.code == "idempotency_conflict"
    other = create(clerk, ind, 10_000)
    with pytest.raises(Conflict) as e:
        s.payment_request_submit(actor=clerk, pk=other.pk, idempotency_key="same-key")
    assert e.value.code == "idempotency_conflict"
    assert fresh(other).status == "draft"
    with pytest.raises(Conflict) as e:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="new-key")
    assert e.value.code == "not_editable"


def test_pay_method_mapping(budget, clerk):
    assert selectors.pay_method_get("11", "990000000") == "direct"
    assert selectors.pay_method_get("121", "990000000") == "authorized"
    assert selectors.pay_method_get("", "990000000") == "centralized"
    ind = indicator(budget, 1_000_000, pay_type_code="12")
    req = create(clerk, ind, 1000)
    assert req.pay_method == "authorized" and vt_code_for(req.pay_method, False) == "8202"
    assert req.pay_acct_no.endswith("12")  # the unit's zero-balance account


def test_withdraw_voids_and_resubmit_takes_new_key(budget, clerk):
    ind = indicator(budget, 1_000_000)
    req = create(clerk, ind, 100_000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="w-1")
    s.payment_request_withdraw(actor=clerk, pk=req.pk)
    assert fresh(ind).reserved == 0 and fresh(req).status == "withdrawn"
    assert Reservation.objects.get(consumer=req.number).status == "voided"
    again = s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="w-2")
    assert again.consumer == f"{req.number}-R2"
    assert fresh(ind).reserved == 100_000
