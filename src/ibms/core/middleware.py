"""Request context (actor + request id for audit), the pages' write gate, and one error rendering for pages and
HTMX."""

from __future__ import annotations

import logging
import uuid

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from . import audit, policy
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
    """A refusal (403, or 404 for a row out of scope) as the business event `security.denied`, committed even though
    the request fails: who (the API's token user or the session's), path, method, code and — for the write gate —
    the route and the permission it requires."""
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    payload = {"path": request.path[:200], "method": request.method, "code": exc.code}
    if isinstance(exc.detail, dict):
        payload.update({k: str(exc.detail[k])[:200] for k in ("route", "permission") if k in exc.detail})
    with acting(actor_of(user, client_ip(request)), getattr(request, "request_id", None)):
        audit.record_event_now("security.denied", region_code=getattr(user, "region_code", "") or "",
                               message=exc.code, payload=payload)


def error_response(request, exc: DomainError):
    template = "core/error_partial.html" if getattr(request, "htmx", False) else "core/error.html"
    return render(request, template, {"error": exc}, status=exc.http_status)


class WriteGateMiddleware:
    """Pages: a write request (POST, PUT, PATCH, DELETE) needs the permission `core.policy` maps its route to,
    checked before the view runs, so before any form is bound or any service called. Refused: 403 with the shared
    error page, audited; a write route without a rule is refused to everyone (`route_not_in_policy`); not logged
    in: to the login page; an action a route does not have (a URL argument value its rules do not list): 404.
    The API (`/api/`) has the same gate inside its authentication (`core.api`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method not in policy.WRITE_METHODS or request.path.startswith("/api/"):
            return None
        match = request.resolver_match
        rule = policy.page_rule(match.view_name, match.kwargs)
        if rule is not None and rule.special:
            return None
        user = getattr(request, "user", None)
        if not (user and user.is_authenticated):
            return redirect_to_login(request.get_full_path())
        try:
            if rule is None and policy.narrowed(match.view_name):
                raise NotFound("页面")  # an action the route does not have
            policy.enforce(user, rule, route=f"page {match.view_name}")
        except (PermissionDenied, NotFound) as exc:
            log.info("write refused: %s %s (%s)", request.method, request.path, exc.code)
            record_denial(request, exc)
            return error_response(request, exc)
        return None


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
        return error_response(request, exc)
