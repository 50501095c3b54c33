"""Every page a demo role's menu shows answers (no 403, no error) and shows no internal identifier as text:
no snake_case or dotted codes, no English status words — names in Chinese, codes only beside their names."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from lxml import html

from ibms.core.navigation import menu_for
from ibms.core.views import navigation_groups
from ibms.demo.users import USERS

pytestmark = pytest.mark.django_db
IDENT = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z]+\.[a-z_]+[a-z]\b")
STATUS_WORDS = re.compile(r"\b(?:draft|submitted|approved|rejected|pending|paid|returned|failed|open|done|active|"
                          r"closed|unknown|none|true|false|null)\b", re.I)
SKIP_TAGS = {"script", "style", "code", "pre", "textarea"}


def visible_text(page: str) -> list[str]:
    tree = html.fromstring(page)
    for el in tree.iter(*SKIP_TAGS):
        el.drop_tree()
    for el in tree.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' mono ') or @data-code-text]"):
        el.drop_tree()
    return [t.strip() for t in tree.xpath("//body//text()") if t.strip()]


def offenders(texts: list[str]) -> list[str]:
    return [t for t in texts if IDENT.search(t) or STATUS_WORDS.search(t)]


def _urls(user) -> list[str]:
    urls = ["/"] + [item.url for item in menu_for(user)]
    urls += [reverse("resource-list", args=[r.slug]) for _g, resources in navigation_groups(user) for r in resources]
    return list(dict.fromkeys(urls))


@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_every_menu_page_answers_in_chinese(client_as, user, username):
    who = user(username)
    c = client_as(username)
    bad = {}
    for url in _urls(who):
        r = c.get(url)
        if r.status_code != 200:
            bad[url] = r.status_code
            continue
        found = offenders(visible_text(r.content.decode()))
        if found:
            bad[url] = found[:5]
    assert bad == {}, bad
