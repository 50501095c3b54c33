"""A fixed-asset purchase in Chromium: the clerk picks 支付业务类型「购置固定资产」 on the form, the reviewer approves,
the bank simulator pays, and the unit's books show the receipt debited to 1601 固定资产 (not an expense) while the
finance bureau's 总预算会计 books the spending against 国库存款."""

from __future__ import annotations

import re

import pytest

from ibms.accounting.models import Voucher
from ibms.treasury.models import PaymentRequest
from tests.constants import DEMO_PIN
from tests.e2e.test_payment_flow import run_worker_until_paid, sim, switch_user  # noqa: F401 - the sim fixture
from tests.treasury.builders import indicator

pytestmark = pytest.mark.e2e


def test_asset_purchase_books_a_fixed_asset(page, login, sim, user):  # noqa: F811
    ind = indicator(user("fin_budget"), 5_000_000, dep_eco_code="31002", summary="办公设备购置（浏览器测试）")
    login("school_clerk")
    page.goto("/treasury/new/")
    page.fill("#indicator-search", ind.code)
    page.press("#indicator-search", "End")
    page.locator(f"#indicator-choices input[value='{ind.pk}']").check()
    page.fill("#id_amount", "6800.00")
    page.fill("#id_purpose", "购置教学用投影仪")
    page.fill("#id_payee_name", "华夏办公设备有限公司")
    page.fill("#id_payee_account_no", "6222000012345678")
    page.fill("#id_payee_bank_name", "工商银行华夏省分行")
    assert "购置固定资产" in page.inner_text("#id_business_type")
    page.select_option("#id_business_type", "fixed_asset")
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r"/treasury/requests/\d+/$"))
    req = PaymentRequest.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert page.inner_text("#request-business-type") == "购置固定资产"
    page.click("#submit-form button[type=submit]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('审核中')")

    switch_user(page, login, "school_reviewer")
    page.goto(f"/treasury/requests/{req.pk}/")
    page.fill("#id_pin", DEMO_PIN)
    page.click("#review-form button[value=approve]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('已生成凭证')")
    voucher = run_worker_until_paid(req)

    unit = Voucher.objects.get(event_id=f"pay:990000000:{voucher.number}", account_set__kind="unit")
    assert {(ln.account_code, ln.debit) for ln in unit.lines.filter(debit__gt=0)} == {
        ("1601", 680_000), ("7201.01", 680_000)}
    switch_user(page, login, "fin_accounting")
    page.goto(f"/accounting/vouchers/{unit.pk}/")
    assert "1601" in page.content() and "固定资产" in page.content()
    fin = Voucher.objects.get(event_id=f"fin-pay:990000000:{voucher.number}")
    assert {(ln.account_code, ln.debit, ln.credit) for ln in fin.lines.all()} == {
        ("5001", 680_000, 0), ("1001", 0, 680_000)}
