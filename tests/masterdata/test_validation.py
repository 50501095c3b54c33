"""Validation: bad codes and duplicates are 422 {"code": "validation_failed", "message": <Chinese>, "detail": [...]}
through the API, nothing is saved, and the form page shows the same Chinese message."""

from __future__ import annotations

import json

import pytest

from ibms.core.codes import id_check_char, uscc_check_char
from ibms.core.models import ChangeLog
from ibms.masterdata import models as m
from tests.constants import PROVINCE


def good_uscc(seed: str = "ABC") -> str:
    body = ("12990000" + seed + "000000000")[:17]
    return body + uscc_check_char(body)


def bad_check(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:-1] + next(c for c in alphabet if c != code[-1])


def good_id(seq: int = 7) -> str:
    body = f"99010119800101{seq:03d}"
    return body + id_check_char(body)


def post(client, slug: str, data: dict):
    return client.post(f"/api/v1/masterdata/{slug}/", data=json.dumps(data), content_type="application/json")


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def assert_422(r, field: str, needle: str):
    assert r.status_code == 422, r.content
    body = r.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == "validation_failed"
    assert has_chinese(body["message"]) and needle in body["message"], body["message"]
    assert isinstance(body["detail"], list) and body["detail"]
    assert any(d["field"] == field and needle in d["message"] for d in body["detail"]), body["detail"]
    return body


UNIT = {"code": "701", "name": "省测试局", "unit_type": "organ", "support_level": "full"}


@pytest.fixture
def fin(client_as):
    return client_as("fin_budget")


class TestApi:
    @pytest.mark.parametrize("code", ["99010200", "99010200A", "9901020001", ""])
    def test_bad_region_code(self, fin, code):
        before = m.Region.objects.count(), ChangeLog.objects.count()
        r = post(fin, "regions", {"code": code, "name": "坏区划", "level": "3", "parent": PROVINCE})
        field, needle = ("code", {0: "必填", 10: "不超过 9"}.get(len(code), "9位数字"))
        assert_422(r, field, needle)
        assert (m.Region.objects.count(), ChangeLog.objects.count()) == before

    def test_region_level_must_be_below_parent(self, fin):
        r = post(fin, "regions", {"code": "990300000", "name": "南山市", "level": "2", "parent": PROVINCE})
        assert_422(r, "level", "低于上级")
        assert not m.Region.objects.filter(code="990300000").exists()
        r = post(fin, "regions", {"code": "990300000", "name": "南山市", "level": "3", "parent": PROVINCE})
        assert r.status_code == 201, r.content
        assert m.Region.objects.get(code="990300000").path == "/990000000/990300000/"

    def test_bad_uscc_check_digit(self, fin):
        before = m.Unit.objects.count()
        r = post(fin, "units", {**UNIT, "uscc": bad_check(good_uscc())})
        assert_422(r, "uscc", "校验位不正确")
        assert m.Unit.objects.count() == before
        r = post(fin, "units", {**UNIT, "uscc": "12990000ABC00000IO"})
        assert_422(r, "uscc", "18位")
        r = post(fin, "units", {**UNIT, "uscc": good_uscc().lower()})
        assert r.status_code == 201 and r.json()["uscc"] == good_uscc()

    def test_bad_id_number(self, fin):
        before = m.Person.objects.count()
        base = {"unit": "001001", "name": "测试", "status": "in_service", "staffing": "admin", "basic_salary": "1",
                "allowance": "0", "bonus": "0", "performance_pay": "0"}
        assert_422(post(fin, "people", {**base, "id_number": bad_check(good_id())[:-1] + (
            "0" if good_id()[-1] != "0" else "1")}), "id_number", "校验位不正确")
        assert_422(post(fin, "people", {**base, "id_number": "9901011980010100"}), "id_number", "18位")
        assert m.Person.objects.count() == before

    def test_duplicate_unit_code(self, fin):
        before = m.Unit.objects.count(), ChangeLog.objects.count()
        body = assert_422(post(fin, "units", {**UNIT, "code": "001"}), "", "单位代码已存在")
        assert body["detail"][0]["code"]
        assert (m.Unit.objects.count(), ChangeLog.objects.count()) == before
        # the same code in another region is another unit: the county may use it
        c = post(fin, "units", {**UNIT})
        assert c.status_code == 201

    def test_duplicate_person_id_number(self, fin):
        existing = m.Person.objects.filter(region_code=PROVINCE).first()
        r = post(fin, "people", {"unit": "001001", "name": "重复", "id_number": existing.id_number,
                                 "status": "in_service", "staffing": "admin", "basic_salary": "1", "allowance": "0",
                                 "bonus": "0", "performance_pay": "0"})
        assert_422(r, "", "身份证号已登记")

    def test_money_text_errors(self, fin):
        r = post(fin, "people", {"unit": "001001", "name": "钱", "id_number": good_id(9), "status": "in_service",
                                 "staffing": "admin", "basic_salary": "12.345", "allowance": "abc", "bonus": "1,23",
                                 "performance_pay": "-1"})
        body = assert_422(r, "basic_salary", "两位小数")
        fields = {d["field"] for d in body["detail"]}
        assert {"basic_salary", "allowance", "bonus", "performance_pay"} <= fields  # every problem at once

    def test_put_with_bad_data_changes_nothing(self, fin):
        u = m.Unit.objects.get(region_code=PROVINCE, code="004")
        before = (u.name, u.uscc, ChangeLog.objects.count())
        r = fin.put(f"/api/v1/masterdata/units/{u.pk}", data=json.dumps({**UNIT, "code": "004", "name": "改",
                                                                          "uscc": bad_check(good_uscc())}),
                    content_type="application/json")
        assert_422(r, "uscc", "校验位")
        u.refresh_from_db()
        assert (u.name, u.uscc, ChangeLog.objects.count()) == before

    def test_unit_code_cannot_be_changed(self, fin):
        u = m.Unit.objects.get(region_code=PROVINCE, code="004")
        r = fin.put(f"/api/v1/masterdata/units/{u.pk}", data=json.dumps({**UNIT, "code": "0049"}),
                    content_type="application/json")
        assert_422(r, "code", "不能修改")

    def test_omitted_fields_keep_defaults_and_current_values(self, fin):
        r = post(fin, "units", UNIT)  # no is_active in the JSON
        assert r.status_code == 201 and r.json()["is_active"] is True
        pk = r.json()["id"]
        r = fin.put(f"/api/v1/masterdata/units/{pk}", data=json.dumps({**UNIT, "name": "只改名"}),
                    content_type="application/json")
        assert r.status_code == 200 and r.json()["is_active"] is True and r.json()["name"] == "只改名"
        r = fin.put(f"/api/v1/masterdata/units/{pk}", data=json.dumps({**UNIT, "is_active": False}),
                    content_type="application/json")
        assert r.json()["is_active"] is False
        r = fin.put(f"/api/v1/masterdata/units/{pk}", data=json.dumps(UNIT), content_type="application/json")
        assert r.json()["is_active"] is False  # still off: left out means unchanged

    def test_schema_errors_share_the_format(self, fin):
        r = fin.post("/api/v1/masterdata/units/", data="not json", content_type="application/json")
        assert r.status_code in (400, 422)
        body = r.json()
        assert set(body) == {"code", "message", "detail"} and has_chinese(body["message"])


class TestPages:
    def test_form_page_shows_the_chinese_field_message(self, fin):
        before = m.Unit.objects.count()
        r = fin.post("/r/units/new/", {**UNIT, "uscc": bad_check(good_uscc()), "is_active": "on"})
        assert r.status_code == 422  # the form again, with its errors
        page = r.content.decode()
        assert "统一社会信用代码校验位不正确" in page and 'class="fielderror"' in page
        assert m.Unit.objects.count() == before

    def test_form_page_shows_the_duplicate_message(self, fin):
        r = fin.post("/r/units/new/", {**UNIT, "code": "001", "is_active": "on"})
        assert r.status_code == 422  # the form again, with its errors
        assert "该区划下单位代码已存在" in r.content.decode()

    def test_form_page_shows_bad_region_code(self, fin):
        r = fin.post("/r/regions/new/", {"code": "12345", "name": "坏", "level": "3", "parent": PROVINCE})
        assert r.status_code == 422  # the form again, with its errors
        assert "财政区划代码应为9位数字" in r.content.decode()
        assert not m.Region.objects.filter(code="12345").exists()

    def test_form_page_shows_bad_id_number(self, client_as):
        c = client_as("school_clerk")
        r = c.post("/r/people/new/", {"unit": "001001", "name": "页", "id_number": "990101198001010000",
                                      "status": "in_service", "staffing": "admin", "basic_salary": "1",
                                      "allowance": "0", "bonus": "0", "performance_pay": "0"})
        assert r.status_code == 422  # the form again, with its errors
        page = r.content.decode()
        assert "身份证号校验位不正确" in page or "身份证号应为18位" in page
        assert not m.Person.objects.filter(name="页").exists()

    def test_good_post_redirects_to_detail(self, fin):
        r = fin.post("/r/units/new/", {**UNIT, "uscc": good_uscc(), "is_active": "on"})
        assert r.status_code == 302
        u = m.Unit.objects.get(region_code=PROVINCE, code="701")
        assert r["Location"] == f"/r/units/{u.pk}/"
