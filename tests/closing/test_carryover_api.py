"""The carry-over API (/api/v1/closing/carry-runs, /carry-lines) and pages (/closing/carry/): propose, read with
filters, change a line, execute; the write gate's 403 for a role without the permission, 404 out of scope, the
409 listing open reservations."""

from __future__ import annotations

import json

import pytest

from ibms.closing.models import CarryLine, CarryRun
from ibms.core import outbox
from tests.closing.carry_builders import COUNTY, YEAR, closing, county_indicator, transfer_indicator

pytestmark = pytest.mark.django_db
API = "/api/v1/closing"


@pytest.fixture
def county(user):
    return user("county_budget")


@pytest.fixture
def proposed(county, client_as):
    plain = county_indicator(county, 300_00)
    closing()
    c = client_as("county_budget")
    r = c.post(f"{API}/carry-runs", json.dumps({"region_code": COUNTY, "year": YEAR}), content_type="application/json")
    assert r.status_code == 201, r.content
    return c, r.json(), plain


def test_propose_read_change_execute(proposed):
    c, run, plain = proposed
    assert run["status"] == "proposed" and run["line_count"] >= 2
    detail = c.get(f"{API}/carry-runs/{run['id']}?decision=carry").json()
    assert detail["lines"] and all(ln["decision"] == "carry" for ln in detail["lines"])
    assert sum(float(n["unspent"]) for n in detail["natures"]) == float(run["total_unspent"])
    transfer = next(ln for ln in detail["lines"] if ln["indicator_id"] == transfer_indicator().pk)
    r = c.post(f"{API}/carry-lines/{transfer['id']}", json.dumps({"decision": "carry", "carry_amount": "999999999.00",
                                                                  "reason": "多"}), content_type="application/json")
    assert r.status_code == 422 and "carry_exceeds_unspent" in r.content.decode()
    r = c.post(f"{API}/carry-lines/{transfer['id']}", json.dumps({"decision": "carry", "carry_amount": "100.00",
                                                                  "reason": "部分完成"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["carry_amount"] == "100.00" and r.json()["changed"]
    r = c.post(f"{API}/carry-runs/{run['id']}/execute")
    assert r.status_code == 200 and r.json()["status"] == "executed"
    new = CarryLine.objects.get(pk=transfer["id"]).new_indicator
    assert new.year == YEAR + 1 and new.amount == 100_00
    listed = c.get(f"{API}/carry-runs?year={YEAR}").json()
    assert [x["number"] for x in listed["items"]] == [run["number"]]


def test_refusals(proposed, client_as):
    c, run, _ = proposed
    line = CarryLine.objects.filter(run_id=run["id"]).first()
    t = client_as("county_treasury")
    r = t.post(f"{API}/carry-runs/{run['id']}/execute")
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    p = client_as("fin_budget")  # the province's budget division: the county's line is out of its write scope
    r = p.post(f"{API}/carry-lines/{line.pk}", json.dumps({"decision": "carry", "reason": "x"}),
               content_type="application/json")
    assert r.status_code == 404
    assert CarryRun.objects.get(pk=run["id"]).status == "proposed"


def test_page_review_and_change(proposed):
    c, run, plain = proposed
    page = c.get(f"/closing/carry/?region={COUNTY}&year={YEAR}")
    body = page.content.decode()
    assert page.status_code == 200 and run["number"] in body and "执行结转结余" in body and plain.code in body
    line = CarryLine.objects.get(run_id=run["id"], indicator=transfer_indicator())
    r = c.post(f"/closing/carry/lines/{line.pk}/", {"decision": "recall", "reason": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 422 and "reason_required" in r.content.decode()
    r = c.post(f"/closing/carry/lines/{line.pk}/", {"decision": "recall", "reason": "项目已完成"},
               HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'data-decision="recall"' in r.content.decode()
    assert c.get(f"/closing/carry/?region={COUNTY}&year={YEAR}&decision=recall").status_code == 200
    r = c.post(f"/closing/carry/{run['id']}/execute/")  # checked and marked now, executed by the worker
    assert r.status_code == 302 and CarryRun.objects.get(pk=run["id"]).status == "executing"
    progress = c.get(f"/closing/carry/{run['id']}/progress/").content.decode()
    assert 'data-status="executing"' in progress and "hx-trigger" in progress
    assert c.post(f"/closing/carry/{run['id']}/execute/").status_code == 302  # a second click queues nothing new
    assert outbox.drain() == 1
    assert CarryRun.objects.get(pk=run["id"]).status == "executed"
    done = c.get(f"/closing/carry/{run['id']}/progress/", HTTP_HX_REQUEST="true")
    assert "已执行" in done.content.decode() and done["HX-Refresh"] == "true"
