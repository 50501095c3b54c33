"""User creation: 三员分立, role/organisation-kind match, scope (upper levels read, never create, below),
pages and the /api/v1/iam/users endpoints."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from ibms.core.errors import PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent, ChangeLog
from ibms.core.verify import run_all
from ibms.iam.models import Organization, User
from ibms.iam.services import user_create
from tests.constants import CITY, COUNTY, PROVINCE

NEW_PW = "Zq8#fiscal-2026"


def org(region: str, code: str) -> Organization:
    return Organization.objects.get(region_code=region, code=code)


def test_sys_admin_creates_a_user_who_can_log_in(user, client):
    u = user_create(actor=user("sysadmin"), username="fin_budget2", password=NEW_PW, real_name="预算处 新人",
                    organization=org(PROVINCE, "fin-预算处"), roles=["budget_division"])
    u = User.objects.get(pk=u.pk)
    assert u.password.startswith("argon2$")
    assert u.role_codes == {"budget_division"}
    assert u.has_perm("masterdata.add_unit")
    log = ChangeLog.objects.get(object_type="iam.user", object_id=str(u.pk), action="create")
    assert log.after["username"] == "fin_budget2" and log.after["password"] == u.password
    ev = BusinessEvent.objects.get(code="iam.user_created", object_id=str(u.pk))
    assert ev.payload["roles"] == ["budget_division"] and ev.region_code == PROVINCE
    assert all(not problems for problems in run_all().values())

    resp = client.post("/login/", {"username": "fin_budget2", "password": NEW_PW})
    assert resp.status_code == 302


@pytest.mark.parametrize("roles", [["sys_admin", "security_admin"], ["security_admin", "audit_admin"],
                                   ["sys_admin", "audit_admin"]])
def test_no_one_holds_two_admin_roles(user, roles):
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=user("sysadmin"), username="two_hats", password=NEW_PW,
                    organization=org(PROVINCE, "admin-信息中心"), roles=roles)
    assert exc.value.code == "admin_separation"
    assert exc.value.violations[0].field == "roles"
    assert "三员分立" in exc.value.message
    assert not User.objects.filter(username="two_hats").exists()


def test_admin_roles_are_not_combined_with_business_roles(user):
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=user("sysadmin"), username="mixed", password=NEW_PW,
                    organization=org(PROVINCE, "admin-信息中心"), roles=["audit_admin", "budget_division"])
    assert exc.value.code == "admin_separation"


@pytest.mark.parametrize(("org_key", "roles"), [
    ((PROVINCE, "fin-预算处"), ["unit_clerk"]),
    ((PROVINCE, "unit-001001"), ["budget_division"]),
    ((PROVINCE, "fin-预算处"), ["sys_admin"]),
    ((PROVINCE, "oversight-审计厅"), ["treasury_division"]),
])
def test_roles_must_fit_the_organisation_kind(user, org_key, roles):
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=user("sysadmin"), username="misfit", password=NEW_PW, organization=org(*org_key),
                    roles=roles)
    assert exc.value.code == "role_org_kind"


def test_other_refusals(user):
    admin = user("sysadmin")
    fin = org(PROVINCE, "fin-预算处")
    cases = [
        (dict(username="x1", password="12345678", roles=["budget_division"]), "weak_password"),
        (dict(username="x2", password=NEW_PW, roles=[]), "roles_required"),
        (dict(username="x3", password=NEW_PW, roles=["no_such_role"]), "role_unknown"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ValidationFailed) as exc:
            user_create(actor=admin, organization=fin, **kwargs)
        assert exc.value.code == code, kwargs
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=admin, username="x4", password=NEW_PW, organization=None, roles=["sys_admin"])
    assert exc.value.code == "organization_required"
    from ibms.core.errors import Conflict

    with pytest.raises(Conflict) as exc:
        user_create(actor=admin, username="fin_budget", password=NEW_PW, organization=fin, roles=["budget_division"])
    assert exc.value.code == "username_taken" and exc.value.http_status == 409


def test_only_holders_of_add_user_create_users(user):
    for name in ("secadmin", "auditadmin", "fin_budget"):
        with pytest.raises(PermissionDenied):
            user_create(actor=user(name), username="nope", password=NEW_PW,
                        organization=org(PROVINCE, "fin-预算处"), roles=["budget_division"])


def _grant(u: User, *codenames: str) -> User:
    u.user_permissions.add(*Permission.objects.filter(content_type__app_label="iam", codename__in=codenames))
    return User.objects.select_related("organization").get(pk=u.pk)  # fresh permission and scope caches


def test_upper_level_finance_reads_lower_users_but_cannot_create_there(user):
    fin = _grant(user("fin_it"), "view_user", "add_user")
    visible = set(User.objects.restrict(fin, "view").values_list("username", flat=True))
    assert {"city_treasury", "county_treasury", "county_school_clerk", "fin_budget"} <= visible

    with pytest.raises(PermissionDenied) as exc:
        user_create(actor=fin, username="city_new", password=NEW_PW, organization=org(CITY, "fin-国库科"),
                    roles=["treasury_division"])
    assert exc.value.code == "scope_region"
    assert not User.objects.filter(username="city_new").exists()
    # …and in its own region it may.
    user_create(actor=fin, username="prov_new", password=NEW_PW, organization=org(PROVINCE, "fin-国库处"),
                roles=["treasury_division"])


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
    fin = org(PROVINCE, "fin-预算处")
    data = {"username": "page_user", "real_name": "页面 新人", "organization": fin.pk, "roles": ["budget_division"],
            "password1": NEW_PW, "password2": NEW_PW}
    resp = c.post("/iam/users/new/", {**data, "roles": ["sys_admin", "security_admin"]})
    assert resp.status_code == 422
    assert "三员分立" in resp.content.decode()
    resp = c.post("/iam/users/new/", {**data, "password2": "other"})
    assert resp.status_code == 422 and "两次输入的密码不一致" in resp.content.decode()
    resp = c.post("/iam/users/new/", data)
    assert resp.status_code == 302
    u = User.objects.get(username="page_user")
    assert resp["Location"] == f"/iam/users/{u.pk}/"
    detail = c.get(resp["Location"]).content.decode()
    assert "页面 新人" in detail and "budget_division" in detail


def test_user_detail_shows_roles_certificates_and_tokens_to_the_right_admins(client_as, user):
    target = user("fin_budget")
    html = client_as("sysadmin").get(f"/iam/users/{target.pk}/").content.decode()
    assert "预算处" in html and "接口令牌" not in html and "签发接口令牌" not in html
    html = client_as("secadmin").get(f"/iam/users/{target.pk}/").content.decode()
    assert "接口令牌" in html and "证书（SM2 公钥）" in html and "签发接口令牌" in html and "绑定证书" in html


# --- API -----------------------------------------------------------------------------------------------

def test_api_create_and_list_users(client_as):
    c = client_as("sysadmin")
    fin = org(PROVINCE, "fin-会计处")
    resp = c.post("/api/v1/iam/users", {"username": "api_user", "password": NEW_PW, "real_name": "接口 新人",
                                        "organization_id": fin.pk, "roles": ["accounting_division"]},
                  content_type="application/json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["username"] == "api_user" and body["roles"] == ["accounting_division"]
    assert body["region_code"] == PROVINCE

    resp = c.post("/api/v1/iam/users", {"username": "api_user2", "password": NEW_PW, "organization_id": fin.pk,
                                        "roles": ["sys_admin", "audit_admin"]}, content_type="application/json")
    assert resp.status_code == 422
    assert resp.json()["code"] == "admin_separation" and resp.json()["detail"][0]["field"] == "roles"

    city_org = org(CITY, "fin-国库科")
    resp = c.post("/api/v1/iam/users", {"username": "api_city", "password": NEW_PW, "organization_id": city_org.pk,
                                        "roles": ["treasury_division"]}, content_type="application/json")
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
