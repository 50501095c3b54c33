"""The permission policy is data, and every write route is behind it.

- Every write route — each POST/PUT/PATCH/DELETE operation of `/api/v1/` and each page whose view accepts POST
  (the generic resource pages included) — has a rule in `data/policy/routes/` (or the resource's derived one),
  and every rule names a route that exists.
- For every role and every write route, a demo user holding exactly that role sends the request (an empty JSON
  body, an empty form): a role whose policy (`data/policy/permissions/`) lacks the route's permission gets 403
  from the gate before anything runs — nothing in the change log, one `security.denied` event naming the route
  and the permission — and a role that has it is not refused (and no request fails with 5xx).
- The roles in the database hold exactly the policy's permissions; none may write reservations or ledger entries.
"""

from __future__ import annotations

import inspect
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ibms.core import api as core_api
from ibms.core import policy
from ibms.core.models import BusinessEvent, ChangeLog
from ibms.demo.province import USERS
from ibms.iam import roles as iam_roles
from ibms.iam.models import Role, User
from ibms.web.api import api

pytestmark = pytest.mark.django_db

ROLE_CODES = [code for code, *_ in iam_roles.ROLES]
# one demo login per role, each holding exactly that role (province level: scope over the demo data)
DEMO_USER = {}
for _username, _real, _region, _org, _roles in USERS:
    if len(_roles) == 1 and _region == "990000000":
        DEMO_USER.setdefault(_roles[0], _username)
MISSING_PK = 987654321  # no row has it: a holder's request ends in the service (its own permission, then 404)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


# --- the write routes -------------------------------------------------------------------------------------------

def api_write_routes() -> list[tuple[str, str, str]]:
    """(method, URL, operation id) of every write operation of /api/v1/."""
    out = []
    for path, op in core_api.operations(api):
        for method in sorted(set(op.methods) & policy.WRITE_METHODS):
            url = "/api/v1" + re.sub(r"\{(?:int:)?(\w+)\}", str(MISSING_PK), path)
            out.append((method, url.replace("//", "/"), core_api.operation_id(api, op)))
    return out


def _patterns(patterns, ns: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if getattr(p, "app_name", None) == "ninja":  # the API: walked through its routers above
                continue
            yield from _patterns(p.url_patterns, ns + (f"{p.namespace}:" if p.namespace else ""))
        elif isinstance(p, URLPattern) and p.name:
            yield ns + p.name, p


def accepts_post(callback) -> bool:
    """Whether a page's view takes POST: a class-based view with `post`, a view restricted by
    `require_http_methods`/`require_POST` that lists it, or an unrestricted view that reads a posted form."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return hasattr(view_class, "post") and "post" in view_class.http_method_names
    f = callback
    while f is not None:
        if f.__closure__:
            allowed = inspect.getclosurevars(f).nonlocals.get("request_method_list")
            if allowed is not None:
                return "POST" in allowed
        f = getattr(f, "__wrapped__", None)
    src = inspect.getsource(inspect.unwrap(callback))
    return "request.POST" in src or 'request.method == "POST"' in src


def _kwarg_variants(name: str, pattern: URLPattern) -> list[dict]:
    """URL arguments to try: every value a rule narrows the route by (`name?arg=value`), else one placeholder."""
    converters = getattr(pattern.pattern, "converters", {})
    narrowed: dict[str, list[str]] = {}
    for kind, route in policy.rules():
        if kind == "page" and route.startswith(f"{name}?"):
            arg, value = route.split("?", 1)[1].split("=", 1)
            narrowed.setdefault(arg, []).append(value)
    base = {k: (MISSING_PK if type(c).__name__ == "IntConverter" else "x") for k, c in converters.items()}
    if not narrowed:
        return [base]
    return [{**base, arg: v} for arg, values in narrowed.items() for v in values]


def page_write_routes() -> list[tuple[str, str, dict]]:
    """(URL, view name, URL arguments) of every page route whose view accepts POST (the admin is apart)."""
    out = []
    for name, pattern in _patterns(get_resolver().url_patterns):
        if name.startswith("admin:") or not accepts_post(pattern.callback):
            continue
        for kwargs in _kwarg_variants(name, pattern):
            out.append((reverse(name, kwargs=kwargs), name, kwargs))
    return out


def page_read_routes() -> list[str]:
    return [name for name, p in _patterns(get_resolver().url_patterns)
            if not name.startswith("admin:") and not accepts_post(p.callback)]


# --- every write route has a rule, every rule a route ---------------------------------------------------------

def test_every_write_route_has_a_rule_and_every_rule_a_route():
    unmapped = [f"api {oid} ({m} {url})" for m, url, oid in api_write_routes() if policy.api_rule(oid) is None]
    unmapped += [f"page {name} {kw}" for url, name, kw in page_write_routes() if policy.page_rule(name, kw) is None]
    assert unmapped == [], "write routes without a rule in data/policy/routes/: " + ", ".join(unmapped)

    op_ids = {oid for _, _, oid in api_write_routes()}
    names = {name: p for name, p in _patterns(get_resolver().url_patterns)}
    stale = []
    for (kind, route), rule in policy.rules().items():
        if kind == "api" and route not in op_ids:
            stale.append(f"{rule.origin}: no write operation {route}")
        elif kind == "page":
            name, _, cond = route.partition("?")
            if name.endswith(":*"):
                if not any(n.startswith(name[:-1]) for n in names):
                    stale.append(f"{rule.origin}: no route in {name}")
            elif name not in names:
                stale.append(f"{rule.origin}: no page {name}")
            elif cond and cond.split("=")[0] not in getattr(names[name].pattern, "converters", {}):
                stale.append(f"{rule.origin}: {name} has no argument {cond.split('=')[0]}")
            elif not name.startswith("admin:") and not cond and not accepts_post(names[name].callback):
                stale.append(f"{rule.origin}: {name} takes no POST")
    assert stale == []
    assert len(op_ids) > 80 and len(page_write_routes()) > 60  # the walk found the routes


def test_the_gate_is_in_front_of_every_write_operation():
    for path, op in core_api.operations(api):
        if set(op.methods) & policy.WRITE_METHODS:
            assert op.auth_callbacks and all(isinstance(a, core_api.WriteGate) for a in op.auth_callbacks), path
    schema = api.get_openapi_schema()  # the documented security schemes are still the real ones
    assert set(schema["components"]["securitySchemes"]) == {"TokenAuth", "SessionAuth"}


# --- the policy in the database -------------------------------------------------------------------------------

def test_roles_hold_exactly_the_policy():
    policy_perms = iam_roles.role_permissions()
    assert set(policy_perms) == set(ROLE_CODES) == set(Role.objects.values_list("code", flat=True))
    for role in Role.objects.select_related("group"):
        held = {f"{app}.{code}" for app, code in role.group.permissions.values_list("content_type__app_label",
                                                                                  "codename")}
        assert held == policy_perms[role.code], role.code
        outside = {p for p in held if not p.split(".")[1].startswith("view_")} - policy_perms[role.code]
        assert outside == set(), role.code
        ledger_writes = {p for p in held if re.fullmatch(r"indicators\.(add|change|delete)_(reservation|indicatorentry)",
                                                          p)}
        assert ledger_writes == set(), f"{role.code} may write reservations or ledger entries: {ledger_writes}"
    # the demo logins carry their permissions only through their role, and none reaches the Django admin
    demo = User.objects.filter(username__in=[u for u, *_ in USERS])
    assert not demo.filter(user_permissions__isnull=False).exists()
    assert not demo.filter(is_staff=True).exists() and not demo.filter(is_superuser=True).exists()


def test_a_policy_file_that_cannot_be_the_policy_is_refused(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    folder = tmp_path / "policy" / "permissions"
    folder.mkdir(parents=True)
    with pytest.raises(iam_roles.PolicyError, match="no permission policy"):
        iam_roles.load_policy()
    cases = {
        "indicators": ("unit_clerk,indicators.view_indicator,查询指标", None),
        "treasury": ("unit_reviewer,indicators.change_reservation,释放预占", "not a permission of treasury"),
        "masterdata": ("sys_admin,masterdata.change_unit,维护单位", "administrator role"),
        "projects": ("nobody,projects.view_project,查询", "unknown role"),
        "budgeting": ("unit_clerk,budgeting.fly_budgetline,飞", "no model declares"),
        "monitoring": ("unit_clerk,monitoring.view_alert,", "reason"),
        "banks": ("unit_clerk,banks.view_bankmessage,查询\nunit_clerk,banks.view_bankmessage,又一次", "twice"),
        "nowhere": ("unit_clerk,nowhere.view_x,无", "no installed app"),
    }
    for app, (rows, error) in cases.items():
        path = folder / f"{app}.csv"
        path.write_text("role,permission,why\n" + rows + "\n", encoding="utf-8")
        if error is None:
            assert iam_roles.role_permissions()["unit_clerk"] == {"indicators.view_indicator"}
        else:
            with pytest.raises(iam_roles.PolicyError, match=error):
                iam_roles.load_policy()
            path.unlink()


# --- every role against every write route ---------------------------------------------------------------------

def _denials() -> int:
    return BusinessEvent.objects.filter(code="security.denied").count()


@pytest.mark.parametrize("role", ROLE_CODES)
def test_every_write_route_refuses_a_role_without_its_permission(role):
    username = DEMO_USER[role]
    u = User.objects.get(username=username)
    assert u.role_codes == {role}
    perms = iam_roles.role_permissions()[role]
    c = Client()
    c.force_login(u)
    requests = [("api", m, url, oid, policy.api_rule(oid)) for m, url, oid in api_write_routes()]
    requests += [("page", "POST", url, name, policy.page_rule(name, kw)) for url, name, kw in page_write_routes()]
    requests = [r for r in requests if r[4].special != policy.PUBLIC]  # login, logout: everyone's (and logout ends
    # the session the loop runs in)
    failures: list[str] = []
    for kind, method, url, route, rule in requests:
        holds = bool(rule.special) or any(p in perms for p in rule.perms)
        changes, denials = ChangeLog.objects.count(), _denials()
        if kind == "api":
            resp = c.generic(method, url, "{}", content_type="application/json")
        else:
            resp = c.post(url, {})
        where = f"{role} {method} {url} ({kind} {route}, needs {rule.permission}) → {resp.status_code}"
        if resp.status_code >= 500:
            failures.append(f"{where}: server error")
        elif holds:
            if resp.status_code == 403:
                failures.append(f"{where}: refused although the role holds the permission")
        else:
            if resp.status_code != 403:
                failures.append(f"{where}: not refused")
                continue
            if ChangeLog.objects.count() != changes:
                failures.append(f"{where}: the change log grew")
            ev = BusinessEvent.objects.filter(code="security.denied").order_by("-id").first()
            if _denials() != denials + 1 or ev.actor_name != username or ev.payload.get("permission") != rule.permission \
                    or ev.payload.get("route") != f"{kind} {route}":
                failures.append(f"{where}: the denial was not audited with its route and permission")
            if kind == "api":
                body = resp.json()
                if body["code"] != "permission_denied" or not CHINESE.search(body["message"]) \
                        or body["detail"] != {"route": f"api {route}", "permission": rule.permission}:
                    failures.append(f"{where}: body {body}")
            elif "permission_denied" not in resp.content.decode():
                failures.append(f"{where}: the error page does not name the code")
    assert failures == [], f"{len(failures)} of {len(requests)}:\n" + "\n".join(failures)


def test_a_write_to_a_route_without_a_rule_is_refused_to_everyone(client_as):
    c = client_as("fin_budget")  # holds everything about the routes below, and still:
    for name in page_read_routes()[:40]:
        pattern = dict(_patterns(get_resolver().url_patterns))[name]
        converters = getattr(pattern.pattern, "converters", {})
        kwargs = {k: (1 if type(v).__name__ == "IntConverter" else "x") for k, v in converters.items()}
        resp = c.post(reverse(name, kwargs=kwargs), {})
        assert resp.status_code == 403 and "route_not_in_policy" in resp.content.decode(), name
    ev = BusinessEvent.objects.filter(code="security.denied").order_by("-id").first()
    assert ev.payload["code"] == "route_not_in_policy" and ev.payload["route"].startswith("page ")
    # an action the route's rules do not name is no page
    c = client_as("fin_accounting")
    resp = c.post(reverse("accounting:voucher-action", args=[1, "approve_everything"]), {})
    assert resp.status_code == 404 and "not_found" in resp.content.decode()


def test_not_logged_in_a_write_goes_to_the_login_page(client):
    resp = client.post(reverse("treasury:request-new"), {})
    assert resp.status_code == 302 and resp["Location"].startswith(reverse("login"))
    resp = client.post("/api/v1/treasury/requests", "{}", content_type="application/json")
    assert resp.status_code == 401 and resp.json()["code"] == "unauthenticated"


def test_the_admin_refuses_every_role(client_as):
    """The Django admin keeps its own checks (staff + model permissions); no role's user is staff."""
    urls = [reverse("admin:index"), reverse("admin:core_approvalchain_add"),
            reverse("admin:core_approvalchain_change", args=[1]), reverse("admin:core_approvalchain_delete", args=[1])]
    for role in ROLE_CODES:
        c = client_as(DEMO_USER[role])
        changes = ChangeLog.objects.count()
        for url in urls:
            resp = c.post(url, {"doc_type": "x", "region_code": "", "name": "x"})
            assert resp.status_code == 302 and reverse("admin:login") in resp["Location"], (role, url)
        assert ChangeLog.objects.count() == changes


def test_a_token_user_refused_is_audited_by_name(user):
    from ibms.iam import services as iam_services

    clerk = user("school_clerk")
    with_token = iam_services.token_issue(actor=clerk, name="接口测试")[1]
    c = Client(HTTP_AUTHORIZATION=f"Bearer {with_token}")
    resp = c.post("/api/v1/indicators/1/increase", "{}", content_type="application/json")
    assert resp.status_code == 403, resp.content
    assert resp.json() == {"code": "permission_denied", "message": "没有权限追加",
                           "detail": {"route": "api indicator_increase", "permission": "indicators.change_indicator"}}
    ev = BusinessEvent.objects.filter(code="security.denied").order_by("-id").first()
    assert ev.actor_name == "school_clerk" and ev.payload["permission"] == "indicators.change_indicator"
    # the same clerk, with a permission it holds: past the gate, to the payload check
    resp = c.post("/api/v1/treasury/requests", "{}", content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_request"
