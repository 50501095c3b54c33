"""Reads of users, tokens and certificates, always starting from the actor's scope (users: 403 without the
view permission, from `permitted` / `get_in_scope`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet

from ibms.core.scoping import VIEW, get_in_scope

from .models import ApiToken, LoginFailure, LoginLock, Role, User, UserCertificate


def user_list(*, actor, q: str = "", region_code: str = "", organization_id: int | None = None) -> QuerySet[User]:
    qs = (User.objects.permitted(actor).select_related("organization")
          .prefetch_related("groups__role").order_by("username"))
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(real_name__icontains=q) | Q(organization__name__icontains=q))
    if region_code:
        qs = qs.filter(organization__region_code=region_code)
    if organization_id:
        qs = qs.filter(organization_id=organization_id)
    return qs


def user_get(*, actor, pk: int) -> User:
    return get_in_scope(User.objects.select_related("organization", "organization__unit"), actor, VIEW,
                        what="用户", pk=pk)


def roles_of(user: User) -> list[Role]:
    return list(Role.objects.filter(group__user=user).order_by("org_kind", "code"))


def tokens_of(*, actor, user: User) -> list[ApiToken]:
    return list(user.api_tokens.all()) if actor.has_perm("iam.view_apitoken") else []


def certificates_of(*, actor, user: User) -> list[UserCertificate]:
    return list(user.certificates.all()) if actor.has_perm("iam.view_usercertificate") else []


def role_names(user: User) -> list[str]:
    """Role names from prefetched groups (see user_list)."""
    return [g.role.name for g in user.groups.all() if hasattr(g, "role")]


# --- login: is this name locked, this address throttled ---------------------------------------------------------

def login_locked(*, username: str, user: User | None, now: dt.datetime) -> bool:
    """An account's lock, or — for a name no account has — the name's, so both answer alike."""
    if user is not None:
        return bool(user.locked_until and user.locked_until > now)
    return LoginLock.objects.filter(username=username[:150], locked_until__gt=now).exists()


def login_ip_throttled(*, ip: str, now: dt.datetime) -> bool:
    """Whether `ip` has reached IBMS_LOGIN_IP_MAX_FAILURES failed logins within IBMS_LOGIN_IP_WINDOW_SECONDS."""
    limit = settings.IBMS_LOGIN_IP_MAX_FAILURES
    if limit <= 0 or not ip:
        return False
    since = now - dt.timedelta(seconds=settings.IBMS_LOGIN_IP_WINDOW_SECONDS)
    return LoginFailure.objects.filter(ip=ip, at__gte=since)[:limit].count() >= limit


def own_tokens(*, actor) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user_id=actor.pk).order_by("-id"))
