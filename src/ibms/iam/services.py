"""Writers for users, tokens and certificates. Separation of duties for the three administrators."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.crypto import CryptoError, load_public_key, public_key_fingerprint
from ibms.core.errors import Conflict, PermissionDenied, invalid
from ibms.core.resources import require_perm
from ibms.core.scoping import check_write_scope

from .models import ApiToken, Organization, Role, User, UserCertificate
from .roles import ADMIN_ROLES
from .tokens import digest, issue_token_value


def _check_roles(org: Organization | None, role_codes: list[str]) -> list[Role]:
    roles = list(Role.objects.filter(code__in=role_codes))
    missing = set(role_codes) - {r.code for r in roles}
    if missing:
        raise invalid("role_unknown", f"角色不存在：{'、'.join(sorted(missing))}", "roles")
    if len(ADMIN_ROLES & set(role_codes)) > 1:
        raise invalid("admin_separation", "系统管理员、安全保密管理员、安全审计员必须由不同人员担任（三员分立）", "roles")
    if ADMIN_ROLES & set(role_codes) and len(role_codes) > 1:
        raise invalid("admin_separation", "管理员角色不能兼任业务角色", "roles")
    kind = org.kind if org else "admin"
    wrong = [r.name for r in roles if r.org_kind != kind]
    if wrong:
        raise invalid("role_org_kind", f"角色与所属机构类型不符：{'、'.join(wrong)}", "roles")
    return roles


def user_create(*, actor, username: str, password: str, organization: Organization | None, roles: list[str],
                real_name: str = "") -> User:
    require_perm(actor, "iam.add_user")
    if organization is not None:
        check_write_scope(actor, region_code=organization.region_code)
    role_objs = _check_roles(organization, roles)
    with transaction.atomic(durable=True):
        if User.objects.filter(username=username).exists():
            raise Conflict("username_taken", f"用户名 {username} 已存在")
        user = User(username=username, organization=organization, real_name=real_name)
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise invalid("weak_password", "；".join(exc.messages), "password") from exc
        user.set_password(password)
        user.save()
        user.groups.set([r.group for r in role_objs])
        audit.record_change(user, "create")
        audit.record_event("iam.user_created", obj=user, region_code=user.region_code, payload={"roles": roles})
        return user


def token_issue(*, actor, user: User, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Returns the token row and the token value, which is shown once and never stored."""
    require_perm(actor, "iam.add_apitoken")
    with transaction.atomic(durable=True):
        prefix, raw = issue_token_value()
        tok = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=digest(raw), expires_at=expires_at)
        audit.record_change(tok, "create")
        return tok, raw


def token_revoke(*, actor, token_id: int) -> ApiToken:
    require_perm(actor, "iam.change_apitoken")
    with transaction.atomic(durable=True):
        tok = ApiToken.objects.select_for_update().get(pk=token_id)
        before = audit.snapshot(tok)
        tok.revoked_at = timezone.now()
        tok.save(update_fields=["revoked_at"])
        audit.record_change(tok, "update", before)
        return tok


def certificate_bind(*, actor, user: User, public_key_pem: str, subject: str = "") -> UserCertificate:
    """Bind an SM2 public key to a user; the key must parse as SM2 and not be bound to anyone already."""
    require_perm(actor, "iam.add_usercertificate")
    try:
        load_public_key(public_key_pem.encode())
        fp = public_key_fingerprint(public_key_pem.encode())
    except CryptoError as exc:
        raise invalid("cert_invalid", "公钥不是有效的 SM2 公钥（PEM 格式）", "public_key_pem") from exc
    with transaction.atomic(durable=True):
        if UserCertificate.objects.filter(fingerprint=fp).exists():
            raise Conflict("cert_bound", "该公钥已绑定到用户")
        cert = UserCertificate.objects.create(user=user, public_key_pem=public_key_pem.strip(), fingerprint=fp,
                                              subject=subject[:200])
        audit.record_change(cert, "create")
        audit.record_event("iam.certificate_bound", obj=user, region_code=user.region_code,
                           payload={"fingerprint": fp})
        return cert


def user_unlock(*, actor, user: User) -> None:
    if "security_admin" not in getattr(actor, "role_codes", set()) and not actor.is_superuser:
        raise PermissionDenied("只有安全保密管理员可以解锁账户")
    with transaction.atomic(durable=True):
        before = audit.snapshot(user)
        User.objects.filter(pk=user.pk).update(locked_until=None)
        audit.record_change(user, "update", before)
