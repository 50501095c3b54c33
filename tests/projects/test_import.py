"""Excel import of projects: the template, a good file (drafts with codes and year plans), and a file with bad
rows that changes nothing and names every bad row and column."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from ibms.core.models import Sequence
from ibms.core.services import ImportFailed
from ibms.projects import domain
from ibms.projects.models import Project
from ibms.projects.resources import import_columns
from ibms.projects.services import project_create, projects_import

from .helpers import YEAR, project_data

pytestmark = pytest.mark.django_db
HEAD = ["项目类别", "项目级次", "一级项目代码", "项目名称", "单位代码", "开始年度", "结束年度", "支出功能分类", "资金性质",
        "部门经济分类", "政府采购", "转移支付项目", "接收区划", "第1年金额", "第2年金额", "第3年金额"]


def workbook(rows: list[list]) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "projects.xlsx"
    return buf


def good_row(name="校园安全设施改造", unit="001001", **kw) -> list:
    row = {"项目类别": "特定目标类", "项目级次": "一级项目", "一级项目代码": "", "项目名称": name, "单位代码": unit,
           "开始年度": YEAR, "结束年度": YEAR + 1, "支出功能分类": "2050203", "资金性质": "111",
           "部门经济分类": "30213", "政府采购": "否", "转移支付项目": "否", "接收区划": "",
           "第1年金额": "120,000.00", "第2年金额": "80000", "第3年金额": ""}
    row.update(kw)
    return [row[h] for h in HEAD]


def sequence_value() -> int:
    s = Sequence.objects.filter(key=domain.code_sequence_key("990000000", YEAR)).first()
    return s.last_value if s else 0


def test_template_has_the_columns_and_category_choices(client_as):
    r = client_as("school_clerk").get("/projects/import/template/")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    header = [c.value.rstrip("*") for c in wb.worksheets[0][1]]
    assert header[:len(HEAD)] == HEAD
    assert "特定目标类" in [c.value for c in wb["选项"]["A"]]
    assert "运转类" not in [c.value for c in wb["选项"]["A"]]  # only leaves


def test_good_file_creates_drafts_with_codes_and_plans(client_as, user):
    policy = project_create(actor=user("edu_clerk"), data=project_data(unit_code="001", name="一级政策项目"))
    before = sequence_value()
    f = workbook([good_row(), good_row("实验室设备更新", 项目级次="二级项目", 一级项目代码=policy.code,
                                       政府采购="是", 第2年金额="")])
    r = client_as("school_clerk").post("/projects/import/", {"file": f})
    assert r.status_code == 200, r.content.decode()
    assert "导入成功：新增 2 个项目" in r.content.decode()
    a, b = Project.objects.filter(origin="imported").order_by("code")
    assert (a.status, a.category, a.level, a.unit.code) == ("draft", "3", 1, "001001")
    assert dict(a.year_plans.values_list("year", "amount")) == {YEAR: 12_000_000, YEAR + 1: 8_000_000}
    assert a.total_amount == 20_000_000
    assert b.parent_id == policy.pk and b.is_gov_pur and b.total_amount == 12_000_000
    assert sequence_value() == before + 2 and int(b.code[8:]) == before + 2


def test_bad_rows_change_nothing_and_are_all_reported(client_as):
    before, count = sequence_value(), Project.objects.count()
    f = workbook([
        good_row(),                                            # row 2: fine on its own
        good_row(项目类别="运转类"),                              # row 3: not a leaf → the cell is refused
        good_row(支出功能分类="20502"),                           # row 4: function class not a leaf
        good_row(单位代码="002001"),                             # row 5: another unit, out of the clerk's scope
        good_row(第3年金额="100"),                               # row 6: a year outside the period
        good_row(项目级次="二级项目"),                            # row 7: 二级 without its 一级
    ])
    r = client_as("school_clerk").post("/projects/import/", {"file": f})
    assert r.status_code == 422
    assert Project.objects.count() == count and sequence_value() == before
    html = r.content.decode()
    assert "导入失败，未保存任何数据" in html and 'id="import-errors"' in html
    # cell-level errors first (the category), all of them in one report
    assert "运转类" in html


def test_row_errors_name_row_and_column(user):
    from ibms.core.excel import read_rows

    f = workbook([good_row(), good_row(支出功能分类="20502"), good_row(单位代码="999999"),
                  good_row(第3年金额="100"), good_row(项目级次="二级项目")])
    rows = read_rows(f, import_columns())
    count = Project.objects.count()
    with pytest.raises(ImportFailed) as exc:
        projects_import(actor=user("school_clerk"), rows=rows)
    problems = {(p.row, p.column) for p in exc.value.problems}
    assert problems == {(3, "支出功能分类"), (4, "单位代码"), (5, "第3年金额"), (6, "一级项目代码")}
    assert exc.value.code == "import_rejected"
    assert Project.objects.count() == count
