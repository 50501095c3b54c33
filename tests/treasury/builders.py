"""Builders for the treasury tests: indicators built through the indicator services, drafts through ours, and one
round of the worker (send what is queued, let the bank pay, fetch the feed)."""

from __future__ import annotations

import itertools

from django.db import transaction

from ibms.banks import services as banks
from ibms.banks.models import BankEndpoint
from ibms.core import clock, outbox
from ibms.core.crypto import generate_sm2_keypair
from ibms.indicators import services as ins
from ibms.indicators.models import Indicator
from ibms.masterdata.models import Payee, Unit
from ibms.treasury import selectors
from ibms.treasury import services as s
from ibms.treasury.models import PaymentVoucher
from tests.constants import DEMO_PIN, ECO, FUNC, FUND, GOV_ECO, PROVINCE

YEAR = clock.fiscal_year()
_n = itertools.count(1)


def school() -> Unit:
    return Unit.objects.get(region_code=PROVINCE, code="001001")


def indicator(budget_user, amount: int, **fields) -> Indicator:
    n = next(_n)
    with transaction.atomic():
        src = ins.source_document_create(actor=budget_user, region_code=PROVINCE, year=YEAR, kind="budget_reply",
                                         doc_no=f"支付测试〔{YEAR}〕{n:05d}号-{id(fields)}", title="支付测试",
                                         doc_date=clock.today())
        spec = {"fund_nature_code": FUND, "exp_func_code": FUNC, "dep_eco_code": ECO, "gov_eco_code": GOV_ECO,
                **fields}
        unit_id = spec.pop("unit_id", None) or school().pk
        [ind] = ins.indicators_create(actor=budget_user, source=src, specs=[ins.IndicatorSpec(
            amount=amount, unit_id=unit_id, **spec)])
    return ind


def payee() -> Payee:
    return Payee.objects.filter(unit=school(), is_active=True).order_by("id").first()


def draft(clerk, ind: Indicator, amount: int, **kw) -> s.DraftIn:
    p = kw.pop("payee", None) or s.PayeeIn(payee_id=payee().pk)
    return s.DraftIn(indicator_id=ind.pk, amount=amount, purpose=kw.pop("purpose", "购买办公用品"), payee=p, **kw)


def create(clerk, ind: Indicator, amount: int, **kw):
    return s.payment_request_create(actor=clerk, data=draft(clerk, ind, amount, **kw))


def paid(user, ind: Indicator, amount: int, key: str, *, clerk: str = "school_clerk",
         reviewer: str = "school_reviewer", **kw) -> PaymentVoucher:
    """A request submitted, approved and its bank receipt applied in process (the receipt the bank simulator would
    send; tests that need the bank itself use the `sim` fixture)."""
    who = user(clerk)
    req = create(who, ind, amount, **kw)
    s.payment_request_submit(actor=who, pk=req.pk, idempotency_key=key)
    code = fresh(req).agent_bank_code
    if not BankEndpoint.objects.filter(agent_bank_code=code, region_code=ind.region_code).exists():
        banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=code, region_code=ind.region_code,
                                base_url="http://127.0.0.1:9", public_pem=generate_sm2_keypair().public_pem.decode())
    s.payment_request_review(actor=user(reviewer), pk=req.pk, approve=True, pin=DEMO_PIN)
    v = selectors.voucher_find(ind.region_code, None, PaymentVoucher.objects.get(request=req).number)
    with transaction.atomic():
        s.voucher_receipt_apply(v, xpay_amt=amount, xpay_date=clock.today(), business_no=f"B{key}")
    return fresh(v)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def codes(exc) -> list[str]:
    return [v.code for v in getattr(exc, "violations", [])] or [exc.code]


def work(sim=None, *, tick: bool = True) -> None:
    """One round of the worker: send what is queued, let the bank pay, fetch the feed."""
    from ibms.banks import services as banks

    outbox.drain()
    if sim is not None and tick:
        sim.admin("/admin/tick")
    banks.endpoint_poll_all()
    outbox.drain()
