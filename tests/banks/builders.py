"""Builders for the bank tests: a payment voucher dispatched to the simulator (sealed by the school, signed by its
reviewer's own key opened with the demo PIN), and the outbox drained now."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ibms.banks import services
from ibms.banks.models import BankMessage
from ibms.banksim.bank import business_day
from ibms.core import outbox
from ibms.core.models import OutboxMessage
from tests.constants import DEMO_PIN, PROVINCE

TODAY = business_day()
_opened: dict[str, services.PersonalSigner] = {}


def personal(user, username: str = "school_reviewer") -> services.PersonalSigner:
    """The demo signer's key opened with the demo PIN (once per run: the KDF is deliberately slow)."""
    if username not in _opened:
        u = user(username)
        org = u.organization
        kind = "finance" if org.kind == "finance" else "unit"
        _opened[username] = services.signer_unlock(actor=u, kind=kind, region_code=u.region_code, unit=org.unit,
                                                   pin=DEMO_PIN)
    return _opened[username]


def unit_signer(unit, username: str) -> services.PersonalSigner:
    """A reviewer of `unit` (a unit the demo has no signer for) enrolled under the demo PIN, their key opened."""
    from django.test import override_settings

    from ibms.iam.models import Organization, Role, User

    org, _ = Organization.objects.get_or_create(region_code=unit.region_code, unit=unit, kind="unit",
                                                defaults={"code": f"unit-{unit.code}", "name": unit.name})
    u = User.objects.create(username=username, real_name=f"{unit.name} 审核人", organization=org)
    u.groups.set([Role.objects.get(code="unit_reviewer").group])
    u = User.objects.select_related("organization__unit").get(pk=u.pk)
    with override_settings(IBMS_SIGNER_PIN_ITERATIONS=1000):  # a fast KDF for a throwaway test key
        services.signer_enrol(actor=u, pin=DEMO_PIN, pin_confirm=DEMO_PIN)
    return services.signer_unlock(actor=u, kind="unit", region_code=unit.region_code, unit=unit, pin=DEMO_PIN)


def dispatch(user, school, no: str, *, amount: int = 100_00, payee: str = "6222000011112222",
             payee_name: str = "某文具公司", vt: str = "5201", lines: int = 0,
             signer: services.PersonalSigner | None = None) -> BankMessage:
    """Voucher `no` of `school` (any unit: `signer` signs), reviewed by school_reviewer: one payee line, or `lines`
    salary lines of `amount`."""
    header = {"VouDate": TODAY, "PayAmt": amount, "PayAcctNo": "ZB-990-001001", "PayAcctName": "省第一实验中学",
              "AgencyCode": school.code}
    if lines:
        details = [{"PayeeAcctNo": f"6217{i:08d}", "PayeeAcctName": f"职工{i}", "PayAmt": amount} for i in range(lines)]
        header["PayAmt"] = amount * lines
    else:
        details = [{"PayeeAcctNo": payee, "PayeeAcctName": payee_name, "PayAmt": amount}]
    with transaction.atomic():
        return services.voucher_dispatch(actor=user("school_reviewer"), region_code=PROVINCE, year=2026, vt_code=vt,
                                         voucher_no=no, agent_bank_code="SIM", header=header, details=details,
                                         signers=[services.signing_key_ensure_for_unit(school)],
                                         personal=[signer or personal(user)])


def drain() -> int:
    """Sends every pending bank message now (the outbox would otherwise wait for `available_at`)."""
    OutboxMessage.objects.filter(topic=services.SEND_TOPIC, processed_at__isnull=True).update(
        available_at=timezone.now())
    return outbox.drain()
