"""Issue 3, end to end through /api/v1/ only: a unit enters a project, the department and finance review it into
the library; the unit prepares 一上 and the department submits; finance issues ceilings; 二上 above the ceiling
is refused (with the figures) and within it accepted; the legislature's approval is recorded; the reply creates
indicators whose sums equal the approved lines and whose source document is named; a 调剂 moves money between
two indicators; a transfer payment reaches 青山区 and is received there."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ibms.core import clock

pytestmark = pytest.mark.django_db
YEAR = clock.fiscal_year() + 1
PROVINCE, COUNTY = "990000000", "990102000"


def call(client, method: str, url: str, body=None, status: int = 200):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    r = getattr(client, method)(f"/api/v1{url}", **kwargs)
    assert r.status_code == status, f"{method.upper()} {url} → {r.status_code}: {r.content.decode()[:800]}"
    return r.json() if r.content else None


def yuan(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture
def api(client_as):
    names = ["school_clerk", "edu_clerk", "edu_reviewer", "fin_sector", "fin_budget", "fin_budget_deputy",
             "county_budget"]
    return {n: client_as(n) for n in names}


def unit_id(client, code: str) -> int:
    page = call(client, "get", f"/masterdata/units/?q={code}&region_code={PROVINCE}")
    [row] = [u for u in page["items"] if u["code"] == code]
    return row["id"]


def project_body(unit: int, name: str, amount: str, **extra) -> dict:
    return {"unit_id": unit, "name": name, "category": "3", "start_year": YEAR, "end_year": YEAR, "level": 1,
            "fund_nature_code": "111", "exp_func_code": extra.pop("exp_func_code", "2050204"),
            "dep_eco_code": extra.pop("dep_eco_code", "30201"),
            "cost_lines": [{"year": YEAR, "item": name, "unit_price": amount, "quantity": "1"}],
            "targets": [{"kind": "output", "name": "完成率", "value": "100", "measure": "%"}], **extra}


def into_library(api, client, body: dict) -> dict:
    p = call(client, "post", "/projects/", body, 201)
    assert len(p["code"]) == 21 and p["status"] == "draft"
    call(client, "post", f"/projects/{p['id']}/submit")
    for reviewer in ("edu_reviewer", "fin_sector", "fin_budget"):
        p = call(api[reviewer], "post", f"/projects/{p['id']}/review", {"decision": "approve", "reason": "同意"})
    assert p["status"] == "in_library"
    return p


def test_project_to_budget_to_indicators(api):
    school, edu, fin = api["school_clerk"], api["edu_clerk"], api["fin_budget"]
    school_id, exam_id, dept_id = (unit_id(fin, c) for c in ("001001", "001002", "001"))

    # --- project library ---------------------------------------------------------------------------
    lab = into_library(api, school, project_body(school_id, "实验室改造", "600000.00"))
    exam = into_library(api, edu, project_body(exam_id, "考试系统升级", "200000.00", dep_eco_code="31002"))
    transfer = into_library(api, edu, project_body(dept_id, "青山区薄弱学校改造补助", "300000.00",
                                                   exp_func_code="2050202", dep_eco_code="39999",
                                                   is_transfer=True, transfer_region_code=COUNTY))

    # --- 一上 -------------------------------------------------------------------------------------------
    rnd = call(fin, "post", "/budgeting/rounds", {"year": YEAR, "name": "场景测试编制"}, 201)
    r = f"/budgeting/rounds/{rnd['id']}"
    lab_line = call(school, "post", f"{r}/lines", {"project_id": lab["id"], "amount": "600000.00"}, 201)
    assert (lab_line["exp_kind"], lab_line["gov_eco_code"], lab_line["version"]) == ("project", "50502", "first_up")
    call(school, "post", f"{r}/lines", {"direction": "revenue", "unit_id": school_id, "revenue_code": "11",
                                        "amount": "600000.00"}, 201)
    call(edu, "post", f"{r}/lines", {"project_id": exam["id"], "amount": "200000.00"}, 201)
    tra_line = call(edu, "post", f"{r}/lines", {"project_id": transfer["id"], "amount": "300000.00"}, 201)
    assert (tra_line["is_transfer"], tra_line["sub_region_code"]) == (True, COUNTY)
    assert call(school, "get", f"/projects/{lab['id']}")["status"] == "in_budget"
    unit_sub = call(school, "post", f"{r}/submit", {"unit_id": school_id})
    call(api["edu_reviewer"], "post", f"/budgeting/submissions/{unit_sub['id']}/accept", {"reason": "同意"})
    dept_sub = call(edu, "post", f"{r}/submit", {"unit_id": dept_id})
    assert dept_sub["expenditure_total"] == "1100000.00"
    call(fin, "post", f"/budgeting/submissions/{dept_sub['id']}/accept", {"reason": ""})
    assert call(fin, "post", f"{r}/close-first-up")["stage"] == "ceilings"

    # --- 一下: ceilings; 二上 above them refused, then within them -----------------------------------
    call(fin, "put", f"{r}/ceilings", {"department_id": dept_id, "fund_nature_code": "1", "amount": "1000000.00"})
    assert call(fin, "post", f"{r}/start-second-up")["stage"] == "second_up"
    refused = call(edu, "post", f"{r}/submit", {"unit_id": dept_id}, status=422)
    assert refused["detail"][0]["code"] == "above_ceiling"
    assert "1,100,000.00" in refused["message"] and "1,000,000.00" in refused["message"]
    assert "超出 100,000.00" in refused["message"]
    second = call(edu, "get", f"{r}/lines?version=second_up&direction=expenditure")
    [lab2] = [ln for ln in second["items"] if ln["project_id"] == lab["id"]]
    call(school, "put", f"/budgeting/lines/{lab2['id']}", {"amount": "500000.00"})
    [rev2] = [ln for ln in call(school, "get", f"{r}/lines?version=second_up&direction=revenue")["items"]]
    call(school, "put", f"/budgeting/lines/{rev2['id']}", {"amount": "500000.00"})
    dept_sub = call(edu, "post", f"{r}/submit", {"unit_id": dept_id})
    assert (dept_sub["status"], dept_sub["expenditure_total"]) == ("submitted", "1000000.00")
    call(fin, "post", f"/budgeting/submissions/{dept_sub['id']}/accept", {"reason": ""})

    # --- consolidation, approval, reply --------------------------------------------------------------
    assert call(fin, "post", f"{r}/consolidate")["stage"] == "consolidated"
    approved = call(fin, "post", f"{r}/approval", {"doc_no": f"华夏人大〔{YEAR}〕3号", "approval_date": f"{YEAR}-01-16"})
    assert (approved["stage"], approved["approval_doc_no"]) == ("approved", f"华夏人大〔{YEAR}〕3号")
    doc_no = f"华财预〔{YEAR}〕30号"
    replied = call(fin, "post", f"{r}/reply", {"doc_no": doc_no, "title": f"关于批复{YEAR}年部门预算的通知",
                                               "doc_date": f"{YEAR}-02-01"})
    assert replied["stage"] == "replied"

    reply_lines = call(fin, "get", f"{r}/lines?version=reply&direction=expenditure")
    assert reply_lines["total"] == "1000000.00"
    inds = call(fin, "get", f"/indicators/?year={YEAR}&region_code={PROVINCE}&source_kind=budget_reply&limit=500")
    mine = [i for i in inds["items"] if i["source_doc_no"] == doc_no]
    assert len(mine) == reply_lines["count"] == 3
    assert sum(yuan(i["amount"]) for i in mine) == yuan(reply_lines["total"])
    by_line = {ln["indicator_id"]: ln for ln in reply_lines["items"]}
    for i in mine:
        ln = by_line[i["id"]]
        assert (i["amount"], i["unit_id"], i["project_id"], i["exp_func_code"], i["gov_eco_code"]) == (
            ln["amount"], ln["unit_id"], ln["project_id"], ln["exp_func_code"], ln["gov_eco_code"])
        assert i["source_kind"] == "budget_reply"
    [source] = [d for d in call(fin, "get", f"/indicators/source-documents?year={YEAR}") if d["doc_no"] == doc_no]
    assert source["title"] == f"关于批复{YEAR}年部门预算的通知"
    assert call(school, "get", f"/projects/{lab['id']}")["status"] == "executing"
    cmp = call(fin, "get", f"{r}/comparison")
    assert (cmp[-1]["first_up"], cmp[-1]["second_up"], cmp[-1]["reply"]) == ("1100000.00", "1000000.00",
                                                                           "1000000.00")

    # --- 调剂: 50,000 from the lab to the exam system (same fund nature), approved by a second officer --
    lab_ind = by_line_id(reply_lines, lab["id"])
    exam_ind = by_line_id(reply_lines, exam["id"])
    realloc = call(fin, "post", "/indicators/reallocations", {
        "reason": "考试系统扩容", "outs": [{"indicator_id": lab_ind, "amount": "50000.00"}],
        "ins": [{"indicator_id": exam_ind, "amount": "50000.00"}]}, 201)
    call(api["fin_budget_deputy"], "post", f"/indicators/reallocations/{realloc['id']}/review", {"approve": True})
    assert call(fin, "get", f"/indicators/{lab_ind}")["available"] == "450000.00"
    assert call(fin, "get", f"/indicators/{exam_ind}")["available"] == "250000.00"

    # --- transfer payment to 青山区, received there --------------------------------------------------
    tra_ind = by_line_id(reply_lines, transfer["id"])
    notice = call(fin, "post", f"/indicators/{tra_ind}/transfer", {
        "rec_region_code": COUNTY, "amount": "300000.00",
        "doc": {"doc_no": f"华财教〔{YEAR}〕31号", "title": "关于下达薄弱学校改造补助资金的通知"}}, 201)
    county = api["county_budget"]
    incoming = call(county, "get", "/indicators/transfer-notices?incoming=true")
    assert notice["id"] in [n["id"] for n in incoming]
    received = call(county, "post", f"/indicators/transfer-notices/{notice['id']}/receive",
                    {"doc_no": f"青财预〔{YEAR}〕9号"}, 201)
    assert (received["region_code"], received["amount"], received["parent_id"]) == (COUNTY, "300000.00", tra_ind)
    assert call(fin, "get", f"/indicators/{tra_ind}")["allotted"] == "300000.00"


def by_line_id(page: dict, project_id: int) -> int:
    [ln] = [ln for ln in page["items"] if ln["project_id"] == project_id]
    return ln["indicator_id"]
