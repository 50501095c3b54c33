"""Organisations as a resource: created in the actor's own region, unit picked by code, kind rules."""

from __future__ import annotations

import pytest

from ibms.iam.models import Organization
from tests.constants import CITY, PROVINCE

pytestmark = pytest.mark.django_db


def test_sys_admin_creates_a_unit_organisation_by_unit_code(client_as):
    c = client_as("sysadmin")
    assert c.get("/iam/organizations/")["Location"] == "/r/organizations/"
    assert c.get("/r/organizations/").status_code == 200
    assert c.get("/r/organizations/new/").status_code == 200
    resp = c.post("/r/organizations/new/", {"code": "unit-001002", "name": "教育考试院", "kind": "unit",
                                            "unit": "001002", "is_active": "on"})
    assert resp.status_code == 302, resp.content.decode()
    org = Organization.objects.get(code="unit-001002")
    assert org.region_code == PROVINCE and org.unit.code == "001002" and org.unit.region_code == PROVINCE


@pytest.mark.parametrize(("data", "text"), [
    ({"code": "u-x", "name": "x", "kind": "unit", "unit": ""}, "必须填写对应单位"),
    ({"code": "u-y", "name": "y", "kind": "unit", "unit": "999999"}, "本区划下没有该单位代码"),
    ({"code": "f-z", "name": "z", "kind": "finance", "unit": "001002"}, "只有主管部门和预算单位可以对应单位"),
    ({"code": "d-w", "name": "w", "kind": "department", "unit": "001002"}, "一级预算单位"),
    ({"code": "fin-预算处", "name": "dup", "kind": "finance", "unit": ""}, "已存在"),
])
def test_organisation_rules(client_as, data, text):
    resp = client_as("sysadmin").post("/r/organizations/new/", data)
    assert resp.status_code == 422 and text in resp.content.decode()
    assert not Organization.objects.filter(name=data["name"]).exists()


def test_organisation_api_is_scoped(client_as):
    body = client_as("sysadmin").get("/api/v1/iam/organizations/").json()
    assert {o["region_code"] for o in body["items"]} >= {PROVINCE, CITY}
    resp = client_as("fin_budget").get("/api/v1/iam/organizations/")
    assert resp.status_code == 403
