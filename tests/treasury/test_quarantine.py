"""A bank message we cannot apply is held for a person, never marked applied and never retried on its own: a
receipt for a voucher we never issued, and a receipt whose handler keeps failing — each a reconciliation
difference for 国库处 on the to-do list, resolved (or re-applied once its cause is gone) through the service."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction
from django.utils import timezone

from ibms.banks import inbound
from ibms.banks import services as banks
from ibms.banks.models import BankMessage
from ibms.core.errors import Conflict
from ibms.core.models import OutboxMessage, TodoItem
from ibms.treasury import handlers
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest, PaymentVoucher, ReconDifference
from tests.constants import DEMO_PIN, PROVINCE

from .builders import create, fresh, indicator, school, work

pytestmark = pytest.mark.django_db


def connect(sim, user, code: str) -> None:
    banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=code, region_code=PROVINCE,
                            base_url=sim.url, admin_token=sim.admin_token)


def receipts() -> list[BankMessage]:
    return list(BankMessage.objects.filter(direction="in", kind="receipt").order_by("id"))


def test_receipt_for_a_voucher_we_never_issued_is_quarantined(sim, user, client_as):
    connect(sim, user, "SIM")
    signed_by = banks.signer_unlock(actor=user("school_reviewer"), kind="unit", region_code=PROVINCE, unit=school(),
                                    pin=DEMO_PIN)
    with transaction.atomic():  # a voucher the bank pays that treasury never issued (sent around treasury)
        banks.voucher_dispatch(actor=user("school_reviewer"), region_code=PROVINCE, year=dt.date.today().year,
                               vt_code="5201", voucher_no="ZF-FORGED-0001", agent_bank_code="SIM",
                               header={"VouDate": dt.date.today().isoformat(), "PayAmt": 880_00,
                                       "PayAcctNo": "ZB-990-001001", "PayAcctName": "省第一实验中学",
                                       "AgencyCode": school().code},
                               details=[{"PayeeAcctNo": "6222000011112222", "PayeeAcctName": "某公司",
                                         "PayAmt": 880_00}],
                               signers=[banks.signing_key_ensure_for_unit(school())], personal=[signed_by])
    OutboxMessage.objects.filter(processed_at__isnull=True).update(available_at=timezone.now())
    work(sim)
    (bm,) = receipts()
    assert (bm.status, bm.result_code) == ("quarantine", "unknown_voucher")
    d = ReconDifference.objects.get(bank_message=bm)
    assert (d.kind, d.status, d.run_id, d.assignee_role, d.bank_amount) == (
        "unknown_voucher", "open", None, "treasury_division", 880_00)
    assert "不是本系统签发的凭证" in d.note
    todo = TodoItem.objects.get(doc_type="treasury.difference", object_id=str(d.pk))
    assert (todo.status, todo.role_code) == ("open", "treasury_division")

    attempts = bm.attempts
    work(sim)  # never retried on its own
    assert fresh(bm).attempts == attempts and fresh(bm).status == "quarantine"
    assert ReconDifference.objects.filter(bank_message=bm).count() == 1

    treasury = client_as("fin_treasury")
    page = treasury.get("/treasury/reconciliation/").content.decode()
    assert "ZF-FORGED-0001" in page and "非我方签发凭证的银行报文" in page
    api = treasury.get("/api/v1/treasury/differences").json()
    assert [x["voucher_no"] for x in api["items"] if x["kind"] == "unknown_voucher"] == ["ZF-FORGED-0001"]
    clerk = client_as("school_clerk").get("/api/v1/treasury/differences")
    assert clerk.status_code in (403, 404) or clerk.json()["items"] == []  # a unit sees none of the region's

    with pytest.raises(Conflict) as exc:  # its cause is still there: re-applying changes nothing
        s.difference_resolve(actor=user("fin_treasury"), pk=d.pk, resolution="重新入账", reapply=True)
    assert exc.value.code == "reapply_refused"
    assert fresh(d).status == "open" and fresh(bm).status == "quarantine"
    assert ReconDifference.objects.filter(bank_message=bm).count() == 1
    r = treasury.post(f"/treasury/differences/{d.pk}/resolve/", {"resolution": "已与银行核实：非财政资金划款"})
    assert r.status_code == 302
    assert fresh(d).status == "resolved" and fresh(todo).status == "done"


def test_a_handler_that_keeps_failing_is_quarantined_then_reapplied(sim, user, settings):
    settings.IBMS_BANK_MAX_ATTEMPTS = 3
    ind = indicator(user("fin_budget"), 1_000_000)
    clerk, reviewer = user("school_clerk"), user("school_reviewer")
    req = create(clerk, ind, 12_345)
    connect(sim, user, req.agent_bank_code)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="q-1")
    s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)

    def broken(msg):
        raise RuntimeError("a bug in the receipt handler")

    with inbound.override("receipt", broken):
        work(sim)
        for _ in range(3):
            banks.endpoint_poll_all()
    (bm,) = receipts()
    assert (bm.status, bm.result_code, bm.attempts) == ("quarantine", "handler_failed", 3)
    d = ReconDifference.objects.get(bank_message=bm)
    assert d.kind == "not_applicable" and d.voucher.request_id == req.pk
    assert fresh(ind).reserved == 12_345 and fresh(ind).spent == 0

    banks.endpoint_poll_all()
    assert fresh(bm).attempts == 3  # not retried on its own

    with inbound.override("receipt", handlers.on_receipt):  # the fix deployed: a person re-applies it
        s.difference_resolve(actor=user("fin_treasury"), pk=d.pk, resolution="缺陷已修复，重新入账", reapply=True)
    assert fresh(bm).status == "applied" and fresh(d).status == "resolved"
    assert fresh(ind).spent == 12_345 and fresh(ind).reserved == 0
    assert PaymentRequest.objects.get(pk=req.pk).status == "paid"
    assert PaymentVoucher.objects.get(request=req).state == "paid"


def test_only_treasury_staff_resolve_differences(user, client_as):
    d = ReconDifference.objects.create(region_code=PROVINCE, kind="unknown_voucher", voucher_no="ZF-X",
                                       note="测试")
    for who in ("school_clerk", "school_reviewer", "fin_budget"):
        r = client_as(who).post(f"/treasury/differences/{d.pk}/resolve/", {"resolution": "x"})
        assert r.status_code in (403, 404, 422), who
        assert fresh(d).status == "open"
    body = json.dumps({})
    assert client_as("school_clerk").post("/api/v1/treasury/differences", body,
                                          content_type="application/json").status_code in (403, 404, 405)
