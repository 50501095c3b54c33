"""Downloads: a person's pay slip PDF (through core.reports: the embedded CJK font, the person's name as text), the
unit's monthly payroll table and the region's summary by unit and item as Excel (a finance user sees the region's
units; a unit's clerk only their own)."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from ibms.core import clock
from ibms.payroll import services as ps
from tests.core.pdftext import pdf_text
from tests.treasury.builders import school

from .builders import approved_run, staff

API = "/api/v1/payroll"
YEAR = clock.fiscal_year()


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).worksheets[0]


def test_slip_pdf_prints_the_persons_slip(client_as, clerk):
    a, *_ = staff(clerk, 2)
    run = ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=1)
    for url in (f"{API}/runs/{run.pk}/slips/{a.pk}.pdf", f"/payroll/runs/{run.pk}/slips/{a.pk}.pdf"):
        r = client_as("school_clerk").get(url)
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
        text = pdf_text(r.content)
        assert a.name in text and school().name in text
        assert "6,134.00" in text and "基本工资" in text and "5,000.00" in text  # net, an item
    assert client_as("hospital_clerk").get(f"{API}/runs/{run.pk}/slips/{a.pk}.pdf").status_code == 404


def test_monthly_table_has_a_row_per_person_and_the_totals(client_as, clerk):
    people = staff(clerk, 3)
    run = ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=1)
    r = client_as("school_clerk").get(f"{API}/runs/{run.pk}/table.xlsx")
    assert r.status_code == 200
    ws = _sheet(r.content)
    header = [c.value for c in ws[1]]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [row[0] for row in rows] == [p.name for p in people] + ["合计"]
    assert rows[-1][header.index("应发合计")] == Decimal("24000")
    assert rows[-1][header.index("个人所得税")] == Decimal("108")
    assert rows[0][header.index("基本工资")] == Decimal("5000")


def test_region_summary_by_unit_and_item(client_as, clerk, reviewer, head):
    staff(clerk, 3)
    approved_run(clerk, reviewer, head, 2)
    url = f"{API}/summary.xlsx?year={YEAR}&month=2"
    ws = _sheet(client_as("fin_budget").get(url).content)
    assert ws["A1"].value == f"{YEAR}年2月工资汇总表"
    header = [c.value for c in ws[3]]
    assert header[:5] == ["单位编码", "单位名称", "工资表编号", "状态", "人数"]
    rows = {row[0]: row for row in ws.iter_rows(min_row=4, values_only=True)}
    line = rows["001001"]
    assert (line[1], line[3], line[4]) == (school().name, "已审批", 3)
    assert line[header.index("基本工资")] == Decimal("15000")
    assert line[header.index("个人所得税")] == Decimal("108")
    assert line[header.index("实发合计")] == Decimal("18402")
    assert rows["合计"][header.index("应发合计")] == Decimal("24000")
    # the treasury division reads it too; another unit's clerk sees no row of the school
    assert "001001" in {row[0] for row in _sheet(client_as("fin_treasury").get(url).content)
                        .iter_rows(min_row=4, values_only=True)}
    other = {row[0] for row in _sheet(client_as("hospital_clerk").get(url).content).iter_rows(min_row=4,
                                                                                             values_only=True)}
    assert "001001" not in other
    r = client_as("fin_budget").get(f"{API}/summary.xlsx?year={YEAR}&month=13")
    assert r.status_code == 422 and [d["code"] for d in r.json()["detail"]] == ["month_invalid"]
    # the page, and its Excel and PDF
    page = client_as("fin_budget").get(f"/payroll/summary/?year={YEAR}&month=2")
    assert page.status_code == 200 and school().name in page.content.decode()
    xlsx = client_as("fin_budget").get(f"/payroll/summary/?year={YEAR}&month=2&format=xlsx")
    assert xlsx.content[:2] == b"PK"
    pdf = client_as("fin_budget").get(f"/payroll/summary/?year={YEAR}&month=2&format=pdf")
    assert pdf.content.startswith(b"%PDF") and school().name in pdf_text(pdf.content)


def test_run_pages_link_the_exports_and_show_only_allowed_actions(client_as, clerk):
    staff(clerk, 2)
    run = ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=YEAR, month=1)
    html = client_as("school_clerk").get(f"/payroll/runs/{run.pk}/").content.decode()
    assert all(s in html for s in ("导出工资表（Excel）", "工资条PDF", "本月工资汇总表", "提交审核", "下载调整模板"))
    assert "同意" not in html
    ps.payroll_run_submit(actor=clerk, pk=run.pk)
    rv = client_as("school_reviewer").get(f"/payroll/runs/{run.pk}/").content.decode()
    assert 'id="run-approve"' in rv and "提交审核" not in rv and "待单位审核" in rv
    hd = client_as("school_head").get(f"/payroll/runs/{run.pk}/").content.decode()
    assert 'id="run-approve"' not in hd  # step 1 is the reviewer's
    listing = client_as("school_clerk").get("/payroll/").content.decode()
    assert run.number in listing and "工资汇总表" in listing
