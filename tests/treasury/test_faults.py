"""Unknown outcomes stay visibly unknown until a status query resolves them; direct payments carry the finance
seal; 实拨 (5207) round trip; verify checks catch tampering."""

from __future__ import annotations

import pytest

from ibms.accounting.models import Voucher
from ibms.banks import services as banks
from ibms.core import outbox, workflow
from ibms.indicators.models import Reservation
from ibms.treasury import selectors
from ibms.treasury import services as s
from ibms.treasury.models import Allocation, PaymentRequest, PaymentVoucher
from tests.constants import DEMO_PIN

from .builders import create, fresh, indicator, work

pytestmark = pytest.mark.django_db


def _connect(sim, user, code, **kw):
    return banks.endpoint_register(actor=user("fin_treasury") if user("fin_treasury").has_perm(
        "banks.add_bankendpoint") else user("fin_it"), agent_bank_code=code, region_code="990000000",
        base_url=sim.url, admin_token=sim.admin_token, **kw)


def _submitted(user, ind, amount, key, **kw) -> PaymentRequest:
    clerk = user("school_clerk")
    req = create(clerk, ind, amount, **kw)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=key)
    return req


def test_timeout_leaves_unknown_until_query(user, sim):
    ind = indicator(user("fin_budget"), 1_000_000)
    req = _submitted(user, ind, 12_345, "unk-1")
    _connect(sim, user, fresh(req).agent_bank_code, timeout_seconds=1)
    sim.faults(timeout=3)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    outbox.drain()
    v = PaymentVoucher.objects.get(request=req)
    assert v.state == "unknown"  # visible, not retried under a new number, reservation kept
    assert fresh(ind).reserved == 12_345
    waiting = workflow.todo_for_user(user("fin_treasury")).filter(doc_type="treasury.voucher", object_id=str(v.pk))
    assert [t.title.split("（")[0] for t in waiting] == [f"支付结果未知待查询：支付凭证 {v.number}"]
    assert selectors.reservation_problems() == []
    sim.faults(clear=True)
    sim.admin("/admin/tick")
    assert s.voucher_query_stuck(older_than_minutes=0) == 1
    v = fresh(v)
    assert v.state == "paid" and fresh(ind).spent == 12_345
    assert not waiting.all().exists()  # the outcome is known: off the list
    assert len(sim.vouchers()) == 1
    work(sim)
    assert fresh(ind).spent == 12_345
    assert Voucher.objects.filter(event_id=f"pay:990000000:{v.number}").count() == 1
    assert selectors.paid_twice_problems() == [] and selectors.spent_problems() == []


def test_direct_payment_has_finance_seal(user, sim):
    ind = indicator(user("fin_budget"), 1_000_000, pay_type_code="11")
    req = _submitted(user, ind, 1000, "dir-1")
    _connect(sim, user, fresh(req).agent_bank_code)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    v = PaymentVoucher.objects.get(request=req)
    assert v.vt_code == "5201" and v.signers == "unit+finance" and v.pay_method == "direct"
    work(sim)
    assert fresh(v).state == "paid"
    acc = Voucher.objects.get(event_id=f"pay:990000000:{v.number}")
    assert acc.rule_code == "payment.receipted.direct"


@pytest.mark.parametrize("kind", [Allocation.Kind.LOWER_FINANCE, Allocation.Kind.UNIT])
def test_allocation_round_trip(user, sim, kind):
    from ibms.masterdata.models import BankAccount, Unit

    budget, treasury = user("fin_budget"), user("fin_treasury")
    ind = indicator(budget, 5_000_000)
    code = BankAccount.objects.filter(region_code="990000000", unit__isnull=True, account_type="11").first().bank.code
    _connect(sim, user, code)
    if kind == Allocation.Kind.LOWER_FINANCE:
        a = s.allocation_create(actor=treasury, indicator_id=ind.pk, alloc_type=kind, amount=300_000,
                                purpose="拨付东川市教育补助", payee_region_code="990100000", pin=DEMO_PIN)
        assert a.payee_account_no == "9901000000011"  # the lower finance's account, found by itself
    else:
        unit = Unit.objects.get(region_code="990000000", code="002001")
        a = s.allocation_create(actor=treasury, indicator_id=ind.pk, alloc_type=kind, amount=300_000,
                                purpose="拨付医院设备补助", payee_unit_id=unit.pk, pin=DEMO_PIN)
        assert a.payee_unit_id == unit.pk and a.payee_account_no
    v = PaymentVoucher.objects.get(allocation=a)
    assert v.vt_code == "5207" and v.signers == "finance" and fresh(ind).reserved == 300_000
    work(sim)
    assert fresh(a).status == "paid" and fresh(v).state == "paid"
    assert fresh(ind).spent == 300_000
    event = "treasury.transfer_to_lower" if kind == Allocation.Kind.LOWER_FINANCE else "treasury.paid"
    assert Voucher.objects.filter(event_id=f"pay:990000000:{v.number}", event_type=event).exists()
    assert selectors.reservation_problems() == [] and selectors.spent_problems() == []


def test_verify_catches_tampering(user, sim):
    ind = indicator(user("fin_budget"), 1_000_000)
    req = _submitted(user, ind, 7_000, "tam-1")
    assert selectors.reservation_problems() == []
    # an open request whose reservation was voided behind the treasury's back
    Reservation.objects.filter(consumer=fresh(req).consumer).update(status="voided")
    assert any("holds no reservation" in p for p in selectors.reservation_problems())
    Reservation.objects.filter(consumer=fresh(req).consumer).update(status="reserved")
    _connect(sim, user, fresh(req).agent_bank_code)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    work(sim)
    v = PaymentVoucher.objects.get(request=req)
    assert selectors.spent_problems() == []
    # the payment's classification altered after posting: the books no longer match it (posted lines are
    # immutable, on PostgreSQL even by trigger, so the tampering is on the treasury's side)
    PaymentRequest.objects.filter(pk=req.pk).update(dep_eco_code="30299")
    problems = selectors.spent_problems()
    assert any("30299" in p and "budget accounting" in p for p in problems), problems
    # a bank statement that shows the voucher paid twice
    s.statement_apply(region_code="990000000", agent_bank_code=v.agent_bank_code, statement_date=v.xpay_date,
                      message_id="forged-1", lines=[{"VoucherNo": v.number, "Kind": "pay", "PayAmt": 7_000,
                                                     "AgentBusinessNo": "A1"},
                                                    {"VoucherNo": v.number, "Kind": "pay", "PayAmt": 7_000,
                                                     "AgentBusinessNo": "A2"}])
    assert any("paid 2 times" in p for p in selectors.paid_twice_problems())


def test_clearing_reconciliation_and_monitoring_source(user, sim):
    import datetime as dt

    from ibms.core import clock
    from ibms.monitoring import engine
    from ibms.treasury.monitoring_context import payment_source

    ind = indicator(user("fin_budget"), 1_000_000)
    req = _submitted(user, ind, 4_321, "clr-1")
    _connect(sim, user, fresh(req).agent_bank_code)
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=True, pin=DEMO_PIN)
    work(sim)
    v = PaymentVoucher.objects.get(request=req)
    assert v.state == "paid"
    sim.admin("/admin/clear", {"date": sim.settled_day(v.number)})
    work(sim, tick=False)
    v = fresh(v)
    assert v.state == "cleared" and v.act_lqd_date is not None
    banks.statement_fetch(actor=user("fin_treasury"), agent_bank_code=v.agent_bank_code, date=clock.today(),
                          region_code="990000000")
    run = s.reconciliation_run(actor=user("fin_treasury"), region_code="990000000", date=clock.today(),
                               agent_bank_code=v.agent_bank_code)
    assert run.has_statement and run.bank_count == 1 and run.difference_count == 0
    assert fresh(v).state == "reconciled"
    # the executed payment is a monitoring source with a full context (T+1 batch, back-tests)
    found = [(subj, ctx) for subj, ctx in payment_source({"990000000"}, clock.today() - dt.timedelta(days=1),
                                                          clock.today()) if subj.object_id == str(req.pk)]
    assert len(found) == 1
    subject, ctx = found[0]
    assert subject.kind == "payment_request" and subject.amount == 4_321
    assert ctx["payment"]["number"] == req.number and ctx["indicator"]["code"] == ind.code
    assert isinstance(engine.evaluate(ctx, stage="batch"), list)


def test_fault_run_duplicate_reorder_replay_delay(user, sim):
    """Duplicated, reordered, replayed and delayed bank messages: every voucher paid once, one ledger posting and
    one accounting voucher each, a refund restored once, reservations = open requests."""
    from ibms.indicators.models import IndicatorEntry

    ind = indicator(user("fin_budget"), 10_000_000)
    reqs = [_submitted(user, ind, 10_000 * (n + 1), f"flt-{n}") for n in range(5)]
    _connect(sim, user, fresh(reqs[0]).agent_bank_code)
    sim.admin("/admin/bad-accounts", {"accounts": []})
    for r in reqs:
        s.payment_request_review(actor=user("school_reviewer"), pk=r.pk, approve=True, pin=DEMO_PIN)
    sim.faults(duplicate=True, reorder=True, replay=True, delay_receipts=1)
    outbox.drain()
    sim.admin("/admin/tick")
    for _ in range(3):
        banks.endpoint_poll_all()
        sim.admin("/admin/tick", {"publish_delayed": True})
    banks.endpoint_poll_all()
    vouchers = list(PaymentVoucher.objects.filter(request__in=reqs))
    assert {v.state for v in vouchers} == {"paid"}
    first = vouchers[0]
    sim.admin("/admin/refund", {"adm": "990000000", "year": first.year, "voucher_no": first.number,
                                "amount": first.amount, "reason": "退回", "refund_no": "TK-FLT-1"})
    for _ in range(3):
        sim.admin("/admin/tick", {"publish_delayed": True})
        banks.endpoint_poll_all()
    assert fresh(first).state == "refunded"
    total = sum(v.amount for v in vouchers)
    ind = fresh(ind)
    assert ind.spent == total - first.amount and ind.reserved == 0
    for v in vouchers:
        assert IndicatorEntry.objects.filter(consumer=v.consumer, kind="post").count() == 1
        assert Voucher.objects.filter(event_id=f"pay:990000000:{v.number}").count() == 1
    assert IndicatorEntry.objects.filter(consumer=first.consumer, kind="restore").count() == 1
    assert sim.invariants()["ok"]
    assert selectors.spent_problems() == [] and selectors.paid_twice_problems() == []
    assert selectors.reservation_problems() == []
