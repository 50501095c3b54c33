"""The 国库集中支付 pages: entry with the indicator picker, check results with every reason, submit with an
explanation, review, voucher pages, batch import from Excel, contracts, allocations, reconciliation."""

from __future__ import annotations

import io

import openpyxl
import pytest

from ibms.treasury.models import PaymentRequest

from .builders import indicator, payee

pytestmark = pytest.mark.django_db


def test_lists_render_for_each_role(client_as):
    for username in ("school_clerk", "school_reviewer", "fin_treasury", "auditor", "edu_reviewer"):
        c = client_as(username)
        for url in ("/treasury/", "/treasury/vouchers/", "/treasury/contracts/", "/treasury/allocations/",
                    "/treasury/reconciliation/"):
            r = c.get(url)
            assert r.status_code == 200, (username, url, r.status_code)
    assert client_as("school_reviewer").get("/treasury/review/").status_code == 200
    assert client_as("auditor").get("/treasury/review/").status_code in (403, 302)


def test_entry_check_and_submit(client_as, user):
    ind = indicator(user("fin_budget"), 500_000)
    c = client_as("school_clerk")
    picker = c.get("/treasury/indicators/", {"q": ind.code}, HTTP_HX_REQUEST="true")
    assert ind.code in picker.content.decode() and 'data-available="500000"' in picker.content.decode()
    r = c.post("/treasury/new/", {"indicator_id": ind.pk, "amount": "3000.00", "purpose": "购买节日慰问品",
                                  "payee_id": payee().pk, "set_mode_code": "1", "expense": "business"})
    assert r.status_code == 302, r.content.decode()[:2000]
    req = PaymentRequest.objects.get(indicator=ind)
    page = c.get(f"/treasury/requests/{req.pk}/").content.decode()
    assert "控制检查通过" in page and "黄色预警" in page  # MON-15 suspicious purpose shown before submit
    classes = page.split('id="request-classes">', 1)[1].split("</td>", 1)[0]  # codes by their names
    assert f"（{req.exp_func_code}）" in classes and f"（{req.dep_eco_code}）" in classes and "资金性质 " in classes
    # an overdraw shows every reason on the page, nothing reserved
    r2 = c.post("/treasury/new/", {"indicator_id": ind.pk, "amount": "9000.00", "purpose": "购买设备",
                                   "payee_id": payee().pk, "set_mode_code": "1", "expense": "business"})
    big = PaymentRequest.objects.filter(indicator=ind).exclude(pk=req.pk).get()
    assert r2.status_code == 302
    blocked = c.get(f"/treasury/requests/{big.pk}/").content.decode()  # no 提交 on a request that cannot go
    assert 'id="submit-blocked"' in blocked and '<button class="btn primary" type="submit">提交</button>' not in blocked
    assert '<button class="btn primary" type="submit">提交</button>' in page
    resp = c.post(f"/treasury/requests/{big.pk}/", {"action": "submit", "idempotency_key": "page-1"})
    assert resp.status_code == 422
    text = resp.content.decode()
    assert 'data-code="overdraw"' in text and 'data-code="monitoring_blocked"' in text
    resp = c.post(f"/treasury/requests/{req.pk}/", {"action": "submit", "idempotency_key": "page-2"})
    assert resp.status_code == 302
    assert "支付申请已提交审核" in c.get(resp["Location"]).content.decode()  # each action says it was done
    assert PaymentRequest.objects.get(pk=req.pk).status == "submitted"
    history = c.get(f"/treasury/requests/{req.pk}/").content.decode()
    assert 'id="request-history"' in history and "<td>第一实验中学 刘会计</td>" in history  # names, not logins
    assert "school_clerk" not in history and "：treasury." not in history  # event names in Chinese
    queue = client_as("school_reviewer").get("/treasury/review/").content.decode()
    assert req.number in queue
    r = client_as("school_reviewer").post(f"/treasury/requests/{req.pk}/", {"action": "reject", "comment": ""})
    assert r.status_code == 422 and "退回必须填写原因" in r.content.decode()


def test_batch_import_from_excel(client_as, user):
    ind = indicator(user("fin_budget"), 10_000_000, dep_eco_code="30101", gov_eco_code="50101")
    c = client_as("school_clerk")
    template = c.get("/treasury/batch/", {"template": "1"})
    assert template.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(template.content))
    ws = wb.active
    for i in range(1, 51):
        ws.append([f"职工{i:02d}", f"6217000000{i:06d}", "建设银行", "", 1000 + i, "工资"])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "lines.xlsx"
    r = c.post("/treasury/batch/", {"indicator_id": ind.pk, "purpose": "发放工资", "is_payroll": "on", "file": buf})
    assert r.status_code == 302, r.content.decode()[:3000]
    req = PaymentRequest.objects.get(indicator=ind)
    assert req.is_batch and req.is_payroll and req.line_count == 50
    assert req.amount == sum((1000 + i) * 100 for i in range(1, 51))
    assert req.lines.count() == 50


def test_edit_after_reject(client_as, user):
    from ibms.treasury import services as s

    ind = indicator(user("fin_budget"), 1_000_000)
    c = client_as("school_clerk")
    req = s.payment_request_create(actor=user("school_clerk"), data=s.DraftIn(
        indicator_id=ind.pk, amount=50_000, purpose="维修课桌", payee=s.PayeeIn(payee_id=payee().pk)))
    s.payment_request_submit(actor=user("school_clerk"), pk=req.pk, idempotency_key="edit-1")
    s.payment_request_review(actor=user("school_reviewer"), pk=req.pk, approve=False, comment="金额有误")
    page = c.get(f"/treasury/requests/{req.pk}/edit/")
    assert page.status_code == 200 and "500.00" in page.content.decode()
    r = c.post(f"/treasury/requests/{req.pk}/edit/", {"indicator_id": ind.pk, "amount": "450.00",
                                                      "purpose": "维修课桌（更正金额）", "payee_id": payee().pk,
                                                      "set_mode_code": "1", "expense": "business"})
    assert r.status_code == 302
    assert PaymentRequest.objects.get(pk=req.pk).amount == 45_000
    r = c.post(f"/treasury/requests/{req.pk}/", {"action": "submit", "idempotency_key": "edit-2"})
    assert r.status_code == 302 and PaymentRequest.objects.get(pk=req.pk).status == "submitted"
    assert client_as("hospital_clerk").get(f"/treasury/requests/{req.pk}/").status_code == 404


def _sheet(resp):
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    return [list(r) for r in openpyxl.load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True)]


def test_request_list_exports_its_filter_with_totals(client_as, user):
    from decimal import Decimal

    from .builders import create

    clerk = user("school_clerk")
    ind = indicator(user("fin_budget"), 1_000_000)
    a = create(clerk, ind, 12_345, purpose="导出测试甲")
    create(clerk, ind, 20_000, purpose="导出测试乙")
    create(clerk, ind, 30_000, purpose="别的用途")
    rows = _sheet(client_as("school_clerk").get("/treasury/", {"q": "导出测试", "export": "xlsx"}))
    assert rows[0][0] == "申请单号" and rows[0][9] == "金额"
    assert sorted(r[4] for r in rows[1:-1]) == ["导出测试乙", "导出测试甲"]  # the filter, every row
    assert rows[-1][0] == "合计" and Decimal(str(rows[-1][9])) == Decimal("323.45")  # Excel holds a number
    assert a.number in {r[0] for r in rows}
    other = _sheet(client_as("hospital_clerk").get("/treasury/", {"q": "导出测试", "export": "xlsx"}))
    assert [r[0] for r in other[1:]] == ["合计"]  # another unit's requests are not theirs to export
    page = client_as("school_clerk").get("/treasury/vouchers/", {"state": "paid"}).content.decode()
    assert 'href="?state=paid&export=xlsx"' in page
    assert _sheet(client_as("school_clerk").get("/treasury/vouchers/", {"state": "paid", "export": "xlsx"}))[-1][0] == "合计"
    contracts = _sheet(client_as("school_clerk").get("/treasury/contracts/", {"export": "xlsx"}))
    assert contracts[0][:2] == ["合同编号", "合同名称"] and contracts[-1][0] == "合计"
