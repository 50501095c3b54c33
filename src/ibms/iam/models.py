"""Users, organisations, roles (as Django groups), data-scope grants, API tokens, SM2 certificates."""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.db import models
from django.utils import timezone

from ibms.core.audit import audited
from ibms.core.scoping import DataScope, ScopedManager, ScopedQuerySet, ScopeSpec


@audited
class Organization(models.Model):
    class Kind(models.TextChoices):
        FINANCE = "finance", "财政部门处室"
        DEPARTMENT = "department", "主管部门"
        UNIT = "unit", "预算单位"
        OVERSIGHT = "oversight", "监督机构"
        ADMIN = "admin", "系统管理"

    region_code = models.CharField("财政区划", max_length=9)
    code = models.CharField("机构代码", max_length=30)
    name = models.CharField("机构名称", max_length=120)
    kind = models.CharField("机构类型", max_length=12, choices=Kind.choices)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="对应单位", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="organizations")
    division_code = models.CharField("处室代码", max_length=6, blank=True)
    is_active = models.BooleanField("启用", default=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit__path")

    class Meta:
        verbose_name = verbose_name_plural = "组织机构"
        ordering = ["region_code", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "code"], name="org_region_code_uniq",
                                    violation_error_message="该区划下机构代码已存在",
                                    violation_error_code="organization_code_exists"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["department", "unit"], unit__isnull=False)
                | (~models.Q(kind__in=["department", "unit"]) & models.Q(unit__isnull=True)),
                name="org_unit_matches_kind", violation_error_message="主管部门和预算单位必须对应一个单位",
                                   violation_error_code="organization_unit_mismatch"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A role (its permissions: data/policy/permissions), carried by a Django group that holds its permissions."""

    code = models.CharField("角色代码", max_length=40, unique=True)
    name = models.CharField("角色名称", max_length=60)
    org_kind = models.CharField("适用机构", max_length=12, choices=Organization.Kind.choices)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="role")
    description = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "角色"
        ordering = ["org_kind", "code"]

    def __str__(self) -> str:
        return self.name


class ScopedUserManager(UserManager.from_queryset(ScopedQuerySet)):
    use_in_migrations = True


# Bookkeeping columns left out of the row audit; their changes are business events (iam.password_changed, …).
@audited(exclude=("last_login", "locked_until", "must_change_password", "password_changed_at"))
class User(AbstractUser):
    organization = models.ForeignKey(Organization, verbose_name="所属机构", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="users")
    real_name = models.CharField("姓名", max_length=50, blank=True)
    phone = models.CharField("电话", max_length=20, blank=True)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)
    # Set for a system-generated (initial) password: nothing but the password change until it is changed.
    must_change_password = models.BooleanField("须修改密码", default=False)
    # Counts the password's age (IBMS_PASSWORD_MAX_AGE_DAYS); a new row's password counts from its creation.
    password_changed_at = models.DateTimeField("密码修改时间", default=timezone.now)

    objects = ScopedUserManager()
    scope_spec = ScopeSpec(region_field="organization__region_code", unit_path_field="organization__unit__path")

    class Meta:
        verbose_name = verbose_name_plural = "用户"
        ordering = ["username"]
        permissions = [("unlock_user", "解除账户锁定"), ("grant_role", "授予、撤销用户角色")]

    def __str__(self) -> str:
        return self.real_name or self.username

    @property
    def region_code(self) -> str:
        return self.organization.region_code if self.organization_id else ""

    @property
    def unit_path(self) -> str:
        org = self.organization
        return org.unit.path if org is not None and org.unit_id else ""

    @cached_property
    def role_codes(self) -> set[str]:
        return set(Role.objects.filter(group__user=self).values_list("code", flat=True))

    @cached_property
    def data_scope(self) -> DataScope:
        from .scopes import compute_scope

        return compute_scope(self)


class ScopeGrant(models.Model):
    """Extra read-only view of a region subtree, e.g. for oversight staff or an upper-level division."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="scope_grants")
    region = models.ForeignKey("masterdata.Region", verbose_name="区划", on_delete=models.PROTECT)
    note = models.CharField("依据", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "数据权限授权"
        constraints = [models.UniqueConstraint(fields=["user", "region"], name="scopegrant_uniq",
                                               violation_error_code="scope_grant_exists",
                                               violation_error_message="该用户已被授权查看此区划")]


class PasswordHistory(models.Model):
    """The hashes of a user's passwords, newest last: a new password may not be one of the last few."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "密码历史"
        indexes = [models.Index(fields=["user", "-id"], name="iam_pwhist_user_idx")]


class LoginFailure(models.Model):
    """A failed password, counted per user name (the account lock) and per client address (the IP throttle)."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.CharField(max_length=45, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set when a lock, an unlock or a successful login restarts the account's count; the address still counts it.
    cleared = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["ip", "at"], name="iam_loginfail_ip_at_idx")]


class LoginLock(models.Model):
    """A lock on a user name no account has: at the failure limit it is locked like an account (the same answer,
    for the same time), so the login form does not tell which names exist."""

    username = models.CharField(max_length=150, unique=True)
    locked_until = models.DateTimeField()


@audited(exclude=("last_used_at",))
class ApiToken(models.Model):
    """A system integration token; only its SM3 digest is stored."""

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField("用途", max_length=100)
    prefix = models.CharField("前缀", max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("到期时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "接口令牌"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name}"


@audited
class UserCertificate(models.Model):
    """An SM2 public key bound to a user, for signing payment vouchers later."""

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.PROTECT, related_name="certificates")
    public_key_pem = models.TextField("SM2公钥（PEM）")
    fingerprint = models.CharField("指纹（SM3）", max_length=64, unique=True)
    subject = models.CharField("证书主题", max_length=200, blank=True)
    bound_at = models.DateTimeField("绑定时间", auto_now_add=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "用户证书"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.fingerprint[:16]}"
