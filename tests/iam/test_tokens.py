"""API tokens: Bearer auth, revocation and expiry (401), stored only as an SM3 digest, issued by their user only
(never by the security administrator for someone else), revoked by the user or the security administrator, by API
and page (the value is shown once)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from ibms.core.crypto import sm3_hex
from ibms.core.errors import NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent, ChangeLog
from ibms.iam.models import ApiToken
from ibms.iam.services import token_issue, token_revoke

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def issued(user):
    return token_issue(actor=user("school_clerk"), name="单位财务软件对接")


def test_bearer_token_authenticates_api_calls(issued):
    tok, raw = issued
    c = Client()
    me = c.get("/api/v1/me", **bearer(raw))
    assert me.status_code == 200 and me.json()["username"] == "school_clerk"
    units = c.get("/api/v1/masterdata/units/", **bearer(raw))
    assert units.status_code == 200
    assert [u["code"] for u in units.json()["items"]] == ["001001"]  # the token carries the user's scope
    tok.refresh_from_db()
    assert tok.last_used_at is not None


def test_no_or_bad_token_is_401():
    c = Client()
    for headers in ({}, bearer("ibms_deadbeef_not-a-real-token")):
        resp = c.get("/api/v1/me", **headers)
        assert resp.status_code == 401
        assert resp.json()["code"] == "unauthenticated"


def test_revoked_token_is_401(issued, user):
    tok, raw = issued
    token_revoke(actor=user("secadmin"), token_id=tok.pk)
    for path in ("/api/v1/me", "/api/v1/masterdata/units/"):
        resp = Client().get(path, **bearer(raw))
        assert resp.status_code == 401 and resp.json()["code"] == "unauthenticated"
    assert BusinessEvent.objects.filter(code="iam.token_revoked", payload__token_id=tok.pk).exists()


def test_expired_token_is_401(user):
    tok, raw = token_issue(actor=user("fin_budget"), name="对账", expires_at=timezone.now() + dt.timedelta(days=1))
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 200
    ApiToken.objects.filter(pk=tok.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))  # time passes
    resp = Client().get("/api/v1/me", **bearer(raw))
    assert resp.status_code == 401 and resp.json()["code"] == "unauthenticated"


def test_token_of_deactivated_user_is_401(issued):
    from ibms.iam.models import User

    tok, raw = issued
    User.objects.filter(pk=tok.user_id).update(is_active=False)
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401


def test_only_the_digest_is_stored(issued):
    tok, raw = issued
    row = ApiToken.objects.filter(pk=tok.pk).values().get()
    assert row["digest"] == sm3_hex(raw.encode())
    assert raw not in str(row)
    assert raw.startswith(f"ibms_{row['prefix']}_")
    logged = ChangeLog.objects.get(object_type="iam.apitoken", object_id=str(tok.pk))
    assert raw not in str(logged.after) and logged.after["digest"] == row["digest"]
    assert all(raw not in str(e.payload) for e in BusinessEvent.objects.filter(code="iam.token_issued"))


def test_issue_refusals(user):
    fin = user("fin_budget")
    for admin in ("sysadmin", "secadmin", "auditadmin"):
        with pytest.raises(PermissionDenied):
            token_issue(actor=user(admin), user_id=fin.pk, name="x")
    with pytest.raises(ValidationFailed) as exc:
        token_issue(actor=fin, name="x", expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert exc.value.code == "token_expiry_past"
    with pytest.raises(ValidationFailed) as exc:
        token_issue(actor=fin, name="  ")
    assert exc.value.code == "token_name_required"
    # Nobody — whatever they hold — mints a token that acts as someone else.
    with pytest.raises(PermissionDenied) as exc:
        token_issue(actor=fin, user_id=user("fin_treasury").pk, name="x")
    assert exc.value.code == "token_not_own"
    assert not ApiToken.objects.filter(user__username="fin_treasury").exists()


def test_revoke_is_the_owners_or_the_security_admins(user):
    tok, _ = token_issue(actor=user("school_clerk"), name="对接")
    with pytest.raises(NotFound):  # another user's token is none of theirs
        token_revoke(actor=user("school_reviewer"), token_id=tok.pk)
    with pytest.raises(NotFound):  # the provincial security administrator reads but does not write lower levels
        token_revoke(actor=user("secadmin"), token_id=token_issue(actor=user("city_treasury"), name="x")[0].pk)
    assert token_revoke(actor=user("school_clerk"), token_id=tok.pk).revoked_at is not None


def test_api_issue_use_and_revoke(client_as, user):
    sec = client_as("secadmin")
    target = user("fin_treasury")
    resp = sec.post("/api/v1/iam/tokens", {"user_id": target.pk, "name": "代理银行回单接口"},
                    content_type="application/json")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"  # no token for someone else
    owner = client_as("fin_treasury")
    resp = owner.post("/api/v1/iam/tokens", {"user_id": user("fin_budget").pk, "name": "x"},
                      content_type="application/json")
    assert resp.status_code == 403 and resp.json()["code"] == "token_not_own"
    resp = owner.post("/api/v1/iam/tokens", {"name": "代理银行回单接口",
                                             "expires_at": (timezone.now() + dt.timedelta(days=30)).isoformat()},
                      content_type="application/json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    raw = body["token"]
    assert body["prefix"] and raw.startswith(f"ibms_{body['prefix']}_") and body["user_id"] == target.pk
    assert Client().get("/api/v1/me", **bearer(raw)).json()["username"] == "fin_treasury"

    # A token may not mint tokens (which would outlive its revocation) nor change its user's password.
    resp = Client().post("/api/v1/iam/tokens", {"name": "x"}, content_type="application/json", **bearer(raw))
    assert resp.status_code == 403 and resp.json()["code"] == "not_with_token"
    resp = Client().post("/api/v1/iam/password", {"old_password": "x", "new_password": "y"},
                         content_type="application/json", **bearer(raw))
    assert resp.status_code == 403 and resp.json()["code"] == "not_with_token"
    assert ApiToken.objects.filter(user=target).count() == 1

    resp = sec.delete(f"/api/v1/iam/tokens/{body['id']}")
    assert resp.status_code == 204
    assert sec.delete(f"/api/v1/iam/tokens/{body['id']}").status_code == 204  # repeating changes nothing
    assert BusinessEvent.objects.filter(code="iam.token_revoked", payload__token_id=body["id"]).count() == 1
    resp = Client().get("/api/v1/me", **bearer(raw))
    assert resp.status_code == 401 and resp.json()["code"] == "unauthenticated"

    assert sec.delete("/api/v1/iam/tokens/999999").status_code == 404
    assert client_as("sysadmin").delete(f"/api/v1/iam/tokens/{body['id']}").status_code == 403


def test_token_page_shows_the_value_once(client_as, user):
    sec = client_as("secadmin")
    target = user("fin_sector")
    assert sec.get("/iam/account/tokens/new/").status_code == 403
    me = client_as("fin_sector")
    assert 'id="token-issue"' in me.get("/iam/account/").content.decode()
    assert me.get("/iam/account/tokens/new/").status_code == 200
    resp = me.post("/iam/account/tokens/new/", {"name": "绩效系统对接"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "只显示这一次" in html
    assert "no-store" in resp.get("Cache-Control", "") or "no-cache" in resp.get("Cache-Control", "")
    tok = ApiToken.objects.get(user=target)
    start = html.index(f"ibms_{tok.prefix}_")
    raw = html[start:html.index("<", start)]
    assert tok.digest == sm3_hex(raw.encode())
    assert Client().get("/api/v1/me", **bearer(raw)).json()["username"] == "fin_sector"

    detail = sec.get(f"/iam/users/{target.pk}/").content.decode()
    assert tok.prefix in detail and raw not in detail
    mine = me.get("/iam/account/").content.decode()
    assert tok.prefix in mine and raw not in mine

    resp = sec.post(f"/iam/tokens/{tok.pk}/revoke/")
    assert resp.status_code == 302
    tok.refresh_from_db()
    assert tok.revoked_at is not None
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401
    assert BusinessEvent.objects.filter(code="iam.token_revoked", payload__token_id=tok.pk,
                                        actor_name="secadmin").exists()
