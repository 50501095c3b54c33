"""The side menu's pages that are not resource lists (workbenches, queues, reports), as data.

Each app lists its pages in `data/navigation/<app>.csv` (columns `group,title,url,permission`): the menu group,
the item's title, its address and the permission a person needs to see it (empty: everyone who is logged in).
Items appear in the order of INSTALLED_APPS, then of the file. A new app adds a file, not code. A permission no
model declares is refused when the menu is first read, naming the file and line."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission

from .policy import PolicyError, policy_rows

COLUMNS = ["group", "title", "url", "permission"]


@dataclass(frozen=True)
class NavItem:
    group: str
    title: str
    url: str
    permission: str
    origin: str

    def visible_to(self, user) -> bool:
        return not self.permission or user.has_perm(self.permission)


def navigation_dir() -> Path:
    return Path(settings.DATA_DIR) / "navigation"


@functools.cache
def nav_items() -> tuple[NavItem, ...]:
    order = {c.label: n for n, c in enumerate(apps.get_app_configs())}
    known = {f"{a}.{c}" for a, c in Permission.objects.values_list("content_type__app_label", "codename")}
    items = []
    for app, where, (group, title, url, perm) in policy_rows(navigation_dir(), COLUMNS, set(order)):
        if not (group and title and url.startswith("/")):
            raise PolicyError(f"{where}: group, title and an address starting with / are required")
        if perm and perm not in known:
            raise PolicyError(f"{where}: no model declares the permission {perm!r}")
        items.append((order[app], NavItem(group, title, url, perm, f"{app}/{where}")))
    return tuple(item for _, item in sorted(items, key=lambda pair: pair[0]))


def menu_for(user) -> list[NavItem]:
    """The pages `user` may see, in menu order."""
    return [item for item in nav_items() if item.visible_to(user)]
