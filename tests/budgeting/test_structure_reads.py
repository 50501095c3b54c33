"""Reads refuse and hide as before the views and endpoints stopped checking the view permissions themselves:
without a view permission 403 — even for a round outside the user's scope, which would otherwise be a 404 —,
outside scope 404, within scope 200. Request schemas built from the services' input types keep their fields,
defaults and error codes (a bad amount is `amount_invalid` on `amount`)."""

from __future__ import annotations

import json

import pytest

from ibms.budgeting.schemas import CeilingIn, LineIn, LinePatch

from .builders import unit

pytestmark = pytest.mark.django_db
API = "/api/v1/budgeting"

ROUND_API = ["/rounds/{r}", "/rounds/{r}/lines", "/rounds/{r}/submissions", "/rounds/{r}/ceilings",
             "/rounds/{r}/ceilings/usage", "/rounds/{r}/comparison", "/rounds/{r}/replies"]
ROUND_PAGES = ["/budgeting/rounds/{r}/", "/budgeting/rounds/{r}/ceilings/", "/budgeting/rounds/{r}/compare/",
               "/budgeting/rounds/{r}/dept/{d}/", "/budgeting/reports/{r}/"]
LISTS = [f"{API}/rounds", "/budgeting/", "/budgeting/lines/", "/budgeting/replies/", "/budgeting/reports/"]
CEILING_READS = ["/api/v1/budgeting/rounds/{r}/ceilings", "/api/v1/budgeting/rounds/{r}/ceilings/usage",
                 "/budgeting/rounds/{r}/ceilings/"]


def _urls(paths, rnd) -> list[str]:
    d = unit("001").pk
    return [(p if p.startswith("/budgeting") or p.startswith(API) else API + p).format(r=rnd.pk, d=d)
            for p in paths]


def _status(client, urls) -> dict[str, int]:
    return {u: client.get(u).status_code for u in urls}


def test_reads_with_the_view_permissions_and_in_scope(client_as, rnd):
    urls = _urls(ROUND_API + ROUND_PAGES, rnd) + LISTS
    assert _status(client_as("fin_budget"), urls) == dict.fromkeys(urls, 200)


def test_without_view_permissions_every_read_is_refused(client_as, rnd):
    urls = _urls(ROUND_API + ROUND_PAGES, rnd) + LISTS
    assert _status(client_as("sysadmin"), urls) == dict.fromkeys(urls, 403)


def test_out_of_scope_round_is_not_found(client_as, rnd):
    urls = _urls(ROUND_API + ROUND_PAGES, rnd)
    assert _status(client_as("county_budget"), urls) == dict.fromkeys(urls, 404)


def test_missing_view_permission_is_refused_before_the_round_is_looked_up(client_as, rnd):
    # a unit clerk may read rounds but not ceilings: refused (403) for its own region's round and for another's,
    # which it cannot see (not 404, which would tell it the permission is all it lacks)
    urls = _urls(CEILING_READS, rnd)
    assert _status(client_as("school_clerk"), urls) == dict.fromkeys(urls, 403)
    assert _status(client_as("county_school_clerk"), urls) == dict.fromkeys(urls, 403)
    assert client_as("county_school_clerk").get(f"{API}/rounds/{rnd.pk}").status_code == 404


def test_line_reads(client_as, rnd, library_project):
    p = library_project("001001", "100.00")
    school = client_as("school_clerk")
    line = school.post(f"{API}/rounds/{rnd.pk}/lines", data=json.dumps({"project_id": p.pk, "amount": "100"}),
                       content_type="application/json").json()
    url = f"{API}/lines/{line['id']}"
    assert school.get(url).status_code == 200
    assert client_as("hospital_clerk").get(url).status_code == 404
    assert client_as("sysadmin").get(url).status_code == 403
    assert client_as("sysadmin").put(url, data="{}", content_type="application/json").status_code == 403


def test_request_schemas_keep_their_fields_and_defaults():
    line = LineIn.model_json_schema()
    assert LineIn.__name__ == "LineIn" and line["required"] == ["amount"]
    assert list(line["properties"]) == [
        "direction", "unit_id", "project_id", "revenue_code", "fund_nature_code", "exp_func_code", "dep_eco_code",
        "gov_eco_code", "amount", "is_gov_pur", "sub_region_code", "transfer_type_code", "remark"]
    assert line["properties"]["direction"]["default"] == "expenditure"
    assert line["properties"]["amount"]["type"] == "string"
    patch = LinePatch.model_json_schema()
    assert LinePatch.__name__ == "LinePatch" and "required" not in patch
    assert list(patch["properties"]) == list(line["properties"])
    assert all(p["default"] is None for p in patch["properties"].values())
    ceiling = CeilingIn.model_json_schema()
    assert CeilingIn.__name__ == "CeilingIn" and ceiling["required"] == ["department_id", "amount"]
    assert ceiling["properties"]["fund_nature_code"]["default"] == ""


def _send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def test_a_bad_amount_keeps_its_code_and_field(client_as, rnd, library_project):
    p = library_project("001001", "100.00")
    school, fin = client_as("school_clerk"), client_as("fin_budget")
    r = _send(school, "post", f"{API}/rounds/{rnd.pk}/lines", {"project_id": p.pk, "amount": "abc"})
    assert r.status_code == 422
    assert [(d["code"], d["field"]) for d in r.json()["detail"]] == [("amount_invalid", "amount")]
    assert r.json()["code"] == "validation_failed"
    missing = _send(school, "post", f"{API}/rounds/{rnd.pk}/lines", {"project_id": p.pk})
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_request"

    line = _send(school, "post", f"{API}/rounds/{rnd.pk}/lines", {"project_id": p.pk, "amount": "100"}).json()
    for amount in ("1.234", None):
        r = _send(school, "put", f"{API}/lines/{line['id']}", {"amount": amount})
        assert [(d["code"], d["field"]) for d in r.json()["detail"]] == [("amount_invalid", "amount")], amount
    r = _send(school, "put", f"{API}/lines/{line['id']}", {"remark": "只改说明"})
    assert r.status_code == 200 and (r.json()["remark"], r.json()["amount"]) == ("只改说明", "100.00")

    # parsed before the service looks at the round's stage
    r = _send(fin, "put", f"{API}/rounds/{rnd.pk}/ceilings", {"department_id": unit("001").pk, "amount": "x"})
    assert r.status_code == 422
    assert [(d["code"], d["field"]) for d in r.json()["detail"]] == [("amount_invalid", "amount")]
