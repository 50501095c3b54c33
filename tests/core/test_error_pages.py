"""Django's own error pages are ours, in Chinese: 400, 403 (also a failed CSRF check), 404 and 500 — a page for
people, the API's error format under /api/."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client, override_settings
from django.urls import path

from ibms.config.urls import handler400, handler403, handler404  # noqa: F401 — this urlconf's handlers
from ibms.config.urls import urlpatterns as real


def _raise(exc):
    def view(request):
        raise exc
    return view


urlpatterns = [path("boom/", _raise(RuntimeError("boom"))), path("denied/", _raise(PermissionDenied())),
               path("bad/", _raise(SuspiciousOperation("bad"))), path("api/boom/", _raise(PermissionDenied())), *real]
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.test_error_pages")]


@pytest.mark.parametrize(("url", "status", "text"), [
    ("/boom/", 500, "系统内部错误，本次操作未完成"),
    ("/denied/", 403, "没有执行该操作的权限"),
    ("/bad/", 400, "请求格式有误"),
    ("/no/such/page/", 404, "页面不存在或无权访问"),
])
def test_pages_are_chinese(client_as, url, status, text):
    client = client_as("school_clerk")
    client.raise_request_exception = False
    r = client.get(url)
    body = r.content.decode()
    assert r.status_code == status and text in body
    assert "Server Error" not in body and "Forbidden" not in body and "Bad Request" not in body


def test_api_gets_the_error_format():
    r = Client().get("/api/boom/")
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"


@override_settings(DEBUG=False)
def test_a_form_without_its_csrf_token_is_refused_in_chinese():
    r = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    body = r.content.decode()
    assert r.status_code == 403 and "页面已过期或来源不明" in body and "CSRF verification failed" not in body
