"""Authentication: password login with throttling (Django backend) and Bearer tokens for systems (API).
Every failure and lock is a business event, so the audit administrator sees attacks; the writes go
through iam.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from ninja.security import HttpBearer

from . import selectors, services
from .models import ApiToken, User
from .tokens import digest


def _client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind a reverse proxy the last address of the header it sets
    (`IBMS_CLIENT_IP_HEADER`, e.g. X-Forwarded-For — the one the proxy appended, which a client cannot forge)."""
    if request is None:
        return ""
    header = settings.IBMS_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:45]
    return (request.META.get("REMOTE_ADDR") or "")[:45]


class ThrottledModelBackend(ModelBackend):
    """Password login behind two throttles: the account's lock (IBMS_LOGIN_MAX_FAILURES failures lock it for
    IBMS_LOGIN_LOCK_SECONDS) and the client address's (IBMS_LOGIN_IP_MAX_FAILURES failures within
    IBMS_LOGIN_IP_WINDOW_SECONDS). A name no account has is counted and locked the same way, and every refusal runs
    the password hasher once, so neither the answer nor its time tells which names exist."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        ip, now = _client_ip(request), timezone.now()
        if selectors.login_ip_throttled(ip=ip, now=now):
            make_password(password)  # the work of a password check
            services.login_throttled(username=username, ip=ip)
            if request is not None:
                request.ibms_login_throttled = True
            return None
        user = User.objects.filter(username=username).select_related("organization").first()
        if selectors.login_locked(username=username, user=user, now=now):
            make_password(password)
            services.login_refused_locked(username=username, user=user, ip=ip)
            locked = True
        else:
            # ModelBackend runs the hasher for an unknown name too (Django's own timing defence)
            result = super().authenticate(request, username=username, password=password, **kwargs)
            if result is not None:
                services.login_succeeded(user=result, ip=ip)
                return result
            locked = services.login_failed(username=username, user=user, ip=ip)
        if locked and request is not None:
            request.ibms_login_locked = True
        return None


def record_logout(sender, request, user, **kwargs) -> None:
    """user_logged_out receiver (the logout page, the session's absolute timeout): an audited event."""
    if user is not None and user.is_authenticated:
        services.logout_recorded(user=user, ip=_client_ip(request))


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        tok = (ApiToken.objects.select_related("user", "user__organization")
               .filter(digest=digest(token), revoked_at__isnull=True).first())
        now = timezone.now()
        if tok is None or not tok.user.is_active or (tok.expires_at and tok.expires_at <= now):
            return None
        services.token_used(token=tok, at=now)
        request.user = tok.user
        request.ibms_api_token = tok  # a token may not mint tokens nor change its user's password
        return tok.user
