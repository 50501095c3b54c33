"""三员分立 that cannot be bypassed: the system administrator opens accounts but chooses neither their password nor
their roles; the security administrator grants roles (never on their own account or one they opened) and mints no
token for anyone; no administrator role holds business data; the audit administrator sees both acts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from ibms.core.errors import PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent
from ibms.iam import roles as iam_roles
from ibms.iam.models import Organization, Role, User
from ibms.iam.services import role_grant, role_revoke, user_create
from tests.constants import PROVINCE

pytestmark = pytest.mark.django_db

ADMIN_ROLES = ("sys_admin", "security_admin", "audit_admin")
NEW_PW = "Zq8#fiscal-2026"


def org(code: str) -> Organization:
    return Organization.objects.get(region_code=PROVINCE, code=code)


def test_opening_an_account_grants_nothing_and_chooses_no_password(user):
    u, initial = user_create(actor=user("sysadmin"), username="new_clerk", real_name="新 经办",
                             organization=org("unit-001001"))
    u = User.objects.get(pk=u.pk)
    assert u.role_codes == set() and not u.get_all_permissions()
    assert u.must_change_password and u.check_password(initial)
    assert len(initial) >= 12 and not u.check_password(NEW_PW)
    for kwargs, code in (({"password": NEW_PW}, "password_not_allowed"), ({"roles": ["unit_clerk"]}, "roles_not_allowed")):
        with pytest.raises(ValidationFailed) as exc:
            user_create(actor=user("sysadmin"), username="other", organization=org("unit-001001"), **kwargs)
        assert exc.value.code == code
    assert not User.objects.filter(username="other").exists()


def test_the_system_admin_cannot_grant_roles(user, client_as):
    u, _ = user_create(actor=user("sysadmin"), username="new_clerk", organization=org("unit-001001"))
    with pytest.raises(PermissionDenied) as exc:
        role_grant(actor=user("sysadmin"), user_id=u.pk, role="unit_clerk")
    assert exc.value.code == "grant_denied"
    c = client_as("sysadmin")
    resp = c.post(f"/api/v1/iam/users/{u.pk}/roles", {"role": "unit_clerk"}, content_type="application/json")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"
    assert c.post(f"/iam/users/{u.pk}/roles/", {"role": "unit_clerk"}).status_code == 403
    assert User.objects.get(pk=u.pk).role_codes == set()


def test_granting_and_revoking_are_the_security_admins_and_audited(user, client_as):
    resp = client_as("sysadmin").post("/api/v1/iam/users", {"username": "new_clerk",
                                                            "organization_id": org("unit-001001").pk},
                                      content_type="application/json")
    assert resp.status_code == 201
    u = User.objects.get(pk=resp.json()["id"])
    sec = client_as("secadmin")
    detail = sec.get(f"/iam/users/{u.pk}/").content.decode()
    assert 'id="role-grant"' in detail and "unit_clerk" in detail and "budget_division" not in detail
    resp = sec.post(f"/iam/users/{u.pk}/roles/", {"role": "unit_clerk"})
    assert resp.status_code == 302
    assert User.objects.get(pk=u.pk).role_codes == {"unit_clerk"}
    resp = sec.post(f"/iam/users/{u.pk}/roles/unit_clerk/revoke/")
    assert resp.status_code == 302
    assert User.objects.get(pk=u.pk).role_codes == set()
    resp = sec.post(f"/api/v1/iam/users/{u.pk}/roles", {"role": "unit_reviewer"}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["roles"] == ["unit_reviewer"]
    resp = sec.delete(f"/api/v1/iam/users/{u.pk}/roles/unit_reviewer")
    assert resp.status_code == 200 and resp.json()["roles"] == []
    events = list(BusinessEvent.objects.filter(object_type="iam.user", object_id=str(u.pk)).order_by("id")
                  .values_list("code", "actor_name", "payload__role"))
    assert events == [("iam.user_created", "sysadmin", None), ("iam.role_granted", "secadmin", "unit_clerk"),
                      ("iam.role_revoked", "secadmin", "unit_clerk"), ("iam.role_granted", "secadmin", "unit_reviewer"),
                      ("iam.role_revoked", "secadmin", "unit_reviewer")]

    # The audit administrator sees both people's acts, on the page and by the API.
    audit = client_as("auditadmin")
    html = audit.get("/audit/", {"object_type": "iam.user", "object_id": str(u.pk)}).content.decode()
    assert "iam.user_created" in html and "iam.role_granted" in html and "iam.role_revoked" in html
    body = audit.get("/api/v1/audit/events", {"object_type": "iam.user", "object_id": str(u.pk)}).json()
    assert {(e["code"], e["actor_name"]) for e in body["items"]} >= {("iam.user_created", "sysadmin"),
                                                                      ("iam.role_granted", "secadmin")}


def test_no_one_grants_roles_to_themselves_or_to_an_account_they_opened(user):
    sec = user("secadmin")
    with pytest.raises(PermissionDenied) as exc:
        role_grant(actor=sec, user_id=sec.pk, role="audit_admin")
    assert exc.value.code == "grant_self"
    # Even someone holding both permissions (a hand-made grant outside the policy) cannot do both acts alone.
    sec.user_permissions.add(Permission.objects.get(content_type__app_label="iam", codename="add_user"))
    sec = User.objects.get(pk=sec.pk)
    u, _ = user_create(actor=sec, username="sock_puppet", organization=org("fin-预算处"))
    for act in (role_grant, role_revoke):
        with pytest.raises(PermissionDenied) as exc:
            act(actor=sec, user_id=u.pk, role="budget_division")
        assert exc.value.code == "grant_own_account"
    assert User.objects.get(pk=u.pk).role_codes == set()


def test_the_security_admin_mints_no_token_for_anyone(user, client_as):
    target = user("school_clerk")
    sec = client_as("secadmin")
    resp = sec.post("/api/v1/iam/tokens", {"user_id": target.pk, "name": "代发"}, content_type="application/json")
    assert resp.status_code == 403
    resp = sec.post("/api/v1/iam/tokens", {"name": "自用"}, content_type="application/json")
    assert resp.status_code == 403
    assert sec.get("/iam/account/tokens/new/").status_code == 403
    assert sec.post("/iam/account/tokens/new/", {"name": "x"}).status_code == 403
    assert not target.api_tokens.exists() and not user("secadmin").api_tokens.exists()


def test_a_new_account_must_change_its_initial_password_first(user, client):
    u, initial = user_create(actor=user("sysadmin"), username="first_login", organization=org("fin-预算处"))
    role_grant(actor=user("secadmin"), user_id=u.pk, role="budget_division")
    resp = client.post("/login/", {"username": "first_login", "password": initial})
    assert resp.status_code == 302
    for path in ("/", "/iam/account/", "/indicators/", "/audit/"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp["Location"].startswith("/iam/account/password/"), path
    resp = client.post("/r/units/new/", {})
    assert resp.status_code == 302 and resp["Location"].startswith("/iam/account/password/")
    page = client.get("/iam/account/password/")
    assert page.status_code == 200 and "首次登录须修改" in page.content.decode()
    for method, path in (("get", "/api/v1/me"), ("get", "/api/v1/indicators/"), ("post", "/api/v1/iam/tokens")):
        resp = getattr(client, method)(path, content_type="application/json")
        assert resp.status_code == 403 and resp.json()["code"] == "password_change_required", path
        assert resp.json()["detail"]["reason"] == "initial"

    resp = client.post("/iam/account/password/", {"old_password": initial, "new_password1": initial,
                                                  "new_password2": initial})
    assert resp.status_code == 422 and "最近 5 次" in resp.content.decode()
    resp = client.post("/iam/account/password/", {"old_password": initial, "new_password1": NEW_PW,
                                                  "new_password2": NEW_PW, "next": "/indicators/"})
    assert resp.status_code == 302 and resp["Location"] == "/indicators/"
    assert client.get("/").status_code == 200  # the session survived the change
    assert client.get("/api/v1/me").status_code == 200
    u = User.objects.get(pk=u.pk)
    assert not u.must_change_password and u.check_password(NEW_PW)
    assert BusinessEvent.objects.filter(code="iam.password_changed", object_id=str(u.pk),
                                        payload__reason="initial").exists()


# --- the policy data --------------------------------------------------------------------------------------------

BUSINESS_APPS = {"masterdata", "projects", "indicators", "budgeting", "accounting", "monitoring", "banks",
                 "treasury", "procurement", "payroll", "assets", "unitfunds", "closing", "analytics"}


def test_no_admin_role_holds_business_data_access():
    """Over the policy files and the roles in the database: the three administrator roles hold iam permissions,
    the audit log (the audit administrator only) and the region/unit lists to place accounts — nothing else."""
    policy = iam_roles.role_permissions()
    placing = {"masterdata.view_region", "masterdata.view_unit"}
    for role in ADMIN_ROLES:
        held = policy[role]
        group = {f"{p.content_type.app_label}.{p.codename}" for p in
                 Role.objects.get(code=role).group.permissions.select_related("content_type")}
        assert group == held, role
        business = {p for p in held if p.split(".", 1)[0] in BUSINESS_APPS} - placing
        assert not business, (role, business)
        assert all(p.startswith("iam.") or p in placing or p in iam_roles.AUDIT_PERMISSIONS for p in held), role
        if role != "audit_admin":
            assert not held & iam_roles.AUDIT_PERMISSIONS, role
        assert "iam.add_apitoken" not in held, role  # no administrator mints tokens
    assert "iam.add_user" in policy["sys_admin"] and "iam.grant_role" not in policy["sys_admin"]
    assert "iam.grant_role" in policy["security_admin"] and "iam.add_user" not in policy["security_admin"]
    assert not any("iam.grant_role" in perms for role, perms in policy.items() if role != "security_admin")


@pytest.mark.parametrize(("rows", "error"), [
    ("sys_admin,core.view_changelog,偷看审计日志", "audit log only for audit_admin"),
    ("security_admin,treasury.view_paymentrequest,看支付", "no business permission"),
    ("sys_admin,iam.grant_role,一人包办", "two people's acts"),
])
def test_the_policy_loader_refuses_a_breach_of_separation(settings, tmp_path, rows, error):
    import shutil

    src = iam_roles.policy_dir()
    folder = tmp_path / "policy" / "permissions"
    shutil.copytree(src, folder)
    app = rows.split(",")[1].split(".")[0]
    with open(folder / f"{app}.csv", "a", encoding="utf-8") as fh:
        fh.write(rows + "\n")
    settings.DATA_DIR = tmp_path
    with pytest.raises(iam_roles.PolicyError, match=error):
        iam_roles.load_policy()


def test_demo_logins_are_not_forced_to_change(password):
    for name in ("fin_budget", "school_clerk", "sysadmin", "secadmin", "auditadmin"):
        c = Client()
        assert c.post("/login/", {"username": name, "password": password}).status_code == 302
        assert c.get("/").status_code == 200, name


def test_applying_the_policy_audits_what_each_role_gains_and_loses():
    """`ibms setup` is the only other way a role's permissions change: it records what it granted and revoked."""
    group = Role.objects.get(code="unit_clerk").group
    stray = Permission.objects.get(content_type__app_label="iam", codename="grant_role")
    group.permissions.add(stray)  # a hand-made grant outside the policy …
    group.permissions.remove(Permission.objects.get(content_type__app_label="iam", codename="add_apitoken"))
    iam_roles.sync_roles()  # … taken back, and the policy's restored
    ev = BusinessEvent.objects.filter(code="iam.role_permissions_synced").order_by("-id").first()
    assert ev is not None and ev.payload["roles"] == {
        "unit_clerk": {"granted": ["iam.add_apitoken"], "revoked": ["iam.grant_role"]}}
    assert not group.permissions.filter(pk=stray.pk).exists()
    before = BusinessEvent.objects.filter(code="iam.role_permissions_synced").count()
    iam_roles.sync_roles()  # nothing to change: nothing recorded
    assert BusinessEvent.objects.filter(code="iam.role_permissions_synced").count() == before
