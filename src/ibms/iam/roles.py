"""The roles (财政部门 divisions, 预算单位 staff, the 三员) and the permissions each carries: the permission policy, which is data.

Every grant is a row of `data/policy/permissions/<app>.csv` (columns `role,permission,why`), one file per app
holding only that app's own permissions (`<app>.<codename>`), with a short reason in Chinese. `load_policy()`
reads and checks the files (a known role, a permission some model declares, the file's own app, a reason, no
duplicate; the three administrator roles hold no business permission — 三员分立); `sync_roles()`, run by
`ibms setup`, makes each role's group hold exactly the permissions its rows name. Nothing else gives a role a
permission. See data/policy/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from ibms.core import audit
from ibms.core.policy import PolicyError, known_permissions, policy_rows

from .models import Role

# code, name, organisation kind
ROLES: list[tuple[str, str, str]] = [
    ("budget_division", "预算处", "finance"),
    ("sector_division", "业务处室", "finance"),
    ("treasury_division", "国库处", "finance"),
    ("accounting_division", "会计处", "finance"),
    ("it_division", "信息中心", "finance"),
    ("dept_reviewer", "主管部门审核", "department"),
    ("dept_clerk", "主管部门经办", "department"),
    ("unit_clerk", "单位经办", "unit"),
    ("unit_reviewer", "单位审核", "unit"),
    ("unit_head", "单位负责人", "unit"),
    ("oversight", "监督查询（人大/审计/纪检）", "oversight"),
    ("sys_admin", "系统管理员", "admin"),
    ("security_admin", "安全保密管理员", "admin"),
    ("audit_admin", "安全审计员", "admin"),
]
ADMIN_ROLES = {"sys_admin", "security_admin", "audit_admin"}

# 三员分立: the administrator roles manage accounts, roles, tokens, certificates and read the audit log; no business
# data — of the master data only the regions and units an account is placed in. The audit log is the audit
# administrator's alone, and opening an account (`iam.add_user`) and granting its roles (`iam.grant_role`) are never
# one role's: two people's acts.
ADMIN_PERMISSION_PREFIXES = ("iam.",)
ADMIN_PERMISSIONS = frozenset({"core.view_changelog", "core.view_businessevent", "masterdata.view_region",
                               "masterdata.view_unit"})
AUDIT_PERMISSIONS = frozenset({"core.view_changelog", "core.view_businessevent"})
SEPARATE_DUTIES = [frozenset({"iam.add_user", "iam.grant_role"})]


def admin_may_hold(role: str, perm: str) -> bool:
    if perm in AUDIT_PERMISSIONS:
        return role == "audit_admin"
    return perm.startswith(ADMIN_PERMISSION_PREFIXES) or perm in ADMIN_PERMISSIONS

POLICY_COLUMNS = ["role", "permission", "why"]


@dataclass(frozen=True)
class Grant:
    role: str
    permission: str
    why: str
    origin: str  # file:line


def policy_dir() -> Path:
    return Path(settings.DATA_DIR) / "policy" / "permissions"


def ibms_app_labels() -> list[str]:
    return [c.label for c in apps.get_app_configs() if c.name.startswith("ibms.")]


def load_policy() -> list[Grant]:
    """Every grant of every `data/policy/permissions/<app>.csv`, checked; raises PolicyError naming the row."""
    labels, roles, known = set(ibms_app_labels()), {code for code, *_ in ROLES}, known_permissions()
    grants: list[Grant] = []
    seen: set[tuple[str, str]] = set()
    for app, where, (role, perm, why) in policy_rows(policy_dir(), POLICY_COLUMNS, labels):
        if role not in roles:
            raise PolicyError(f"{where}: unknown role {role!r}")
        if perm.split(".", 1)[0] != app:
            raise PolicyError(f"{where}: {perm!r} is not a permission of {app} (each app grants its own)")
        if perm not in known:
            raise PolicyError(f"{where}: no model declares the permission {perm!r}")
        if not why:
            raise PolicyError(f"{where}: the reason (why) is missing")
        if role in ADMIN_ROLES and not admin_may_hold(role, perm):
            raise PolicyError(f"{where}: {role} is an administrator role: no business permission, the audit log "
                              f"only for audit_admin (三员分立)")
        if (role, perm) in seen:
            raise PolicyError(f"{where}: {role} {perm} is granted twice")
        seen.add((role, perm))
        for duties in SEPARATE_DUTIES:
            if perm in duties and any((role, other) in seen for other in duties - {perm}):
                raise PolicyError(f"{where}: {role} would hold both of {', '.join(sorted(duties))}: opening an "
                                  f"account and granting its roles are two people's acts (三员分立)")
        grants.append(Grant(role, perm, why, where))
    return grants


def role_permissions() -> dict[str, set[str]]:
    """role code → the permissions the policy gives it (every role, possibly none)."""
    out: dict[str, set[str]] = {code: set() for code, *_ in ROLES}
    for g in load_policy():
        out[g.role].add(g.permission)
    return out


def grant(role_code: str, perms: list[str]) -> None:
    raise RuntimeError(f"iam.roles.grant({role_code!r}, …) is gone: the permission policy is data — add rows "
                       "to data/policy/permissions/<app>.csv")


def sync_roles() -> int:
    """Create/refresh each role's group so that it holds exactly the policy's permissions; returns the number of
    roles."""
    policy = role_permissions()
    wanted = set().union(*policy.values())
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in Permission.objects.select_related(
        "content_type").filter(content_type__app_label__in={w.split(".", 1)[0] for w in wanted})}
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise PolicyError(f"permissions not in the database (run migrate): {', '.join(missing)}")
    changed: dict[str, dict[str, list[str]]] = {}
    with transaction.atomic():
        for code, name, kind in ROLES:
            group, _ = Group.objects.get_or_create(name=f"role:{code}")
            Role.objects.update_or_create(code=code, defaults={"name": name, "org_kind": kind, "group": group})
            held = {f"{p.content_type.app_label}.{p.codename}"
                    for p in group.permissions.select_related("content_type")}
            if held != policy[code]:
                changed[code] = {"granted": sorted(policy[code] - held), "revoked": sorted(held - policy[code])}
                group.permissions.set([by_name[p] for p in sorted(policy[code])])
        if changed:  # a role's permissions granted or revoked: recorded like a user's roles
            audit.record_event("iam.role_permissions_synced", message="permission policy applied",
                               payload={"roles": changed})
    return len(ROLES)
