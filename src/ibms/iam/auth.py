"""Authentication: password login with throttling (Django backend) and Bearer tokens for systems (API).
Every failure and lock is a business event, so the audit administrator sees attacks; the writes go
through iam.services."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from ninja.security import HttpBearer

from . import services
from .models import ApiToken, User
from .tokens import digest


def _client_ip(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "")[:45] if request is not None else ""


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        ip = _client_ip(request)
        user = User.objects.filter(username=username).select_related("organization").first()
        if user is not None and user.locked_until and user.locked_until > timezone.now():
            services.login_refused_locked(user=user, ip=ip)
            locked = True
        else:
            result = super().authenticate(request, username=username, password=password, **kwargs)
            if result is not None:
                services.login_succeeded(user=result, ip=ip)
                return result
            locked = services.login_failed(username=username, user=user, ip=ip)
        if locked and request is not None:
            request.ibms_login_locked = True
        return None


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        tok = (ApiToken.objects.select_related("user", "user__organization")
               .filter(digest=digest(token), revoked_at__isnull=True).first())
        now = timezone.now()
        if tok is None or not tok.user.is_active or (tok.expires_at and tok.expires_at <= now):
            return None
        services.token_used(token=tok, at=now)
        request.user = tok.user
        return tok.user
