"""Session lifetime and the forced password change.

Idle timeout: the session expires SESSION_COOKIE_AGE seconds after the last request (SESSION_SAVE_EVERY_REQUEST
refreshes it). Absolute timeout: a session is ended IBMS_SESSION_ABSOLUTE_SECONDS after login however active it
is, here. A user whose password is a system-generated initial one or has expired (`passwords.change_reason`) gets
the change-password page for every page, and 403 `password_change_required` from the API, until they change it."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .passwords import REASON_TEXT, change_reason

# What a user who must change their password may still reach (besides static files, served before this).
PASSWORD_API = "/api/v1/iam/password"

SESSION_STARTED = "ibms_session_started"


def mark_session_start(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: the absolute lifetime counts from login."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED] = int(time.time())


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(SESSION_STARTED)
            now = int(time.time())
            if started is None:
                request.session[SESSION_STARTED] = now
            elif now - started > settings.IBMS_SESSION_ABSOLUTE_SECONDS:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)  # answered 401 by the API's auth
                return redirect(f"{settings.LOGIN_URL}?expired=1")
        return self.get_response(request)


class PasswordChangeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        reason = change_reason(user)
        if not reason:
            return self.get_response(request)
        page = reverse("iam-password-change")
        if request.path in (page, reverse("logout"), PASSWORD_API):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "password_change_required", "message": REASON_TEXT[reason],
                                 "detail": {"reason": reason, "change": PASSWORD_API}}, status=403)
        target = page
        if request.method == "GET" and request.path != "/":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
