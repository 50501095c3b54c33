"""A year of payroll for a generated unit of 200 people through the API and the bank simulator: 12 monthly runs
(generated, reviewed, approved, paid as three treasury requests, approved by the treasury, paid by the bank); in
June a joiner, a leaver, a grade change and a one-off bonus (listed as the month's changes); in April a closed card
returns the net-pay batch and the fixed line is re-paid once. After every month 2201 / 2102 / 2307 are back where
they started; at the end `ibms verify` passes and the indicator, the bank and both accounting bases agree."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from ibms.banks import services as banks
from ibms.core import audit, clock
from ibms.core.verify import run_all
from ibms.masterdata.models import Person
from ibms.payroll.models import PayProfile, PayrollPayment, PayrollRun
from tests.banksim_process import BankSim
from tests.constants import DEMO_PIN, PROVINCE
from tests.treasury.builders import school, work

from .builders import YUAN, fresh, personnel_indicator
from .test_pay_books import balances

API = "/api/v1/payroll"
YEAR = clock.fiscal_year()
N = 200
LIABILITIES = ("2201", "2102", "2307")


@pytest.fixture
def sim(tmp_path):
    bank = BankSim.start(tmp_path / "bank-sim")
    yield bank
    bank.stop()


def call(c, method: str, url: str, body=None, status: int = 200) -> dict | list:
    r = c.get(url) if method == "get" else getattr(c, method)(url, json.dumps(body or {}),
                                                                content_type="application/json")
    assert r.status_code == status, (url, r.status_code, r.content[:600])
    return r.json()


def generated_unit(n: int) -> list[Person]:
    """N people of the school with a payroll profile each, bulk-inserted with their audit records."""
    unit = school()
    with transaction.atomic():
        PayProfile.objects.filter(unit=unit).update(is_active=False)
        people = Person.objects.bulk_create([Person(region_code=PROVINCE, unit=unit, name=f"年度职工{i:03d}",
                                                    id_number=f"9901{i:014d}") for i in range(n)])
        audit.record_changes(people, "create")
        profiles = PayProfile.objects.bulk_create([PayProfile(
            region_code=PROVINCE, unit=unit, unit_path=unit.path, person=p, post="教师", grade=f"专技{8 + i % 5}级",
            card_no=f"6217{p.pk:012d}", card_bank="华夏银行营业部",
            items={"JBGZ": (3000 + 25 * i) * YUAN, "XJGZ": (800 + i) * YUAN, "JTBT": 1500 * YUAN,
                   "JXGZ": (i % 7) * 300 * YUAN}) for i, p in enumerate(people)])
        audit.record_changes(profiles, "create")
    return people


def profile_put(c, person: Person, **changes) -> dict:
    p = person.pay_profile
    body = {"post": p.post, "grade": p.grade, "status": p.status, "card_no": p.card_no, "card_bank": p.card_bank,
            "items": {k: f"{v / 100:.2f}" for k, v in p.items.items()}, "is_active": p.is_active, **changes}
    return call(c, "put", f"{API}/people/{person.pk}/profile", body)


def test_a_year_of_payroll(client_as, user, sim, budget):
    people = generated_unit(N)
    ind = personnel_indicator(budget, 30_000_000 * YUAN)
    cl, rv, hd = client_as("school_clerk"), client_as("school_reviewer"), client_as("school_head")
    start = balances(*LIABILITIES, "4001", "5001", "6001", "7201")
    connected = set()
    gross_total = 0
    joiner = None

    def treasury_approve(run_id: int) -> None:
        for p in PayrollPayment.objects.filter(run_id=run_id).select_related("request"):
            if p.request.agent_bank_code not in connected:
                banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=p.request.agent_bank_code,
                                        region_code=PROVINCE, base_url=sim.url, admin_token=sim.admin_token)
                connected.add(p.request.agent_bank_code)
            if p.request.status == "submitted":
                call(rv, "post", f"/api/v1/treasury/requests/{p.request_id}/review", {"approve": True, "pin": DEMO_PIN})

    for month in range(1, 13):
        if month == 6:  # the month with changes
            with transaction.atomic():
                joiner = Person.objects.create(region_code=PROVINCE, unit=school(), name="新入职教师",
                                               id_number="990100000000009999")
                audit.record_change(joiner, "create")
            call(cl, "put", f"{API}/people/{joiner.pk}/profile", {
                "post": "教师", "grade": "专技十二级", "card_no": "6217888800001234", "card_bank": "华夏银行营业部",
                "items": {"JBGZ": "3200.00", "XJGZ": "600.00", "JTBT": "1500.00"}})
            profile_put(cl, people[1], is_active=False)  # a leaver
            profile_put(cl, people[2], grade="专技七级")  # a grade change
            items = {k: f"{v / 100:.2f}" for k, v in people[3].pay_profile.items.items()}
            profile_put(cl, people[3], items={**items, "JJ": "5000.00"})  # a one-off bonus, this month only
        if month == 7:
            profile_put(cl, people[3], items={k: f"{v / 100:.2f}" for k, v in fresh(people[3]).pay_profile.items.items()
                                               if k != "JJ"})
        run = call(cl, "post", f"{API}/runs", {"unit_id": school().pk, "year": YEAR, "month": month}, status=201)
        if month == 6:
            kinds = {(ch["kind"], ch["person_id"]) for ch in run["changes"]}
            assert {("join", joiner.pk), ("leave", people[1].pk), ("grade", people[2].pk),
                    ("amount", people[3].pk)} <= kinds, kinds
            assert run["headcount"] == N
        rid = run["id"]
        call(cl, "post", f"{API}/runs/{rid}/submit")
        call(rv, "post", f"{API}/runs/{rid}/review", {"approve": True})
        call(hd, "post", f"{API}/runs/{rid}/review", {"approve": True, "comment": "同意发放"})
        if month == 4:  # a closed card: the bank returns the net-pay batch naming it
            closed = people[10]
            sim.admin("/admin/bad-accounts", {"accounts": [{"acct": closed.pay_profile.card_no,
                                                            "reason": "账户已销户"}]})
        assert call(cl, "post", f"{API}/runs/{rid}/pay", {"indicator_id": ind.pk})["status"] == "paid"
        treasury_approve(rid)
        work(sim)
        if month == 4:
            listed = call(cl, "get", f"{API}/runs/{rid}/returned")
            assert [x["person_id"] for x in listed if x["named"]] == [closed.pk] and len(listed) == N
            assert call(cl, "post", f"{API}/runs/{rid}/repay", status=422)["detail"][0]["code"] == "card_unchanged"
            profile_put(cl, closed, card_no="6217777700004444")
            call(cl, "post", f"{API}/runs/{rid}/repay")
            assert call(cl, "post", f"{API}/runs/{rid}/repay", status=409)["code"] == "nothing_to_repay"
            treasury_approve(rid)
            work(sim)
            assert PayrollPayment.objects.filter(run_id=rid).count() == 4  # net ×2, tax, withheld
        r = PayrollRun.objects.get(pk=rid)
        latest = {p.kind: p.request.status for p in r.payments.select_related("request").order_by("attempt")}
        assert latest == {"net": "paid", "tax": "paid", "withheld": "paid"}, month
        gross_total += r.gross
        now = balances(*LIABILITIES)
        assert {k: now[k] - start[k] for k in LIABILITIES} == {k: 0 for k in LIABILITIES}, month

    end = balances(*LIABILITIES, "4001", "5001", "6001", "7201")
    moved = {k: end[k] - start[k] for k in end}
    assert moved == {"2201": 0, "2102": 0, "2307": 0, "4001": gross_total, "5001": -gross_total,
                     "6001": gross_total, "7201": -gross_total}
    assert fresh(ind).spent == gross_total
    bank_paid = sum(v["pay_amt"] for v in sim.vouchers().values() if v["state"] == "paid")
    assert bank_paid == gross_total  # the returned batch paid nobody; its re-payment paid each line once
    assert sim.invariants().get("ok", True)
    problems = run_all()
    for name in ("payroll.runs", "treasury.spent", "treasury.paid_once", "treasury.reservations",
                 "treasury.finance_books", "accounting.balanced", "indicators.balances", "banks.messages",
                 "audit.rows", "audit.chains"):
        assert problems[name] == [], (name, problems[name][:5])
