"""A month of payroll in Chromium: the school's clerk generates the month, downloads the adjustment template, first
uploads it with a bad row (the row, column and reason are shown and nothing changes), then with the one fix (the
slip and its tax recomputed), and submits; the unit's reviewer and its head approve along the chain
(data/payroll/review_chains.csv); the clerk pays it (the treasury's batch requests of the run, against a 人员类
indicator); the reviewer signs the requests, the worker sends them to the bank simulator (its own process) and
applies the receipts; the pay slip PDF downloads with the person's name on it."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from ibms.core import clock
from ibms.payroll.models import PayrollRun
from ibms.treasury.models import PaymentRequest
from tests.constants import DEMO_PIN
from tests.core.pdftext import pdf_text
from tests.e2e.test_payment_flow import run_worker_until_paid, sim, switch_user  # noqa: F401 - the sim fixture
from tests.payroll.builders import YUAN, personnel_indicator, staff
from tests.treasury.builders import school

pytestmark = pytest.mark.e2e


def _edit(data: bytes, changes: dict[tuple[int, str], object]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    cols = {c.value: c.column for c in ws[1]}
    for (row, header), value in changes.items():
        ws.cell(row=row, column=cols[header], value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _download(page, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    with open(info.value.path(), "rb") as fh:
        return fh.read()


def _upload(page, data: bytes) -> None:
    page.set_input_files("#adjust-file", files=[{"name": "工资调整.xlsx", "buffer": data, "mimeType":
                                                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.click("#adjust-upload")
    page.wait_for_load_state()


def _approve(page, login, username: str, run: PayrollRun, comment: str) -> None:
    switch_user(page, login, username)
    page.goto(f"/payroll/runs/{run.pk}/")
    page.fill("#run-approve-form input[name=comment]", comment)
    page.click("#run-approve")
    page.wait_for_url(re.compile(rf"/payroll/runs/{run.pk}/$"))


def test_clerk_generates_fixes_a_row_submits_and_the_month_is_paid(page, login, sim, user):  # noqa: F811
    people = staff(user("school_clerk"), 3)
    ind = personnel_indicator(user("fin_budget"))
    year = clock.fiscal_year()

    login("school_clerk")
    page.goto("/payroll/")
    page.click("#run-new")
    page.select_option("#id_unit_id", str(school().pk))
    page.fill("#id_year", str(year))
    page.fill("#id_month", "1")
    page.click("#run-form button")
    page.wait_for_url(re.compile(r"/payroll/runs/\d+/$"))
    run = PayrollRun.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert page.inner_text("#run-gross").strip() == "24,000.00"
    assert page.inner_text("#run-status").strip() == "已生成"

    template = _download(page, "#adjust-template")
    ws = load_workbook(io.BytesIO(template)).worksheets[0]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == [p.name for p in people]

    # a bad row (a negative amount) beside the fix: refused as a whole, the row and column shown
    _upload(page, _edit(template, {(2, "奖金"): "1000.00", (3, "绩效工资"): -200}))
    errors = page.inner_text("#table-import-errors")
    assert "绩效工资" in errors and "金额不能为负数" in errors and "3" in errors
    assert "未保存任何数据" in page.inner_text("#errors")
    assert PayrollRun.objects.get(pk=run.pk).gross == 24_000 * YUAN
    assert page.inner_text("#run-gross").strip() == "24,000.00"

    # the fix alone: the slip and its tax recomputed (9,000 gross → 66 tax), the change listed
    _upload(page, _edit(template, {(2, "奖金"): "1000.00"}))
    assert "1 人的工资已重新计算" in page.inner_text("ul.messages")
    assert page.inner_text("#run-gross").strip() == "25,000.00"
    assert page.inner_text("#run-tax").strip() == "138.00"
    assert "本月调整" in page.inner_text("#table-changes") and "奖金" in page.inner_text("#table-changes")

    page.click("#run-submit")
    page.wait_for_function("document.querySelector('#run-status').innerText.includes('审核中')")
    assert page.locator("#adjust-upload").count() == 0  # no longer editable

    _approve(page, login, "school_reviewer", run, "核对无误")
    assert "单位负责人审批" in page.inner_text("#run-status")
    _approve(page, login, "school_head", run, "同意发放")
    assert page.inner_text("#run-status").strip() == "已审批"

    switch_user(page, login, "school_clerk")
    page.goto(f"/payroll/runs/{run.pk}/")
    page.select_option("#run-pay-form select[name=indicator_id]", str(ind.pk))
    page.click("#run-pay")
    page.wait_for_function("document.querySelector('#run-status').innerText.includes('已提交支付')")
    requests = list(PaymentRequest.objects.filter(purpose__contains=run.number).order_by("id"))
    assert requests and sum(r.amount for r in requests) == 25_000 * YUAN
    assert all(r.status == "submitted" and r.is_payroll for r in requests)

    switch_user(page, login, "school_reviewer")
    for req in requests:
        page.goto(f"/treasury/requests/{req.pk}/")
        page.fill("#id_pin", DEMO_PIN)
        page.click("#review-form button[value=approve]")
        page.wait_for_function("document.querySelector('#request-status').innerText.includes('已生成凭证')")
    vouchers = [run_worker_until_paid(req) for req in requests]
    paid_lines = sum(sim.vouchers()[v.number]["pay_rows"] for v in vouchers)
    assert paid_lines == sum(r.lines.count() for r in requests) > 3

    switch_user(page, login, "school_clerk")
    page.goto(f"/payroll/runs/{run.pk}/")
    first = people[0]
    pdf = _download(page, f"#table-slips a[href$='/slips/{first.pk}.pdf']")
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert first.name in text and "7,104.00" in text  # the adjusted net: 9,000 − 1,800 − 66 − 30
