"""Transport and headers (issue 12 point 7): a Content-Security-Policy with no inline script on every response, the
browser hardening headers, and — behind TLS, configured from the environment — HSTS, an HTTPS redirect and
Secure/HttpOnly cookies. The pages themselves carry no inline script, inline event handler or inline style (the
policy would block them: the browser tests, which fail on any policy violation, would see a page that does
nothing)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
TEMPLATES = sorted((SRC / "ibms").glob("*/templates/**/*.html"))


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = [d.split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("path", ["/login/", "/", "/r/units/", "/api/v1/me", "/no-such-page/"])
def test_every_response_has_the_policy_and_hardening_headers(client_as, path):
    resp = client_as("fin_budget").get(path)
    policy = csp(resp)
    assert policy.get("script-src") == ["'self'"], resp.headers.get("Content-Security-Policy")
    assert policy["style-src"] == ["'self'"]  # no inline <style> or style="" either
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in policy.get("script-src", [])
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP (development, tests): no HSTS


def test_anonymous_login_page_has_the_policy(client):
    resp = client.get("/login/")
    assert resp.status_code == 200
    assert csp(resp)["script-src"] == ["'self'"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"""<[^>]*\son[a-z]+\s*=""", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)
INLINE_STYLE = re.compile(r"""<style\b|<[^>]*\sstyle\s*=""", re.I)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(SRC / "ibms")))
def test_templates_have_no_inline_script_or_handler(template):
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to a static file"
    assert not INLINE_HANDLER.search(text), "inline event handler (onclick= …): use core/ibms.js"
    assert not JS_URL.search(text)
    assert not INLINE_STYLE.search(text), "inline <style> or style=\"\": use a class from a static stylesheet"


def test_the_pages_script_is_served_from_our_static_files(client_as):
    html = client_as("fin_budget").get("/").content.decode()
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    assert "/static/core/ibms.js" in scripts
    assert any(s.startswith("/static/django_htmx/htmx") for s in scripts)
    assert all(s.startswith("/static/") for s in scripts)


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
c = Client()
plain = c.get("/login/")
tls = c.get("/login/", secure=False, headers=HEADERS)
cookie = tls.cookies.get("csrftoken")
print(json.dumps({
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER, "hsts": settings.SECURE_HSTS_SECONDS,
    "plain_status": plain.status_code, "plain_location": plain.headers.get("Location", ""),
    "tls_status": tls.status_code, "tls_hsts": tls.headers.get("Strict-Transport-Security", ""),
    "csrf_secure": bool(cookie and cookie["secure"]), "csrf_httponly": bool(cookie and cookie["httponly"]),
    "session_secure": settings.SESSION_COOKIE_SECURE, "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
}))
"""


def probe(tmp_path, env: dict, headers: dict) -> dict:
    """Settings read from the environment in a fresh interpreter, and two requests: plain HTTP and one that the
    TLS proxy marked as HTTPS."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("IBMS_")}
    full.update({"DJANGO_SETTINGS_MODULE": "ibms.config.settings", "IBMS_VAR_DIR": str(tmp_path),
                 "PYTHONPATH": str(SRC), **env})
    code = PROBE.replace("HEADERS", repr(headers))
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_behind_tls_hsts_redirect_and_secure_cookies(tmp_path):
    got = probe(tmp_path, {"IBMS_BEHIND_TLS": "1"}, {"X-Forwarded-Proto": "https"})
    assert got["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert got["plain_status"] == 301 and got["plain_location"].startswith("https://")
    assert got["tls_status"] == 200
    assert got["tls_hsts"] == "max-age=31536000"
    assert got["csrf_secure"] and got["csrf_httponly"]
    assert got["session_secure"] and got["session_httponly"]


def test_behind_tls_proxy_header_is_configurable(tmp_path):
    env = {"IBMS_BEHIND_TLS": "1", "IBMS_PROXY_SSL_HEADER": "X-Forwarded-Scheme: https",
           "IBMS_HSTS_SECONDS": "63072000", "IBMS_HSTS_INCLUDE_SUBDOMAINS": "1"}
    got = probe(tmp_path, env, {"X-Forwarded-Scheme": "https"})
    assert got["proxy_header"] == ["HTTP_X_FORWARDED_SCHEME", "https"]
    assert got["tls_status"] == 200
    assert got["tls_hsts"] == "max-age=63072000; includeSubDomains"
    # the default header no longer counts: a client cannot claim HTTPS with a header the proxy does not set
    got = probe(tmp_path, env, {"X-Forwarded-Proto": "https"})
    assert got["tls_status"] == 301


def test_without_tls_no_hsts_and_cookies_work_over_http(tmp_path):
    got = probe(tmp_path, {}, {"X-Forwarded-Proto": "https"})
    assert got["proxy_header"] is None  # a client's X-Forwarded-Proto is not trusted without a proxy
    assert got["plain_status"] == 200 and got["tls_hsts"] == ""
    assert not got["csrf_secure"] and got["csrf_httponly"]
    assert not got["session_secure"] and got["session_httponly"]


def test_a_malformed_proxy_header_setting_stops_start_up(tmp_path):
    full = {k: v for k, v in os.environ.items() if not k.startswith("IBMS_")}
    full.update({"DJANGO_SETTINGS_MODULE": "ibms.config.settings", "IBMS_VAR_DIR": str(tmp_path),
                 "PYTHONPATH": str(SRC), "IBMS_BEHIND_TLS": "1", "IBMS_PROXY_SSL_HEADER": "X-Forwarded-Proto"})
    out = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=full, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert "ImproperlyConfigured: IBMS_PROXY_SSL_HEADER must look like 'X-Forwarded-Proto: https'" in out.stderr
