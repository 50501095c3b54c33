"""Builders for the bank tests: a payment voucher dispatched to the simulator, and the outbox drained now."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ibms.banks import services
from ibms.banks.models import BankMessage
from ibms.banksim.bank import business_day
from ibms.core import outbox
from ibms.core.models import OutboxMessage
from tests.constants import PROVINCE

TODAY = business_day()


def dispatch(user, school, no: str, *, amount: int = 100_00, payee: str = "6222000011112222",
             payee_name: str = "某文具公司", vt: str = "5201", lines: int = 0) -> BankMessage:
    """Voucher `no` of `school`, reviewed by school_reviewer: one payee line, or `lines` salary lines of `amount`."""
    header = {"VouDate": TODAY, "PayAmt": amount, "PayAcctNo": "ZB-990-001001", "PayAcctName": "省第一实验中学"}
    if lines:
        details = [{"PayeeAcctNo": f"6217{i:08d}", "PayeeAcctName": f"职工{i}", "PayAmt": amount} for i in range(lines)]
        header["PayAmt"] = amount * lines
    else:
        details = [{"PayeeAcctNo": payee, "PayeeAcctName": payee_name, "PayAmt": amount}]
    with transaction.atomic():
        return services.voucher_dispatch(actor=user("school_reviewer"), region_code=PROVINCE, year=2026, vt_code=vt,
                                         voucher_no=no, agent_bank_code="SIM", header=header, details=details,
                                         signers=[services.signing_key_ensure_for_unit(school)])


def drain() -> int:
    """Sends every pending bank message now (the outbox would otherwise wait for `available_at`)."""
    OutboxMessage.objects.filter(topic=services.SEND_TOPIC, processed_at__isnull=True).update(
        available_at=timezone.now())
    return outbox.drain()
