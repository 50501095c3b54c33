"""/api/v1/indicators/: list/get/entries/lineage, the movements, 调剂 and transfer notices, with money as yuan
strings and stable error codes; the reservations have no endpoint."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from ibms.indicators import services as s
from ibms.indicators.models import Indicator, IndicatorEntry, Reservation
from tests.constants import COUNTY, FUNC, FUND, PROVINCE

from .builders import YEAR, one, unit

pytestmark = pytest.mark.django_db
API = "/api/v1/indicators"


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def doc(no: str, **kw) -> dict:
    return {"doc_no": no, "title": f"文件{no}", **kw}


def test_create_list_get_entries(client_as):
    c = client_as("fin_budget")
    r = post(c, f"{API}/source-documents", {**doc("API批复〔1〕号"), "region_code": PROVINCE, "year": YEAR,
                                            "kind": "budget_reply"})
    assert r.status_code == 201, r.content
    src = r.json()["id"]
    r = post(c, f"{API}/", {"source_id": src, "specs": [
        {"amount": "1,234.56", "fund_nature_code": FUND, "exp_func_code": FUNC, "unit_id": unit("001001").pk,
         "is_track": True},
        {"amount": "100", "fund_nature_code": FUND, "exp_func_code": FUNC, "is_executable": False}]})
    assert r.status_code == 201, r.content
    a, pool = r.json()
    assert a["amount"] == a["available"] == "1234.56" and a["is_track"] and a["source_doc_no"] == "API批复〔1〕号"
    assert a["unit_code"] == "001001" and not pool["is_executable"]

    r = c.get(f"{API}/", {"year": YEAR, "flag": "is_track", "q": "API批复"})
    assert r.status_code == 200 and [i["code"] for i in r.json()["items"]] == [a["code"]]
    assert c.get(f"{API}/", {"executable": "false", "source_kind": "budget_reply", "q": "API批复"}).json()["count"] == 1
    assert c.get(f"{API}/{a['id']}").json()["code"] == a["code"]
    [entry] = c.get(f"{API}/{a['id']}/entries").json()
    assert entry["kind"] == "create" and entry["d_amount"] == "1234.56" and entry["doc_no"] == "API批复〔1〕号"


def test_movements_and_error_codes(client_as, user):
    c = client_as("fin_budget")
    ind = one(user("fin_budget"), 100_000)
    r = post(c, f"{API}/{ind.pk}/increase", {"amount": "200.00", "doc": doc("API追加〔1〕号")})
    assert r.status_code == 200 and r.json()["amount"] == "1200.00"
    r = post(c, f"{API}/{ind.pk}/freeze", {"amount": "100", "doc": doc("API冻结〔1〕号"), "memo": "采购"})
    assert r.json()["frozen"] == "100.00" and r.json()["available"] == "1100.00"
    r = post(c, f"{API}/{ind.pk}/decrease", {"amount": "1100.01", "doc": doc("API追减〔1〕号")})
    assert r.status_code == 409 and r.json()["code"] == "overdraw"
    r = post(c, f"{API}/{ind.pk}/adjust", {"delta": "-50", "doc": doc("API调整〔1〕号", adj_batch_no="2026-01")})
    assert r.status_code == 200 and r.json()["amount"] == "1150.00"
    r = post(c, f"{API}/{ind.pk}/increase", {"amount": "1.234", "doc": doc("API追加〔2〕号")})
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "money_invalid"
    kinds = [e["kind"] for e in c.get(f"{API}/{ind.pk}/entries").json()]
    assert kinds == ["create", "increase", "freeze", "adjust"]


def test_reservations_have_no_endpoint_and_show_in_the_lineage(client_as, user):
    """Reserving and settling are building blocks of the treasury services: no endpoint reaches them (404 in the
    API's error format); what the services reserved is read through the indicator."""
    ind = one(user("fin_budget"), 100_000)
    c = client_as("school_clerk")
    for url, body in ((f"{API}/reservations", {"indicator_id": ind.pk, "amount": "300", "consumer": "api:pay:1"}),
                      (f"{API}/reservations/post", {"consumer": "api:pay:1"}),
                      (f"{API}/reservations/void", {"consumer": "api:pay:1"}),
                      (f"{API}/reservations/restore", {"consumer": "api:pay:1", "amount": "100"})):
        r = post(c, url, body)
        assert r.status_code == 404 and r.json()["code"] == "not_found", url
    assert Reservation.objects.filter(indicator=ind).count() == 0
    clerk = user("school_clerk")
    with transaction.atomic():  # the payment request's own transaction
        s.indicator_reserve(actor=clerk, indicator_id=ind.pk, amount=30_000, consumer="api:pay:1")
        s.reservation_post(actor=clerk, consumer="api:pay:1")
        s.indicator_restore(actor=clerk, consumer="api:pay:1", amount=10_000)
    got = c.get(f"{API}/{ind.pk}").json()
    assert (got["available"], got["spent"]) == ("800.00", "200.00")
    lineage = c.get(f"{API}/{ind.pk}/lineage").json()
    assert [(x["consumer"], x["status"], x["restored"]) for x in lineage["reservations"]] == [
        ("api:pay:1", "posted", "100.00")]


def test_out_of_scope_is_404(client_as, user):
    ind = one(user("fin_budget"), 100_000, unit_code="001001")
    for who in ("hospital_clerk", "county_budget"):
        c = client_as(who)
        for url in (f"{API}/{ind.pk}", f"{API}/{ind.pk}/entries", f"{API}/{ind.pk}/lineage"):
            r = c.get(url)
            assert r.status_code == 404 and r.json()["code"] == "not_found", (who, url)
        assert ind.code not in c.get(f"{API}/", {"limit": 500}).content.decode()
    r = post(client_as("county_budget"), f"{API}/{ind.pk}/increase", {"amount": "1", "doc": doc("X〔1〕号")})
    assert r.status_code == 404
    assert client_as("school_clerk").get(f"{API}/{ind.pk}").status_code == 200
    r = post(client_as("school_clerk"), f"{API}/{ind.pk}/increase", {"amount": "1", "doc": doc("X〔2〕号")})
    assert r.status_code == 403


def test_reallocation_and_transfer_over_the_api(client_as, user):
    budget = user("fin_budget")
    a, b = one(budget, 100_000), one(budget, 100_000, fund_nature_code="121")
    c, checker = client_as("fin_budget"), client_as("fin_budget_deputy")
    r = post(c, f"{API}/reallocations", {"reason": "跨性质", "outs": [{"indicator_id": a.pk, "amount": "10"}],
                                        "ins": [{"indicator_id": b.pk, "amount": "10"}]})
    assert r.status_code == 422 and [d["code"] for d in r.json()["detail"]] == ["cross_fund_nature"]
    r = post(c, f"{API}/reallocations", {"reason": "调入新指标", "outs": [{"indicator_id": a.pk, "amount": "10"}],
                                        "ins": [{"unit_id": unit("002001").pk, "amount": "10"}]})
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    assert post(c, f"{API}/reallocations/{rid}/review", {"approve": True}).json()["code"] == "segregation_of_duties"
    r = post(checker, f"{API}/reallocations/{rid}/review", {"approve": True, "comment": "同意"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    new_id = [ln["result_id"] for ln in r.json()["lines"] if ln["direction"] == "in"][0]
    assert c.get(f"{API}/{new_id}").json()["amount"] == "10.00"

    pool = one(budget, 100_000, unit_code=None)
    r = post(c, f"{API}/{pool.pk}/transfer", {"rec_region_code": COUNTY, "amount": "400",
                                             "doc": doc("API下达〔1〕号"), "transfer_type": "general"})
    assert r.status_code == 201 and r.json()["status"] == "sent"
    nid = r.json()["id"]
    county = client_as("county_budget")
    waiting = county.get(f"{API}/transfer-notices", {"incoming": True, "status": "sent"}).json()
    assert nid in [n["id"] for n in waiting] and all(n["region_code"] == COUNTY for n in waiting)
    r = post(c, f"{API}/transfer-notices/{nid}/receive", {"doc_no": "省代收〔1〕号"})
    assert r.status_code == 404
    r = post(county, f"{API}/transfer-notices/{nid}/receive", {"doc_no": "青财〔API〕1号"})
    assert r.status_code == 201 and r.json()["parent_id"] == pool.pk and r.json()["region_code"] == COUNTY
    r = post(county, f"{API}/transfer-notices/{nid}/receive", {"doc_no": "青财〔API〕2号"})
    assert r.status_code == 409 and r.json()["code"] == "already_received"
    assert Indicator.objects.filter(parent=pool, region_code=COUNTY).count() == 1
    assert IndicatorEntry.objects.filter(indicator__parent=pool).count() == 1
