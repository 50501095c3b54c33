"""From the contract to the asset card in Chromium: the school files a contract against its approved 采购计划
(`file_contract_against_plan`), the clerk pays the contract's first period with 支付业务类型「购置固定资产」, the
reviewer approves with the signing PIN, the worker sends the voucher to the bank simulator (its own process) and
applies the receipt — and the school's asset pages show the card: the contract's amount as its original value,
the plan's name and class, linked back to the payment."""

from __future__ import annotations

import re

import pytest

from ibms.assets.models import AssetCard
from ibms.treasury.models import PaymentRequest
from tests.constants import DEMO_PIN
from tests.e2e.test_payment_flow import run_worker_until_paid, sim, switch_user  # noqa: F401 - the sim fixture
from tests.e2e.test_procurement_contract import file_contract_against_plan

pytestmark = pytest.mark.e2e


def test_paid_milestone_of_a_fixed_asset_contract_makes_the_card(page, login, sim, user):  # noqa: F811
    filed = file_contract_against_plan(page, login, user, catalogue_code="A02030500", number="HT-E2E-ZC01",
                                       dep_eco_code="31002")  # 乘用车: a fixed asset, 设备购置
    assert filed.plan.asset_class == "2030500"
    page.goto("/treasury/new/")
    page.fill("#indicator-search", filed.indicator.code)
    page.press("#indicator-search", "End")
    page.locator(f"#indicator-choices input[value='{filed.indicator.pk}']").check()
    page.fill("#id_amount", "76000.00")
    page.fill("#id_purpose", "支付公务用车采购合同到货验收款")
    page.fill("#id_payee_name", "华夏电脑有限公司")
    page.fill("#id_payee_account_no", "6222000012340001")
    page.fill("#id_payee_bank_name", "工商银行华夏省分行")
    page.select_option("#id_contract_id", str(filed.contract.pk))
    page.fill("#id_milestone", "1")
    page.select_option("#id_business_type", "fixed_asset")
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r"/treasury/requests/\d+/$"))
    req = PaymentRequest.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert (req.contract_id, req.milestone, req.business_type) == (filed.contract.pk, 1, "fixed_asset")
    page.click("#submit-form button[type=submit]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('审核中')")
    assert not AssetCard.objects.filter(contract=filed.contract).exists()

    switch_user(page, login, "school_reviewer")
    page.goto(f"/treasury/requests/{req.pk}/")
    page.fill("#id_pin", DEMO_PIN)
    page.click("#review-form button[value=approve]")
    page.wait_for_function("document.querySelector('#request-status').innerText.includes('已生成凭证')")
    run_worker_until_paid(req)

    [card] = AssetCard.objects.filter(contract=filed.contract)
    assert (card.original_value, card.asset_class, card.payment_request_id, card.status) == (
        7_600_000, "2030500", req.pk, "in_use")
    switch_user(page, login, "school_clerk")
    page.goto("/assets/")
    row = page.locator(f"#table-cards tr[data-card='{card.number}']")
    assert "教学设备采购" in row.inner_text() and "76,000.00" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(re.compile(rf"/assets/{card.pk}/$"))
    assert page.inner_text("#card-original").strip() == "76,000.00"
    assert page.inner_text("#card-status").strip() == "在用"
    assert "HT-E2E-ZC01" in page.inner_text("#card-summary")
    assert page.inner_text("#card-request").strip() == req.number
    assert "购置入账" in page.inner_text("#table-changes")
