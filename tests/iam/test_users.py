"""User creation: a one-time initial password, roles granted by another person (三员分立), role/organisation-kind
match, scope (upper levels read, never create, below), pages and the /api/v1/iam/users endpoints."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from ibms.core.context import acting, actor_of
from ibms.core.errors import PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent, ChangeLog
from ibms.core.verify import run_all
from ibms.iam.models import Organization, User
from ibms.iam.services import role_grant, user_create
from tests.constants import CITY, COUNTY, PROVINCE

NEW_PW = "Zq8#fiscal-2026"


def org(region: str, code: str) -> Organization:
    return Organization.objects.get(region_code=region, code=code)


def create(actor, username: str, organization: Organization, roles: list[str] = (), **kwargs) -> User:
    """Open an account as `actor` (the system administrator) and grant `roles` as the security administrator."""
    u, _initial = user_create(actor=actor, username=username, organization=organization, **kwargs)
    for r in roles:
        role_grant(actor=User.objects.get(username="secadmin"), user_id=u.pk, role=r)
    return User.objects.get(pk=u.pk)


def test_sys_admin_creates_a_user_who_can_log_in(user, client):
    with acting(actor_of(user("sysadmin"))):
        u, initial = user_create(actor=user("sysadmin"), username="fin_budget2", real_name="预算处 新人",
                                 organization=org(PROVINCE, "fin-预算处"))
    u = User.objects.get(pk=u.pk)
    assert u.password.startswith("argon2$") and u.check_password(initial)
    assert u.must_change_password and u.role_codes == set()
    with acting(actor_of(user("secadmin"))):
        role_grant(actor=user("secadmin"), user_id=u.pk, role="budget_division")
    u = User.objects.get(pk=u.pk)
    assert u.role_codes == {"budget_division"}
    assert u.has_perm("masterdata.add_unit")
    log = ChangeLog.objects.get(object_type="iam.user", object_id=str(u.pk), action="create")
    assert log.after["username"] == "fin_budget2" and log.after["password"] == u.password
    ev = BusinessEvent.objects.get(code="iam.user_created", object_id=str(u.pk))
    assert ev.region_code == PROVINCE and ev.actor_name == "sysadmin" and initial not in str(ev.payload)
    granted = BusinessEvent.objects.get(code="iam.role_granted", object_id=str(u.pk))
    assert granted.payload["role"] == "budget_division" and granted.actor_name == "secadmin"
    assert all(not problems for problems in run_all().values())

    resp = client.post("/login/", {"username": "fin_budget2", "password": initial})
    assert resp.status_code == 302


@pytest.mark.parametrize("roles", [["sys_admin", "security_admin"], ["security_admin", "audit_admin"],
                                   ["sys_admin", "audit_admin"]])
def test_no_one_holds_two_admin_roles(user, roles):
    u = create(user("sysadmin"), "two_hats", org(PROVINCE, "admin-信息中心"), roles[:1])
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=user("secadmin"), user_id=u.pk, role=roles[1])
    assert exc.value.code == "admin_separation"
    assert exc.value.violations[0].field == "roles"
    assert "三员分立" in exc.value.message
    assert User.objects.get(pk=u.pk).role_codes == {roles[0]}


def test_admin_roles_are_not_combined_with_business_roles(user):
    u = create(user("sysadmin"), "mixed", org(PROVINCE, "admin-信息中心"), ["audit_admin"])
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=user("secadmin"), user_id=u.pk, role="budget_division")
    assert exc.value.code == "admin_separation"


@pytest.mark.parametrize(("org_key", "roles"), [
    ((PROVINCE, "fin-预算处"), ["unit_clerk"]),
    ((PROVINCE, "unit-001001"), ["budget_division"]),
    ((PROVINCE, "fin-预算处"), ["sys_admin"]),
    ((PROVINCE, "oversight-审计厅"), ["treasury_division"]),
])
def test_roles_must_fit_the_organisation_kind(user, org_key, roles):
    u = create(user("sysadmin"), "misfit", org(*org_key))
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=user("secadmin"), user_id=u.pk, role=roles[0])
    assert exc.value.code == "role_org_kind"


def test_other_refusals(user):
    admin = user("sysadmin")
    fin = org(PROVINCE, "fin-预算处")
    cases = [
        (dict(username="x1", password=NEW_PW), "password_not_allowed"),
        (dict(username="x2", roles=["budget_division"]), "roles_not_allowed"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ValidationFailed) as exc:
            user_create(actor=admin, organization=fin, **kwargs)
        assert exc.value.code == code, kwargs
    u = create(admin, "x3", fin)
    with pytest.raises(ValidationFailed) as exc:
        role_grant(actor=user("secadmin"), user_id=u.pk, role="no_such_role")
    assert exc.value.code == "role_unknown"
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=admin, username="x4", organization=None)
    assert exc.value.code == "organization_required"
    from ibms.core.errors import Conflict

    with pytest.raises(Conflict) as exc:
        user_create(actor=admin, username="fin_budget", organization=fin)
    assert exc.value.code == "username_taken" and exc.value.http_status == 409


def test_only_holders_of_add_user_create_users(user):
    for name in ("secadmin", "auditadmin", "fin_budget"):
        with pytest.raises(PermissionDenied):
            user_create(actor=user(name), username="nope", organization=org(PROVINCE, "fin-预算处"))


def _grant(u: User, *codenames: str) -> User:
    u.user_permissions.add(*Permission.objects.filter(content_type__app_label="iam", codename__in=codenames))
    return User.objects.select_related("organization").get(pk=u.pk)  # fresh permission and scope caches


def test_upper_level_finance_reads_lower_users_but_cannot_create_there(user):
    fin = _grant(user("fin_it"), "view_user", "add_user")
    visible = set(User.objects.restrict(fin, "view").values_list("username", flat=True))
    assert {"city_treasury", "county_treasury", "county_school_clerk", "fin_budget"} <= visible

    with pytest.raises(PermissionDenied) as exc:
        user_create(actor=fin, username="city_new", organization=org(CITY, "fin-国库科"))
    assert exc.value.code == "scope_region"
    assert not User.objects.filter(username="city_new").exists()
    # …and in its own region it may.
    user_create(actor=fin, username="prov_new", organization=org(PROVINCE, "fin-国库处"))


def test_lower_level_cannot_see_upper_users(user):
    city = _grant(user("city_treasury"), "view_user")
    visible = set(User.objects.restrict(city, "view").values_list("username", flat=True))
    assert visible == {"city_treasury", "county_treasury", "county_budget", "county_edu_reviewer", "county_school_clerk"}


def test_unit_staff_see_only_their_unit_users(user):
    visible = set(User.objects.in_scope(user("school_clerk"), "view").values_list("username", flat=True))
    assert visible == {"school_clerk", "school_reviewer", "school_head"}


# --- pages ----------------------------------------------------------------------------------------------

def test_user_list_page_is_scoped_and_searchable(client_as, user):
    c = client_as("sysadmin")
    resp = c.get("/iam/users/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "county_treasury" in html and "新增用户" in html
    resp = c.get("/iam/users/", {"q": "青山区"})
    html = resp.content.decode()
    assert "county_treasury" in html and "fin_budget" not in html

    city = client_as("city_treasury")
    assert city.get("/iam/users/").status_code == 403  # no iam.view_user
    _grant(user("city_treasury"), "view_user")
    city = client_as("city_treasury")
    html = city.get("/iam/users/").content.decode()
    assert "county_treasury" in html and "fin_budget" not in html
    # A user outside scope is "not found", not "forbidden".
    assert city.get(f"/iam/users/{user('fin_budget').pk}/").status_code == 404


def test_user_create_page(client_as):
    c = client_as("sysadmin")
    resp = c.get("/iam/users/new/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "东川市国库科" not in html  # organisations offered only within the actor's write scope
    assert 'name="password1"' not in html and 'name="roles"' not in html  # neither chosen by the system admin
    fin = org(PROVINCE, "fin-预算处")
    data = {"username": "page_user", "real_name": "页面 新人", "organization": fin.pk}
    resp = c.post("/iam/users/new/", {**data, "username": "fin_budget"})
    assert resp.status_code == 422 and "已存在" in resp.content.decode()
    resp = c.post("/iam/users/new/", {**data, "password1": NEW_PW, "password2": NEW_PW, "roles": ["sys_admin"]})
    assert resp.status_code == 200  # posted password and roles are no fields of the form: ignored
    u = User.objects.get(username="page_user")
    html = resp.content.decode()
    assert "只显示这一次" in html and "no-store" in resp.get("Cache-Control", "")
    start = html.index('id="initial-password" class="mono">') + len('id="initial-password" class="mono">')
    initial = html[start:html.index("<", start)]
    assert u.check_password(initial) and not u.check_password(NEW_PW) and u.role_codes == set()
    detail = c.get(f"/iam/users/{u.pk}/").content.decode()
    assert "页面 新人" in detail and "初始密码，尚未修改" in detail and initial not in detail


def test_user_detail_shows_roles_certificates_and_tokens_to_the_right_admins(client_as, user):
    target = user("fin_budget")
    html = client_as("sysadmin").get(f"/iam/users/{target.pk}/").content.decode()
    assert "预算处" in html and "接口令牌" not in html and "签发接口令牌" not in html
    assert 'id="role-grant"' not in html
    html = client_as("secadmin").get(f"/iam/users/{target.pk}/").content.decode()
    assert "接口令牌" in html and "证书（SM2 公钥）" in html and "绑定证书" in html and 'id="role-grant"' in html
    assert "签发接口令牌" not in html  # a token is issued by its user only


# --- API -----------------------------------------------------------------------------------------------

def test_api_create_and_list_users(client_as):
    c = client_as("sysadmin")
    fin = org(PROVINCE, "fin-会计处")
    resp = c.post("/api/v1/iam/users", {"username": "api_user", "real_name": "接口 新人",
                                        "organization_id": fin.pk}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["username"] == "api_user" and body["roles"] == [] and body["must_change_password"] is True
    assert body["region_code"] == PROVINCE
    assert User.objects.get(username="api_user").check_password(body["initial_password"])
    sec = client_as("secadmin")
    resp = sec.post(f"/api/v1/iam/users/{body['id']}/roles", {"role": "accounting_division"},
                    content_type="application/json")
    assert resp.status_code == 200 and resp.json()["roles"] == ["accounting_division"]

    for extra, code in (({"password": NEW_PW}, "password_not_allowed"),
                        ({"roles": ["sys_admin"]}, "roles_not_allowed")):
        resp = c.post("/api/v1/iam/users", {"username": "api_user2", "organization_id": fin.pk, **extra},
                      content_type="application/json")
        assert resp.status_code == 422 and resp.json()["code"] == code
        assert resp.json()["detail"][0]["field"] == next(iter(extra))
    assert not User.objects.filter(username="api_user2").exists()

    city_org = org(CITY, "fin-国库科")
    resp = c.post("/api/v1/iam/users", {"username": "api_city", "organization_id": city_org.pk},
                  content_type="application/json")
    assert resp.status_code == 403 and resp.json()["code"] == "scope_region"

    resp = c.get("/api/v1/iam/users", {"region_code": COUNTY})
    assert resp.status_code == 200
    names = {u["username"] for u in resp.json()["items"]}
    assert names == {"county_treasury", "county_budget", "county_edu_reviewer", "county_school_clerk"}
    resp = c.get("/api/v1/iam/users", {"q": "api_user"})
    assert resp.json()["count"] == 1 and resp.json()["items"][0]["roles"] == ["accounting_division"]


def test_api_users_requires_permission(client_as):
    resp = client_as("fin_budget").get("/api/v1/iam/users")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"


def test_user_list_exports_exactly_the_filtered_users_to_excel(client_as):
    import io

    from openpyxl import load_workbook

    resp = client_as("sysadmin").get("/iam/users/?q=fin_&export=xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("用户名", "姓名")
    names = sorted(r[0] for r in rows[1:] if r[0])
    assert names == ["fin_accounting", "fin_budget", "fin_budget_deputy", "fin_it", "fin_sector", "fin_treasury"]
