"""The write-route policy: the permission every write route (POST, PUT, PATCH, DELETE) requires.

Each app lists its routes in `data/policy/routes/<app>.csv` (columns `kind,route,permission,why`):

- `kind` `api`: `route` is the operation id of a `/api/v1/` operation;
- `kind` `page`: `route` is the URL name (`namespace:name`), optionally narrowed by one URL argument
  (`accounting:voucher-action?action=post`); `admin:*` stands for every route of the Django admin;
- `permission`: `<app>.<codename>`, several joined by `|` when holding any one suffices (a page whose form does
  one of several things), `public` (anyone, also before login: the login form) or `django_admin` (the Django
  admin's own staff and model-permission checks).

The generic resource routes (`core.resources`) derive theirs from the resource: create and import need
`<app>.add_<model>`, edit and update `<app>.change_<model>`.

The gate checks the permission before anything else runs — before the payload is parsed or the form bound — in
the API (`core.api.install_write_gate`, inside the API's authentication) and on pages
(`core.middleware.WriteGateMiddleware`). A write route without a rule is refused to everyone
(`route_not_in_policy`); a page listed per value of a URL argument (`…?action=post`) answers 404 for a value the
policy does not list (there is no such action). Which roles hold a permission is the other half of the policy:
`data/policy/permissions/<app>.csv` (`ibms.iam.roles`). Services still check their own permission and scope.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings

from .errors import PermissionDenied

ROUTE_COLUMNS = ["kind", "route", "permission", "why"]
KINDS = ("api", "page")
PUBLIC, DJANGO_ADMIN = "public", "django_admin"
SPECIAL = (PUBLIC, DJANGO_ADMIN)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PolicyError(ValueError):
    """A permissions or routes file that cannot be the policy: names the file and line."""


@dataclass(frozen=True)
class RouteRule:
    kind: str
    route: str
    perms: tuple[str, ...]  # any one of them suffices; empty for a special rule
    special: str = ""  # public | django_admin
    why: str = ""
    origin: str = ""  # file:line, or "resource <slug>"

    @property
    def permission(self) -> str:
        return self.special or "|".join(self.perms)

    def allows(self, user) -> bool:
        if self.special:
            return True
        return bool(user and user.is_authenticated and any(user.has_perm(p) for p in self.perms))


def known_permissions() -> set[str]:
    """Every permission the models declare (`<app>.<action>_<model>` and each Meta.permissions codename)."""
    out: set[str] = set()
    for model in apps.get_models():
        meta = model._meta
        out.update(f"{meta.app_label}.{a}_{meta.model_name}" for a in meta.default_permissions)
        out.update(f"{meta.app_label}.{codename}" for codename, _ in meta.permissions)
    return out


def policy_rows(directory: Path, columns: list[str], labels: set[str]):
    """Every row of every `<app>.csv` under `directory`: (app, "file:line", stripped values in `columns` order).
    Refuses a folder without files, a file for no installed app and a file with other columns."""
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise PolicyError(f"no permission policy under {directory} (IBMS_DATA_DIR)")
    for path in files:
        if path.stem not in labels:
            raise PolicyError(f"{path}: no installed app is called {path.stem!r}")
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != columns:
                raise PolicyError(f"{path}: the columns must be {','.join(columns)}")
            for n, row in enumerate(reader, start=2):
                yield path.stem, f"{path.name}:{n}", [(row.get(k) or "").strip() for k in columns]


def routes_dir() -> Path:
    return Path(settings.DATA_DIR) / "policy" / "routes"


def _parse_permission(value: str, where: str, known: set[str]) -> tuple[tuple[str, ...], str]:
    if value in SPECIAL:
        return (), value
    perms = tuple(p.strip() for p in value.split("|"))
    for p in perms:
        if p not in known:
            raise PolicyError(f"{where}: no model declares the permission {p!r}")
    return perms, ""


def _resource_rules() -> list[RouteRule]:
    from .resources import all_resources

    out: list[RouteRule] = []
    for r in all_resources():
        add, change = (r.perm("add"),), (r.perm("change"),)
        why, origin = f"通用资源：{r.title}", f"resource {r.slug}"
        if r.creatable:
            out.append(RouteRule("api", f"{r.slug}_create", add, why=why, origin=origin))
        out.append(RouteRule("api", f"{r.slug}_update", change, why=why, origin=origin))
        for name, perms in (("resource-create", add), ("resource-import", add), ("resource-edit", change)):
            out.append(RouteRule("page", f"{name}?slug={r.slug}", perms, why=why, origin=origin))
    return out


@functools.cache
def rules() -> dict[tuple[str, str], RouteRule]:
    """(kind, route) → rule, from every `data/policy/routes/*.csv` and the resources; checked, read once."""
    labels = {c.label for c in apps.get_app_configs() if c.name.startswith("ibms.")}
    known = known_permissions()
    out: dict[tuple[str, str], RouteRule] = {}

    def add(rule: RouteRule) -> None:
        key = (rule.kind, rule.route)
        if key in out:
            raise PolicyError(f"{rule.origin}: {rule.kind} {rule.route} already has a rule ({out[key].origin})")
        out[key] = rule

    for _app, where, (kind, route, permission, why) in policy_rows(routes_dir(), ROUTE_COLUMNS, labels):
        if kind not in KINDS or not route:
            raise PolicyError(f"{where}: kind must be api or page, and the route is required")
        if not why:
            raise PolicyError(f"{where}: the reason (why) is missing")
        perms, special = _parse_permission(permission, where, known)
        add(RouteRule(kind, route, perms, special, why, where))

    for rule in _resource_rules():
        add(rule)
    return out


def api_rule(operation_id: str) -> RouteRule | None:
    return rules().get(("api", operation_id))


def page_rule(view_name: str, kwargs: dict | None = None) -> RouteRule | None:
    """The rule of a page route: one narrowed by a URL argument first (`name?arg=value`), then the route's own;
    every route of a namespace when the policy says `namespace:*`."""
    table = rules()
    for k, v in sorted((kwargs or {}).items()):
        rule = table.get(("page", f"{view_name}?{k}={v}"))
        if rule is not None:
            return rule
    rule = table.get(("page", view_name))
    if rule is None and ":" in view_name:
        rule = table.get(("page", view_name.split(":", 1)[0] + ":*"))
    return rule


def narrowed(view_name: str) -> bool:
    """Whether the policy lists this page route per value of a URL argument (then another value is no page)."""
    return any(kind == "page" and route.startswith(f"{view_name}?") for kind, route in rules())


def enforce(user, rule: RouteRule | None, *, route: str) -> None:
    """Refuse (403) a write the policy does not allow this user; the refusal names the route and permission."""
    if rule is None:
        raise PermissionDenied("该操作没有登记所需的权限，已拒绝", code="route_not_in_policy",
                               detail={"route": route, "permission": ""})
    if not rule.allows(user):
        raise PermissionDenied(f"没有权限{rule.why}" if rule.why else "没有执行该操作的权限",
                               detail={"route": route, "permission": rule.permission})
