"""Value sets (要素): leaf-only use, local refinement under national codes, year versioning, economic mapping."""

from __future__ import annotations

import json

import pytest

from ibms.core import clock, verify
from ibms.core.resources import get_resource
from ibms.core.services import resource_create, resource_update
from ibms.masterdata import models as m
from ibms.masterdata.selectors import classification_violation, gov_eco_for
from tests.constants import COUNTY, PROVINCE

YEAR = clock.fiscal_year()
OUTSIDE = "980000000"  # a region outside the demo province's chain (no row: national codes only)
pytestmark = pytest.mark.django_db


def item(code: str, *, year: int = YEAR, vs: str = "exp_func", region: str = "") -> m.ValueSetItem:
    return m.ValueSetItem.objects.get(value_set__code=vs, fiscal_year=year, code=code, region_code=region)


def violation(code: str, *, year: int = YEAR, region: str = PROVINCE, vs: str = "exp_func"):
    v = classification_violation(vs, code, fiscal_year=year, region_code=region, field="func")
    return v.code if v else None


def add_local(client, code: str, parent: str, *, year: int = YEAR, name: str = "地方细化", vs: str = "exp_func"):
    return client.post("/api/v1/masterdata/value-items/", data=json.dumps(
        {"value_set": vs, "fiscal_year": str(year), "code": code, "name": name, "parent_code": parent}),
        content_type="application/json")


class TestLeafOnly:
    def test_leaf_ok_parent_refused_unknown_refused(self):
        assert violation("2010101") is None
        assert violation("20101") == "classification_not_leaf"
        assert violation("201") == "classification_not_leaf"
        assert violation("2999999") == "classification_unknown"
        assert violation("30101", vs="dep_eco") is None and violation("301", vs="dep_eco") == "classification_not_leaf"
        v = classification_violation("exp_func", "201", fiscal_year=YEAR, region_code=PROVINCE, field="func")
        assert v.field == "func" and "末级" in v.message and "201" in v.message

    def test_inactive_code_is_unknown(self):
        m.ValueSetItem.objects.filter(pk=item("2010101").pk).update(is_active=False)
        assert violation("2010101") == "classification_unknown"

    def test_a_year_without_the_code(self):
        assert violation("2010101", year=YEAR + 5) == "classification_unknown"


class TestLocalRefinement:
    def test_province_child_under_a_national_code(self, client_as):
        c = client_as("fin_budget")
        parent = item("2010101")
        assert violation("2010101") is None
        r = add_local(c, "201010101", "2010101", name="省人大行政运行细化")
        assert r.status_code == 201, r.content
        child = m.ValueSetItem.objects.get(pk=r.json()["id"])
        assert (child.region_code, child.parent_id, child.level, child.is_leaf) == (PROVINCE, parent.pk, 4, True)
        # within the province's chain the national code is no longer a leaf; the local child is
        assert violation("2010101") == "classification_not_leaf"
        assert violation("2010101", region=COUNTY) == "classification_not_leaf"
        assert violation("201010101") is None and violation("201010101", region=COUNTY) is None
        # elsewhere the national code is untouched: still a leaf, and the province's code does not exist
        assert violation("2010101", region=OUTSIDE) is None
        assert violation("201010101", region=OUTSIDE) == "classification_unknown"
        parent.refresh_from_db()
        assert parent.region_code == ""  # the province did not write the national row
        assert all(not p for p in verify.run_all().values())

    def test_child_of_a_local_code_makes_it_non_leaf(self, client_as):
        c = client_as("fin_budget")
        assert add_local(c, "201010101", "2010101").status_code == 201
        r = add_local(c, "20101010101", "201010101")
        assert r.status_code == 201, r.content
        local = item("201010101", region=PROVINCE)
        assert local.is_leaf is False
        assert violation("201010101") == "classification_not_leaf" and violation("20101010101") is None
        assert all(not p for p in verify.run_all().values())

    def test_county_refinement_does_not_affect_the_province(self, client_as):
        r = add_local(client_as("county_treasury"), "201010199", "2010101", name="区级细化")
        assert r.status_code == 201, r.content
        assert violation("2010101", region=COUNTY) == "classification_not_leaf"
        assert violation("2010101", region=PROVINCE) is None
        assert violation("201010199", region=PROVINCE) == "classification_unknown"

    def test_child_code_must_extend_the_parent_and_parent_must_exist(self, client_as):
        c = client_as("fin_budget")
        r = add_local(c, "209990101", "2010101")
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "code"
        r = add_local(c, "2999901", "29999")
        assert r.status_code == 422 and "上级代码 29999 不存在" in r.json()["message"]
        assert not m.ValueSetItem.objects.filter(region_code=PROVINCE).exists()

    def test_a_lower_level_code_is_never_a_parent_for_the_upper_level(self, client_as):
        assert add_local(client_as("county_treasury"), "201010199", "2010101").status_code == 201
        r = add_local(client_as("fin_budget"), "20101019901", "201010199")
        assert r.status_code == 422 and "不存在" in r.json()["message"]

    def test_unit_staff_cannot_add_codes(self, client_as):
        r = add_local(client_as("school_clerk"), "201010101", "2010101")
        assert r.status_code == 403


class TestYearVersioning:
    def test_years_are_independent_rows(self, client_as, user):
        a, b = item("2010101", year=YEAR), item("2010101", year=YEAR + 1)
        assert a.pk != b.pk and a.name == b.name
        assert add_local(client_as("fin_budget"), "201010101", "2010101", year=YEAR).status_code == 201
        assert violation("2010101", year=YEAR) == "classification_not_leaf"
        assert violation("2010101", year=YEAR + 1) is None  # next year is not refined
        assert violation("201010101", year=YEAR + 1) == "classification_unknown"

    def test_renaming_one_year_leaves_the_other(self, user):
        fin = user("fin_budget")
        res = get_resource("value-items")
        local = resource_create(actor=fin, resource=res, data={
            "value_set": "exp_func", "fiscal_year": YEAR, "code": "201010101", "name": "旧名", "parent_code": "2010101"})
        nxt = resource_create(actor=fin, resource=res, data={
            "value_set": "exp_func", "fiscal_year": YEAR + 1, "code": "201010101", "name": "旧名",
            "parent_code": "2010101"})
        resource_update(actor=fin, resource=res, pk=nxt.pk, data={
            "value_set": "exp_func", "fiscal_year": YEAR + 1, "code": "201010101", "name": "新名",
            "parent_code": "2010101"})
        local.refresh_from_db()
        nxt.refresh_from_db()
        assert (local.name, nxt.name) == ("旧名", "新名")
        assert nxt.parent == item("2010101", year=YEAR + 1) and local.parent == item("2010101", year=YEAR)

    def test_reference_data_is_loaded_for_both_years(self):
        for y in (YEAR, YEAR + 1):
            assert m.ValueSetItem.objects.filter(value_set__code="exp_func", fiscal_year=y, region_code="").count() > 100
            assert m.EcoMapping.objects.filter(fiscal_year=y).count() > 20


class TestEconomicMapping:
    def test_national_mapping(self):
        assert gov_eco_for("30101", "organ", fiscal_year=YEAR) == "50101"
        assert gov_eco_for("30101", "institution", fiscal_year=YEAR) == "50501"  # by the 301 prefix
        assert gov_eco_for("30101", "organ", fiscal_year=YEAR + 1) == "50101"
        assert gov_eco_for("99999", "organ", fiscal_year=YEAR) is None
        assert gov_eco_for("30101", "organ", fiscal_year=YEAR + 9) is None

    def test_longest_prefix_and_local_mapping_win(self, user):
        resource_create(actor=user("fin_budget"), resource=get_resource("eco-mappings"), data={
            "fiscal_year": YEAR, "dep_eco_code": "30101", "unit_type": "institution", "gov_eco_code": "50599"})
        assert gov_eco_for("30101", "institution", fiscal_year=YEAR, region_code=PROVINCE) == "50599"
        assert gov_eco_for("30101", "institution", fiscal_year=YEAR, region_code=COUNTY) == "50599"
        assert gov_eco_for("30102", "institution", fiscal_year=YEAR, region_code=PROVINCE) == "50501"
        assert gov_eco_for("30101", "institution", fiscal_year=YEAR) == "50501"  # national view unchanged
