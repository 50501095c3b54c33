"""Deployment security checks (Django's system check framework, `manage.py check --deploy`; `ibms check-security`
runs only the security-tagged ones and fails on any error). Each names a stable id, ibms.E00n."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Tags, register


def _weak_secret(key: str) -> bool:
    """The development default, Django's generated placeholder, or too short/simple (Django's own rule)."""
    return "insecure" in key or len(key) < 50 or len(set(key)) < 5


@register(Tags.security, deploy=True)
def check_secret_key(app_configs=None, **kwargs) -> list[Error]:
    if _weak_secret(getattr(settings, "SECRET_KEY", "") or ""):
        return [Error("SECRET_KEY 是开发用的默认值或强度不足：会话、CSRF 令牌与派生密钥都可被伪造",
                      hint="设置 IBMS_SECRET_KEY 为至少 50 个字符的随机串，例如 "
                           "python -c 'import secrets; print(secrets.token_urlsafe(64))'",
                      id="ibms.E001")]
    return []


@register(Tags.security, deploy=True)
def check_debug(app_configs=None, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return [Error("DEBUG 已开启：出错页面会向任何访问者展示源代码、配置与请求数据",
                      hint="生产环境不要设置 IBMS_DEBUG=1", id="ibms.E002")]
    return []


@register(Tags.security, deploy=True)
def check_key_encryption_key(app_configs=None, **kwargs) -> list[Error]:
    """The KEK of the seal keys at rest (ibms.banks.keys); without it they are encrypted under SECRET_KEY."""
    value = (getattr(settings, "IBMS_KEY_ENCRYPTION_KEY", "") or os.environ.get("IBMS_KEY_ENCRYPTION_KEY", "")).strip()
    if not value:
        return [Error("未设置密钥加密密钥 IBMS_KEY_ENCRYPTION_KEY：签章私钥只以 SECRET_KEY 派生的密钥加密保存，"
                      "更换 SECRET_KEY 后将无法读取",
                      hint="设置 IBMS_KEY_ENCRYPTION_KEY 为 32 位十六进制（16 字节），例如 "
                           "python -c 'import secrets; print(secrets.token_hex(16))'；不要与数据库备份放在一起",
                      id="ibms.E003")]
    try:
        ok = len(bytes.fromhex(value)) == 16
    except ValueError:
        ok = False
    if not ok:
        return [Error("IBMS_KEY_ENCRYPTION_KEY 格式不正确：应为 32 位十六进制（16 字节）", id="ibms.E004")]
    return []


@register(Tags.security, deploy=True)
def check_tls(app_configs=None, **kwargs) -> list[Error]:
    if not getattr(settings, "IBMS_BEHIND_TLS", False):
        return [Error("未启用 HTTPS（IBMS_BEHIND_TLS）：口令、会话与签名口令将以明文在网络上传输",
                      hint="在 TLS 反向代理之后运行并设置 IBMS_BEHIND_TLS=1（见 docs/operations.md「传输安全与响应头」）",
                      id="ibms.E005")]
    return []


@register(Tags.security, deploy=True)
def check_content_security_policy(app_configs=None, **kwargs) -> list[Error]:
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    scripts = policy.get("DIRECTIVES", {}).get("script-src", [])
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE or not scripts or any(
            s in ("'unsafe-inline'", "'unsafe-eval'", "*") for s in scripts):
        return [Error("内容安全策略（CSP）未启用或允许内联脚本/eval", id="ibms.E006")]
    return []
