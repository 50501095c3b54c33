"""Writers for users, tokens and certificates: permission, scope, validation, write and audit in one durable
transaction. Separation of duties (三员分立) for the three administrators is enforced here."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.crypto import CryptoError, load_public_key, public_key_fingerprint
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm, scope_of

from .models import ApiToken, LoginFailure, Organization, Role, User, UserCertificate
from .roles import ADMIN_ROLES
from .tokens import digest, issue_token_value


def refused(code: str, message: str, field: str = "") -> ValidationFailed:
    """A single-violation refusal whose top-level code is the violation's own (API clients key on it)."""
    exc = invalid(code, message, field)
    exc.code, exc.message = code, message
    return exc


def check_roles(org: Organization | None, role_codes: list[str]) -> list[Role]:
    """Roles exist, 三员分立 holds, and every role fits the organisation's kind."""
    codes = set(role_codes)
    if not codes:
        raise refused("roles_required", "请至少选择一个角色", "roles")
    roles = list(Role.objects.filter(code__in=codes))
    missing = codes - {r.code for r in roles}
    if missing:
        raise refused("role_unknown", f"角色不存在：{'、'.join(sorted(missing))}", "roles")
    if len(ADMIN_ROLES & codes) > 1:
        raise refused("admin_separation", "系统管理员、安全保密管理员、安全审计员必须由不同人员担任（三员分立）", "roles")
    if ADMIN_ROLES & codes and len(codes) > 1:
        raise refused("admin_separation", "管理员角色不能兼任业务角色（三员分立）", "roles")
    kind = org.kind if org is not None else Organization.Kind.ADMIN
    wrong = [r.name for r in roles if r.org_kind != kind]
    if wrong:
        raise refused("role_org_kind", f"角色与所属机构类型（{Organization.Kind(kind).label}）不符：{'、'.join(wrong)}",
                      "roles")
    return roles


def _user_in_scope(actor, user_id: int, *, lock: bool = False) -> User:
    qs = User.objects.select_related("organization", "organization__unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return get_in_scope(qs, actor, CHANGE, what="用户", pk=user_id)


def user_create(*, actor, username: str, password: str, organization: Organization | None, roles: list[str],
                real_name: str = "", phone: str = "") -> User:
    require_perm(actor, "iam.add_user")
    username = (username or "").strip()
    if organization is None:
        if not scope_of(actor).unrestricted:
            raise refused("organization_required", "请选择所属机构", "organization")
    else:
        if not organization.is_active:
            raise refused("organization_inactive", "所属机构已停用", "organization")
        check_write_scope(actor, region_code=organization.region_code,
                          unit_path=organization.unit.path if organization.unit_id else None, spec=User.scope_spec)
    role_objs = check_roles(organization, roles)
    user = User(username=username, organization=organization, real_name=(real_name or "").strip(),
                phone=(phone or "").strip())
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise refused("weak_password", "密码不符合要求：" + "；".join(exc.messages), "password") from exc
    try:
        with transaction.atomic(durable=True):
            if User.objects.filter(username=username).exists():
                raise Conflict("username_taken", f"用户名 {username} 已存在")
            try:
                user.full_clean(exclude=["password"], validate_unique=False)
            except DjangoValidationError as exc:
                raise ValidationFailed([Violation(m.code or "invalid", m.message % (m.params or {}), f)
                                        for f, msgs in exc.error_dict.items() for m in msgs]) from exc
            user.set_password(password)
            user.save()
            user.groups.set([r.group for r in role_objs])
            audit.record_change(user, "create")
            audit.record_event("iam.user_created", obj=user, region_code=user.region_code,
                               payload={"username": username, "roles": sorted(set(roles))})
    except IntegrityError as exc:  # a concurrent create of the same username
        raise Conflict("username_taken", f"用户名 {username} 已存在") from exc
    return user


def user_unlock(*, actor, user_id: int) -> User:
    """Lift a login lock (`iam.unlock_user`: the 安全保密管理员) and forget the failures that caused it."""
    if not (actor and actor.is_authenticated and actor.has_perm("iam.unlock_user")):
        raise PermissionDenied("只有安全保密管理员可以解锁账户", code="unlock_denied")
    with transaction.atomic(durable=True):
        user = _user_in_scope(actor, user_id, lock=True)
        before = audit.snapshot(user)
        was_locked = user.locked_until is not None
        User.objects.filter(pk=user.pk).update(locked_until=None)
        LoginFailure.objects.filter(username=user.username).delete()
        user.locked_until = None
        audit.record_change(user, "update", before)
        audit.record_event("iam.account_unlocked", obj=user, region_code=user.region_code,
                           payload={"was_locked": was_locked})
        return user


def token_issue(*, actor, user_id: int, name: str, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """Returns the token row and the token value, which is shown once and never stored (only its SM3 digest)."""
    require_perm(actor, "iam.add_apitoken")
    name = (name or "").strip()
    if not name:
        raise refused("token_name_required", "请填写令牌用途", "name")
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)
    if expires_at is not None and expires_at <= timezone.now():
        raise refused("token_expiry_past", "到期时间必须晚于当前时间", "expires_at")
    with transaction.atomic(durable=True):
        user = _user_in_scope(actor, user_id)
        if not user.is_active:
            raise refused("user_inactive", "用户已停用，不能签发令牌", "user")
        prefix, raw = issue_token_value()
        tok = ApiToken.objects.create(user=user, name=name[:100], prefix=prefix, digest=digest(raw),
                                      expires_at=expires_at)
        audit.record_change(tok, "create")
        audit.record_event("iam.token_issued", obj=user, region_code=user.region_code,
                           payload={"token_id": tok.pk, "prefix": prefix, "name": tok.name,
                                    "expires_at": expires_at.isoformat() if expires_at else None})
        return tok, raw


def token_revoke(*, actor, token_id: int) -> ApiToken:
    """Revoke a token; revoking an already revoked token changes nothing."""
    require_perm(actor, "iam.change_apitoken")
    with transaction.atomic(durable=True):
        tok = (ApiToken.objects.select_for_update(of=("self",)).select_related("user", "user__organization")
               .filter(pk=token_id, user__in=User.objects.restrict(actor, CHANGE)).first())
        if tok is None:
            raise NotFound("接口令牌")
        user = tok.user
        if tok.revoked_at is not None:
            return tok
        audit.update_fields(tok, revoked_at=timezone.now())
        audit.record_event("iam.token_revoked", obj=user, region_code=user.region_code,
                           payload={"token_id": tok.pk, "prefix": tok.prefix})
        return tok


def certificate_bind(*, actor, user_id: int, public_key_pem: str, subject: str = "") -> UserCertificate:
    """Bind an SM2 public key to a user; the key must parse as SM2 and not be bound to anyone already."""
    require_perm(actor, "iam.add_usercertificate")
    pem = (public_key_pem or "").strip()
    try:
        load_public_key(pem.encode())
        fp = public_key_fingerprint(pem.encode())
    except (CryptoError, UnicodeEncodeError) as exc:
        raise refused("cert_invalid", "公钥不是有效的 SM2 公钥（PEM 格式）", "public_key_pem") from exc
    try:
        with transaction.atomic(durable=True):
            user = _user_in_scope(actor, user_id)
            if UserCertificate.objects.filter(fingerprint=fp).exists():
                raise Conflict("cert_bound", "该公钥已绑定到用户，不能重复绑定")
            cert = UserCertificate.objects.create(user=user, public_key_pem=pem + "\n", fingerprint=fp,
                                                  subject=(subject or "").strip()[:200])
            audit.record_change(cert, "create")
            audit.record_event("iam.certificate_bound", obj=user, region_code=user.region_code,
                               payload={"certificate_id": cert.pk, "fingerprint": fp})
            return cert
    except IntegrityError as exc:  # bound concurrently
        raise Conflict("cert_bound", "该公钥已绑定到用户，不能重复绑定") from exc


# --- authentication bookkeeping: columns left out of row audit, recorded as business events instead ---------


def login_succeeded(*, user: User, ip: str) -> None:
    with transaction.atomic(durable=True):
        LoginFailure.objects.filter(username=user.username).delete()
        audit.record_event("iam.login_succeeded", region_code=user.region_code, obj=user, payload={"ip": ip})


def login_refused_locked(*, user: User, ip: str) -> None:
    with transaction.atomic(durable=True):
        audit.record_event("iam.login_refused_locked", region_code=user.region_code, obj=user,
                           message="account locked", payload={"ip": ip})


def login_failed(*, username: str, user: User | None, ip: str) -> bool:
    """Count a failed password; at the limit lock the account. Returns whether it is now locked."""
    now = timezone.now()
    region = user.region_code if user else ""
    with transaction.atomic(durable=True):
        LoginFailure.objects.create(username=username[:150], ip=ip)
        window = now - dt.timedelta(seconds=settings.IBMS_LOGIN_LOCK_SECONDS)
        failures = LoginFailure.objects.filter(username=username, at__gte=window).count()
        audit.record_event("iam.login_failed", region_code=region, obj=user,
                           payload={"username": username[:150], "ip": ip, "failures": failures})
        if user is None or failures < settings.IBMS_LOGIN_MAX_FAILURES:
            return False
        User.objects.filter(pk=user.pk).update(locked_until=now + dt.timedelta(seconds=settings.IBMS_LOGIN_LOCK_SECONDS))
        # The lock replaces the counted failures, so the count restarts when the lock ends or is lifted.
        LoginFailure.objects.filter(username=username).delete()
        audit.record_event("iam.account_locked", region_code=region, obj=user,
                           payload={"failures": failures, "ip": ip, "locked_seconds": settings.IBMS_LOGIN_LOCK_SECONDS})
        return True


def token_used(*, token: ApiToken, at: dt.datetime) -> None:
    """Note when a token was last used, at most once a minute (not audited: a bookkeeping column)."""
    if token.last_used_at is None or (at - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)


SYSTEM_USERNAME = "ibms-system"


def system_user() -> User:
    """The account the worker acts as when a bank message or a T+1 job changes data: full scope (no organisation,
    superuser), no usable password, so nobody can log in with it. Created on first use, audited."""
    u = User.objects.filter(username=SYSTEM_USERNAME).first()
    if u is not None:
        return u
    with transaction.atomic():
        u, created = User.objects.get_or_create(username=SYSTEM_USERNAME,
                                                defaults={"real_name": "系统（后台作业）", "is_superuser": True})
        if created:
            u.set_unusable_password()
            u.save(update_fields=["password"])
            audit.record_change(u, "create")
    return u
