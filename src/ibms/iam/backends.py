"""Password login with throttling: after N failures in the window the account is locked for a while.
Every failure and lock is a business event, so the audit administrator sees attacks."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from ibms.core import audit

from .models import LoginFailure, User


def _client_ip(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "")[:45] if request is not None else ""


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        now = timezone.now()
        user = User.objects.filter(username=username).select_related("organization").first()
        region = user.region_code if user else ""
        if user is not None and user.locked_until and user.locked_until > now:
            audit.record_event_now("iam.login_refused_locked", region_code=region, obj=user,
                                   message="account locked", payload={"ip": _client_ip(request)})
            if request is not None:
                request.ibms_login_locked = True
            return None
        result = super().authenticate(request, username=username, password=password, **kwargs)
        if result is not None:
            LoginFailure.objects.filter(username=username).delete()
            audit.record_event_now("iam.login_succeeded", region_code=region, obj=result,
                                   payload={"ip": _client_ip(request)})
            return result
        LoginFailure.objects.create(username=username[:150], ip=_client_ip(request))
        window = now - dt.timedelta(seconds=settings.IBMS_LOGIN_LOCK_SECONDS)
        failures = LoginFailure.objects.filter(username=username, at__gte=window).count()
        audit.record_event_now("iam.login_failed", region_code=region, obj=user,
                               payload={"username": username[:150], "ip": _client_ip(request), "failures": failures})
        if user is not None and failures >= settings.IBMS_LOGIN_MAX_FAILURES:
            User.objects.filter(pk=user.pk).update(
                locked_until=now + dt.timedelta(seconds=settings.IBMS_LOGIN_LOCK_SECONDS))
            # The lock replaces the counted failures, so the count restarts when the lock ends or is lifted.
            LoginFailure.objects.filter(username=username).delete()
            audit.record_event_now("iam.account_locked", region_code=region, obj=user,
                                   payload={"failures": failures, "ip": _client_ip(request),
                                            "locked_seconds": settings.IBMS_LOGIN_LOCK_SECONDS})
            if request is not None:
                request.ibms_login_locked = True
        return None
