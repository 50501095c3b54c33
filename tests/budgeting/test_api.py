"""/api/v1/budgeting/: money as yuan strings, stable error codes, scope (out of scope is 404)."""

from __future__ import annotations

import json

import pytest

from ibms.budgeting.models import BudgetLine

from .builders import YEAR, unit

pytestmark = pytest.mark.django_db
API = "/api/v1/budgeting"


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def put(client, url, body):
    return client.put(url, data=json.dumps(body), content_type="application/json")


def test_round_and_lines_through_the_api(client_as, library_project):
    fin, school = client_as("fin_budget"), client_as("school_clerk")
    r = post(fin, f"{API}/rounds", {"year": YEAR, "name": "接口测试编制"})
    assert r.status_code == 201, r.content
    rnd = r.json()
    assert (rnd["stage"], rnd["open_version"], rnd["stage_display"]) == ("first_up", "first_up", "一上")
    assert post(fin, f"{API}/rounds", {"year": YEAR}).json()["code"] == "round_exists"

    p = library_project("001001", "12345.67", eco="30201")
    r = post(school, f"{API}/rounds/{rnd['id']}/lines", {"project_id": p.pk, "amount": "12,345.67"})
    assert r.status_code == 201, r.content
    line = r.json()
    assert (line["amount"], line["gov_eco_code"], line["exp_kind"], line["project_code"]) == (
        "12345.67", "50502", "project", p.code)
    r = put(school, f"{API}/lines/{line['id']}", {"amount": "10000"})
    assert r.status_code == 200 and r.json()["amount"] == "10000.00"
    page = school.get(f"{API}/rounds/{rnd['id']}/lines").json()
    assert (page["count"], page["total"]) == (1, "10000.00")

    r = post(school, f"{API}/rounds/{rnd['id']}/lines", {"unit_id": unit("001001").pk, "amount": "1.00",
                                                          "exp_func_code": "2050204"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_failed" and body["detail"][0]["code"] == "project_required"
    assert post(school, f"{API}/rounds/{rnd['id']}/lines", {"project_id": p.pk, "amount": "1.234"}).json()[
        "detail"][0]["code"] == "amount_invalid"

    # the hospital sees neither the line nor can it delete it
    hospital = client_as("hospital_clerk")
    assert hospital.get(f"{API}/lines/{line['id']}").status_code == 404
    assert hospital.delete(f"{API}/lines/{line['id']}").status_code == 404
    assert school.delete(f"{API}/lines/{line['id']}").status_code == 204
    assert not BudgetLine.objects.filter(pk=line["id"]).exists()


def test_ceilings_submit_and_comparison_through_the_api(client_as, library_project):
    fin, edu = client_as("fin_budget"), client_as("edu_clerk")
    rnd = post(fin, f"{API}/rounds", {"year": YEAR}).json()
    p = library_project("001", "300000.00", func="2050199")
    post(edu, f"{API}/rounds/{rnd['id']}/lines", {"project_id": p.pk, "amount": "300000.00"})
    sub = post(edu, f"{API}/rounds/{rnd['id']}/submit", {"unit_id": unit("001").pk}).json()
    assert (sub["status"], sub["expenditure_total"]) == ("submitted", "300000.00")
    assert post(fin, f"{API}/submissions/{sub['id']}/return", {"reason": ""}).json()["detail"][0][
        "code"] == "reason_required"
    assert post(fin, f"{API}/submissions/{sub['id']}/accept").json()["status"] == "accepted"
    assert post(fin, f"{API}/rounds/{rnd['id']}/close-first-up").json()["stage"] == "ceilings"
    r = put(fin, f"{API}/rounds/{rnd['id']}/ceilings", {"department_id": unit("001").pk, "fund_nature_code": "1",
                                                         "amount": "250000.00"})
    assert r.status_code == 200 and r.json()["amount"] == "250000.00"
    assert put(edu, f"{API}/rounds/{rnd['id']}/ceilings", {"department_id": unit("001").pk,
                                                            "amount": "1"}).status_code == 403
    assert post(fin, f"{API}/rounds/{rnd['id']}/start-second-up").json()["stage"] == "second_up"
    usage = edu.get(f"{API}/rounds/{rnd['id']}/ceilings/usage").json()
    assert usage == [{"department_id": unit("001").pk, "fund_nature_code": "1", "fund_nature_name": "财政拨款资金",
                      "ceiling": "250000.00", "used": "300000.00", "remaining": "-50000.00", "exceeded": True}]
    r = post(edu, f"{API}/rounds/{rnd['id']}/submit", {"unit_id": unit("001").pk})
    assert r.status_code == 422
    assert r.json()["detail"][0]["code"] == "above_ceiling"
    assert "超过控制数" in r.json()["message"] and "300,000.00" in r.json()["message"]

    cmp = fin.get(f"{API}/rounds/{rnd['id']}/comparison").json()
    assert cmp[-1] == {**cmp[-1], "level": "total", "first_up": "300000.00", "second_up": "300000.00",
                       "reply": "0.00", "diff_second_first": "0.00"}
    assert fin.get(f"{API}/rounds/{rnd['id']}/comparison?direction=revenue").json()[-1]["first_up"] == "0.00"


def test_other_regions_round_is_not_found(client_as, user):
    from ibms.budgeting.services import round_create

    rnd = round_create(actor=user("fin_budget"), year=YEAR)
    county = client_as("county_budget")
    assert county.get(f"{API}/rounds/{rnd.pk}").status_code == 404
    assert post(county, f"{API}/rounds/{rnd.pk}/close-first-up").json()["code"] == "not_found"
    assert rnd.pk not in [r["id"] for r in county.get(f"{API}/rounds").json()]
