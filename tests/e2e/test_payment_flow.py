"""A payment in Chromium, paid by the bank simulator: the school's clerk enters a payment to the school's own
income account, which trips the red warning "transfer to own-funds accounts"; the submit is refused until the
clerk explains it; the reviewer approves with their signing PIN (a wrong one is refused first), which signs the
voucher with their own key; the worker sends the signed voucher to the simulator (its own process),
which pays; the worker applies the receipt; the indicator page shows the spending."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from ibms.banks import services as banks
from ibms.indicators.models import Indicator
from ibms.masterdata.models import BankAccount, Unit
from ibms.treasury.models import PaymentRequest, PaymentVoucher
from tests.banksim_process import BankSim
from tests.constants import DEMO_PIN
from tests.treasury.builders import indicator

pytestmark = pytest.mark.e2e


@pytest.fixture
def sim(tmp_path, committed_db, user):
    s = BankSim.start(tmp_path / "bank-sim", pay_delay=0.0)
    bank = BankAccount.objects.get(region_code="990000000", unit__isnull=True, account_type="11").bank
    banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=bank.code, region_code="990000000",
                            base_url=s.url, admin_token=s.admin_token)
    yield s
    s.stop()


def switch_user(page, login, username: str):
    page.context.clear_cookies()
    login(username)


def run_worker_until_paid(req: PaymentRequest, rounds: int = 40) -> PaymentVoucher:
    """The real worker command, one pass at a time (send, then poll the bank's feed), until the receipt is in."""
    for _ in range(rounds):
        call_command("worker", "--once")
        v = PaymentVoucher.objects.filter(request=req).first()
        if v is not None and v.state == "paid":
            return v
    raise AssertionError(f"voucher not paid: {PaymentVoucher.objects.filter(request=req).values('state').first()}")


def test_clerk_explains_red_warning_reviewer_approves_bank_pays(page, login, sim, user):
    school = Unit.objects.get(region_code="990000000", code="001001")
    own = BankAccount.objects.create(region_code="990000000", unit=school, account_type="63",
                                     account_no="990000000001001063", account_name="省第一实验中学收入户",
                                     bank_name="工商银行华夏省分行")
    ind = indicator(user("fin_budget"), 5_000_000, summary="课题经费（浏览器测试）")

    login("school_clerk")
    page.goto("/treasury/new/")
    page.fill("#indicator-search", ind.code)
    page.press("#indicator-search", "End")  # keyup: the picker searches
    page.locator(f"#indicator-choices input[value='{ind.pk}']").check()
    page.fill("#id_amount", "2000.00")
    page.fill("#id_purpose", "课题经费转入本单位科研专户")
    page.fill("#id_payee_name", own.account_name)
    page.fill("#id_payee_account_no", own.account_no)
    page.fill("#id_payee_bank_name", own.bank_name)
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r"/treasury/requests/\d+/$"))
    req = PaymentRequest.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert "红色预警" in page.inner_text("#check-hits")

    page.click("#submit-form button[type=submit]")  # no explanation yet: refused, nothing reserved
    page.wait_for_selector("[data-code=explanation_required]")
    ind.refresh_from_db()
    assert ind.reserved == 0
    page.fill("#id_explanation", "依课题任务书，课题经费转入本单位科研专户统一核算")
    page.click("#submit-form button[type=submit]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('审核中')")
    ind.refresh_from_db()
    assert ind.reserved == 200_000

    switch_user(page, login, "school_reviewer")
    page.goto(f"/treasury/requests/{req.pk}/")
    assert "科研专户" in page.content()  # the reviewer sees the explanation
    page.fill("#id_pin", "Wrong#2026")  # approving signs the voucher with the reviewer's own key: a wrong PIN
    page.click("#review-form button[value=approve]")
    page.wait_for_selector("[data-code=pin_wrong]")
    assert "审核中" in page.inner_text("#request-status")
    page.fill("#id_pin", DEMO_PIN)
    page.click("#review-form button[value=approve]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('已生成凭证')")

    voucher = run_worker_until_paid(req)
    assert sim.vouchers()[voucher.number]["pay_rows"] == 1

    switch_user(page, login, "school_clerk")
    page.goto(f"/treasury/vouchers/{voucher.pk}/")
    assert page.get_attribute("#voucher-state", "data-state") == "paid"
    page.goto(f"/indicators/{ind.pk}/")
    buckets = page.inner_text("#buckets")
    assert "2,000.00" in buckets  # 已支付
    ind = Indicator.objects.get(pk=ind.pk)
    assert ind.spent == 200_000 and ind.reserved == 0
