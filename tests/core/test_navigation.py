"""The side menu is data (data/navigation/<app>.csv): each item shown only to holders of its permission, and a
file that names an unknown permission or a malformed row is refused with its file and line."""

from __future__ import annotations

import pytest
from django.test import override_settings

from ibms.core import navigation
from ibms.core.policy import PolicyError


@pytest.fixture
def fresh_menu():
    navigation.nav_items.cache_clear()
    yield
    navigation.nav_items.cache_clear()


def test_every_item_names_a_real_permission_and_page(fresh_menu, client_as, user):
    items = navigation.nav_items()
    assert {i.origin.split("/")[0] for i in items} >= {"treasury", "budgeting", "indicators", "accounting"}
    fin = client_as("fin_treasury")
    for item in items:
        if item.visible_to(user("fin_treasury")):
            assert fin.get(item.url).status_code == 200, item


def test_menu_shows_only_what_the_role_may_see(client_as, user):
    hidden_somewhere = False
    for name in ("school_clerk", "fin_treasury", "sysadmin"):
        page = client_as(name).get("/").content.decode()
        for item in navigation.nav_items():
            shown = f'href="{item.url}"' in page
            assert shown == item.visible_to(user(name)), (name, item)
            hidden_somewhere |= not shown
    assert hidden_somewhere
    assert 'href="/budgeting/"' not in client_as("sysadmin").get("/").content.decode()


@pytest.mark.parametrize("row, message", [
    ("国库集中支付,对账,/treasury/reconciliation/,treasury.no_such_permission", "no model declares"),
    ("国库集中支付,,/treasury/,", "are required"),
    ("国库集中支付,对账,treasury/,", "are required"),
])
def test_a_bad_menu_file_is_refused_with_its_line(db, fresh_menu, tmp_path, row, message):
    (tmp_path / "navigation").mkdir()
    (tmp_path / "navigation" / "treasury.csv").write_text(f"group,title,url,permission\n{row}\n", encoding="utf-8")
    with override_settings(DATA_DIR=tmp_path), pytest.raises(PolicyError, match=message) as err:
        navigation.nav_items()
    assert "treasury.csv:2" in str(err.value)
