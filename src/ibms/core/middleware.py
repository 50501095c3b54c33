"""Request context (actor + request id for audit) and one error rendering for pages and HTMX."""

from __future__ import annotations

import logging
import uuid

from django.shortcuts import render

from . import audit
from .context import acting, actor_of
from .errors import DomainError, NotFound, PermissionDenied

log = logging.getLogger("ibms.request")


def client_ip(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "")[:45]


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        ip = client_ip(request)
        # resolved when audit asks, so a user authenticated inside the view (API token) is named
        with acting(lambda: actor_of(getattr(request, "user", None), ip), request.request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


def record_denial(request, exc: DomainError) -> None:
    user = getattr(request, "user", None)
    with acting(actor_of(user, client_ip(request)), getattr(request, "request_id", None)):
        audit.record_event_now("security.denied", region_code=getattr(user, "region_code", "") or "",
                               message=exc.code, payload={"path": request.path[:200], "method": request.method,
                                                          "code": exc.code})


class DomainErrorMiddleware:
    """Pages: a DomainError escaping a view becomes the shared error page/partial with its Chinese message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if not isinstance(exc, DomainError) or request.path.startswith("/api/"):
            return None
        log.info("domain error %s on %s: %s", exc.code, request.path, exc.log_message)
        if isinstance(exc, PermissionDenied | NotFound):
            record_denial(request, exc)
        template = "core/error_partial.html" if getattr(request, "htmx", False) else "core/error.html"
        return render(request, template, {"error": exc}, status=exc.http_status)
