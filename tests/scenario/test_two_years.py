"""Issue 13, end to end over two fiscal years through /api/v1/ with the real bank simulator: indicators, payments
(one paid, one still in review at year end, one at the bank that comes back returned in January), the year end
step by step (the year stops paying; the request in review goes back; the checklist waits for the bank; the
reconciliation; the carry-over proposed by rule, one line changed by the budget division, executed), year-end
accounting, next year's books, the final accounts, the year closed; next year starts executing and pays from the
carried indicator; then `ibms verify` proves conservation, opening = closing and the 决算 tables equal the trial
balances and the indicator ledger."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ibms.accounting import services as acc_services
from ibms.accounting.models import AccountSet, Voucher  # noqa: F401
from ibms.banks import services as banks
from ibms.closing.models import CarryLine, CarryRun
from ibms.core import clock
from ibms.core.verify import run_all
from ibms.iam.services import system_user
from ibms.indicators.models import Indicator
from ibms.masterdata.models import FiscalYear
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from tests.banksim_process import BankSim
from tests.constants import DEMO_PIN, PROVINCE
from tests.treasury.builders import payee, school, work

pytestmark = pytest.mark.django_db
YEAR = clock.fiscal_year()
BAD_ACCOUNT = "6222990000765432"


def call(client, method: str, url: str, body=None, status: int = 200, **headers):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    r = getattr(client, method)(f"/api/v1{url}", **kwargs, **headers)
    assert r.status_code == status, f"{method.upper()} {url} → {r.status_code}: {r.content.decode()[:1500]}"
    return r.json() if r.content else None


@pytest.fixture
def sim(tmp_path):
    bank = BankSim.start(tmp_path / "bank-sim")
    yield bank
    bank.stop()


@pytest.fixture
def api(client_as):
    return {n: client_as(n) for n in ("fin_budget", "fin_treasury", "fin_accounting", "school_clerk",
                                      "school_reviewer")}


def indicators(api, year: int, specs: list[dict]) -> list[dict]:
    src = call(api["fin_budget"], "post", "/indicators/source-documents", {
        "region_code": PROVINCE, "year": year, "kind": "budget_reply", "doc_no": f"两年测试〔{year}〕1号",
        "title": "两年测试批复", "doc_date": f"{year}-03-01"}, 201)
    base = {"unit_id": school().pk, "fund_nature_code": "111", "exp_func_code": "2050202", "dep_eco_code": "30201",
            "gov_eco_code": "50201"}
    return call(api["fin_budget"], "post", "/indicators/", {"source_id": src["id"],
                                                            "specs": [{**base, **s} for s in specs]}, 201)


def pay(api, ind_id: int, amount: str, key: str, *, approve: bool = True, payee_body: dict | None = None) -> dict:
    body = {"indicator_id": ind_id, "amount": amount, "purpose": "购买教学用品",
            "payee": payee_body or {"payee_id": payee().pk}}
    req = call(api["school_clerk"], "post", "/treasury/requests", body, 201)
    call(api["school_clerk"], "post", f"/treasury/requests/{req['id']}/submit", {}, HTTP_IDEMPOTENCY_KEY=key)
    return review(api, req["id"]) if approve else req


def review(api, pk: int) -> dict:
    return call(api["school_reviewer"], "post", f"/treasury/requests/{pk}/review",
                {"approve": True, "comment": "同意", "pin": DEMO_PIN})


def step(api, who: str, name: str, status: int = 200, year: int = YEAR) -> dict:
    return call(api[who], "post", f"/closing/years/{PROVINCE}/{year}/steps/{name}", None, status)


def ind(pk: int) -> Indicator:
    return Indicator.objects.get(pk=pk)


def test_two_fiscal_years(api, user, sim):
    track, plain = indicators(api, YEAR, [{"amount": "100000.00", "is_track": True}, {"amount": "50000.00"}])
    first = pay(api, track["id"], "10000.00", "two-1", approve=False)
    banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=PaymentRequest.objects.get(
        pk=first["id"]).agent_bank_code, region_code=PROVINCE, base_url=sim.url, admin_token=sim.admin_token)
    review(api, first["id"])
    pay(api, plain["id"], "20000.00", "two-2")
    work(sim)
    paid_day = PaymentVoucher.objects.get(request_id=first["id"]).xpay_date
    assert PaymentRequest.objects.get(pk=first["id"]).status == "paid"
    in_review = pay(api, track["id"], "5000.00", "two-3", approve=False)
    at_bank = pay(api, track["id"], "3000.00", "two-4", payee_body={
        "name": "青山教具厂", "account_no": BAD_ACCOUNT, "bank_name": "工商银行青山支行"})
    assert (ind(track["id"]).reserved, ind(track["id"]).spent) == (800_000, 1_000_000)

    with clock.travel(dt.date(YEAR + 1, 1, 6)):
        step(api, "fin_budget", "begin")
        assert FiscalYear.objects.get(region_code=PROVINCE, year=YEAR).status == "closing"
        refused = call(api["school_clerk"], "post", "/treasury/requests", {
            "indicator_id": track["id"], "amount": "1.00", "purpose": "年后补付", "payee": {"payee_id": payee().pk}},
            409)
        assert refused["code"] == "fiscal_year_closing"

        blocked = step(api, "fin_treasury", "payments_settled", 409)
        [item] = blocked["detail"]["items"]
        assert item["kind"] == "voucher_in_flight"
        assert PaymentRequest.objects.get(pk=in_review["id"]).status == "rejected"  # back to the unit, unreserved
        sim.admin("/admin/bad-accounts", {"accounts": [{"acct": BAD_ACCOUNT, "reason": "收款账号已销户"}]})
        work(sim)  # the bank returns it in January
        assert PaymentVoucher.objects.get(request_id=at_bank["id"]).state == "returned"
        assert (ind(track["id"]).reserved, ind(track["id"]).available) == (0, 9_000_000)
        step(api, "fin_treasury", "payments_settled")

        assert step(api, "fin_treasury", "reconciliation_clean", 409)["code"] == "step_blocked"
        v = PaymentVoucher.objects.get(request_id=first["id"])
        banks.statement_fetch(actor=user("fin_treasury"), agent_bank_code=v.agent_bank_code, date=paid_day,
                              region_code=PROVINCE)
        run = call(api["fin_treasury"], "post", "/treasury/reconciliations",
                   {"region_code": PROVINCE, "date": paid_day.isoformat()}, 201)
        assert run["difference_count"] == 0, run
        step(api, "fin_treasury", "reconciliation_clean")
        blocked = step(api, "fin_accounting", "periods_closed", 409)["detail"]["items"]
        assert {i["kind"] for i in blocked} == {"unposted_vouchers"}  # the demo's draft vouchers
        for v in Voucher.objects.filter(account_set_id__in=[i["account_set"] for i in blocked]) \
                .exclude(status="posted"):
            acc_services.voucher_delete(actor=system_user(), pk=v.pk)  # the unit withdraws its drafts
        step(api, "fin_accounting", "periods_closed")

        proposal = call(api["fin_budget"], "post", "/closing/carry-runs", {"region_code": PROVINCE, "year": YEAR}, 201)
        lines = {ln["indicator_id"]: ln for ln in call(
            api["fin_budget"], "get", f"/closing/carry-runs/{proposal['id']}?unit_code={school().code}")["lines"]}
        assert lines[track["id"]]["decision"] == "carry" and lines[track["id"]]["unspent"] == "90000.00"
        assert lines[plain["id"]]["decision"] == "recall" and lines[plain["id"]]["unspent"] == "30000.00"
        changed = call(api["fin_budget"], "post", f"/closing/carry-lines/{lines[plain['id']]['id']}", {
            "decision": "carry", "carry_amount": "12000.00", "reason": "教学设备采购合同已签订，下年继续支付"})
        assert (changed["carry_amount"], changed["recall_amount"]) == ("12000.00", "18000.00")
        run = call(api["fin_budget"], "post", f"/closing/carry-runs/{proposal['id']}/execute", {})
        assert run["status"] == "executed"
        assert call(api["fin_budget"], "post", f"/closing/carry-runs/{proposal['id']}/execute", {}) == run  # no-op

        step(api, "fin_accounting", "year_end_entries")
        step(api, "fin_accounting", "accounts_closed")
        step(api, "fin_accounting", "next_year_opened")
        final = step(api, "fin_budget", "final_accounts")
        assert step(api, "fin_budget", "final_accounts") == final  # a rerun changes nothing
        step(api, "fin_budget", "close")
        assert FiscalYear.objects.get(region_code=PROVINCE, year=YEAR).status == "closed"

        call(api["fin_budget"], "post", f"/closing/years/{PROVINCE}/{YEAR + 1}/start", None)

    # conservation per indicator: carried + recalled = unspent; the carried indicator keeps its flag and lineage
    carried = CarryLine.objects.select_related("new_indicator").get(run__year=YEAR, indicator_id=track["id"])
    new = carried.new_indicator
    assert (new.year, new.amount, new.is_track, new.parent_id) == (YEAR + 1, 9_000_000, True, track["id"])
    assert new.source.kind == "carry_over"
    assert ind(track["id"]).available == 0 and ind(plain["id"]).available == 0
    part = CarryLine.objects.get(run__year=YEAR, indicator_id=plain["id"])
    assert (part.carry_amount, part.recall_amount, part.new_indicator.amount) == (1_200_000, 1_800_000, 1_200_000)
    assert CarryRun.objects.get(region_code=PROVINCE, year=YEAR).status == "executed"
    assert AccountSet.objects.get(unit=school(), year=YEAR).status == "closed"

    # next year: the school pays from its carried indicator and the bank accepts the voucher
    with clock.travel(dt.date(YEAR + 1, 2, 3)):
        nxt = pay(api, new.pk, "1000.00", "two-5")
        work(sim)
        v = PaymentVoucher.objects.get(request_id=nxt["id"])
        assert v.state in ("accepted", "paid") and v.year == YEAR + 1
    assert ind(new.pk).reserved + ind(new.pk).spent == 100_000

    problems = run_all()
    for name in ("closing.carry_over", "closing.opening_balances", "closing.final_accounts", "indicators.balances",
                 "treasury.spent",
                 "treasury.reservations", "audit.rows", "audit.chains"):
        assert problems[name] == [], (name, problems[name])
