"""The monthly run through the API: generate (changes listed), submit, review and approve along the chain, pay as
treasury batch requests (net pay per card; the tax; the other withholdings per collector), the accrual booked;
refusals (the books of a paid month: test_pay_books.py)."""

from __future__ import annotations

import json

import pytest

from ibms.accounting.models import Voucher
from ibms.core import clock
from ibms.core.errors import DomainError
from ibms.payroll import services as ps
from ibms.payroll.models import PayrollRun
from ibms.treasury.models import PaymentRequest
from tests.treasury.builders import school

from .builders import PAY, YUAN, approved_run, codes, fresh, people, personnel_indicator, profile, staff

API = "/api/v1/payroll"
YEAR = clock.fiscal_year()


def post(c, url, data=None):
    return c.post(url, json.dumps(data or {}), content_type="application/json")


def test_generate_review_approve_pay_through_the_api(client_as, clerk, budget):
    staff(clerk, 3)
    ind = personnel_indicator(budget)
    c, rv, hd = client_as("school_clerk"), client_as("school_reviewer"), client_as("school_head")
    r = post(c, f"{API}/runs", {"unit_id": school().pk, "year": YEAR, "month": 1})
    assert r.status_code == 201, r.content
    run = r.json()
    # 3 people × (8,000 gross, 1,800 social, 36 tax, 30 union, 6,134 net) — test_tax.test_person_month_from_items
    assert (run["headcount"], run["gross"], run["social"], run["tax"], run["other"], run["net"]) == (
        3, "24000.00", "5400.00", "108.00", "90.00", "18402.00")
    rid = run["id"]
    assert post(c, f"{API}/runs/{rid}/submit").json()["status"] == "submitted"
    # the clerk holds no review permission: the write gate refuses
    assert post(c, f"{API}/runs/{rid}/review", {"approve": True}).status_code == 403
    assert post(hd, f"{API}/runs/{rid}/review", {"approve": True}).json()["code"] == "workflow_role"  # step 1: 单位审核
    assert post(rv, f"{API}/runs/{rid}/review", {"approve": True}).json()["current_step"] == 2
    r = post(hd, f"{API}/runs/{rid}/review", {"approve": True, "comment": "同意"})
    assert r.json()["status"] == "approved"
    r = post(c, f"{API}/runs/{rid}/pay", {"indicator_id": ind.pk})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "paid"
    req = PaymentRequest.objects.get(pk=r.json()["payment_request_id"])
    assert (req.is_batch, req.is_payroll, req.status, req.amount, req.business_type) == (
        True, True, "submitted", 18_402 * YUAN, "salary")  # the net pay; the withholdings are requests of their own
    lines = list(req.lines.order_by("seq").values_list("payee_name", "amount"))
    assert [a for _, a in lines] == [6_134 * YUAN] * 3
    reqs = {p.kind: p.request for p in PayrollRun.objects.get(pk=rid).payments.select_related("request")}
    assert {k: (q.business_type, q.amount) for k, q in reqs.items()} == {
        "net": ("salary", 18_402 * YUAN), "tax": ("remit_tax", 108 * YUAN),
        "withheld": ("remit_withheld", 5_490 * YUAN)}
    collectors = dict(ln for q in (reqs["tax"], reqs["withheld"]) for ln in q.lines.values_list("payee_name", "amount"))
    # social 480 + 240 + 120 per person; housing 960; union 30; tax 36
    assert collectors == {"国家税务总局代收个人所得税专户": 108 * YUAN, "社会保险基金收入户": 2_520 * YUAN,
                          "住房公积金管理中心归集户": 2_880 * YUAN, "工会经费代收户": 90 * YUAN}
    assert sum(q.amount for q in reqs.values()) == 24_000 * YUAN
    v = Voucher.objects.get(event_id=f"payroll-{PayrollRun.objects.get(pk=rid).number}-accrued")
    assert {(ln.account.code, ln.debit, ln.credit) for ln in v.lines.select_related("account")} == {
        ("5001", 24_000 * YUAN, 0), ("2201", 0, 24_000 * YUAN)}
    # paying twice is refused and makes no second request
    r = post(c, f"{API}/runs/{rid}/pay", {"indicator_id": ind.pk})
    assert (r.status_code, r.json()["code"]) == (409, "already_paid")
    assert PaymentRequest.objects.filter(purpose__contains=run["number"]).count() == 3
    # the slip PDF and the monthly table
    pid = people(1)[0].pk
    pdf = c.get(f"{API}/runs/{rid}/slips/{pid}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = c.get(f"/payroll/runs/{rid}/table.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_second_month_lists_changes_and_accumulates_tax(clerk, reviewer, head):
    a, b, c3 = staff(clerk, 3)
    approved_run(clerk, reviewer, head, 1)
    profile(clerk, a, grade="专技九级", items={**PAY, "JBGZ": 5_500 * YUAN})
    profile(clerk, b, is_active=False)
    d = people(4)[3]
    profile(clerk, d)
    run = ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=2)
    kinds = {(ch["kind"], ch["person_id"]) for ch in run.changes}
    assert kinds == {("grade", a.pk), ("amount", a.pk), ("leave", b.pk), ("join", d.pk)}
    slip = run.slips.get(person=c3)
    # month 2 of the same pay: cumulative taxable 2 × 1,200 = 2,400 → 72, withheld 36 before → 36
    assert (slip.months, slip.cum_income, slip.tax, slip.cum_tax) == (2, 16_000 * YUAN, 36 * YUAN, 72 * YUAN)
    assert run.slips.get(person=d).months == 1


def test_refusals(clerk, reviewer, head, budget, user):
    staff(clerk, 2)
    ind = personnel_indicator(budget)
    run = ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=3)
    with pytest.raises(DomainError) as e:
        ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=4)
    assert codes(e.value) == ["previous_run_open"]
    with pytest.raises(DomainError) as e:
        ps.payroll_run_pay(actor=clerk, pk=run.pk, indicator_id=ind.pk)
    assert codes(e.value) == ["not_approved"]
    ps.payroll_run_submit(actor=clerk, pk=run.pk)
    # a reviewer who submitted the run cannot approve it (segregation of duties)
    PayrollRun.objects.filter(pk=run.pk).update(submitted_by=reviewer)
    with pytest.raises(DomainError) as e:
        ps.payroll_run_review(actor=reviewer, pk=run.pk, approve=True)
    assert e.value.http_status == 403 and codes(e.value) == ["segregation_of_duties"]
    PayrollRun.objects.filter(pk=run.pk).update(submitted_by=clerk)
    with pytest.raises(DomainError) as e:
        ps.payroll_run_review(actor=reviewer, pk=run.pk, approve=False)
    assert codes(e.value) == ["comment_required"]
    ps.payroll_run_review(actor=reviewer, pk=run.pk, approve=False, comment="绩效工资未更新")
    assert fresh(run).status == "returned"
    # a person without a card: the run regenerates, is approved, and pay refuses naming the person
    nocard = people(2)[1]
    profile(clerk, nocard, card="")
    run = approved_run(clerk, reviewer, head, 3)
    with pytest.raises(DomainError) as e:
        ps.payroll_run_pay(actor=clerk, pk=run.pk, indicator_id=ind.pk)
    assert codes(e.value) == ["card_missing"] and nocard.name in e.value.violations[0].message
    assert fresh(run).status == "approved" and fresh(run).payment_request_id is None
    # an indicator that is not 人员类 is refused
    profile(clerk, nocard)
    from tests.treasury.builders import indicator

    office = indicator(budget, 100_000 * YUAN)  # 30201 办公费
    with pytest.raises(DomainError) as e:
        ps.payroll_run_pay(actor=clerk, pk=run.pk, indicator_id=office.pk)
    assert codes(e.value) == ["indicator_not_personnel"]
    assert ps.payroll_run_pay(actor=clerk, pk=run.pk, indicator_id=ind.pk).status == "paid"  # the card fixed


def test_overdraw_leaves_the_run_approved_and_nothing_paid(clerk, reviewer, head, budget):
    staff(clerk, 2)
    small = personnel_indicator(budget, 100 * YUAN)
    run = approved_run(clerk, reviewer, head, 5)
    with pytest.raises(DomainError) as e:
        ps.payroll_run_pay(actor=clerk, pk=run.pk, indicator_id=small.pk)
    assert "overdraw" in codes(e.value)
    run = fresh(run)
    assert run.status == "paying" and run.payment_request.status == "draft"
    assert not Voucher.objects.filter(event_id=f"payroll-{run.number}-accrued").exists()
    # paid again from a larger indicator: the same request (its draft takes the new indicator), never a second one
    big = personnel_indicator(budget)
    run = ps.payroll_run_pay(actor=clerk, pk=run.pk, indicator_id=big.pk)
    assert run.status == "paid" and run.payment_request.indicator_id == big.pk
    assert run.payment_request.status == "submitted"
    assert PaymentRequest.objects.filter(purpose__contains=run.number).count() == 3  # net pay, tax, withholdings
    assert Voucher.objects.filter(event_id=f"payroll-{run.number}-accrued").count() == 1

def test_other_units_clerk_sees_nothing(client_as, clerk):
    staff(clerk, 2)
    run = ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=6)
    other = client_as("hospital_clerk")
    assert other.get(f"{API}/runs/{run.pk}").status_code == 404
    assert other.get(f"{API}/runs").json()["count"] == 0
    assert post(other, f"{API}/runs/{run.pk}/submit").status_code == 404
    assert post(other, f"{API}/runs", {"unit_id": school().pk, "month": 7}).status_code == 404
    r = other.put(f"{API}/people/{people(1)[0].pk}/profile", json.dumps({"card_no": "6217000000000001"}),
                  content_type="application/json")
    assert r.status_code == 404
    assert other.get(f"{API}/runs/{run.pk}/slips/{people(1)[0].pk}.pdf").status_code == 404
    assert other.get(f"/payroll/runs/{run.pk}/").status_code == 404
    assert client_as("fin_budget").get(f"{API}/runs/{run.pk}").status_code == 200  # the finance reads its region
    assert post(client_as("fin_budget"), f"{API}/runs/{run.pk}/submit").status_code == 403


def test_profile_validation_and_history(client_as, clerk):
    p = people(1)[0]
    c = client_as("school_clerk")
    r = c.put(f"{API}/people/{p.pk}/profile", json.dumps({"card_no": "12ab", "items": {"YLBX": "10", "XX": "1"},
                                                           "status": "dead"}), content_type="application/json")
    assert r.status_code == 422
    assert {d["code"] for d in r.json()["detail"]} >= {"card_invalid", "item_computed", "item_unknown",
                                                        "status_invalid"}
    r = c.put(f"{API}/people/{p.pk}/profile", json.dumps({"grade": "十级", "card_no": "6217000000000001",
                                                           "card_bank": "华夏银行", "items": {"JBGZ": "5000.00"}}),
              content_type="application/json")
    assert r.status_code == 200 and r.json()["items"] == {"JBGZ": "5000.00"}
    c.put(f"{API}/people/{p.pk}/profile", json.dumps({"grade": "九级", "card_no": "6217000000000001",
                                                       "card_bank": "华夏银行", "items": {"JBGZ": "5600.00"}}),
          content_type="application/json")
    hist = c.get(f"{API}/profiles/{r.json()['id']}").json()["history"]
    assert [h["action"] for h in hist] == ["create", "update"] and hist[1]["after"]["grade"] == "九级"
    assert c.get("/payroll/profiles/").status_code == 200
    assert c.get(f"/payroll/people/{p.pk}/profile/").status_code == 200

