"""API tokens for systems: shown once at issue, stored as an SM3 digest, sent as `Authorization: Bearer`."""

from __future__ import annotations

import secrets

from django.utils import timezone
from ninja.security import HttpBearer

from ibms.core.crypto import sm3_hex

from .models import ApiToken


def digest(raw: str) -> str:
    return sm3_hex(raw.encode())


def issue_token_value() -> tuple[str, str]:
    """(prefix, full token)."""
    prefix = secrets.token_hex(4)
    return prefix, f"ibms_{prefix}_{secrets.token_urlsafe(32)}"


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        tok = (ApiToken.objects.select_related("user", "user__organization")
               .filter(digest=digest(token), revoked_at__isnull=True).first())
        now = timezone.now()
        if tok is None or not tok.user.is_active or (tok.expires_at and tok.expires_at <= now):
            return None
        if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=tok.pk).update(last_used_at=now)
        request.user = tok.user
        return tok.user


class SessionAuth:
    """django-ninja session auth (CSRF-checked) returning the user itself."""

    openapi_type = "apiKey"

    def __call__(self, request):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None
