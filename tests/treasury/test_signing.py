"""Personal signing of payment vouchers: the approving person signs with their own SM2 key, opened with their PIN at
approval (never later: the stored voucher is already signed when the worker sends it); a missing or wrong PIN, or
an approver who is not an enrolled signer of the unit, is refused and changes nothing; the bank refuses a voucher
whose signer has been revoked; a chain that ends at the treasury division is signed by its finance reviewer and,
at the unit's step, by the unit's signer over the payment's content, which the bank checks."""

from __future__ import annotations

import base64
import json

import pytest

from ibms.banks import protocol as P
from ibms.banks import services as banks
from ibms.banks.models import BankMessage, Signer
from ibms.core import workflow
from ibms.core.crypto import sm2_verify
from ibms.core.errors import ValidationFailed
from ibms.core.models import BusinessEvent, OutboxMessage
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from ibms.treasury.services.countersign import payment_content
from ibms.treasury.setup import DOC_PAYMENT
from tests.constants import DEMO_PIN, PROVINCE

from .builders import codes, create, fresh, indicator, work

pytestmark = pytest.mark.django_db


def _submitted(user, amount: int = 12_300, **kw) -> PaymentRequest:
    clerk = user("school_clerk")
    req = create(clerk, indicator(user("fin_budget"), 1_000_000), amount, **kw)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=f"sign-{req.pk}")
    return fresh(req)


def _connect(sim, user, code: str) -> None:
    banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=code, region_code=PROVINCE,
                            base_url=sim.url, admin_token=sim.admin_token)


def _state(req: PaymentRequest) -> tuple:
    req = fresh(req)
    return (req.status, req.current_step, req.review_comment, PaymentVoucher.objects.filter(request=req).count(),
            BankMessage.objects.count(), OutboxMessage.objects.count())


@pytest.mark.parametrize("pin,code", [("", "pin_required"), ("Wrong#2026", "pin_wrong")])
def test_missing_or_wrong_pin_is_refused_and_changes_nothing(user, pin, code):
    req = _submitted(user)
    before = _state(req)
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, comment="同意", pin=pin)
    assert codes(e.value) == [code] and e.value.violations[0].field == "pin"
    assert "签名口令" in e.value.violations[0].message
    assert _state(req) == before  # no approval, no voucher, no bank message, nothing queued


def test_wrong_pins_in_a_row_lock_the_key(user):
    req = _submitted(user)
    reviewer = user("school_reviewer")
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin="Wrong#2026")
    assert BusinessEvent.objects.filter(code="banks.signer_pin_failed").count() == 5
    with pytest.raises(ValidationFailed) as e:  # locked: even the right PIN is refused for now
        s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    assert codes(e.value) == ["pin_locked"]
    assert fresh(req).status == "submitted"


def test_approver_who_is_not_an_enrolled_signer_cannot_issue(user):
    req = _submitted(user)
    sig = Signer.objects.get(user=user("school_reviewer"), status="active")
    banks.signer_revoke(actor=user("school_reviewer"), pk=sig.pk, reason="调离")
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    assert codes(e.value) == ["signer_not_enrolled"]
    assert fresh(req).status == "submitted"


def test_voucher_is_signed_at_approval_by_the_approver_and_the_bank_pays(user, sim):
    req = _submitted(user, 45_600)
    _connect(sim, user, req.agent_bank_code)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    v = PaymentVoucher.objects.get(request=req)
    bm = BankMessage.objects.get(pk=v.bank_message_id)
    assert bm.status == "pending"  # stored signed before the worker has run: it only sends what is stored
    sig = Signer.objects.get(user=user("school_reviewer"), status="active")
    personal = [st for st in bm.verify_result["stamps"] if st.get("signer_id") == sig.pk]
    assert [(st["kind"], st["fingerprint"], st["signer"]) for st in personal] == [
        ("unit", sig.fingerprint, sig.name)]
    msg = P.parse(bm.raw_xml)
    stamp = next(st for st in msg.stamps if st.fingerprint == sig.fingerprint)
    assert sm2_verify(sig.public_pem, msg.payload, stamp.signature)
    assert msg.fields["AgencyCode"] == req.unit.code
    assert P.UNIT_SIGNER_FIELD not in msg.fields and P.UNIT_SIGNATURE_FIELD not in msg.fields  # one step: unchanged
    assert "签名人：" in v.events.get(kind="signed").note
    work(sim)
    assert fresh(v).state == "paid"
    registered = {r["fingerprint"]: r for r in sim.admin("/admin/signers")["signers"]}
    assert registered[sig.fingerprint]["agency_code"] == req.unit.code


def test_bank_refuses_a_voucher_whose_signer_was_revoked_before_it_was_sent(user, sim):
    req = _submitted(user)
    _connect(sim, user, req.agent_bank_code)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    sig = Signer.objects.get(user=user("school_reviewer"), status="active")
    banks.signer_revoke(actor=user("school_head"), pk=sig.pk, reason="离职")  # the unit head revokes
    work(sim)
    v = PaymentVoucher.objects.get(request=req)
    bm = BankMessage.objects.get(pk=v.bank_message_id)
    assert (fresh(v).state, bm.status, bm.result_code) == ("failed", "rejected", "signer_revoked")


def _two_steps() -> None:
    workflow.set_chain(DOC_PAYMENT, PROVINCE, "支付申请审核", [("单位审核", "unit_reviewer", "unit"),
                                                            ("国库处审核", "treasury_division", "finance")])


def test_chain_ending_at_the_treasury_division_is_signed_by_the_unit_and_the_finance_reviewer(user, sim):
    _two_steps()
    req = _submitted(user, 7_700)
    _connect(sim, user, req.agent_bank_code)
    assert (s.review_signer_kind(req), s.review_signs_content(req)) == ("unit", True)
    before = _state(req)
    with pytest.raises(ValidationFailed) as e:  # the unit's step signs the content: its PIN is required
        s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True)
    assert codes(e.value) == ["pin_required"] and e.value.violations[0].field == "pin"
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin="Wrong#2026")
    assert codes(e.value) == ["pin_wrong"] and "签名口令（PIN）不正确" in e.value.violations[0].message
    assert _state(req) == before and fresh(req).unit_signature == ""
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    unit_sig = Signer.objects.get(user=user("school_reviewer"), status="active")
    req = fresh(req)
    assert (req.current_step, req.unit_signer_id, req.unit_signer_fingerprint) == (2, unit_sig.pk,
                                                                                   unit_sig.fingerprint)
    assert sm2_verify(unit_sig.public_pem, payment_content(req), base64.b64decode(req.unit_signature))
    assert (s.review_signer_kind(req), s.review_signs_content(req)) == ("finance", False)
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_review(actor=user("fin_treasury"), pk=req.pk, approve=True)
    assert codes(e.value) == ["pin_required"]
    s.payment_request_review(actor=user("fin_treasury"), pk=req.pk, approve=True, pin=DEMO_PIN)
    v = PaymentVoucher.objects.get(request=req)
    sig = Signer.objects.get(user=user("fin_treasury"), status="active")
    bm = BankMessage.objects.get(pk=v.bank_message_id)
    stamps = bm.verify_result["stamps"]
    assert [st["kind"] for st in stamps if st.get("signer_id") == sig.pk] == ["finance"]
    assert [(st["kind"], st["content"]) for st in stamps if st.get("signer_id") == unit_sig.pk] == [("unit", True)]
    msg = P.parse(bm.raw_xml)
    assert (msg.fields[P.UNIT_SIGNER_FIELD], msg.fields[P.UNIT_SIGNATURE_FIELD]) == (unit_sig.fingerprint,
                                                                                   req.unit_signature)
    assert msg.fields["PayAppNo"] == req.number
    assert f"签名人：{unit_sig.name}、{sig.name}" in v.events.get(kind="signed").note
    work(sim)
    assert fresh(v).state == "paid"
    registered = {r["fingerprint"] for r in sim.admin("/admin/signers")["signers"]}
    assert {unit_sig.fingerprint, sig.fingerprint} <= registered


def test_content_changed_after_the_unit_signed_is_refused_by_the_bank(user, sim):
    _two_steps()
    req = _submitted(user, 8_800)
    _connect(sim, user, req.agent_bank_code)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    PaymentRequest.objects.filter(pk=req.pk).update(payee_account_no="6222999988887777")  # tampered behind its back
    s.payment_request_review(actor=user("fin_treasury"), pk=req.pk, approve=True, pin=DEMO_PIN)
    work(sim)
    v = PaymentVoucher.objects.get(request=req)
    bm = BankMessage.objects.get(pk=v.bank_message_id)
    assert (fresh(v).state, bm.status, bm.result_code) == ("failed", "rejected", "unit_signature_invalid")


def test_unit_signature_is_cleared_when_returned_or_withdrawn_and_required_at_issue(user):
    _two_steps()
    req = _submitted(user)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    assert fresh(req).unit_signature
    s.payment_request_review(actor=user("fin_treasury"), pk=req.pk, approve=False, comment="用途不清")
    req = fresh(req)
    assert (req.status, req.unit_signer_id, req.unit_signer_fingerprint, req.unit_signature) == (
        "rejected", None, "", "")
    clerk = user("school_clerk")
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=f"sign-again-{req.pk}")
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    s.payment_request_withdraw(actor=clerk, pk=req.pk)
    req = fresh(req)
    assert (req.status, req.unit_signer_id, req.unit_signature) == ("withdrawn", None, "")
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=f"sign-third-{req.pk}")
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    PaymentRequest.objects.filter(pk=req.pk).update(unit_signer=None, unit_signature="")  # e.g. reviewed before
    with pytest.raises(ValidationFailed) as e:
        s.payment_request_review(actor=user("fin_treasury"), pk=req.pk, approve=True, pin=DEMO_PIN)
    assert codes(e.value) == ["unit_signature_missing"]
    assert (fresh(req).status, PaymentVoucher.objects.filter(request=req).count()) == ("submitted", 0)


def test_two_step_page_asks_the_unit_reviewer_for_the_pin(user, client_as):
    _two_steps()
    req = _submitted(user)
    c = client_as("school_reviewer")
    page = c.get(f"/treasury/requests/{req.pk}/").content.decode()
    assert 'name="pin"' in page and "签署本笔支付内容" in page and "审核通过并签名" in page
    r = c.post(f"/treasury/requests/{req.pk}/", {"action": "approve"})
    assert r.status_code == 422 and "签发支付凭证须输入签名口令（PIN）" in r.content.decode()
    r = c.post(f"/api/v1/treasury/requests/{req.pk}/review", data=json.dumps({"approve": True}),
               content_type="application/json")
    assert r.status_code == 422 and [d["code"] for d in r.json()["detail"]] == ["pin_required"]
    assert fresh(req).current_step == 1
    r = c.post(f"/api/v1/treasury/requests/{req.pk}/review", data=json.dumps({"approve": True, "pin": DEMO_PIN}),
               content_type="application/json")
    assert r.status_code == 200 and fresh(req).current_step == 2 and fresh(req).unit_signature


def test_api_and_page_take_the_pin(user, client_as):
    req = _submitted(user)
    c = client_as("school_reviewer")
    page = c.get(f"/treasury/requests/{req.pk}/").content.decode()
    assert 'name="pin"' in page and 'type="password"' in page
    r = c.post(f"/api/v1/treasury/requests/{req.pk}/review", data=json.dumps({"approve": True, "pin": "Wrong#2026"}),
               content_type="application/json")
    assert r.status_code == 422 and [d["code"] for d in r.json()["detail"]] == ["pin_wrong"]
    r = c.post(f"/treasury/requests/{req.pk}/", {"action": "approve", "pin": "Wrong#2026"})
    assert r.status_code == 422 and "签名口令（PIN）不正确" in r.content.decode()
    assert fresh(req).status == "submitted"
