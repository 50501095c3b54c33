"""Password login: Argon2, throttling and lock, unlock by the security administrator, audit-log access."""

from __future__ import annotations

import pytest

from ibms.core.models import BusinessEvent
from ibms.iam.models import LoginFailure

pytestmark = pytest.mark.django_db

LOCK_MESSAGE = "登录失败次数过多，账户已临时锁定"
IP = "192.0.2.7"  # documentation range; only a REMOTE_ADDR value, nothing is sent anywhere


def _login(client, username, pw, ip=IP):
    return client.post("/login/", {"username": username, "password": pw}, REMOTE_ADDR=ip)


def test_passwords_are_hashed_with_argon2(user, password):
    u = user("fin_budget")
    assert u.password.startswith("argon2$")
    assert u.check_password(password)


def test_password_login_succeeds_with_demo_password(client, password):
    resp = _login(client, "fin_budget", password)
    assert resp.status_code == 302 and resp["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "预算处 王处长" in home.content.decode()
    ev = BusinessEvent.objects.filter(code="iam.login_succeeded").order_by("-id").first()
    assert ev is not None and ev.payload["ip"] == IP


def test_wrong_password_is_refused_in_chinese(client):
    resp = _login(client, "fin_budget", "wrong-password")
    assert resp.status_code == 200
    assert "用户名或密码不正确" in resp.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.fixture
def three_strikes(settings):
    settings.IBMS_LOGIN_MAX_FAILURES = 3
    settings.IBMS_LOGIN_LOCK_SECONDS = 900


def _lock(client, username):
    for i in range(3):
        resp = _login(client, username, f"wrong-{i}")
        assert resp.status_code == 200
    return resp


def test_failed_logins_lock_the_account_and_are_audited_with_ip(client, user, password, three_strikes):
    u = user("fin_treasury")
    resp = _lock(client, "fin_treasury")
    assert LOCK_MESSAGE in resp.content.decode()
    u.refresh_from_db()
    assert u.locked_until is not None

    failed = list(BusinessEvent.objects.filter(code="iam.login_failed", object_id=str(u.pk)).order_by("seq"))
    assert [e.payload["failures"] for e in failed] == [1, 2, 3]
    assert all(e.payload["ip"] == IP and e.actor_ip == IP and e.region_code == "990000000" for e in failed)
    locked = BusinessEvent.objects.get(code="iam.account_locked", object_id=str(u.pk))
    assert locked.payload["ip"] == IP and locked.payload["failures"] == 3

    # Even the right password is now refused, with the lock message, and the refusal is recorded.
    resp = _login(client, "fin_treasury", password)
    assert resp.status_code == 200
    assert LOCK_MESSAGE in resp.content.decode()
    assert "_auth_user_id" not in client.session
    assert BusinessEvent.objects.filter(code="iam.login_refused_locked", object_id=str(u.pk)).exists()


def test_unknown_usernames_are_counted_and_locked_like_accounts(client, three_strikes):
    """The answer does not tell which names exist: an unknown name is locked at the same count, for the same time."""
    resp = _lock(client, "no_such_user")
    assert LOCK_MESSAGE in resp.content.decode()
    assert BusinessEvent.objects.filter(code="iam.login_failed", payload__username="no_such_user").count() == 3
    assert BusinessEvent.objects.filter(code="iam.account_locked", payload__username="no_such_user").exists()
    # the lock replaces the name's count (the client address's throttle still sees the failures)
    assert not LoginFailure.objects.filter(username="no_such_user", cleared=False).exists()
    assert LoginFailure.objects.filter(username="no_such_user", cleared=True).count() == 3
    assert LOCK_MESSAGE in _login(client, "no_such_user", "anything").content.decode()
    assert BusinessEvent.objects.filter(code="iam.login_refused_locked", payload__username="no_such_user").exists()


def test_security_admin_unlock_restores_login(client, client_as, user, password, three_strikes):
    u = user("fin_accounting")
    _lock(client, "fin_accounting")

    # The system administrator may not unlock (三员分立): 403, and the account stays locked.
    resp = client_as("sysadmin").post(f"/iam/users/{u.pk}/unlock/")
    assert resp.status_code == 403
    assert "安全保密管理员" in resp.content.decode()
    u.refresh_from_db()
    assert u.locked_until is not None

    sec = client_as("secadmin")
    detail = sec.get(f"/iam/users/{u.pk}/")
    assert "解锁账户" in detail.content.decode()
    resp = sec.post(f"/iam/users/{u.pk}/unlock/")
    assert resp.status_code == 302
    u.refresh_from_db()
    assert u.locked_until is None
    assert BusinessEvent.objects.filter(code="iam.account_unlocked", object_id=str(u.pk)).exists()

    resp = _login(client, "fin_accounting", password)
    assert resp.status_code == 302 and resp["Location"] == "/"
    # The failure count restarted: one more wrong password does not lock again.
    client.logout()
    _login(client, "fin_accounting", "wrong-again")
    u.refresh_from_db()
    assert u.locked_until is None


def test_lock_expires_by_itself(client, user, password, three_strikes):
    import datetime as dt

    from django.utils import timezone

    from ibms.iam.models import User

    u = user("fin_it")
    _lock(client, "fin_it")
    # The lock's end time passes (moved rather than waited for).
    User.objects.filter(pk=u.pk).update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    resp = _login(client, "fin_it", password)
    assert resp.status_code == 302


def test_audit_log_is_for_the_audit_admin_not_the_sys_admin(client_as):
    assert client_as("sysadmin").get("/audit/").status_code == 403
    assert client_as("secadmin").get("/audit/").status_code == 403
    resp = client_as("auditadmin").get("/audit/")
    assert resp.status_code == 200
    denied = BusinessEvent.objects.filter(code="security.denied", actor_name="sysadmin").order_by("-id").first()
    assert denied is not None and denied.payload["path"] == "/audit/"


def test_nav_shows_user_admin_only_to_those_who_may(client_as):
    assert "/iam/users/" in client_as("sysadmin").get("/").content.decode()
    assert "/iam/users/" not in client_as("fin_budget").get("/").content.decode()


def test_logout_is_audited(client, password, user):
    assert _login(client, "fin_budget", password).status_code == 302
    assert client.post("/logout/", REMOTE_ADDR=IP).status_code == 302
    ev = BusinessEvent.objects.filter(code="iam.logout").order_by("-id").first()
    assert ev is not None and ev.object_id == str(user("fin_budget").pk) and ev.payload["ip"] == IP
