"""Session rules: idle timeout (cookie age refreshed by every request) and absolute timeout (middleware).
Time is moved by editing the stored session, never waited for."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from ibms.iam.middleware import SESSION_STARTED

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, password, settings):
    settings.SESSION_COOKIE_AGE = 60
    settings.IBMS_SESSION_ABSOLUTE_SECONDS = 3600
    resp = client.post("/login/", {"username": "fin_budget", "password": password})
    assert resp.status_code == 302
    return client


def _row(client) -> Session:
    return Session.objects.get(session_key=client.cookies["sessionid"].value)


def test_login_marks_the_session_start(logged_in):
    started = logged_in.session[SESSION_STARTED]
    assert abs(started - time.time()) < 5


def test_each_request_extends_the_idle_deadline(logged_in):
    row = _row(logged_in)
    Session.objects.filter(pk=row.pk).update(expire_date=timezone.now() + dt.timedelta(seconds=5))
    assert logged_in.get("/").status_code == 200
    remaining = (_row(logged_in).expire_date - timezone.now()).total_seconds()
    assert 50 < remaining <= 60


def test_idle_session_expires(logged_in):
    assert logged_in.get("/").status_code == 200
    # Idle longer than SESSION_COOKIE_AGE: the stored session is past its expiry.
    Session.objects.filter(pk=_row(logged_in).pk).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    resp = logged_in.get("/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")
    assert logged_in.get("/api/v1/me").status_code == 401


def test_absolute_timeout_ends_an_active_session(logged_in):
    s = logged_in.session
    s[SESSION_STARTED] = int(time.time()) - 3599
    s.save()
    assert logged_in.get("/").status_code == 200  # within the absolute lifetime

    s = logged_in.session
    s[SESSION_STARTED] = int(time.time()) - 3601
    s.save()
    # The idle deadline is far away, yet the session ends.
    assert (_row(logged_in).expire_date - timezone.now()).total_seconds() > 50
    resp = logged_in.get("/")
    assert resp.status_code == 302 and resp["Location"] == "/login/?expired=1"
    page = logged_in.get(resp["Location"])
    assert "会话已超时" in page.content.decode()
    resp = logged_in.get("/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/?next=")


def test_absolute_timeout_applies_to_session_api_calls(logged_in):
    assert logged_in.get("/api/v1/me").json()["username"] == "fin_budget"
    s = logged_in.session
    s[SESSION_STARTED] = int(time.time()) - 3601
    s.save()
    resp = logged_in.get("/api/v1/me")
    assert resp.status_code == 401 and resp.json()["code"] == "unauthenticated"
