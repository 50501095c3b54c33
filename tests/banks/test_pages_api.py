"""Bank message pages and API: filters, detail with raw XML and seal results, unit scoping, query and statement."""

from __future__ import annotations

import json

import pytest

from ibms.banks import inbound, services
from ibms.banks.models import BankMessage
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

from .builders import dispatch, drain, unit_signer


@pytest.fixture
def setup_messages(db, bank_sim, user):
    """A voucher of the school (paid), a tampered receipt of it, and a voucher of another unit."""
    services.endpoint_register(actor=user("fin_treasury"), agent_bank_code="SIM", region_code=PROVINCE,
                               base_url=bank_sim.url, admin_token=bank_sim.admin_token)
    school = Unit.objects.get(region_code=PROVINCE, code="001001")
    other = Unit.objects.filter(region_code=PROVINCE).exclude(path__startswith=school.path).first()
    with inbound.override("ack", None), inbound.override("receipt", lambda m: None):
        dispatch(user, school, "ZF-P-0001", amount=88_00)
        dispatch(user, other, "ZF-P-0002", amount=11_00, signer=unit_signer(other, "other_reviewer"))
        drain()
        bank_sim.faults(tamper=True)
        bank_sim.admin("/admin/tick")
        services.endpoint_poll_all()
    bank_sim.faults(tamper=False)
    return school, other


def test_message_list_filters_and_detail(client_as, setup_messages):
    c = client_as("fin_treasury")
    page = c.get("/banks/")
    html = page.content.decode()
    assert page.status_code == 200 and "ZF-P-0001" in html and "ZF-P-0002" in html
    filtered = c.get("/banks/?direction=in&kind=receipt&status=rejected").content.decode()
    assert "ZF-P-0001" in filtered and "未通过" in filtered and "<td>已处理</td>" not in filtered
    by_no = c.get("/banks/?voucher_no=P-0002").content.decode()
    assert "ZF-P-0002" in by_no and "ZF-P-0001" not in by_no
    bad = BankMessage.objects.get(direction="in", kind="receipt", status="rejected", voucher_no="ZF-P-0001")
    detail = c.get(f"/banks/messages/{bad.pk}/").content.decode()
    assert "验签未通过（bad_signature）" in detail and "&lt;XPayAmt&gt;" in detail and "bank" in detail
    out = BankMessage.objects.get(direction="out", voucher_no="ZF-P-0001")
    detail = c.get(f"/banks/messages/{out.pk}/").content.decode()
    assert "&lt;Stamp" in detail and "unit" in detail and "同一凭证的其他报文" in detail
    assert "<td>单位电子签章</td>" in detail and "支付凭证 ZF-P-0001</h1>" in detail  # kinds by their names
    assert "<td>回单</td>" in html and "<td>receipt</td>" not in html and '<option value="receipt">回单</option>' in html
    import io

    import openpyxl

    sheet = c.get("/banks/?direction=in&kind=receipt&status=rejected&export=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "时间", "方向", "类型") and len(rows) > 1
    assert {r[3] for r in rows[1:]} == {"回单"} and {r[8] for r in rows[1:]} == {"已拒绝"}  # the filter, in Chinese
    assert c.get("/banks/endpoints/").content.decode().count("SIM") >= 1


def test_unit_sees_only_its_own_messages(client_as, setup_messages):
    c = client_as("school_clerk")
    html = c.get("/banks/").content.decode()
    assert "ZF-P-0001" in html and "ZF-P-0002" not in html
    foreign = BankMessage.objects.get(direction="out", voucher_no="ZF-P-0002")
    assert c.get(f"/banks/messages/{foreign.pk}/").status_code == 404
    api = c.get("/api/v1/banks/messages?direction=out").json()
    assert [m["voucher_no"] for m in api["items"]] == ["ZF-P-0001"]
    assert c.get(f"/api/v1/banks/messages/{foreign.pk}").status_code == 404
    assert c.get("/banks/endpoints/").status_code in (403, 404)


def test_api_messages_endpoints_query_and_statement(client_as, setup_messages, bank_sim):
    c = client_as("fin_treasury")
    items = c.get("/api/v1/banks/messages?kind=voucher").json()
    assert items["count"] == 2 and {m["amount"] for m in items["items"]} == {"88.00", "11.00"}
    one = c.get(f"/api/v1/banks/messages/{items['items'][0]['id']}").json()
    assert one["raw_xml"].startswith("<?xml") and one["verify_result"]["stamps"][0]["kind"] == "unit"
    eps = c.get("/api/v1/banks/endpoints").json()
    assert [(e["agent_bank_code"], e["region_code"]) for e in eps] == [("SIM", PROVINCE)]
    with inbound.override("status", lambda m: None), inbound.override("statement", lambda m: None):
        q = c.post("/api/v1/banks/vouchers/query", data=json.dumps(
            {"region_code": PROVINCE, "year": 2026, "voucher_no": "ZF-P-0001"}), content_type="application/json")
        assert q.status_code == 200, q.content
        assert (q.json()["fields"]["State"], q.json()["fields"]["XPayAmt"]) == ("paid", "88.00")
        s = c.post("/api/v1/banks/statements/fetch", data=json.dumps(
            {"agent_bank_code": "SIM", "date": bank_sim.settled_day("ZF-P-0001")}), content_type="application/json")
        assert s.status_code == 200, s.content
        assert s.json()["fields"]["PayAmt"] == "99.00"
    unit = client_as("school_clerk")
    denied = unit.post("/api/v1/banks/vouchers/query", data=json.dumps(
        {"region_code": PROVINCE, "year": 2026, "voucher_no": "ZF-P-0001"}), content_type="application/json")
    assert denied.status_code == 403


def test_register_endpoint_via_api_fetches_the_bank_key(client_as, db, bank_sim):
    c = client_as("fin_treasury")
    r = c.post("/api/v1/banks/endpoints", data=json.dumps({"region_code": PROVINCE, "agent_bank_code": "SIM2",
                                                           "base_url": bank_sim.url, "name": "二号"}),
               content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["bank_fingerprint"] == bank_sim.public_key()["fingerprint"]
    unit = client_as("school_clerk")
    assert unit.post("/api/v1/banks/endpoints", data=json.dumps({"region_code": PROVINCE, "agent_bank_code": "X",
                                                                 "base_url": bank_sim.url}),
                     content_type="application/json").status_code == 403
