"""Demo payments: a few of the school's payments run through the whole chain against the running bank simulator
(paid, paid with an explained warning, paid and partly refunded by the payee's bank, returned for a bad payee
account, one awaiting review), then the day's bank statement is fetched and reconciled — so every treasury,
bank and monitoring page has something to show. Everything goes through the services, as the users would."""

from __future__ import annotations

import uuid

from ibms.banks import services as banks
from ibms.banks.simprocess import SimProcess
from ibms.core import clock, outbox
from ibms.iam.models import User
from ibms.indicators.models import Indicator
from ibms.masterdata.models import Payee, Unit
from ibms.treasury import services as t
from ibms.treasury.models import PaymentRequest, PaymentVoucher

from .users import DEMO_PIN

BAD_ACCOUNT = "6222990000999977"


def _worker_pass(sim: SimProcess) -> None:
    outbox.drain()
    sim.admin("/admin/tick")
    banks.endpoint_poll_all()
    outbox.drain()


def load_demo_payments(sim: SimProcess) -> dict[str, int]:
    """Idempotent: does nothing when the demo already has payment requests."""
    if PaymentRequest.objects.exists():
        return {}
    users = {u.username: u for u in User.objects.filter(username__in=["school_clerk", "school_reviewer",
                                                                       "fin_treasury"])}
    clerk, reviewer = users["school_clerk"], users["school_reviewer"]
    school = Unit.objects.get(region_code="990000000", code="001001")
    public = Indicator.objects.get(unit=school, dep_eco_code="30299", is_executable=True)
    project = Indicator.objects.filter(unit=school, dep_eco_code="30227", is_executable=True).first() or public
    it, builder = (Payee.objects.filter(unit=school, is_active=True).order_by("name")[:2])
    sim.admin("/admin/bad-accounts", {"accounts": [{"acct": BAD_ACCOUNT, "reason": "收款账号已销户"}]})

    plan = [  # indicator, payee, amount (fen), purpose, explanation
        (public, t.PayeeIn(payee_id=it.pk), 380_000, "支付校园网络服务费", ""),
        (public, t.PayeeIn(payee_id=it.pk), 120_000, "购买教师节慰问品", "工会经费不足部分，按校务会议决定从公用经费列支"),
        (project, t.PayeeIn(payee_id=builder.pk), 15_000_000, "教学楼维修工程进度款", ""),
        (public, t.PayeeIn(name="华夏办公用品商行", account_no=BAD_ACCOUNT, bank_name="华夏银行"), 86_000,
         "购买打印耗材", ""),
    ]
    reqs = []
    for ind, payee, amount, purpose, explanation in plan:
        req = t.payment_request_create(actor=clerk, data=t.DraftIn(indicator_id=ind.pk, amount=amount,
                                                                   purpose=purpose, payee=payee))
        t.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=uuid.uuid4().hex, explanation=explanation)
        t.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
        reqs.append(req)
    for _ in range(10):
        _worker_pass(sim)
        if not PaymentVoucher.objects.filter(request__in=reqs).exclude(state__in=["paid", "returned"]).exists():
            break
    repair = PaymentVoucher.objects.filter(request=reqs[2], state="paid").first()
    if repair is not None:  # the builder's bank sends 5,000.00 back (overpaid retention money)
        sim.admin("/admin/refund", {"adm": repair.region_code, "year": repair.year, "voucher_no": repair.number,
                                    "amount": 500_000, "reason": "多付质保金退回", "refund_no": f"TK{repair.number}"})
        _worker_pass(sim)
    waiting = t.payment_request_create(actor=clerk, data=t.DraftIn(
        indicator_id=public.pk, amount=64_000, purpose="购买实验耗材", payee=t.PayeeIn(payee_id=it.pk)))
    t.payment_request_submit(actor=clerk, pk=waiting.pk, idempotency_key=uuid.uuid4().hex)

    today = clock.today("990000000")
    bank_code = PaymentVoucher.objects.filter(request__in=reqs).values_list("agent_bank_code", flat=True).first()
    banks.statement_fetch(actor=users["fin_treasury"], agent_bank_code=bank_code, date=today,
                          region_code="990000000")
    t.reconciliation_run(actor=users["fin_treasury"], region_code="990000000", date=today,
                         agent_bank_code=bank_code)
    return {"payments": len(reqs) + 1,
            "paid": PaymentRequest.objects.filter(pk__in=[r.pk for r in reqs], status="paid").count()}
