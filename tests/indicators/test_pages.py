"""The indicator pages: list with filters and Excel export, the detail page (buckets, journal, lineage), the
movement forms with their refusals shown in Chinese, 调剂 request and approval, transfer receipt, navigation."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from ibms.indicators import services as s
from ibms.indicators.models import Indicator, Reallocation, TransferNotice
from tests.constants import COUNTY

from .builders import doc, fresh, one, unit

pytestmark = pytest.mark.django_db


def test_list_filters_and_export(client_as, budget):
    tracked = one(budget, 123_456, is_track=True)
    plain = one(budget, 10_000, unit_code="002001")
    c = client_as("fin_budget")
    page = c.get("/indicators/", {"flag": "is_track", "q": tracked.code}).content.decode()
    assert tracked.code in page and "1,234.56" in page and plain.code not in page
    page = c.get("/indicators/", {"unit": "002001", "q": plain.source.doc_no}).content.decode()
    assert plain.code in page and tracked.code not in page
    r = c.get("/indicators/", {"q": tracked.source.doc_no, "executable": "1", "export": "xlsx"})
    assert r.status_code == 200 and ".xlsx" in r["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "指标编码" and [row[0] for row in rows[1:]] == [tracked.code]
    assert str(rows[1][14]) == "1234.56" and rows[1][13] == "直达资金"


def test_units_see_only_their_own(client_as, budget):
    school, hospital = one(budget, 1_000, unit_code="001001"), one(budget, 1_000, unit_code="002001")
    c = client_as("school_clerk")
    page = c.get("/indicators/", {"q": "批复"}).content.decode()
    assert school.code in page and hospital.code not in page
    assert c.get(f"/indicators/{hospital.pk}/").status_code == 404
    detail = c.get(f"/indicators/{school.pk}/").content.decode()
    assert "追加" not in detail  # no movement buttons for a unit
    assert c.get(f"/indicators/{school.pk}/increase/").status_code == 403


def test_detail_shows_buckets_journal_and_lineage(client_as, budget):
    pool = one(budget, 50_000, unit_code=None)
    [kid] = s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc("分配"),
                                   splits=[s.Split(unit_id=unit("001001").pk, amount=20_000)])
    s.indicator_reserve(actor=budget, indicator_id=kid.pk, amount=5_000, consumer="pay:page:1")
    c = client_as("fin_budget")
    page = c.get(f"/indicators/{pool.pk}/").content.decode()
    assert "300.00" in page and "200.00" in page  # available and allotted
    assert kid.code in page and "分配下达" in page and pool.source.doc_no in page
    page = c.get(f"/indicators/{kid.pk}/").content.decode()
    assert pool.code in page and "pay:page:1" in page and "支付预占" in page and "-50.00" in page


def test_movement_forms(client_as, budget):
    ind = one(budget, 100_000)
    c = client_as("fin_budget")
    assert c.get(f"/indicators/{ind.pk}/increase/").status_code == 200
    r = c.post(f"/indicators/{ind.pk}/increase/", {"kind": "supplement", "amount": "250.00", "doc_no": "页面追加〔1〕号",
                                                   "doc_title": "追加通知"})
    assert r.status_code == 302 and fresh(ind).amount == 125_000
    advance = {"kind": "transfer_advance", "amount": "10", "doc_no": "页面追加〔2〕号", "doc_title": "提前下达"}
    r = c.post(f"/indicators/{ind.pk}/increase/", advance)
    assert r.status_code == 422 and "上级文号" in r.content.decode()
    r = c.post(f"/indicators/{ind.pk}/increase/", {**advance, "upper_doc_no": "财预〔2026〕1号"})
    assert r.status_code == 302 and fresh(ind).entries.last().source.upper_doc_no == "财预〔2026〕1号"
    assert fresh(ind).amount == 126_000
    r = c.post(f"/indicators/{ind.pk}/decrease/", {"amount": "5000", "doc_no": "页面追减〔1〕号", "doc_title": "追减"})
    assert r.status_code == 409 and "可用余额不足" in r.content.decode() and fresh(ind).amount == 126_000
    r = c.post(f"/indicators/{ind.pk}/adjust/", {"direction": "-", "amount": "25", "adj_batch_no": "",
                                                 "doc_no": "页面调整〔1〕号", "doc_title": "调整"})
    assert r.status_code == 422 and fresh(ind).amount == 126_000
    r = c.post(f"/indicators/{ind.pk}/freeze/", {"amount": "100", "doc_no": "页面冻结〔1〕号", "doc_title": "冻结",
                                                 "memo": "政府采购"})
    assert r.status_code == 302 and fresh(ind).frozen == 10_000
    assert c.get(f"/indicators/{ind.pk}/nonsense/").status_code == 404


def test_distribute_form(client_as, budget):
    pool = one(budget, 100_000, unit_code=None)
    c = client_as("fin_budget")
    data = {"doc_no": "页面分配〔1〕号", "doc_title": "分配", "lines-TOTAL_FORMS": "5", "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "500",
            "lines-0-unit_code": "001001", "lines-0-amount": "600", "lines-1-unit_code": "002001",
            "lines-1-amount": "300"}
    r = c.post(f"/indicators/{pool.pk}/distribute/", data)
    assert r.status_code == 302, r.content.decode()
    assert sorted(Indicator.objects.filter(parent=pool).values_list("unit__code", "amount")) == [
        ("001001", 60_000), ("002001", 30_000)]
    r = c.post(f"/indicators/{pool.pk}/distribute/", {**data, "doc_no": "页面分配〔2〕号", "lines-1-amount": "9999"})
    assert r.status_code == 409 and "超过可用余额" in r.content.decode()


def test_reallocation_pages(client_as, budget):
    a, b = one(budget, 100_000), one(budget, 100_000, is_sangong=True, dep_eco_code="30217")
    c = client_as("fin_budget")
    form = {"reason": "页面调剂", "out-TOTAL_FORMS": "2", "out-INITIAL_FORMS": "0", "out-MIN_NUM_FORMS": "0",
            "out-MAX_NUM_FORMS": "200", "in-TOTAL_FORMS": "3", "in-INITIAL_FORMS": "0", "in-MIN_NUM_FORMS": "0",
            "in-MAX_NUM_FORMS": "200", "out-0-indicator_code": a.code, "out-0-amount": "100",
            "in-0-indicator_code": b.code, "in-0-amount": "100"}
    r = c.post("/indicators/reallocations/new/", form)
    assert r.status_code == 422 and "三公经费" in r.content.decode()
    assert not Reallocation.objects.filter(reason="页面调剂").exists()
    r = c.post("/indicators/reallocations/new/", {**form, "in-0-indicator_code": "", "in-0-unit_code": "002001"})
    assert r.status_code == 302
    realloc = Reallocation.objects.get(reason="页面调剂")
    page = c.get(f"/indicators/reallocations/{realloc.pk}/").content.decode()
    assert "review-form" not in page  # the submitter does not review
    checker = client_as("fin_budget_deputy")
    assert "review-form" in checker.get(f"/indicators/reallocations/{realloc.pk}/").content.decode()
    r = checker.post(f"/indicators/reallocations/{realloc.pk}/", {"decision": "approve", "comment": "同意"})
    assert r.status_code == 302
    assert fresh(a).amount == 90_000 and "已批准" in checker.get("/indicators/reallocations/").content.decode()


def test_transfer_pages(client_as, budget):
    pool = one(budget, 100_000, unit_code=None, is_track=True)
    c = client_as("fin_budget")
    r = c.post(f"/indicators/{pool.pk}/transfer/", {"rec_region_code": COUNTY, "amount": "400", "kind": "transfer_formal",
                                                    "transfer_type": "special", "doc_no": "页面下达〔1〕号",
                                                    "doc_title": "下达通知"})
    assert r.status_code == 302, r.content.decode()
    notice = TransferNotice.objects.get(upper_indicator=pool)
    assert "receive-form" not in c.get(f"/indicators/transfers/{notice.pk}/").content.decode()
    county = client_as("county_budget")
    assert notice.number in county.get("/indicators/transfers/").content.decode()
    assert "receive-form" in county.get(f"/indicators/transfers/{notice.pk}/").content.decode()
    r = county.post(f"/indicators/transfers/{notice.pk}/", {"doc_no": "青财页面〔1〕号"})
    assert r.status_code == 302
    got = Indicator.objects.get(parent=pool, region_code=COUNTY)
    assert got.is_track and r["Location"] == f"/indicators/{got.pk}/"
    r = county.post(f"/indicators/transfers/{notice.pk}/", {"doc_no": "青财页面〔2〕号"})
    assert r.status_code == 409 and "不能重复接收" in r.content.decode()


def test_navigation(client_as):
    home = client_as("fin_budget").get("/").content.decode()
    for label in ("预算指标", "指标调剂", "转移支付", "指标来源文件"):
        assert label in home
    home = client_as("school_clerk").get("/").content.decode()
    assert "预算指标" in home and "指标调剂" not in home
    assert "预算指标" not in client_as("sysadmin").get("/").content.decode()
