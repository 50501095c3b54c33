"""Row-level data scope. `Model.objects.restrict(user, action)` is where every business read starts.

A user's scope (computed by iam from their organisation) names the regions they may read and change
and, for department/unit staff, the unit subtree. Rows outside scope are "not found", never
"forbidden", so ids leak nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from .errors import NotFound, PermissionDenied

VIEW = "view"
CHANGE = "change"


@dataclass(frozen=True)
class DataScope:
    view_regions: frozenset[str] = frozenset()  # own region subtree (+ granted subtrees)
    change_regions: frozenset[str] = frozenset()  # own region only; empty when read-only
    reference_regions: frozenset[str] = frozenset()  # own region and its ancestors (shared reference data)
    unit_path: str | None = None  # set for department / unit staff
    unrestricted: bool = False

    @property
    def read_only(self) -> bool:
        return not self.change_regions and not self.unrestricted


NO_SCOPE = DataScope()
FULL_SCOPE = DataScope(unrestricted=True)


@dataclass(frozen=True)
class ScopeSpec:
    """How a model's rows map onto scope: field paths, and whether they are shared reference data."""

    region_field: str = "region_code"
    unit_path_field: str | None = None  # e.g. "unit__path"; None when rows have no unit dimension
    reference: bool = False  # shared downwards: lower levels read an upper level's rows ('' = national)
    unit_writable: bool = False  # unit staff may change rows of their own unit subtree
    extra: dict = field(default_factory=dict)


def scope_of(user) -> DataScope:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return NO_SCOPE
    return getattr(user, "data_scope", NO_SCOPE)


def scope_q(spec: ScopeSpec, scope: DataScope, action: str) -> Q | None:
    """The filter for a scope, or None for 'nothing'. Q() means everything."""
    if scope.unrestricted:
        return Q()
    rf = spec.region_field
    if action == VIEW:
        q = Q(**{f"{rf}__in": scope.view_regions})
        if spec.reference:
            shared = Q(**{f"{rf}__in": scope.reference_regions | {""}})
            if spec.unit_path_field:  # only a level's shared rows (no unit) are reference for other levels
                shared &= Q(**{f"{spec.unit_path_field.removesuffix('__path')}__isnull": True})
            q |= shared
        if scope.unit_path and spec.unit_path_field:
            unit_q = Q(**{f"{spec.unit_path_field}__startswith": scope.unit_path})
            if spec.reference:
                unit_q |= Q(**{f"{spec.unit_path_field.removesuffix('__path')}__isnull": True})
            q &= unit_q
        return q
    if not scope.change_regions:
        return None
    q = Q(**{f"{rf}__in": scope.change_regions})
    if scope.unit_path:
        if not (spec.unit_writable and spec.unit_path_field):
            return None
        q &= Q(**{f"{spec.unit_path_field}__startswith": scope.unit_path})
    return q


def model_perm(model, action: str) -> str:
    """`<app>.<action>_<model>`, the Django permission for an action on a model."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def has_model_perm(user, model, action: str = VIEW) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and user.has_perm(model_perm(model, action)))


class ScopedQuerySet(models.QuerySet):
    """Three ways in, as NetBox's RestrictedQuerySet:

    - `restrict(user, VIEW)`: the rows the user may read — nothing at all without the model's view permission,
      so a forgotten check leaks nothing. `restrict(user, CHANGE)` is the write scope (region, unit subtree); the
      service asking for it has checked its own, often custom, permission first.
    - `permitted(user)`: the same, but a user without the view permission is refused (403) rather than shown an
      empty list: what list pages and list endpoints call, so they repeat no permission check.
    - `in_scope(user, action)`: scope only, for a service that reads on behalf of a user whose permission it has
      already checked (a clerk's payment reads the indicator it reserves)."""

    def in_scope(self, user, action: str = VIEW):
        spec: ScopeSpec = getattr(self.model, "scope_spec", None) or ScopeSpec()
        q = scope_q(spec, scope_of(user), action)
        return self.none() if q is None else self.filter(q)

    def restrict(self, user, action: str = VIEW):
        if action == VIEW and not has_model_perm(user, self.model, VIEW):
            return self.none()
        return self.in_scope(user, action)

    def permitted(self, user, action: str = VIEW):
        if not has_model_perm(user, self.model, VIEW):
            raise PermissionDenied()
        return self.in_scope(user, action)


ScopedManager = models.Manager.from_queryset(ScopedQuerySet)


def get_in_scope(queryset, user, action: str = VIEW, *, what: str = "对象", permission: str | None = None, **lookup):
    """Fetch one row within scope or raise NotFound (404), so out-of-scope ids look like missing ids; a user
    without the model's view permission — or `permission`, for a part of an aggregate governed by its root's
    (a project's attachment by `projects.view_project`) — is refused (403)."""
    if permission:
        require_perm(user, permission)
        qs = queryset.in_scope(user, action)
    else:
        qs = queryset.permitted(user, action)
    obj = qs.filter(**lookup).first()
    if obj is None:
        raise NotFound(what)
    return obj


def check_write_scope(user, *, region_code: str, unit_path: str | None = None, spec: ScopeSpec | None = None):
    """For creates: may this user write a row in this region (and unit)?"""
    scope = scope_of(user)
    if scope.unrestricted:
        return
    if region_code not in scope.change_regions:
        raise PermissionDenied("不能在本级以外的财政区划新增或修改数据（上级只读下级）", code="scope_region")
    if scope.unit_path:
        allowed = spec is None or spec.unit_writable
        if not allowed or not unit_path or not unit_path.startswith(scope.unit_path):
            raise PermissionDenied("只能维护本单位及下级单位的数据", code="scope_unit")


def require_perm(user, perm: str) -> None:
    if not (user and user.is_authenticated and user.has_perm(perm)):
        raise PermissionDenied()
