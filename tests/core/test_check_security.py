"""`ibms check-security` (issue 12): the deployment's security checks through Django's check framework — an
insecure configuration exits non-zero naming each failed check id; a secure one exits zero."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from ibms.core import checks

SRC = Path(__file__).resolve().parents[2] / "src"
SECURE = {"IBMS_SECRET_KEY": secrets.token_urlsafe(64), "IBMS_KEY_ENCRYPTION_KEY": secrets.token_hex(16),
          "IBMS_BEHIND_TLS": "1"}
IDS = ("ibms.E001", "ibms.E002", "ibms.E003", "ibms.E004", "ibms.E005", "ibms.E006")


def check_security(tmp_path, env: dict) -> tuple[int, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("IBMS_") and k != "DJANGO_SETTINGS_MODULE"}
    full.update({"IBMS_VAR_DIR": str(tmp_path), "PYTHONPATH": str(SRC), **env})
    out = subprocess.run([sys.executable, "-m", "ibms.cli", "check-security"], env=full, capture_output=True,
                         text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr


def failed_ids(output: str) -> set[str]:
    return {i for i in IDS if f"({i})" in output}


def test_the_development_defaults_fail_naming_every_problem(tmp_path):
    code, out = check_security(tmp_path, {"IBMS_DEBUG": "1"})
    assert code != 0
    assert failed_ids(out) == {"ibms.E001", "ibms.E002", "ibms.E003", "ibms.E005"}, out
    assert "SECRET_KEY 是开发用的默认值" in out and "DEBUG 已开启" in out


def test_a_secure_configuration_passes(tmp_path):
    code, out = check_security(tmp_path, SECURE)
    assert code == 0, out
    assert failed_ids(out) == set()


@pytest.mark.parametrize(("change", "check_id"), [
    ({"IBMS_SECRET_KEY": "dev-insecure-key-change-me-in-production"}, "ibms.E001"),
    ({"IBMS_SECRET_KEY": "short-but-not-default"}, "ibms.E001"),
    ({"IBMS_DEBUG": "1"}, "ibms.E002"),
    ({"IBMS_KEY_ENCRYPTION_KEY": ""}, "ibms.E003"),
    ({"IBMS_KEY_ENCRYPTION_KEY": "not-hex-and-not-16-bytes"}, "ibms.E004"),
    ({"IBMS_BEHIND_TLS": "0"}, "ibms.E005"),
], ids=["default-key", "short-key", "debug", "no-kek", "bad-kek", "no-tls"])
def test_each_insecure_setting_alone_fails_with_its_id(tmp_path, change, check_id):
    code, out = check_security(tmp_path, {**SECURE, **change})
    assert code == 1, out
    assert failed_ids(out) == {check_id}, out


@pytest.mark.parametrize("script_src", [["'self'", "'unsafe-inline'"], ["'self'", "'unsafe-eval'"], []])
def test_a_policy_allowing_inline_script_or_eval_fails(settings, script_src):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": script_src}}
    assert [e.id for e in checks.check_content_security_policy()] == ["ibms.E006"]


def test_the_policy_middleware_must_be_installed(settings):
    assert checks.check_content_security_policy() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]
    assert [e.id for e in checks.check_content_security_policy()] == ["ibms.E006"]
