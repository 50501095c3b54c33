"""Crash the app at each named step of the payment chain and restart it (PostgreSQL, real processes).

The requests are approved in this process; the worker runs as its own process (`ibms worker`) with
`IBMS_CRASH_AT=<step>`, which kills it there as `kill -9` would (mid-transaction, before or after a bank call).
A second, clean worker then finishes the work. After the crash and after the recovery: no voucher is paid twice
(bank side and app side), every reservation belongs to an open request, and once recovered every voucher is paid
exactly once, the indicator's spent equals the receipts and each receipt was booked once. The submit and approve
steps crash a process that runs those services, and leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from ibms.accounting.models import Voucher
from ibms.banks import services as banks
from ibms.core.faults import CRASH_EXIT_CODE
from ibms.indicators.models import Indicator, Reservation
from ibms.masterdata.models import BankAccount
from ibms.treasury import selectors
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from tests.banksim_process import BankSim
from tests.constants import DEMO_PIN
from tests.treasury.builders import create, indicator

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
WORKER_STEPS = [
    "banks.send.after_post",  # the bank accepted the voucher; our ack never committed
    "banks.poll.after_fetch",  # the feed page was read, nothing applied
    "treasury.receipt.after_post",  # reservation posted, the transaction not committed
    "treasury.receipt.after_accounting",  # the accounting voucher written, not committed
    "banks.receive.after_apply",  # the receipt fully applied, not committed
]
PAYMENTS = 3


def db_url() -> str:
    d = connection.settings_dict
    auth = d["USER"] + (f":{d['PASSWORD']}" if d["PASSWORD"] else "")
    return f"postgres://{auth}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


def run(args: list[str], *, crash_at: str = "", timeout: float = 120, until_exit: bool = True
        ) -> subprocess.Popen | int:
    env = dict(os.environ, IBMS_DATABASE_URL=db_url(), IBMS_BANK_POLL_SECONDS="0.1", IBMS_OUTBOX_LEASE_SECONDS="1",
               PYTHONPATH=str(ROOT / "src"), DJANGO_SETTINGS_MODULE="ibms.config.settings")
    env.pop("IBMS_CRASH_AT", None)
    if crash_at:
        env["IBMS_CRASH_AT"] = crash_at
    proc = subprocess.Popen([sys.executable, "-m", "ibms.cli", *args], env=env, cwd=str(ROOT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if until_exit else subprocess.DEVNULL)
    if not until_exit:
        return proc
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"`ibms {args[0]}` (crash at {crash_at or '-'}) did not exit") from None
    if proc.returncode not in (0, CRASH_EXIT_CODE):
        raise AssertionError(f"`ibms {args[0]}` failed ({proc.returncode}): {err.decode(errors='replace')[-3000:]}")
    return proc.returncode


def invariants(sim: BankSim, reqs: list[PaymentRequest]) -> None:
    """What must hold at any moment, crashed or not."""
    assert selectors.paid_twice_problems() == []
    assert selectors.reservation_problems() == []
    held = Reservation.objects.filter(consumer__in=[r.number for r in reqs], status=Reservation.Status.RESERVED)
    open_reqs = PaymentRequest.objects.filter(pk__in=[r.pk for r in reqs], status__in=["submitted", "approved"])
    assert held.count() == open_reqs.count()
    assert sim.invariants()["ok"], sim.invariants()
    assert all(v["pay_rows"] <= 1 for v in sim.vouchers().values())  # one line each: paid at most once


def approved_requests(user, ind: Indicator) -> list[PaymentRequest]:
    clerk, reviewer = user("school_clerk"), user("school_reviewer")
    reqs = []
    for i in range(PAYMENTS):
        req = create(clerk, ind, 10_000 + i)
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=uuid.uuid4().hex)
        s.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
        reqs.append(PaymentRequest.objects.get(pk=req.pk))
    return reqs


def recover(sim: BankSim, reqs: list[PaymentRequest], timeout: float = 90) -> None:
    """A clean worker until every voucher is paid (stuck `sent`/`unknown` ones are resolved by the status query)."""
    worker = run(["worker", "--interval", "0.05"], until_exit=False)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if PaymentVoucher.objects.filter(request__in=reqs, state="paid").count() == len(reqs):
                return
            s.voucher_query_stuck(older_than_minutes=0)
            time.sleep(0.3)
        states = list(PaymentVoucher.objects.filter(request__in=reqs).values_list("number", "state"))
        raise AssertionError(f"not all paid after recovery: {states}")
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def connect(sim: BankSim, user):
    """The province pays centralized payments from its type-11 account: connect that account's bank to the sim."""
    bank = BankAccount.objects.get(region_code="990000000", unit__isnull=True, account_type="11").bank
    banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=bank.code, region_code="990000000",
                            base_url=sim.url, admin_token=sim.admin_token)
    return bank


@pytest.mark.parametrize("step", WORKER_STEPS)
def test_worker_crash_at_each_step_then_restart(committed_db, user, tmp_path, step):
    sim = BankSim.start(tmp_path / "sim", pay_delay=0.0)
    try:
        treasury_bank = connect(sim, user)
        ind = indicator(user("fin_budget"), 1_000_000)
        reqs = approved_requests(user, ind)
        assert {r.agent_bank_code for r in reqs} == {treasury_bank.code}

        code = run(["worker", "--interval", "0.05"], crash_at=step)
        assert code == CRASH_EXIT_CODE, f"the worker did not reach {step}"
        invariants(sim, reqs)

        recover(sim, reqs)
        invariants(sim, reqs)
        vouchers = list(PaymentVoucher.objects.filter(request__in=reqs))
        assert {v.state for v in vouchers} == {"paid"}
        paid_at_bank = sim.vouchers()
        assert all(paid_at_bank[v.number]["pay_rows"] == 1 for v in vouchers)
        ind.refresh_from_db()
        assert ind.spent == sum(r.amount for r in reqs) and ind.reserved == 0
        for v in vouchers:
            assert Voucher.objects.filter(event_id=f"pay:990000000:{v.number}").count() == 1
        assert selectors.spent_problems() == []
    finally:
        sim.stop()


SCRIPT = """
import sys, django
django.setup()
from ibms.iam.models import User
from ibms.treasury import services as s
from ibms.demo.users import DEMO_PIN
step, pk = sys.argv[1], int(sys.argv[2])
if step == "submit":
    s.payment_request_submit(actor=User.objects.get(username="school_clerk"), pk=pk, idempotency_key="crash-" + sys.argv[2])
else:
    s.payment_request_review(actor=User.objects.get(username="school_reviewer"), pk=pk, approve=True,
                             pin=DEMO_PIN)
"""


@pytest.mark.parametrize("step,point", [("submit", "treasury.submit.after_reserve"),
                                        ("approve", "treasury.approve.after_dispatch")])
def test_request_process_crash_leaves_nothing_then_succeeds(committed_db, user, tmp_path, step, point):
    sim = BankSim.start(tmp_path / "sim")
    try:
        connect(sim, user)
        request_crash(user, step, point)
    finally:
        sim.stop()


def request_crash(user, step: str, point: str) -> None:
    clerk = user("school_clerk")
    ind = indicator(user("fin_budget"), 1_000_000)
    req = create(clerk, ind, 25_000)
    if step == "approve":
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="crash-pre")
    before = PaymentRequest.objects.get(pk=req.pk).status
    args = ["manage", "shell", "-c", SCRIPT.replace("sys.argv[1]", repr(step)).replace("sys.argv[2]",
                                                                                       repr(str(req.pk)))]

    assert run(args, crash_at=point) == CRASH_EXIT_CODE
    ind.refresh_from_db()
    assert PaymentRequest.objects.get(pk=req.pk).status == before  # the transaction died with the process
    assert not PaymentVoucher.objects.filter(request=req).exists()
    assert ind.reserved == (25_000 if step == "approve" else 0)
    assert selectors.reservation_problems() == []

    assert run(args) == 0
    after = PaymentRequest.objects.get(pk=req.pk)
    assert after.status == ("submitted" if step == "submit" else "approved")
    assert PaymentVoucher.objects.filter(request=req).count() == (1 if step == "approve" else 0)
    ind.refresh_from_db()
    assert ind.reserved == 25_000
    assert selectors.reservation_problems() == []
