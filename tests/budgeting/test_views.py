"""The budgeting pages as people use them: round page with stage and actions, workbench, line form, ceilings,
comparison (HTML/Excel), lists with filters, approval and reply forms; refusals shown with their reasons."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from ibms.budgeting.models import BudgetLine, BudgetRound, Version
from ibms.core import clock

from .builders import YEAR, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_round():
    return BudgetRound.objects.get(region_code="990000000", year=clock.fiscal_year())


def test_round_list_and_page(client_as, demo_round):
    fin = client_as("fin_budget")
    r = fin.get("/budgeting/")
    assert r.status_code == 200 and demo_round.name in r.content.decode()
    page = fin.get(f"/budgeting/rounds/{demo_round.pk}/").content.decode()
    assert 'class="current" data-stage="replied"' in page
    assert "省教育厅" in page and "批复情况" in page
    assert client_as("school_clerk").get(f"/budgeting/rounds/{demo_round.pk}/").status_code == 200
    assert client_as("county_budget").get(f"/budgeting/rounds/{demo_round.pk}/").status_code == 404


def test_nav_links_by_permission(client_as):
    home = client_as("edu_clerk").get("/").content.decode()
    assert 'href="/budgeting/"' in home and 'href="/budgeting/lines/"' in home
    assert 'href="/budgeting/"' not in client_as("sysadmin").get("/").content.decode()


def test_workbench_shows_lines_by_unit_in_each_version(client_as, demo_round):
    edu = client_as("edu_clerk")
    dept = unit("001")
    r = edu.get(f"/budgeting/rounds/{demo_round.pk}/dept/{dept.pk}/?version=first_up")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="unit-001001"' in html and 'id="unit-001002"' in html and "人员经费" in html
    # another department's workbench is not found for this clerk
    assert edu.get(f"/budgeting/rounds/{demo_round.pk}/dept/{unit('002').pk}/").status_code == 404


def test_comparison_page_and_excel(client_as, demo_round):
    fin = client_as("fin_budget")
    html = fin.get(f"/budgeting/rounds/{demo_round.pk}/compare/").content.decode()
    assert "版本对比" in html and "二上−一上" in html
    r = fin.get(f"/budgeting/rounds/{demo_round.pk}/compare/?format=xlsx&department={unit('001').pk}")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][5:8] == ("一上", "二上", "批复")
    total = rows[-1]
    assert total[0] == "合计"
    lines = BudgetLine.objects.filter(round=demo_round, department=unit("001"), direction="expenditure")
    assert int(total[7] * 100) == sum(ln.amount for ln in lines.filter(version=Version.REPLY))


def test_line_and_reply_lists_filter(client_as, demo_round):
    fin = client_as("fin_budget")
    r = fin.get("/budgeting/lines/?version=reply&is_transfer=true")
    assert r.status_code == 200
    assert "转移支付" in r.content.decode() or "990102000" in r.content.decode()
    assert "共 1 条" in r.content.decode()
    r = fin.get("/budgeting/replies/?level=unit")
    assert r.status_code == 200 and "部门批复单位" in r.content.decode()


def test_line_form_shows_refusal_beside_the_field(client_as, user, library_project):
    from ibms.budgeting.services import round_create

    rnd = round_create(actor=user("fin_budget"), year=YEAR)
    p = library_project("001001", "1000.00", eco="30201")
    school = client_as("school_clerk")
    url = f"/budgeting/rounds/{rnd.pk}/lines/new/?dept={unit('001').pk}"
    assert school.get(url).status_code == 200
    r = school.post(url, {"direction": "expenditure", "project_id": str(p.pk), "amount": "1000",
                          "gov_eco_code": "50101", "dept": str(unit("001").pk)})
    assert r.status_code == 422
    assert "政府经济分类 50101 与部门经济分类 30201 不对应" in r.content.decode()
    r = school.post(url, {"direction": "expenditure", "project_id": str(p.pk), "amount": "1,000.00",
                          "dept": str(unit("001").pk)})
    assert r.status_code == 302
    assert BudgetLine.objects.get(round=rnd).amount == 100_000


def test_finance_forms_drive_the_stages(client_as, user, library_project, walk):
    from ibms.budgeting.services import line_create, round_create

    from .builders import expenditure

    rnd = round_create(actor=user("fin_budget"), year=YEAR)
    p = library_project("001", "1000.00", func="2050199")
    line_create(actor=user("edu_clerk"), round_id=rnd.pk, data=expenditure(p, "1000.00"))
    fin = client_as("fin_budget")
    r = fin.post(f"/budgeting/rounds/{rnd.pk}/action/close_first_up/")
    assert r.status_code == 422 and "尚未审核" in r.content.decode()
    walk.to_second_up(rnd, {"001": "1000.00"})
    walk.to_consolidated(rnd)
    r = fin.get(f"/budgeting/rounds/{rnd.pk}/")
    assert "登记人大批准" in r.content.decode()
    r = fin.post(f"/budgeting/rounds/{rnd.pk}/approval/", {"doc_no": "人大〔测〕1号", "approval_date": f"{YEAR}-01-10"})
    assert r.status_code == 302
    r = fin.post(f"/budgeting/rounds/{rnd.pk}/reply/", {"doc_no": "", "doc_date": f"{YEAR}-01-12"})
    assert r.status_code == 422
    r = fin.post(f"/budgeting/rounds/{rnd.pk}/reply/", {"doc_no": "华财预〔测〕1号", "title": "批复",
                                                        "doc_date": f"{YEAR}-01-05"})
    assert r.status_code == 422 and "不能早于人大批准日期" in r.content.decode()
    r = fin.post(f"/budgeting/rounds/{rnd.pk}/reply/", {"doc_no": "华财预〔测〕1号", "title": "批复",
                                                        "doc_date": f"{YEAR}-01-12"})
    assert r.status_code == 302
    rnd.refresh_from_db()
    assert rnd.stage == "replied" and rnd.reply_doc_no == "华财预〔测〕1号"


def test_ceilings_page(client_as, user, walk, library_project):
    from ibms.budgeting.services import line_create, round_create

    from .builders import expenditure

    rnd = round_create(actor=user("fin_budget"), year=YEAR)
    p = library_project("001", "1000.00", func="2050199")
    line_create(actor=user("edu_clerk"), round_id=rnd.pk, data=expenditure(p, "1000.00"))
    walk.submit_all(rnd, Version.FIRST_UP)
    fin = client_as("fin_budget")
    fin.post(f"/budgeting/rounds/{rnd.pk}/action/close_first_up/")
    r = fin.post(f"/budgeting/rounds/{rnd.pk}/ceilings/", {"department_id": unit("001").pk,
                                                           "fund_nature_code": "1", "amount": "900"})
    assert r.status_code == 302
    html = fin.get(f"/budgeting/rounds/{rnd.pk}/ceilings/").content.decode()
    assert "900.00" in html and "财政拨款资金" in html
    assert client_as("edu_clerk").get(f"/budgeting/rounds/{rnd.pk}/ceilings/").status_code == 200
    r = client_as("edu_clerk").post(f"/budgeting/rounds/{rnd.pk}/ceilings/", {
        "department_id": unit("001").pk, "fund_nature_code": "1", "amount": "5000"})
    assert r.status_code == 403


def test_reply_deadlines_are_configurable_per_region(client_as, user):
    from ibms.budgeting.models import ReplyDeadline
    from ibms.budgeting.services import round_create

    fin = client_as("fin_budget")
    assert "20" in fin.get("/r/reply-deadlines/").content.decode()
    r = fin.post("/r/reply-deadlines/new/", {"level": "department", "days": "25", "basis": "本省规定（测试）"})
    assert r.status_code == 302
    assert ReplyDeadline.objects.get(region_code="990000000", level="department").days == 25
    assert round_create(actor=user("fin_budget"), year=YEAR).dept_reply_days == 25
    assert client_as("edu_clerk").post("/r/reply-deadlines/new/", {"level": "unit", "days": "3"}).status_code == 403
