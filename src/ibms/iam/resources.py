"""Organisations as a declared resource: pages at /r/organizations/, API at /api/v1/iam/organizations/, Excel."""

from __future__ import annotations

from ibms.core.errors import invalid
from ibms.core.excel import Column as C
from ibms.core.resources import Resource, register

from .forms import OrganizationForm
from .models import Organization


def prepare_organization(obj: Organization, user) -> None:
    """The region is the actor's own, and so is the unit (kind/unit rules are in the form)."""
    if obj._state.adding:
        obj.region_code = getattr(user, "region_code", "") or ""
        if not obj.region_code:
            raise invalid("no_region", "当前用户未归属任何财政区划，不能维护组织机构")
    else:
        old = Organization.objects.get(pk=obj.pk)
        if old.code != obj.code:
            raise invalid("code_immutable", "机构代码不能修改")
    if obj.unit_id and obj.unit.region_code != obj.region_code:
        raise invalid("cross_region", "对应单位必须属于本区划")

ORGANIZATIONS = register(Resource(
    Organization, "organizations", "组织机构", OrganizationForm,
    ["code", "name", "kind", "unit", "region_code", "is_active"],
    group="用户与权限", filter_fields=["kind", "region_code", "is_active"], search_fields=["code", "name"],
    natural_key=["code"], prepare=prepare_organization, ordering=["region_code", "kind", "code"],
    excel=[C("code", "机构代码", True, max_length=30), C("name", "机构名称", True),
           C("kind", "机构类型", True, kind="choice", choices=Organization.Kind.choices),
           C("unit", "对应单位代码"), C("division_code", "处室代码", max_length=6),
           C("is_active", "启用", kind="bool")],
))
