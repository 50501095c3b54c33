"""A procurement in Chromium: the school's clerk enters a 采购计划 against a procurement-flagged indicator and
submits it, the budget division approves it (the amount is frozen on the indicator), the clerk files the
contract against the approved plan with its payment schedule, and the budget division approves the filing — the
plan's freeze becomes the contract's commitment and the saving goes back to the indicator.

`file_contract_against_plan` is the shared first half: the asset app's browser test continues from its result
(pay the contract's milestone, let the bank pay, find the asset card)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ibms.indicators.models import Indicator
from ibms.procurement.models import ProcurementPlan
from ibms.treasury.models import Contract
from tests.e2e.test_payment_flow import switch_user
from tests.treasury.builders import indicator

pytestmark = pytest.mark.e2e


@dataclass
class Filed:
    indicator: Indicator
    plan: ProcurementPlan
    contract: Contract


def file_contract_against_plan(page, login, user, *, plan_yuan: str = "80000.00", contract_yuan: str = "76000.00",
                               catalogue_code: str = "C16070000", quantity: int = 1, number: str = "HT-E2E-0001",
                               **indicator_fields) -> Filed:
    """Plan entered and submitted by school_clerk, approved by fin_budget, contract filed by school_clerk, all in
    the browser; returns the rows as stored. `indicator_fields` refine the indicator built (e.g. dep_eco_code)."""
    ind = indicator(user("fin_budget"), 20_000_000, is_gov_pur=True, summary="教学设备购置（浏览器测试）",
                    **indicator_fields)
    login("school_clerk")
    page.goto("/procurement/")
    page.click("#plan-new")
    page.select_option("#id_indicator_id", str(ind.pk))
    page.select_option("#id_catalogue_code", catalogue_code)
    page.select_option("#id_method", "公开招标")
    page.fill("#id_name", "教学设备采购")
    page.fill("#id_quantity", str(quantity))
    page.fill("#id_amount", plan_yuan)
    page.click("#plan-form button")
    page.wait_for_selector("#plan-submit")
    page.click("#plan-submit")
    page.wait_for_selector("#plan-status:has-text('审核中')")
    plan = ProcurementPlan.objects.get(indicator=ind)

    switch_user(page, login, "fin_budget")
    page.goto(f"/procurement/{plan.pk}/")
    page.click("#plan-approve")
    page.wait_for_selector("#plan-status:has-text('已批准')")
    assert page.inner_text("#plan-frozen").strip() == "80,000.00"

    switch_user(page, login, "school_clerk")
    page.goto(f"/procurement/{plan.pk}/")
    page.click("#file-contract")
    page.wait_for_selector("#contract-form")
    page.fill("#id_number", number)
    page.fill("#id_name", "教学用台式计算机采购合同")
    page.fill("#id_amount", contract_yuan)
    page.fill("#id_sign_date", "2026-03-01")
    page.fill("#id_payee_name", "华夏电脑有限公司")
    page.fill("#id_payee_account_no", "6222000012340001")
    assert page.input_value("#id_plan_id") == str(plan.pk)
    page.fill("#id_milestones", f"到货验收,{contract_yuan}")
    page.click("#contract-form button")
    page.wait_for_selector(f"#table-contracts td:has-text('{number}')")

    switch_user(page, login, "fin_budget")  # 合同备案审核: the freeze becomes the contract's commitment
    page.goto("/treasury/contracts/")
    row = page.locator("#table-contracts tr", has_text=number)
    row.locator("input[name=comment]").fill("准予备案")
    row.locator("button[name=approve][value='1']").click()
    page.wait_for_selector(f"#table-contracts tr:has-text('{number}') td:has-text('有效')")
    switch_user(page, login, "school_clerk")
    return Filed(Indicator.objects.get(pk=ind.pk), ProcurementPlan.objects.get(pk=plan.pk),
                 Contract.objects.get(number=number, region_code=ind.region_code))


def test_unit_files_a_contract_against_its_approved_plan(page, login, user):
    filed = file_contract_against_plan(page, login, user)
    assert filed.contract.plan_id == filed.plan.pk and filed.contract.amount == 7_600_000
    assert filed.plan.status == ProcurementPlan.Status.CONTRACTED
    assert (filed.plan.frozen, filed.plan.released) == (7_600_000, 400_000)
    ind = filed.indicator
    assert (ind.available, ind.frozen) == (20_000_000 - 7_600_000, 7_600_000)
    page.goto(f"/procurement/{filed.plan.pk}/")
    assert "已备案合同" in page.inner_text("#plan-status")
    assert page.locator("#table-entries tbody tr").count() == 2  # the freeze, then the saving unfrozen
