"""本月调整 from the Excel template: the template holds the run's people and their adjustable amounts; an upload
with any bad row is refused as a whole (row, column and reason listed in Chinese, nothing changed); a good one
recomputes the slips it changes (deductions and the tax by the cumulative method) and the run's totals in the same
transaction; only while the run is editable; other units and roles without the permission are refused."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook

from ibms.core import clock
from ibms.payroll import services as ps
from ibms.payroll.models import PayrollRun
from tests.treasury.builders import school

from .builders import YUAN, fresh, staff

API = "/api/v1/payroll"
YEAR = clock.fiscal_year()


def _generate(clerk, n=3, month=1) -> PayrollRun:
    staff(clerk, n)
    return ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=month)


def _template(c, run) -> bytes:
    r = c.get(f"{API}/runs/{run.pk}/adjustments.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    return r.content


def _edit(data: bytes, changes: dict[tuple[int, str], object]) -> bytes:
    """Set cells (row, header) of the template's sheet; return the new file."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    cols = {c.value: c.column for c in ws[1]}
    for (row, header), value in changes.items():
        ws.cell(row=row, column=cols[header], value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _upload(c, url, data: bytes, **kw):
    return c.post(url, {"file": _named(data)}, **kw)


def _named(data: bytes):
    f = io.BytesIO(data)
    f.name = "调整.xlsx"
    return f


def _state(run):
    return [(s.person_id, s.amounts, s.gross, s.tax, s.net) for s in run.slips.order_by("id")], \
        (fresh(run).gross, fresh(run).tax, fresh(run).net)


def test_template_lists_the_runs_people_and_adjustable_items(client_as, clerk):
    run = _generate(clerk)
    ws = load_workbook(io.BytesIO(_template(client_as("school_clerk"), run))).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["身份证号", "姓名"]
    assert {"基本工资", "薪级工资", "津贴补贴", "绩效工资", "奖金", "伙食补助", "其他扣款"} <= set(header)
    assert not {"养老保险", "个人所得税", "住房公积金"} & set(header)  # computed, not entered
    slips = list(run.slips.order_by("id"))
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [(r[0], r[1]) for r in body] == [(s.id_number, s.name) for s in slips]
    assert body[0][header.index("基本工资")] == 5000


def test_bad_rows_are_listed_and_nothing_changes(client_as, clerk):
    run = _generate(clerk)
    c = client_as("school_clerk")
    before = _state(run)
    data = _edit(_template(c, run), {(2, "奖金"): "1000.00", (3, "绩效工资"): -50, (3, "姓名"): "张冒名",
                                     (4, "其他扣款"): "一百", (5, "身份证号"): "110101199001010000",
                                     (6, "身份证号"): run.slips.order_by("id")[0].id_number})
    r = _upload(c, f"{API}/runs/{run.pk}/adjustments", data)
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "import_rejected"
    where = {(d["row"], d["column"]) for d in body["detail"]}
    # a cell that is not an amount is refused by the reader before any row is looked at
    assert where == {(4, "其他扣款")} and "金额" in body["detail"][0]["message"]
    data = _edit(_template(c, run), {(2, "奖金"): "1000.00", (3, "绩效工资"): -50, (3, "姓名"): "张冒名",
                                     (5, "身份证号"): "110101199001010000",
                                     (6, "身份证号"): run.slips.order_by("id")[0].id_number})
    r = _upload(c, f"{API}/runs/{run.pk}/adjustments", data)
    assert r.status_code == 422
    detail = {(d["row"], d["column"]): d for d in r.json()["detail"]}
    assert set(detail) == {(3, "绩效工资"), (3, "姓名"), (5, "身份证号"), (6, "身份证号")}
    assert detail[(3, "绩效工资")]["message"] == "金额不能为负数"
    assert "不在本月工资表中" in detail[(5, "身份证号")]["message"]
    assert detail[(6, "身份证号")]["message"] == "与第 2 行重复"
    assert "姓名与身份证号不符" in detail[(3, "姓名")]["message"]
    assert _state(run) == before  # row 2 was fine, but nothing changed


def test_a_good_upload_recomputes_the_slip_and_the_tax(client_as, clerk):
    run = _generate(clerk)
    c = client_as("school_clerk")
    first = run.slips.order_by("id")[0]
    r = _upload(c, f"{API}/runs/{run.pk}/adjustments", _edit(_template(c, run), {(2, "奖金"): "1000.00"}))
    assert r.status_code == 200, r.content
    assert (r.json()["rows"], r.json()["changed"]) == (3, 1)
    s = run.slips.get(pk=first.pk)
    # 9,000 gross; social 1,800 (the bonus is no base); taxable 9,000 − 1,800 − 5,000 = 2,200 × 3% = 66; union 30
    assert (s.amounts["JJ"], s.gross, s.social, s.tax, s.other, s.net) == (
        1_000 * YUAN, 9_000 * YUAN, 1_800 * YUAN, 66 * YUAN, 30 * YUAN, 7_104 * YUAN)
    assert (s.cum_income, s.cum_tax, s.months) == (9_000 * YUAN, 66 * YUAN, 1)
    run = fresh(run)
    assert (run.gross, run.tax, run.net) == (25_000 * YUAN, 138 * YUAN, 18_402 * YUAN + 970 * YUAN)
    assert [(ch["kind"], ch["person_id"]) for ch in run.changes] == [("adjust", first.person_id)]
    assert "奖金" in run.changes[0]["detail"]
    # the same file again changes nothing more
    again = _upload(c, f"{API}/runs/{run.pk}/adjustments", _edit(_template(c, run), {}))
    assert again.json()["changed"] == 0 and fresh(run).net == run.net


def test_only_while_editable_and_only_the_units_clerk(client_as, clerk):
    run = _generate(clerk)
    c = client_as("school_clerk")
    data = _edit(_template(c, run), {(2, "奖金"): "500"})
    assert _upload(client_as("school_reviewer"), f"{API}/runs/{run.pk}/adjustments", data).status_code == 403
    assert _upload(client_as("hospital_clerk"), f"{API}/runs/{run.pk}/adjustments", data).status_code == 404
    r = c.post(f"{API}/runs/{run.pk}/submit", json.dumps({}), content_type="application/json")
    assert r.json()["status"] == "submitted"
    r = _upload(c, f"{API}/runs/{run.pk}/adjustments", data)
    assert (r.status_code, r.json()["code"]) == (409, "not_editable")
    assert fresh(run).gross == 24_000 * YUAN


def test_the_page_shows_every_problem_and_then_takes_the_fix(client_as, clerk):
    run = _generate(clerk)
    c = client_as("school_clerk")
    page = c.get(f"/payroll/runs/{run.pk}/")
    assert "下载调整模板" in page.content.decode() and "上传调整" in page.content.decode()
    tpl = c.get(f"/payroll/runs/{run.pk}/adjustments.xlsx").content
    bad = _edit(tpl, {(2, "奖金"): "1000", (3, "绩效工资"): -1})
    r = _upload(c, f"/payroll/runs/{run.pk}/adjustments/", bad)
    html = r.content.decode()
    assert r.status_code == 422 and "导入失败，未保存任何数据" in html and "金额不能为负数" in html
    assert 'id="table-import-errors"' in html and "<td>3</td><td>绩效工资</td>" in html
    assert fresh(run).gross == 24_000 * YUAN
    r = _upload(c, f"/payroll/runs/{run.pk}/adjustments/", _edit(tpl, {(2, "奖金"): "1000"}), follow=True)
    assert r.redirect_chain == [(f"/payroll/runs/{run.pk}/", 302)]
    assert r.status_code == 200 and "已导入 3 行，1 人的工资已重新计算" in r.content.decode()
    assert fresh(run).gross == 25_000 * YUAN
    # no file
    r = c.post(f"/payroll/runs/{run.pk}/adjustments/", {})
    assert r.status_code == 422 and "请选择要导入的 Excel 文件" in r.content.decode()
    # the reviewer's page offers no upload
    assert "上传调整" not in client_as("school_reviewer").get(f"/payroll/runs/{run.pk}/").content.decode()
