"""Builders for tests that play the bank's feed: a request submitted and approved (its voucher waits in the
outbox), and the signed messages the feed would hand the treasury handlers (banks.services.message_receive has verified
the seal before a handler sees a message)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction

from ibms.banks import services as banks
from ibms.banks.inbound import InboundMessage
from ibms.banks.models import BankEndpoint
from ibms.core import clock
from ibms.core.crypto import generate_sm2_keypair
from ibms.iam.models import User
from ibms.treasury import handlers
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from tests.constants import DEMO_PIN

_refund_no = itertools.count(1)


def approve(clerk, reviewer, req: PaymentRequest, key: str = "") -> PaymentVoucher:
    """Submitted and approved: the voucher waits in the outbox (the feed is played below, not sent)."""
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=key or f"bt-{req.pk}", explanation="已核实")
    code = PaymentRequest.objects.get(pk=req.pk).agent_bank_code
    if not BankEndpoint.objects.filter(agent_bank_code=code, region_code=req.region_code).exists():
        banks.endpoint_register(actor=User.objects.get(username="fin_treasury"), agent_bank_code=code,
                                region_code=req.region_code, base_url="http://127.0.0.1:9",
                                public_pem=generate_sm2_keypair().public_pem.decode())
    s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    return PaymentVoucher.objects.get(request_id=req.pk)


def bank(kind: str, v: PaymentVoucher, **fields) -> None:
    """What the bank's signed feed hands the handler (banks.services.message_receive has verified the seal)."""
    msg = InboundMessage(kind=kind, vt_code=v.vt_code, voucher_no=fields.pop("voucher_no", v.number),
                         region_code=v.region_code, year=v.year, fields=fields, details=[])
    with transaction.atomic():
        handlers.HANDLERS[kind](msg)


def receipt(v: PaymentVoucher, on: dt.date | None = None) -> None:
    bank("receipt", v, XPayAmt=v.amount, XPayDate=(on or clock.today()).isoformat(), AgentBusinessNo=f"LS{v.pk}")


def refund(v: PaymentVoucher, amount: int, on: dt.date | None = None) -> str:
    no = f"TK-BT-{next(_refund_no):04d}"
    bank("refund", v, voucher_no=no, RefundNo=no, OriVoucherNo=v.number, PayAmt=amount, Reason="收款人账户销户",
         RefundDate=(on or clock.today()).isoformat())
    return no
