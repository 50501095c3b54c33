"""The roles of PRODUCT §1 and the Django permissions each carries. Synced into groups at set-up."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Role

MD_REGION_LEVEL = ["region", "fiscalyear", "holiday", "valuesetitem", "ecomapping", "unit", "expenditurestandard",
                   "agentbank", "bankaccount", "payee", "blacklistentry", "person"]
MD_ALL = [*MD_REGION_LEVEL]
VIEW_MD = [f"masterdata.view_{m}" for m in MD_ALL]
EDIT_MD = [f"masterdata.{a}_{m}" for m in MD_REGION_LEVEL for a in ("add", "change")]
UNIT_EDIT = [f"masterdata.{a}_{m}" for m in ("person", "payee") for a in ("add", "change")]

# code, name, organisation kind, permissions
ROLES: list[tuple[str, str, str, list[str]]] = [
    ("budget_division", "预算处", "finance", VIEW_MD + EDIT_MD),
    ("sector_division", "业务处室", "finance", VIEW_MD),
    ("treasury_division", "国库处", "finance", VIEW_MD + EDIT_MD),
    ("accounting_division", "会计处", "finance", VIEW_MD),
    ("it_division", "信息中心", "finance", VIEW_MD + EDIT_MD),
    ("dept_reviewer", "主管部门审核", "department", VIEW_MD),
    ("dept_clerk", "主管部门经办", "department", VIEW_MD + UNIT_EDIT),
    ("unit_clerk", "单位经办", "unit", VIEW_MD + UNIT_EDIT),
    ("unit_reviewer", "单位审核", "unit", VIEW_MD),
    ("unit_head", "单位负责人", "unit", VIEW_MD),
    ("oversight", "监督查询（人大/审计/纪检）", "oversight", VIEW_MD),
    ("sys_admin", "系统管理员", "admin", ["iam.view_user", "iam.add_user", "iam.change_user", "iam.view_organization",
                                          "iam.add_organization", "iam.change_organization", "iam.view_role",
                                          "masterdata.view_region", "masterdata.view_unit"]),
    ("security_admin", "安全保密管理员", "admin", ["iam.view_user", "iam.view_apitoken", "iam.add_apitoken",
                                                 "iam.change_apitoken", "iam.view_usercertificate",
                                                 "iam.add_usercertificate", "iam.change_usercertificate"]),
    ("audit_admin", "安全审计员", "admin", ["core.view_changelog", "core.view_businessevent"]),
]
ADMIN_ROLES = {"sys_admin", "security_admin", "audit_admin"}

# Permissions that later apps add to existing roles (`grant` in their AppConfig.ready), merged by sync_roles.
_GRANTS: dict[str, set[str]] = {}


def grant(role_code: str, perms: list[str]) -> None:
    if role_code not in {code for code, *_ in ROLES}:
        raise ValueError(f"unknown role {role_code}")
    if role_code in ADMIN_ROLES:
        raise ValueError(f"{role_code} is an administrator role: no business permissions (三员分立)")
    _GRANTS.setdefault(role_code, set()).update(perms)


def sync_roles() -> int:
    """Create/refresh each role's group and permissions; returns the number of roles."""
    with transaction.atomic():
        for code, name, kind, perms in ROLES:
            group, _ = Group.objects.get_or_create(name=f"role:{code}")
            Role.objects.update_or_create(code=code, defaults={"name": name, "org_kind": kind, "group": group})
            objs = []
            for p in sorted({*perms, *_GRANTS.get(code, ())}):
                app, codename = p.split(".")
                objs.append(Permission.objects.get(content_type__app_label=app, codename=codename))
            group.permissions.set(objs)
    return len(ROLES)
