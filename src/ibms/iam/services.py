"""Writers for users, tokens and certificates: permission, scope, validation, write and audit in one durable
transaction. Separation of duties (三员分立) for the three administrators is enforced here."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.crypto import CryptoError, load_public_key, public_key_fingerprint
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, Violation, invalid
from ibms.core.models import BusinessEvent
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm, scope_of

from .models import (
    ApiToken,
    LoginFailure,
    LoginLock,
    Organization,
    PasswordHistory,
    Role,
    User,
    UserCertificate,
)
from .passwords import change_reason, generate_initial_password
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


def user_create(*, actor, username: str, organization: Organization | None, real_name: str = "", phone: str = "",
                password: str | None = None, roles: list[str] | None = None) -> tuple[User, str]:
    """Open an account (the 系统管理员, `iam.add_user`). Returns the user and their one-time initial password,
    generated here and shown once: nobody chooses it, and the user must change it at first login. The account has
    no role: the 安全保密管理员 grants them (`role_grant`), so opening and empowering an account are two people's
    acts (三员分立). `password` and `roles` exist only to be refused."""
    require_perm(actor, "iam.add_user")
    if password:
        raise refused("password_not_allowed", "初始密码由系统生成，开设账户时不能指定密码", "password")
    if roles:
        raise refused("roles_not_allowed", "角色由安全保密管理员另行授予，开设账户时不能指定角色（三员分立）", "roles")
    username = (username or "").strip()
    if organization is None:
        if not scope_of(actor).unrestricted:
            raise refused("organization_required", "请选择所属机构", "organization")
    else:
        if not organization.is_active:
            raise refused("organization_inactive", "所属机构已停用", "organization")
        check_write_scope(actor, region_code=organization.region_code,
                          unit_path=organization.unit.path if organization.unit_id else None, spec=User.scope_spec)
    user = User(username=username, organization=organization, real_name=(real_name or "").strip(),
                phone=(phone or "").strip(), must_change_password=True)
    for _ in range(20):  # a generated password fails only by resembling the user name: draw again
        initial = generate_initial_password()
        try:
            validate_password(initial, user)
            break
        except DjangoValidationError:
            continue
    try:
        with transaction.atomic(durable=True):
            if User.objects.filter(username=username).exists():
                raise Conflict("username_taken", f"用户名 {username} 已存在")
            try:
                user.full_clean(exclude=["password"], validate_unique=False)
            except DjangoValidationError as exc:
                raise ValidationFailed([Violation(m.code or "invalid", m.message % (m.params or {}), f)
                                        for f, msgs in exc.error_dict.items() for m in msgs]) from exc
            user.set_password(initial)
            user.save()
            PasswordHistory.objects.create(user=user, password=user.password)
            audit.record_change(user, "create")
            audit.record_event("iam.user_created", obj=user, region_code=user.region_code,
                               payload={"username": username, "organization": user.organization_id,
                                        "created_by": actor.pk, "initial_password": "generated"})
    except IntegrityError as exc:  # a concurrent create of the same username
        raise Conflict("username_taken", f"用户名 {username} 已存在") from exc
    return user, initial


def _creator_id(user: User) -> int | None:
    """Who opened the account (`iam.user_created` names them, whoever the audit context says is acting)."""
    return (BusinessEvent.objects.filter(code="iam.user_created", object_type="iam.user", object_id=str(user.pk))
            .values_list("payload__created_by", flat=True).first())


def _role_target(actor, user_id: int) -> User:
    """The account whose roles `actor` (the 安全保密管理员, `iam.grant_role`) changes, locked: in their write scope,
    neither their own account nor one they opened themselves (two people's acts, whatever one holds)."""
    if not (actor and actor.is_authenticated and actor.has_perm("iam.grant_role")):
        raise PermissionDenied("只有安全保密管理员可以授予或撤销角色（三员分立）", code="grant_denied")
    user = _user_in_scope(actor, user_id, lock=True)
    if user.pk == actor.pk:
        raise PermissionDenied("不能为本人授予或撤销角色（三员分立）", code="grant_self")
    if _creator_id(user) == actor.pk:
        raise PermissionDenied("开设账户的人员不能为该账户授予或撤销角色（三员分立）", code="grant_own_account")
    return user


def role_grant(*, actor, user_id: int, role: str) -> User:
    """Grant one role; 三员分立 and the organisation's kind are checked on the roles the user then holds."""
    with transaction.atomic(durable=True):
        user = _role_target(actor, user_id)
        if not user.is_active:
            raise refused("user_inactive", "用户已停用，不能授予角色", "role")
        held = set(Role.objects.filter(group__user=user).values_list("code", flat=True))
        if role in held:
            return user
        role_objs = {r.code: r for r in check_roles(user.organization, [*held, role])}
        user.groups.add(role_objs[role].group)
        audit.record_event("iam.role_granted", obj=user, region_code=user.region_code,
                           payload={"username": user.username, "role": role, "roles": sorted(held | {role})})
    return user


def role_revoke(*, actor, user_id: int, role: str) -> User:
    """Revoke one role; revoking a role the user does not hold changes nothing."""
    with transaction.atomic(durable=True):
        user = _role_target(actor, user_id)
        r = Role.objects.filter(code=role, group__user=user).select_related("group").first()
        if r is None:
            return user
        user.groups.remove(r.group)
        held = set(Role.objects.filter(group__user=user).values_list("code", flat=True))
        audit.record_event("iam.role_revoked", obj=user, region_code=user.region_code,
                           payload={"username": user.username, "role": role, "roles": sorted(held)})
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
        _clear_failures(user.username)
        user.locked_until = None
        audit.record_change(user, "update", before)
        audit.record_event("iam.account_unlocked", obj=user, region_code=user.region_code,
                           payload={"was_locked": was_locked})
        return user


def token_issue(*, actor, name: str, expires_at: dt.datetime | None = None,
                user_id: int | None = None) -> tuple[ApiToken, str]:
    """A user issues a token for themselves (`iam.add_apitoken`): a token acts as its user, so nobody — the 安全保密
    管理员 included — can mint one that acts as someone else. Returns the token row and the token value, which is
    shown once and never stored (only its SM3 digest)."""
    require_perm(actor, "iam.add_apitoken")
    if user_id is not None and user_id != actor.pk:
        raise PermissionDenied("接口令牌只能由用户本人签发，不能为他人签发", code="token_not_own")
    user_id = actor.pk
    name = (name or "").strip()
    if not name:
        raise refused("token_name_required", "请填写令牌用途", "name")
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)
    if expires_at is not None and expires_at <= timezone.now():
        raise refused("token_expiry_past", "到期时间必须晚于当前时间", "expires_at")
    with transaction.atomic(durable=True):
        user = User.objects.select_related("organization").get(pk=user_id)
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
    """Revoke a token: the 安全保密管理员 (`iam.change_apitoken`) any in their scope, a user their own; revoking
    an already revoked token changes nothing."""
    if not (actor and actor.is_authenticated and (actor.has_perm("iam.change_apitoken")
                                                  or actor.has_perm("iam.add_apitoken"))):
        raise PermissionDenied("没有权限吊销接口令牌", code="permission_denied")
    owners = (User.objects.restrict(actor, CHANGE) if actor.has_perm("iam.change_apitoken")
              else User.objects.filter(pk=actor.pk))
    with transaction.atomic(durable=True):
        tok = (ApiToken.objects.select_for_update(of=("self",)).select_related("user", "user__organization")
               .filter(pk=token_id, user__in=owners).first())
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


def _clear_failures(username: str) -> None:
    """Restart an account's failure count (lock, unlock, login) — not the address's (`selectors.login_ip_throttled`)."""
    LoginFailure.objects.filter(username=username[:150], cleared=False).update(cleared=True)


def login_succeeded(*, user: User, ip: str) -> None:
    with transaction.atomic(durable=True):
        _clear_failures(user.username)
        audit.record_event("iam.login_succeeded", region_code=user.region_code, obj=user, payload={"ip": ip})


def logout_recorded(*, user: User, ip: str) -> None:
    with transaction.atomic(durable=True):
        audit.record_event("iam.logout", region_code=user.region_code, obj=user, payload={"ip": ip})


def login_refused_locked(*, username: str, user: User | None, ip: str) -> None:
    with transaction.atomic(durable=True):
        audit.record_event("iam.login_refused_locked", region_code=user.region_code if user else "", obj=user,
                           message="account locked", payload={"username": username[:150], "ip": ip})


def login_throttled(*, username: str, ip: str) -> None:
    with transaction.atomic(durable=True):
        audit.record_event("iam.login_throttled", message="too many failed logins from this address",
                           payload={"username": username[:150], "ip": ip})


def login_failed(*, username: str, user: User | None, ip: str) -> bool:
    """Count a failed password; at the limit lock the account — or, for a name no account has, the name, so that
    both answer alike. Returns whether it is now locked."""
    now = timezone.now()
    region = user.region_code if user else ""
    lock_for = dt.timedelta(seconds=settings.IBMS_LOGIN_LOCK_SECONDS)
    ip_window = dt.timedelta(seconds=settings.IBMS_LOGIN_IP_WINDOW_SECONDS)
    with transaction.atomic(durable=True):
        # Rows older than both windows count for nothing any more.
        LoginFailure.objects.filter(at__lt=now - max(lock_for, ip_window)).delete()
        LoginFailure.objects.create(username=username[:150], ip=ip)
        failures = LoginFailure.objects.filter(username=username[:150], cleared=False,
                                               at__gte=now - lock_for).count()
        audit.record_event("iam.login_failed", region_code=region, obj=user,
                           payload={"username": username[:150], "ip": ip, "failures": failures})
        if failures < settings.IBMS_LOGIN_MAX_FAILURES:
            return False
        if user is not None:
            User.objects.filter(pk=user.pk).update(locked_until=now + lock_for)
        else:
            LoginLock.objects.filter(locked_until__lte=now).delete()
            LoginLock.objects.update_or_create(username=username[:150], defaults={"locked_until": now + lock_for})
        # The lock replaces the counted failures, so the count restarts when the lock ends or is lifted; the
        # client address's throttle still counts them (deleting them would let a guesser spread over names).
        _clear_failures(username)
        audit.record_event("iam.account_locked", region_code=region, obj=user,
                           payload={"username": username[:150], "failures": failures, "ip": ip,
                                    "locked_seconds": settings.IBMS_LOGIN_LOCK_SECONDS})
        return True


def password_change(*, actor, old_password: str, new_password: str) -> User:
    """A user changes their own password: the old one first, then every rule (`passwords`, the history included).
    Clears the forced change (initial password, expiry) and restarts the password's age."""
    if not (actor and actor.is_authenticated):
        raise PermissionDenied()
    user = User.objects.select_related("organization").get(pk=actor.pk)
    if not user.check_password(old_password or ""):
        audit.record_event_now("iam.password_change_failed", obj=user, region_code=user.region_code,
                               message="old password wrong", payload={"username": user.username})
        raise refused("old_password_wrong", "原密码不正确", "old_password")
    try:
        validate_password(new_password or "", user)
    except DjangoValidationError as exc:
        raise refused("weak_password", "密码不符合要求：" + "；".join(exc.messages), "new_password") from exc
    reason = change_reason(user) or "voluntary"
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update(of=("self",)).select_related("organization").get(pk=actor.pk)
        audit.update_fields(user, password=make_password(new_password), must_change_password=False,
                            password_changed_at=timezone.now())
        PasswordHistory.objects.create(user=user, password=user.password)
        keep = list(PasswordHistory.objects.filter(user=user).order_by("-id")
                    .values_list("id", flat=True)[:max(1, settings.IBMS_PASSWORD_HISTORY)])
        PasswordHistory.objects.filter(user=user).exclude(id__in=keep).delete()
        audit.record_event("iam.password_changed", obj=user, region_code=user.region_code,
                           payload={"username": user.username, "reason": reason})
    return user


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
