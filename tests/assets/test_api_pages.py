"""The asset API and pages: cards, the register, changes and depreciation through /api/v1/assets/; the unit's
asset page and the Excel exports; wrong role 403, out of scope 404, depreciating twice 409."""

from __future__ import annotations

import pytest

from tests.treasury.builders import school

from .builders import YEAR, opening, unit_set


def _api(client_as, username):
    c = client_as(username)
    return c


@pytest.mark.django_db
def test_api_open_register_depreciate_and_refusals(client_as):
    clerk = client_as("school_clerk")
    r = clerk.post("/api/v1/assets/cards", {"unit_id": school().pk, "asset_class": "2021101", "name": "复印机",
                                             "original_value": "14400.00", "acquired_date": f"{YEAR - 1}-03-01"},
                   content_type="application/json")
    assert r.status_code == 201, r.content
    card = r.json()
    assert card["original_value"] == "14400.00" and card["useful_life_months"] == 72
    reg = clerk.get("/api/v1/assets/register").json()
    assert any(i["id"] == card["id"] for i in reg["items"])
    r = clerk.post("/api/v1/assets/depreciation", {"account_set_id": unit_set().pk, "year": YEAR, "month": 1},
                   content_type="application/json")
    assert r.status_code == 201 and r.json()["amount"] == "200.00"
    r = clerk.post("/api/v1/assets/depreciation", {"account_set_id": unit_set().pk, "year": YEAR, "month": 1},
                   content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "already_depreciated"
    detail = clerk.get(f"/api/v1/assets/cards/{card['id']}").json()
    assert detail["schedule"][0]["amount"] == "200.00" and detail["accumulated"] == "200.00"
    r = client_as("school_reviewer").post("/api/v1/assets/changes", {"card_id": card["id"], "kind": "dispose",
                                                                     "disposal": "scrap", "reason": "x"},
                                          content_type="application/json")
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    other = client_as("hospital_clerk")
    assert other.get(f"/api/v1/assets/cards/{card['id']}").status_code == 404
    r = other.post("/api/v1/assets/changes", {"card_id": card["id"], "kind": "transfer", "to_user_name": "x"},
                   content_type="application/json")
    assert r.status_code == 404


@pytest.mark.django_db
def test_pages_list_detail_and_exports(client_as, user):
    card = opening(user("school_clerk"), 360_000, name="投影仪")
    c = client_as("school_clerk")
    page = c.get("/assets/")
    assert page.status_code == 200 and card.number in page.content.decode() and "资产卡片" in page.content.decode()
    assert c.get(f"/assets/{card.pk}/").status_code == 200
    x = c.get("/assets/?format=xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    assert c.get("/assets/schedule/?format=xlsx").status_code == 200
    assert c.get("/assets/depreciation/").status_code == 200
    r = c.post(f"/assets/{card.pk}/change/", {"kind": "transfer", "to_user_name": "李老师"})
    assert r.status_code == 302
    assert client_as("hospital_clerk").get(f"/assets/{card.pk}/").status_code == 404
    assert client_as("school_reviewer").post(f"/assets/{card.pk}/change/", {"kind": "transfer",
                                                                            "to_user_name": "x"}).status_code == 403
