"""The year's life cycle and the checklist's own steps: begin (executing → closing, next year required), the
order of steps, who may run them, payments settled (requests in review returned with their reservation voided, a
voucher at the bank blocks), reconciliation, the page and the background run, `ibms close-year`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from ibms.banks import services as banks
from ibms.banks.models import BankEndpoint
from ibms.closing.models import YearStep
from ibms.closing.services import Blocked, lifecycle, step_run
from ibms.core import outbox, workflow
from ibms.core.crypto import generate_sm2_keypair
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.indicators.models import Reservation
from ibms.masterdata.models import FiscalYear
from ibms.treasury import services as ts
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from tests.constants import COUNTY, DEMO_PIN, PROVINCE
from tests.treasury.builders import YEAR, create, fresh, indicator

pytestmark = pytest.mark.django_db
API = "/api/v1/closing"


@pytest.fixture
def budget(user):
    return user("fin_budget")


@pytest.fixture
def treasury(user):
    return user("fin_treasury")


def status(region: str = PROVINCE, year: int = YEAR) -> str:
    return FiscalYear.objects.get(region_code=region, year=year).status


def step_status(step: str, region: str = PROVINCE, year: int = YEAR) -> str:
    return YearStep.objects.get(region_code=region, year=year, step=step).status


def approved(budget, clerk, reviewer, treasury, amount: int = 20_000) -> PaymentVoucher:
    """A request approved into a voucher waiting for the worker (in flight: no bank answers it here)."""
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, amount)
    ts.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=f"ye-{req.pk}")
    code = fresh(req).agent_bank_code
    if not BankEndpoint.objects.filter(agent_bank_code=code, region_code=PROVINCE).exists():
        banks.endpoint_register(actor=treasury, agent_bank_code=code, region_code=PROVINCE,
                                base_url="http://127.0.0.1:9", public_pem=generate_sm2_keypair().public_pem.decode())
    ts.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    return PaymentVoucher.objects.get(request=req)


def in_flight_none() -> None:
    """The demo's own vouchers of the year as settled, so a test sees only what it builds."""
    PaymentVoucher.objects.filter(region_code=PROVINCE, year=YEAR, state__in=PaymentVoucher.IN_FLIGHT) \
        .update(state=PaymentVoucher.State.PAID)


def test_begin_needs_the_next_year_and_then_the_year_takes_no_payment(budget, user):
    nxt = FiscalYear.objects.filter(region_code=PROVINCE, year=YEAR + 1)
    saved = list(nxt.values())
    nxt.delete()
    with pytest.raises(Blocked) as exc:
        step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")
    assert "尚未设立" in exc.value.items[0]["label"] and status() == "executing"
    assert step_status("begin") == "blocked"
    FiscalYear.objects.create(**saved[0])
    row = step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")
    assert row.status == "done" and status() == "closing"
    again = step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")  # a rerun changes nothing
    assert again.pk == row.pk and again.finished_at == row.finished_at
    clerk = user("school_clerk")
    with pytest.raises(Conflict) as refused:
        create(clerk, indicator(budget, 10_000), 1_000)
    assert refused.value.code == "fiscal_year_closing" and str(YEAR) in refused.value.message


def test_steps_run_in_order_and_only_for_who_may(budget, user):
    with pytest.raises(Conflict) as exc:  # the year is not closing yet
        step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="payments_settled")
    assert exc.value.code == "year_status"
    step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")
    with pytest.raises(Blocked) as blocked:
        step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="periods_closed")
    assert [i["label"] for i in blocked.value.items] == ["请先完成“支付清理”", "请先完成“对账清理”"]
    with pytest.raises(PermissionDenied):
        step_run(actor=user("school_clerk"), region_code=PROVINCE, year=YEAR, step="payments_settled")
    with pytest.raises(NotFound):  # the county's finance doesn't even see the province's year
        step_run(actor=user("county_budget"), region_code=PROVINCE, year=YEAR, step="payments_settled")
    with pytest.raises(PermissionDenied) as scope:  # the province reads the county's year but doesn't run it
        step_run(actor=budget, region_code=COUNTY, year=YEAR, step="begin")
    assert scope.value.code == "scope_region"
    with pytest.raises(ValidationFailed) as unknown:
        step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="no_such_step")
    assert unknown.value.violations[0].code == "step_unknown"


def test_payments_settled_returns_requests_in_review_and_waits_for_the_bank(budget, treasury, user):
    in_flight_none()
    clerk = user("school_clerk")
    ind = indicator(budget, 100_000)
    req = create(clerk, ind, 30_000)
    ts.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="ye-1")
    assert fresh(ind).reserved == 30_000
    flying = approved(budget, clerk, user("school_reviewer"), treasury)
    assert flying.state in PaymentVoucher.IN_FLIGHT
    step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")
    with pytest.raises(Blocked) as exc:
        step_run(actor=treasury, region_code=PROVINCE, year=YEAR, step="payments_settled")
    assert [i["kind"] for i in exc.value.items] == ["voucher_in_flight"]
    assert flying.number in exc.value.items[0]["label"] and exc.value.items[0]["url"].endswith(f"/{flying.pk}/")
    # the request in review went back to its unit with its reservation voided, even though the step blocks
    r = fresh(req)
    assert r.status == PaymentRequest.Status.REJECTED and "年终结账" in r.review_comment
    [todo] = workflow.todo_for_user(clerk).filter(doc_type="treasury.payment", object_id=str(r.pk))
    assert todo.title.startswith(f"支付申请被退回：{r.number}") and "年终结账" in todo.title
    assert Reservation.objects.get(consumer=r.consumer).status == "voided" and fresh(ind).reserved == 0
    assert fresh(ind).available == 100_000
    assert step_status("payments_settled") == "blocked"
    PaymentVoucher.objects.filter(pk=flying.pk).update(state=PaymentVoucher.State.RETURNED)  # the bank answered
    row = step_run(actor=treasury, region_code=PROVINCE, year=YEAR, step="payments_settled")
    assert row.status == "done" and row.result == {"requests_returned": 0} and row.blockers == []


def test_each_step_waits_on_its_divisions_to_do_list(client_as, budget, treasury, user):
    from ibms.core.workflow import todo_for_user

    def titles(who):
        return [t.title for t in todo_for_user(user(who))]

    in_flight_none()
    assert not any("年终结账" in t for t in titles("fin_treasury"))
    step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")
    assert [t for t in titles("fin_treasury") if "年终结账" in t] == [f"年终结账：华夏省{YEAR}年度“支付清理”"]
    assert not any("年终结账" in t for t in titles("fin_accounting") + titles("fin_budget") + titles("county_treasury"))
    assert f"年终结账：华夏省{YEAR}年度“支付清理”" in client_as("fin_treasury").get("/").content.decode()
    step_run(actor=treasury, region_code=PROVINCE, year=YEAR, step="payments_settled")
    assert [t for t in titles("fin_treasury") if "年终结账" in t] == [f"年终结账：华夏省{YEAR}年度“对账清理”"]


def test_reconciliation_lists_unreconciled_days(budget, treasury, user):
    clerk, reviewer = user("school_clerk"), user("school_reviewer")
    vs = [approved(budget, clerk, reviewer, treasury, amount=a) for a in (10_000, 20_000, 30_000)]
    in_flight_none()  # as if the bank paid them: two on one day, one on the next
    for v, day in zip(vs, (1, 1, 2), strict=True):
        PaymentVoucher.objects.filter(pk=v.pk).update(xpay_date=dt.date(YEAR, 12, day))
    step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")
    step_run(actor=treasury, region_code=PROVINCE, year=YEAR, step="payments_settled")
    paid = PaymentVoucher.objects.filter(region_code=PROVINCE, year=YEAR, state__in=["paid", "cleared"])
    with pytest.raises(Blocked) as exc:
        step_run(actor=treasury, region_code=PROVINCE, year=YEAR, step="reconciliation_clean")
    assert [i["kind"] for i in exc.value.items] == ["day_unreconciled"] * 2
    assert exc.value.items[0]["label"].startswith(f"{YEAR}-12-01") and "有 2 笔" in exc.value.items[0]["label"]
    assert "有 1 笔" in exc.value.items[1]["label"] and paid.count() == 3
    paid.update(state=PaymentVoucher.State.RECONCILED)
    assert step_run(actor=treasury, region_code=PROVINCE, year=YEAR, step="reconciliation_clean").status == "done"


def test_checklist_api_and_scope(client_as, user):
    c = client_as("fin_budget")
    body = c.get(f"{API}/years/{PROVINCE}/{YEAR}").json()
    assert body["status"] == "executing" and [s["step"] for s in body["steps"]][:2] == ["begin", "payments_settled"]
    assert len(body["steps"]) == len(lifecycle.step_defs()) and body["steps"][0]["status_name"] == "未开始"
    r = c.post(f"{API}/years/{PROVINCE}/{YEAR}/steps/begin")
    assert r.status_code == 200 and r.json()["status"] == "closing" and r.json()["steps"][0]["status"] == "done"
    r = c.post(f"{API}/years/{PROVINCE}/{YEAR}/steps/reconciliation_clean")
    assert r.status_code == 409 and r.json()["code"] == "step_blocked"
    assert r.json()["detail"]["items"][0]["label"] == "请先完成“支付清理”"
    county = client_as("county_budget")
    assert county.get(f"{API}/years/{PROVINCE}/{YEAR}").status_code == 404  # a neighbour's or upper level's year
    assert county.get(f"{API}/years/{COUNTY}/{YEAR}").status_code == 200
    assert client_as("school_clerk").get(f"{API}/years/{PROVINCE}/{YEAR}").status_code == 403
    with pytest.raises(NotFound):
        lifecycle.checklist(user("county_budget"), PROVINCE, YEAR)


def test_the_page_starts_a_step_in_the_worker_and_shows_its_progress(client_as, budget):
    c = client_as("fin_budget")
    page = c.get(f"/closing/?region={PROVINCE}&year={YEAR}")
    assert page.status_code == 200 and "开始年终结账" in page.content.decode()
    r = c.post(f"/closing/{PROVINCE}/{YEAR}/steps/begin/")
    assert r.status_code == 302 and step_status("begin") == "running" and status() == "executing"
    partial = c.get(f"/closing/{PROVINCE}/{YEAR}/checklist/").content.decode()
    assert 'hx-trigger="every 2s"' in partial  # polls while running
    assert c.post(f"/closing/{PROVINCE}/{YEAR}/steps/begin/", follow=True).content.decode().count("正在执行") == 1
    outbox.drain()
    assert step_status("begin") == "done" and status() == "closing"
    partial = c.get(f"/closing/{PROVINCE}/{YEAR}/checklist/").content.decode()
    assert "every 2s" not in partial
    assert client_as("school_clerk").post(f"/closing/{PROVINCE}/{YEAR}/steps/payments_settled/").status_code == 403


def test_close_year_command_runs_until_blocked(budget, capsys):
    in_flight_none()
    with pytest.raises(SystemExit) as exc:
        call_command("close_year", region=PROVINCE, year=YEAR, user="fin_budget")
    assert exc.value.code == 2
    out = capsys.readouterr().out
    assert "开始年终结账: 已完成" in out and "未通过" in out and status() == "closing"


def test_next_year_starts_only_after_this_one_stops_paying(client_as, budget):
    c = client_as("fin_budget")
    r = c.post(f"{API}/years/{PROVINCE}/{YEAR + 1}/start")
    assert r.status_code == 409 and r.json()["code"] == "previous_year_executing" and str(YEAR) in r.json()["message"]
    assert status(year=YEAR + 1) == "preparing"
    step_run(actor=budget, region_code=PROVINCE, year=YEAR, step="begin")
    r = c.post(f"/closing/{PROVINCE}/{YEAR + 1}/start/")
    assert r.status_code == 302 and status(year=YEAR + 1) == "executing"
    assert c.post(f"{API}/years/{PROVINCE}/{YEAR + 1}/start").json()["status"] == "executing"  # a rerun: no change
    assert client_as("school_clerk").post(f"{API}/years/{PROVINCE}/{YEAR + 1}/start").status_code == 403
