"""Session lifetime. Idle timeout: the session expires SESSION_COOKIE_AGE seconds after the last request
(SESSION_SAVE_EVERY_REQUEST refreshes it). Absolute timeout: a session is ended IBMS_SESSION_ABSOLUTE_SECONDS
after login however active it is, here."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect

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
