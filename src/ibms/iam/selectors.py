"""Reads of users, tokens and certificates, always starting from the actor's scope (users: 403 without the
view permission, from `permitted` / `get_in_scope`)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ibms.core.scoping import VIEW, get_in_scope

from .models import ApiToken, Role, User, UserCertificate


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
