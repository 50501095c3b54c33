"""Row-level scope through the API and the pages: out of scope is 404, upper levels read but never write
lower levels, and every refused attempt leaves a `security.denied` event."""

from __future__ import annotations

import json

import pytest

from ibms.core.models import BusinessEvent
from ibms.masterdata import models as m
from tests.constants import COUNTY, PROVINCE


def unit(region: str, code: str) -> m.Unit:
    return m.Unit.objects.get(region_code=region, code=code)


def person_of(u: m.Unit) -> m.Person:
    return m.Person.objects.filter(unit=u).order_by("id").first()


def put(client, url: str, data: dict):
    return client.put(url, data=json.dumps(data), content_type="application/json")


def denied_events(username: str) -> int:
    return BusinessEvent.objects.filter(code="security.denied", actor_name=username).count()


UNIT_API = "/api/v1/masterdata/units/"
PEOPLE_API = "/api/v1/masterdata/people/"


@pytest.fixture
def school(client_as):
    return client_as("school_clerk")


class TestUnitUser:
    """school_clerk: unit 001001 in the province; sees and changes only that unit's rows."""

    def test_lists_only_own_unit_and_own_people(self, school):
        units = school.get(UNIT_API, {"limit": 500}).json()
        assert [(u["region_code"], u["code"]) for u in units["items"]] == [(PROVINCE, "001001")]
        own = unit(PROVINCE, "001001")
        people = school.get(PEOPLE_API, {"limit": 500}).json()
        assert people["count"] == m.Person.objects.filter(unit=own).count() > 0
        assert {p["unit_id"] for p in people["items"]} == {own.pk}

    @pytest.mark.parametrize("region,code", [(PROVINCE, "001"), (PROVINCE, "002001"), (COUNTY, "001001")])
    def test_other_units_are_not_found_via_api(self, school, region, code):
        other = unit(region, code)
        before = denied_events("school_clerk")
        r = school.get(f"{UNIT_API}{other.pk}")
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
        assert "不存在或无权访问" in r.json()["message"]
        assert denied_events("school_clerk") == before + 1

    @pytest.mark.parametrize("region,code", [(PROVINCE, "002001"), (COUNTY, "001001")])
    def test_other_units_people_cannot_be_read_or_changed(self, school, region, code):
        p = person_of(unit(region, code))
        name = p.name
        assert school.get(f"{PEOPLE_API}{p.pk}").status_code == 404
        before = denied_events("school_clerk")
        r = put(school, f"{PEOPLE_API}{p.pk}", {"unit": code, "name": "篡改", "id_number": p.id_number,
                                                "status": "in_service", "staffing": "admin"})
        assert r.status_code == 404
        assert denied_events("school_clerk") == before + 1
        p.refresh_from_db()
        assert p.name == name

    def test_own_person_can_be_changed(self, school):
        p = person_of(unit(PROVINCE, "001001"))
        r = put(school, f"{PEOPLE_API}{p.pk}", {"unit": "001001", "name": "新名字", "id_number": p.id_number,
                                                "status": "in_service", "staffing": "institution",
                                                "basic_salary": "5,000.00", "allowance": "0", "bonus": "0",
                                                "performance_pay": "0"})
        assert r.status_code == 200, r.content
        p.refresh_from_db()
        assert p.name == "新名字" and p.basic_salary == 500000
        assert r.json()["basic_salary"] == "5000.00"

    def test_own_unit_is_read_only_for_unit_staff(self, school):
        own = unit(PROVINCE, "001001")
        assert school.get(f"{UNIT_API}{own.pk}").status_code == 200
        r = put(school, f"{UNIT_API}{own.pk}", {"code": own.code, "name": "改名", "unit_type": "institution",
                                                "support_level": "full"})
        assert r.status_code in (403, 404)
        own.refresh_from_db()
        assert own.name != "改名"

    @pytest.mark.parametrize("region,code", [(PROVINCE, "002001"), (COUNTY, "001001")])
    def test_pages_answer_404(self, school, region, code):
        other = unit(region, code)
        p = person_of(other)
        before = denied_events("school_clerk")
        assert school.get(f"/r/units/{other.pk}/").status_code == 404
        assert school.get(f"/r/people/{p.pk}/").status_code == 404
        assert school.get(f"/r/people/{p.pk}/edit/").status_code == 404
        r = school.post(f"/r/people/{p.pk}/edit/", {"unit": code, "name": "篡改", "id_number": p.id_number,
                                                    "status": "in_service", "staffing": "admin"})
        assert r.status_code == 404
        assert "不存在或无权访问" in r.content.decode()
        assert denied_events("school_clerk") == before + 4
        p.refresh_from_db()
        assert p.name != "篡改"

    def test_own_rows_pages(self, school):
        own = unit(PROVINCE, "001001")
        p = person_of(own)
        assert school.get(f"/r/units/{own.pk}/").status_code == 200
        assert school.get(f"/r/people/{p.pk}/").status_code == 200
        assert school.get(f"/r/people/{p.pk}/edit/").status_code == 200
        page = school.get("/r/units/").content.decode()
        assert own.name in page and unit(PROVINCE, "002001").name not in page

    def test_cannot_add_a_person_to_another_unit(self, school):
        before = m.Person.objects.count()
        r = school.post(PEOPLE_API, data=json.dumps({"unit": "002001", "name": "外人", "id_number": "11010519491231002X",
                                                     "status": "in_service", "staffing": "admin"}),
                        content_type="application/json")
        assert r.status_code in (403, 404, 422)
        assert m.Person.objects.count() == before


class TestUpperLevelFinance:
    """fin_budget at the province reads the whole province (全辖) but writes only its own level."""

    def test_reads_lower_region_units(self, client_as):
        c = client_as("fin_budget")
        lower = unit(COUNTY, "001001")
        r = c.get(f"{UNIT_API}{lower.pk}")
        assert r.status_code == 200 and r.json()["region_code"] == COUNTY
        listed = c.get(UNIT_API, {"region_code": COUNTY, "limit": 500}).json()
        assert listed["count"] == m.Unit.objects.filter(region_code=COUNTY).count() > 0
        everything = c.get(UNIT_API, {"limit": 500}).json()
        assert everything["count"] == m.Unit.objects.count()
        assert c.get(f"/r/units/{lower.pk}/").status_code == 200

    def test_cannot_change_lower_region_rows(self, client_as):
        c = client_as("fin_budget")
        lower = unit(COUNTY, "001001")
        before = denied_events("fin_budget")
        r = put(c, f"{UNIT_API}{lower.pk}", {"code": lower.code, "name": "越级修改", "unit_type": "institution",
                                             "support_level": "full"})
        assert r.status_code == 404
        assert c.get(f"/r/units/{lower.pk}/edit/").status_code == 404
        assert denied_events("fin_budget") == before + 2
        lower.refresh_from_db()
        assert lower.name != "越级修改"
        detail = c.get(f"/r/units/{lower.pk}/").content.decode()
        assert f"/r/units/{lower.pk}/edit/" not in detail  # no edit button either

    def test_changes_own_level_rows(self, client_as):
        c = client_as("fin_budget")
        own = unit(PROVINCE, "004")
        r = put(c, f"{UNIT_API}{own.pk}", {"code": own.code, "name": "省农业农村厅（改）", "unit_type": "organ",
                                           "support_level": "full"})
        assert r.status_code == 200, r.content
        own.refresh_from_db()
        assert own.name == "省农业农村厅（改）"

    def test_cannot_create_in_a_lower_region(self, client_as, user):
        c = client_as("fin_budget")
        before = m.Region.objects.count()
        # a township under the county is maintained by the county bureau, not the province
        r = c.post("/api/v1/masterdata/regions/", data=json.dumps(
            {"code": "990102001", "name": "青山区某镇", "level": "5", "parent": COUNTY}),
            content_type="application/json")
        assert r.status_code == 403, r.content
        assert r.json()["code"] == "scope_region"
        assert m.Region.objects.count() == before
        # a county-only unit cannot even be addressed by a province user: unit codes resolve in the own region
        from ibms.core.resources import get_resource
        from ibms.core.services import resource_create

        county_unit = resource_create(actor=user("county_treasury"), resource=get_resource("units"),
                                      data={"code": "009", "name": "青山区新设局", "unit_type": "organ",
                                            "support_level": "full"})
        assert county_unit.region_code == COUNTY
        people = m.Person.objects.count()
        r = c.post(PEOPLE_API, data=json.dumps({"unit": "009", "name": "越级", "id_number": "11010519491231002X",
                                                "status": "in_service", "staffing": "admin"}),
                   content_type="application/json")
        assert r.status_code == 422, r.content
        assert r.json()["detail"][0]["field"] == "unit"
        assert m.Person.objects.count() == people

    def test_unit_codes_resolve_in_own_region(self, client_as):
        """Codes repeat across regions (001001 exists in every region): a province user gets the province's."""
        c = client_as("fin_budget")
        r = c.post(PEOPLE_API, data=json.dumps({"unit": "001001", "name": "省级新人", "id_number": "11010519491231002X",
                                                "status": "in_service", "staffing": "institution",
                                                "basic_salary": "1.00", "allowance": "0", "bonus": "0",
                                                "performance_pay": "0"}),
                   content_type="application/json")
        assert r.status_code == 201, r.content
        assert r.json()["region_code"] == PROVINCE and r.json()["unit_id"] == unit(PROVINCE, "001001").pk


class TestCountyFinance:
    """county_treasury sees its county, plus the shared reference of the levels above — nothing else."""

    def test_province_business_rows_are_invisible(self, client_as):
        c = client_as("county_treasury")
        listed = c.get(UNIT_API, {"limit": 500}).json()
        assert {u["region_code"] for u in listed["items"]} == {COUNTY}
        assert c.get(f"{UNIT_API}{unit(PROVINCE, '001').pk}").status_code == 404
        assert c.get(f"/r/units/{unit(PROVINCE, '001').pk}/").status_code == 404
        prov_person = person_of(unit(PROVINCE, "001001"))
        assert c.get(f"{PEOPLE_API}{prov_person.pk}").status_code == 404
        sibling = unit("990121000", "001")
        assert c.get(f"{UNIT_API}{sibling.pk}").status_code == 404
        accounts = c.get("/api/v1/masterdata/bank-accounts/", {"limit": 500}).json()
        assert {a["region_code"] for a in accounts["items"]} == {COUNTY}

    def test_unit_payees_of_the_province_are_not_shared_reference(self, client_as):
        c = client_as("county_treasury")
        prov_payee = m.Payee.objects.filter(region_code=PROVINCE, unit__isnull=False).first()
        assert c.get(f"/api/v1/masterdata/payees/{prov_payee.pk}").status_code == 404
        listed = c.get("/api/v1/masterdata/payees/", {"limit": 500}).json()
        assert {p["region_code"] for p in listed["items"]} <= {COUNTY, PROVINCE, ""}
        assert all(p["unit_id"] is None for p in listed["items"] if p["region_code"] != COUNTY)

    def test_shared_reference_is_visible_but_read_only(self, client_as):
        c = client_as("county_treasury")
        items = c.get("/api/v1/masterdata/value-items/", {"limit": 5}).json()
        assert items["count"] > 0 and all(i["region_code"] == "" for i in items["items"])
        bl = m.BlacklistEntry.objects.get(region_code=PROVINCE)
        r = c.get(f"/api/v1/masterdata/blacklist/{bl.pk}")
        assert r.status_code == 200 and r.json()["number"] == bl.number
        assert c.get(f"/r/blacklist/{bl.pk}/").status_code == 200
        r = put(c, f"/api/v1/masterdata/blacklist/{bl.pk}", {"name": "改", "account_no": bl.account_no,
                                                               "reason": "x", "legal_basis": "y",
                                                               "valid_from": "2026-01-01"})
        assert r.status_code == 404
        prov_bank = m.AgentBank.objects.filter(region_code=PROVINCE).first()
        assert c.get(f"/api/v1/masterdata/agent-banks/{prov_bank.pk}").status_code == 200
        assert c.get(f"/r/agent-banks/{prov_bank.pk}/edit/").status_code == 404


def test_denied_event_names_path_and_user(client_as):
    c = client_as("school_clerk")
    other = unit(COUNTY, "001001")
    c.get(f"{UNIT_API}{other.pk}")
    ev = BusinessEvent.objects.filter(code="security.denied", actor_name="school_clerk").order_by("-id").first()
    assert ev.payload["path"] == f"{UNIT_API}{other.pk}" and ev.payload["code"] == "not_found"
    assert ev.region_code == PROVINCE and ev.request_id
