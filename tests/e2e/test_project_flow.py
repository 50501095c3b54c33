"""The project review flow in Chromium: a unit clerk enters a project and submits it, the department reviewer
returns it with a reason, the clerk resubmits, the department and finance approve, and the project shows
已入库 with its 21-character code."""

from __future__ import annotations

import re

import pytest

from ibms.core import clock
from ibms.masterdata.models import ExpenditureStandard

pytestmark = pytest.mark.e2e


def switch_user(page, login, username: str):
    page.context.clear_cookies()
    login(username)


def open_todo(page, text: str):
    page.goto("/")
    page.locator("#todo-list a", has_text=text).first.click()
    page.wait_for_selector("#project-code")


def test_unit_enters_department_returns_finance_admits(page, login):
    year = clock.fiscal_year()
    px001 = ExpenditureStandard.objects.get(region_code="990000000", code="PX001", fiscal_year=year)
    name = "青年教师教学能力提升培训"

    login("school_clerk")
    page.goto("/projects/")
    page.click("#new-project")
    page.fill("#id_name", name)
    page.select_option("#id_category", "3")
    page.select_option("#id_level", "1")
    page.fill("#id_start_year", str(year))
    page.fill("#id_end_year", str(year))
    page.select_option("#id_fund_nature_code", "111")
    page.select_option("#id_exp_func_code", "2050801")
    page.fill("input[name=costs-0-year]", str(year))
    page.fill("input[name=costs-0-item]", "培训费")
    page.select_option("select[name=costs-0-standard]", str(px001.pk))
    page.fill("input[name=costs-0-quantity]", "30")
    page.fill("input[name=costs-0-frequency]", "2")
    page.select_option("select[name=targets-0-kind]", "output")
    page.fill("input[name=targets-0-name]", "培训教师人数")
    page.fill("input[name=targets-0-value]", "30")
    page.click("#save-project")
    page.wait_for_selector("#project-code")
    code = page.inner_text("#project-code").strip()
    assert re.fullmatch(rf"990000{year % 100:02d}\d{{13}}", code)
    assert page.inner_text("#project-status").startswith("草稿")
    assert page.inner_text("#project-total") == "33,000.00"  # 550 元 × 30 人 × 2 天, computed
    page.click("#submit-project")
    page.wait_for_selector("text=项目已申报")
    assert "已申报" in page.inner_text("#project-status")

    switch_user(page, login, "edu_reviewer")
    open_todo(page, name)
    page.fill("#reason", "请补充培训对象的遴选办法")
    page.click("#return")
    page.wait_for_selector("text=已退回")
    assert page.inner_text("#project-status").startswith("草稿")
    assert "请补充培训对象的遴选办法" in page.inner_text("#review-history")

    switch_user(page, login, "school_clerk")
    open_todo(page, "项目被退回")
    page.click("#submit-project")
    page.wait_for_selector("text=项目已申报")

    for reviewer, expected in (("edu_reviewer", "主管部门已审"), ("fin_sector", "财政已审"), ("fin_budget", "已入库")):
        switch_user(page, login, reviewer)
        open_todo(page, name)
        page.click("#approve")
        page.wait_for_selector("text=已审核通过")
        assert page.inner_text("#project-status").startswith(expected)

    assert page.inner_text("#project-code").strip() == code
    history = page.inner_text("#review-history")
    assert history.count("审核通过") == 3 and "退回" in history
    page.goto("/projects/?status=in_library")
    assert code in page.inner_text("#project-table")
