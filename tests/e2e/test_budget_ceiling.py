"""The ceiling refusal as a department sees it in Chromium: 二上 above the 控制数 is refused with the reason and the
figures; the clerk lowers a line through the form and the submission goes through."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e


def _second_up_above_ceiling():
    """Next year's round of the province in 二上: 省教育厅 has 800,000.00 of lines against a 750,000.00 ceiling."""
    from ibms.budgeting import services as bs
    from ibms.core import clock
    from ibms.core.money import parse_yuan
    from ibms.iam.models import User
    from ibms.masterdata.models import Unit
    from ibms.projects import services as ps
    from ibms.projects.domain import CostLineData, ProjectData, TargetData

    year = clock.fiscal_year() + 1
    users = {u.username: u for u in User.objects.select_related("organization", "organization__unit")}
    clerk, budget = users["edu_clerk"], users["fin_budget"]
    units = {u.code: u for u in Unit.objects.filter(region_code="990000000")}
    projects = []
    for code, name, yuan in (("001001", "实验室改造", "500000.00"), ("001002", "考试系统升级", "300000.00")):
        p = ps.project_create(actor=clerk, data=ProjectData(
            unit_id=units[code].pk, name=name, category="3", start_year=year, end_year=year, year=year, level=1,
            fund_nature_code="111", exp_func_code="2050204", dep_eco_code="30201",
            cost_lines=[CostLineData(year=year, item=name, quantity=Decimal(1), unit_price=parse_yuan(yuan))],
            targets=[TargetData(kind="output", name="完成率", value="100", measure="%")]))
        ps.project_submit(actor=clerk, pk=p.pk)
        for reviewer in ("edu_reviewer", "fin_sector", "fin_budget"):
            ps.project_review(actor=users[reviewer], pk=p.pk, approve=True, reason="同意")
        projects.append((p, yuan))
    rnd = bs.round_create(actor=budget, year=year, name="浏览器测试编制")
    for p, yuan in projects:
        bs.line_create(actor=clerk, round_id=rnd.pk, data=bs.LineData(project_id=p.pk, amount=parse_yuan(yuan)))
    sub = bs.submission_submit(actor=clerk, round_id=rnd.pk, unit_id=units["001"].pk)
    bs.submission_accept(actor=budget, submission_id=sub.pk)
    bs.round_first_up_close(actor=budget, round_id=rnd.pk)
    bs.ceiling_set(actor=budget, round_id=rnd.pk, department_id=units["001"].pk, fund_nature_code="1",
                   amount=parse_yuan("750000.00"))
    bs.round_second_up_start(actor=budget, round_id=rnd.pk)
    return rnd, units["001"], projects[1][0]


def test_department_submits_second_up_above_its_ceiling_then_corrects(page, login):
    rnd, dept, exam = _second_up_above_ceiling()
    login("edu_clerk")
    page.goto(f"/budgeting/rounds/{rnd.pk}/dept/{dept.pk}/")
    assert "二上" in page.locator("#version-tabs a.active").inner_text()
    assert page.locator("#ceiling-usage tr.exceeded").count() == 1
    assert page.locator("#expenditure-total").inner_text() == "800,000.00"

    page.click("#dept-submit")
    box = page.locator("#errors")
    box.wait_for()
    text = box.inner_text()
    assert box.get_attribute("data-code") == "above_ceiling"
    assert "超过控制数，不能报送" in text and "省教育厅（资金性质 1 财政拨款资金）" in text
    assert "800,000.00" in text and "750,000.00" in text and "超出 50,000.00" in text
    assert page.locator("#dept-status").inner_text() == "编制中"

    # lower the exam system's line by 50,000 through the line form
    row = page.locator("#unit-001002 tr", has_text=exam.code)
    row.get_by_role("link", name="修改").click()
    page.wait_for_selector("#line-form")
    page.fill("#id_amount", "250,000.00")
    page.click("#line-form button[type=submit]")
    page.wait_for_selector("#ceiling-usage")
    assert page.locator("#expenditure-total").inner_text() == "750,000.00"
    assert page.locator("#ceiling-usage tr.exceeded").count() == 0

    page.click("#dept-submit")
    page.wait_for_selector("ul.messages")
    assert "已报送" in page.locator("ul.messages").inner_text()
    assert page.locator("#dept-status").inner_text() == "已报送"
    assert page.locator("#errors").count() == 0
