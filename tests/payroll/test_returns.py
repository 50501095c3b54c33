"""A closed card through the bank simulator: the agent bank returns the net-pay batch naming the bad line; the
run lists the people returned (the named one to fix); re-paying is refused until the card is changed, then ONE new
request pays exactly the returned lines (never a line already paid); the books close to zero liabilities."""

from __future__ import annotations

import json

import pytest

from ibms.banks import services as banks
from ibms.core import workflow
from ibms.core.verify import run_all
from ibms.payroll.models import PayrollPayment
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from tests.banksim_process import BankSim
from tests.constants import DEMO_PIN, PROVINCE
from tests.treasury.builders import work

from .builders import approved_run, fresh, personnel_indicator, profile, staff
from .test_pay_books import balances

API = "/api/v1/payroll"


@pytest.fixture
def sim(tmp_path):
    bank = BankSim.start(tmp_path / "bank-sim")
    yield bank
    bank.stop()


def post(c, url, data=None):
    return c.post(url, json.dumps(data or {}), content_type="application/json")


def approve_all(reviewer, run) -> None:
    for p in run.payments.select_related("request"):
        if p.request.status == "submitted":
            r = post(reviewer, f"/api/v1/treasury/requests/{p.request_id}/review", {"approve": True, "pin": DEMO_PIN})
            assert r.status_code == 200, r.content


def test_returned_line_is_fixed_and_repaid_once(client_as, user, sim, clerk, reviewer, head, budget):
    a, closed, c3 = staff(clerk, 3)
    ind = personnel_indicator(budget)
    run = approved_run(clerk, reviewer, head, 10)
    before = balances("2201", "2102", "2307", "7201")
    cl, rv = client_as("school_clerk"), client_as("school_reviewer")
    assert post(cl, f"{API}/runs/{run.pk}/pay", {"indicator_id": ind.pk}).status_code == 200
    run = fresh(run)
    net = run.payments.get(kind="net")
    banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=net.request.agent_bank_code,
                            region_code=PROVINCE, base_url=sim.url, admin_token=sim.admin_token)
    bad_card = closed.pay_profile.card_no
    sim.admin("/admin/bad-accounts", {"accounts": [{"acct": bad_card, "reason": "账户已销户"}]})
    approve_all(rv, run)
    work(sim)
    assert fresh(net.request).status == "returned"
    assert PaymentVoucher.objects.get(request=net.request).state == "returned"
    # the withholdings went to their collectors; the net pay came back as a batch naming the closed card
    assert {p.kind: fresh(p.request).status for p in run.payments.all()} == {
        "net": "returned", "tax": "paid", "withheld": "paid"}
    waiting = workflow.todo_for_user(clerk).filter(doc_type="payroll.run", object_id=str(run.pk))
    assert [t.title for t in waiting] == [f"工资发放被银行退回：{run.number}（账户已销户）"]  # on the clerks' list
    listed = cl.get(f"{API}/runs/{run.pk}/returned").json()
    assert [(x["person_id"], x["named"], x["fixed"]) for x in listed] == [
        (a.pk, False, True), (closed.pk, True, False), (c3.pk, False, True)]
    assert listed[1]["reason"] == "账户已销户" and listed[1]["account_no"] == bad_card
    # not fixed yet: refused, nothing made
    r = post(cl, f"{API}/runs/{run.pk}/repay")
    assert (r.status_code, r.json()["detail"][0]["code"]) == (422, "card_unchanged")
    assert closed.name in r.json()["detail"][0]["message"]
    assert PayrollPayment.objects.filter(run=run).count() == 3
    page = cl.get(f"/payroll/runs/{run.pk}/").content.decode()
    assert 'id="table-returned"' in page and "需更正" in page and 'id="run-repay"' not in page
    # a new card on the profile; re-paid (from the run's page) as ONE new request of exactly the returned lines
    profile(clerk, closed, card="6217999900001111")
    page = cl.get(f"/payroll/runs/{run.pk}/").content.decode()
    assert "已更正为 6217999900001111" in page and 'id="run-repay"' in page
    r = cl.post(f"/payroll/runs/{run.pk}/repay/")
    assert r.status_code == 302, r.content.decode()[:500]
    assert not waiting.all().exists()  # re-paid: off the list
    again = PayrollPayment.objects.get(run=run, kind="net", attempt=2)
    assert again.slip_ids == net.slip_ids and again.amount == net.amount
    lines = list(again.request.lines.order_by("seq").values_list("payee_account_no", flat=True))
    assert "6217999900001111" in lines and bad_card not in lines and len(lines) == 3
    assert again.request.business_type == "salary" and again.request.status == "submitted"
    # twice is refused: nothing is returned any more (the re-payment is under way)
    r = post(cl, f"{API}/runs/{run.pk}/repay")
    assert (r.status_code, r.json()["code"]) == (409, "nothing_to_repay")
    assert cl.get(f"{API}/runs/{run.pk}/returned").json() == []
    approve_all(rv, run)
    work(sim)
    assert fresh(again.request).status == "paid"
    after = balances("2201", "2102", "2307", "7201")
    # the month's liabilities are back where they were before it; budget expenditure is the gross, paid once
    assert {k: after[k] - before[k] for k in after} == {"2201": 0, "2102": 0, "2307": 0, "7201": -run.gross}
    assert fresh(ind).spent == run.gross
    assert sum(PaymentRequest.objects.filter(status="paid", purpose__contains=run.number)
               .values_list("amount", flat=True)) == run.gross
    paid_cards = [v for v in sim.vouchers().values() if v["state"] == "paid"]
    assert sum(v["pay_amt"] for v in paid_cards) == run.gross
    problems = run_all()
    for name in ("payroll.runs", "treasury.spent", "treasury.paid_once", "treasury.reservations",
                 "accounting.balanced", "indicators.balances", "banks.messages"):
        assert problems[name] == [], (name, problems[name])
