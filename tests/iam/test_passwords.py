"""Passwords and login to 等保 2.0 level 3: ≥ 8 characters with three of four classes, not the user name, not one
of the last 5, expiry (forced change), a change page and API, Chinese messages; the same lockout answer — in the
same work — for existing and unknown names; a per-address throttle beside the per-account lock."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import hashers
from django.contrib.auth.password_validation import get_default_password_validators, validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from ibms.core.errors import ValidationFailed
from ibms.core.models import BusinessEvent
from ibms.demo.province import USERS
from ibms.iam.models import PasswordHistory, User
from ibms.iam.services import password_change

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
IP = "192.0.2.9"  # documentation range
LOCK_MESSAGE = "登录失败次数过多，账户已临时锁定"
THROTTLE_MESSAGE = "本地址登录失败次数过多"


def messages(pw: str, username: str = "zhang_san") -> list[str]:
    try:
        validate_password(pw, User(username=username))
    except ValidationError as exc:
        return exc.messages
    return []


@pytest.mark.parametrize(("pw", "expected"), [
    ("Ab#1234", "密码长度不能少于 8 个字符"),
    ("abcdefgh12", "至少 3 类"),
    ("ABCDEFGH!!", "至少 3 类"),
    ("Zhang_San#2026", "不能包含用户名"),
    ("x-ZHANG_SAN-9", "不能包含用户名"),
])
def test_weak_passwords_are_refused_in_chinese(pw, expected):
    found = messages(pw)
    assert any(expected in m for m in found), found


def test_every_rule_speaks_chinese():
    """Django's own validators included (zh-hans): no message or help text is English."""
    samples = ["a", "12345678", "password", "zhang_san1", "Zhang_San#2026", "abcdefgh"]
    texts = [m for pw in samples for m in messages(pw)]
    texts += [v.get_help_text() for v in get_default_password_validators()]
    assert texts
    for t in texts:
        assert CJK.search(t) and not ENGLISH_WORD.search(t.replace("zhang_san", "")), t


def test_good_passwords_and_the_demo_password_pass(password):
    assert messages("Zq8#fiscal-2026") == []
    assert messages("Fiscal2026budget") == []  # three classes suffice
    for username, *_ in USERS:
        assert messages(password, username) == [], username


def _change(u: User, old: str, new: str) -> User:
    return password_change(actor=User.objects.get(pk=u.pk), old_password=old, new_password=new)


def test_none_of_the_last_five_passwords(user, password, settings):
    u = user("fin_sector")
    pws = [password] + [f"Rotate#{i}x2026" for i in range(1, 6)]
    for old, new in zip(pws, pws[1:], strict=False):
        _change(u, old, new)
    assert PasswordHistory.objects.filter(user=u).count() == 5  # only as many hashes as the rule needs
    for reused in pws[1:]:  # the current one and the four before it
        with pytest.raises(ValidationFailed) as exc:
            _change(u, pws[-1], reused)
        assert exc.value.code == "weak_password" and "最近 5 次" in exc.value.message
    _change(u, pws[-1], pws[0])  # six passwords ago: allowed again
    assert User.objects.get(pk=u.pk).check_password(pws[0])


def test_wrong_old_password_is_refused_and_audited(user, password):
    u = user("fin_sector")
    with pytest.raises(ValidationFailed) as exc:
        _change(u, "not-it", "Zq8#fiscal-2026")
    assert exc.value.code == "old_password_wrong" and exc.value.violations[0].field == "old_password"
    assert BusinessEvent.objects.filter(code="iam.password_change_failed", object_id=str(u.pk)).exists()
    assert User.objects.get(pk=u.pk).check_password(password)


def test_an_expired_password_forces_the_change(client, password, settings, user):
    u = user("fin_budget")
    settings.IBMS_PASSWORD_MAX_AGE_DAYS = 90
    User.objects.filter(pk=u.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=91))
    assert client.post("/login/", {"username": "fin_budget", "password": password}).status_code == 302
    resp = client.get("/indicators/")
    assert resp.status_code == 302 and resp["Location"] == "/iam/account/password/?next=%2Findicators%2F"
    assert "密码已超过有效期" in client.get(resp["Location"]).content.decode()
    resp = client.get("/api/v1/me")
    assert resp.status_code == 403 and resp.json()["detail"]["reason"] == "expired"
    settings.IBMS_PASSWORD_MAX_AGE_DAYS = 0  # no expiry
    assert client.get("/indicators/").status_code == 200
    settings.IBMS_PASSWORD_MAX_AGE_DAYS = 90

    resp = client.post("/api/v1/iam/password", {"old_password": password, "new_password": "short"},
                       content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "weak_password"
    assert CJK.search(resp.json()["message"]) and resp.json()["detail"][0]["field"] == "new_password"
    resp = client.post("/api/v1/iam/password", {"old_password": password, "new_password": "Zq8#fiscal-2026"},
                       content_type="application/json")
    assert resp.status_code == 204, resp.content
    assert client.get("/indicators/").status_code == 200 and client.get("/api/v1/me").status_code == 200
    ev = BusinessEvent.objects.get(code="iam.password_changed", object_id=str(u.pk))
    assert ev.payload["reason"] == "expired"


def test_the_change_page_for_anyone_logged_in(client_as, password):
    c = client_as("school_clerk")
    page = c.get("/iam/account/password/")
    assert page.status_code == 200 and "至少 3 类" in page.content.decode()
    resp = c.post("/iam/account/password/", {"old_password": password, "new_password1": "Zq8#fiscal-2026",
                                             "new_password2": "Zq8#fiscal-2027"})
    assert resp.status_code == 422 and "两次输入的密码不一致" in resp.content.decode()
    resp = c.post("/iam/account/password/", {"old_password": password, "new_password1": "Zq8#fiscal-2026",
                                             "new_password2": "Zq8#fiscal-2026", "next": "https://evil.example/"})
    assert resp.status_code == 302 and resp["Location"] == "/"  # never off-site


# --- login: the same answer for every name, and the same work ---------------------------------------------------

def _login(client, username, pw, ip=IP):
    return client.post("/login/", {"username": username, "password": pw}, REMOTE_ADDR=ip)


def _form_text(resp) -> str:
    """The page without what differs by design (the CSRF token, the echoed user name)."""
    html = resp.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r'"csrfmiddlewaretoken": "[^"]*"|"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="username" value="[^"]*"', "", html)


@pytest.fixture
def hasher_calls(monkeypatch):
    calls: list[str] = []
    for name in ("encode", "verify"):
        real = getattr(hashers.Argon2PasswordHasher, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(hashers.Argon2PasswordHasher, name, spy)
    return calls


def test_the_lockout_answer_is_the_same_for_existing_and_unknown_names(client, settings, hasher_calls):
    settings.IBMS_LOGIN_MAX_FAILURES = 3
    answers = {}
    for name in ("fin_accounting", "nobody_here"):
        per_attempt = []
        for i in range(5):  # three failures lock; two more attempts meet the lock
            hasher_calls.clear()
            resp = _login(Client(), name, f"wrong-{i}")
            per_attempt.append(len(hasher_calls))
            assert resp.status_code == 200
        assert per_attempt == [1] * 5, (name, per_attempt)  # one password hash each, locked or not
        answers[name] = _form_text(resp)
        assert LOCK_MESSAGE in answers[name]
    assert answers["fin_accounting"] == answers["nobody_here"]
    assert User.objects.get(username="fin_accounting").locked_until is not None


def test_a_per_address_throttle_beside_the_per_account_lock(settings, password):
    settings.IBMS_LOGIN_MAX_FAILURES = 5
    settings.IBMS_LOGIN_IP_MAX_FAILURES = 4
    settings.IBMS_LOGIN_IP_WINDOW_SECONDS = 600
    c = Client()
    for i, name in enumerate(["fin_budget", "fin_sector", "ghost_1", "ghost_2"]):  # one failure per name
        assert THROTTLE_MESSAGE not in _login(c, name, f"wrong-{i}").content.decode()
    resp = _login(c, "fin_treasury", password)  # the right password, from the throttled address
    assert resp.status_code == 200 and THROTTLE_MESSAGE in resp.content.decode()
    assert "_auth_user_id" not in c.session
    assert BusinessEvent.objects.filter(code="iam.login_throttled", payload__ip=IP).exists()
    assert User.objects.get(username="fin_treasury").locked_until is None  # no account was locked
    assert _login(Client(), "fin_treasury", password, ip="192.0.2.10").status_code == 302  # another address
    settings.IBMS_LOGIN_IP_WINDOW_SECONDS = 0  # the window has passed
    assert _login(Client(), "fin_treasury", password).status_code == 302


def test_locking_names_does_not_reset_the_address_throttle(settings, password):
    """A guesser spreading over names, locking each (the lock restarts the name's count), is still counted per
    address."""
    settings.IBMS_LOGIN_MAX_FAILURES = 3
    settings.IBMS_LOGIN_IP_MAX_FAILURES = 9  # the ninth failure locks the third name; the tenth attempt is throttled
    for name in ("fin_budget", "ghost_1", "fin_sector"):
        for i in range(3):
            _login(Client(), name, f"wrong-{i}")
    assert User.objects.get(username="fin_sector").locked_until is not None
    resp = _login(Client(), "fin_treasury", password)
    assert resp.status_code == 200 and THROTTLE_MESSAGE in resp.content.decode()
    assert _login(Client(), "fin_treasury", password, ip="192.0.2.10").status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_throttled(settings, password):
    settings.IBMS_LOGIN_IP_MAX_FAILURES = 2
    settings.IBMS_CLIENT_IP_HEADER = "X-Forwarded-For"
    proxy = "10.0.0.1"

    def via_proxy(name, pw, client_ip, forged=""):
        chain = f"{forged}, {client_ip}" if forged else client_ip
        return Client().post("/login/", {"username": name, "password": pw}, REMOTE_ADDR=proxy,
                             HTTP_X_FORWARDED_FOR=chain)

    for i in range(2):
        via_proxy("ghost_1", f"wrong-{i}", "198.51.100.7", forged=f"203.0.113.{i}")  # a forged first hop
    assert set(BusinessEvent.objects.filter(code="iam.login_failed", payload__username="ghost_1")
               .values_list("payload__ip", flat=True)) == {"198.51.100.7"}
    assert THROTTLE_MESSAGE in via_proxy("fin_treasury", password, "198.51.100.7").content.decode()
    assert via_proxy("fin_treasury", password, "198.51.100.8").status_code == 302  # another client, same proxy
