"""API odds and ends: the OpenAPI schema lists every treasury operation; check/withdraw/contracts/allocations
refusals come back as {"code","message","detail"} with every reason."""

from __future__ import annotations

import json

import pytest

from tests.constants import DEMO_PIN

from .builders import indicator, payee

pytestmark = pytest.mark.django_db
API = "/api/v1/treasury"


def post(c, url, data):
    return c.post(url, data=json.dumps(data), content_type="application/json")


def test_openapi_lists_operations(client_as):
    schema = client_as("school_clerk").get("/api/v1/openapi.json").json()
    ops = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {"treasury_request_create", "treasury_request_submit", "treasury_request_review", "treasury_voucher_get",
            "treasury_recon_run", "treasury_allocation_create", "treasury_contract_create"} <= ops


def test_check_withdraw_and_refusals(client_as, user):
    ind = indicator(user("fin_budget"), 100_000)
    c = client_as("school_clerk")
    req = post(c, f"{API}/requests", {"indicator_id": ind.pk, "amount": "2000.00", "purpose": "购置图书",
                                      "payee": {"payee_id": payee().pk}}).json()
    chk = post(c, f"{API}/requests/{req['id']}/check", {}).json()
    assert chk["ok"] is False and "overdraw" in [v["code"] for v in chk["violations"]]
    r = post(c, f"{API}/requests/{req['id']}/submit", {"idempotency_key": "api-1"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_failed" and "overdraw" in [d["code"] for d in body["detail"]]
    r = post(c, f"{API}/requests/{req['id']}/submit", {})
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "idempotency_key_required"
    ok = post(c, f"{API}/requests", {"indicator_id": ind.pk, "amount": "100.00", "purpose": "购置图书",
                                     "payee": {"payee_id": payee().pk}}).json()
    assert post(c, f"{API}/requests/{ok['id']}/submit", {"idempotency_key": "api-2"}).json()["status"] == "submitted"
    assert post(c, f"{API}/requests/{ok['id']}/withdraw", {}).json()["status"] == "withdrawn"
    r = post(c, f"{API}/contracts", {"unit_id": ind.unit_id, "number": "", "name": "", "amount": "0"})
    assert r.status_code == 422
    assert {d["code"] for d in r.json()["detail"]} >= {"number_required", "name_required", "amount_not_positive"}
    r = post(client_as("fin_treasury"), f"{API}/allocations", {"indicator_id": ind.pk, "alloc_type": "1",
                                                               "amount": "5000.00", "purpose": "",
                                                               "payee_region_code": "990222000", "pin": DEMO_PIN})
    assert r.status_code == 422
    assert {d["code"] for d in r.json()["detail"]} >= {"purpose_required", "payee_region_invalid", "overdraw"}
    assert post(c, f"{API}/allocations", {"indicator_id": ind.pk, "alloc_type": "1", "amount": "1.00",
                                          "purpose": "x"}).status_code == 403
