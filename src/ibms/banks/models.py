"""Bank endpoints, signing keys (the units' and the finance's seals; the persons' signer keys), every bank message in
and out, and the feed cursor."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ibms.core.audit import audited
from ibms.core.scoping import ScopedManager, ScopeSpec


class BankEndpoint(models.Model):
    """An agent bank (代理银行) serving a region, reached over HTTP; its public key verifies its messages."""

    region_code = models.CharField("财政区划", max_length=9)
    agent_bank_code = models.CharField("代理银行代码", max_length=20)
    name = models.CharField("名称", max_length=120, blank=True)
    base_url = models.CharField("服务地址", max_length=300)
    bank_public_pem = models.TextField("银行公钥", blank=True)
    bank_fingerprint = models.CharField("银行公钥指纹", max_length=64, blank=True)
    admin_token = models.CharField("模拟器管理令牌", max_length=200, blank=True,
                                   help_text="仅用于银行模拟器（登记信任公钥）；真实银行的证书线下交换")
    trusted_keys = models.JSONField("已在模拟器登记的签章公钥指纹", default=list, blank=True)
    timeout_seconds = models.FloatField("超时（秒）", default=10.0)
    poll_limit = models.PositiveIntegerField("每次拉取条数", default=200)
    enabled = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = "代理银行接口"
        ordering = ["region_code", "agent_bank_code"]
        constraints = [models.UniqueConstraint(fields=["region_code", "agent_bank_code"], name="bankendpoint_uniq",
                                               violation_error_code="duplicate_endpoint",
                                               violation_error_message="该区划已配置此代理银行的接口")]

    def __str__(self) -> str:
        return f"{self.agent_bank_code} {self.name}".strip()


class SigningKey(models.Model):
    """An SM2 seal key: a unit's (单位签章) or a region finance's (财政签章). The private key is SM4-GCM encrypted at
    rest with the key-encryption key (``IBMS_KEY_ENCRYPTION_KEY``, see ``keys.py``)."""

    class Owner(models.TextChoices):
        UNIT = "unit", "预算单位"
        FINANCE = "finance", "财政"

    region_code = models.CharField("财政区划", max_length=9)
    owner = models.CharField("持有方", max_length=10, choices=Owner.choices)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT)
    unit_path = models.CharField("单位路径", max_length=255, blank=True)
    label = models.CharField("名称", max_length=120, blank=True)
    public_pem = models.TextField("公钥")
    fingerprint = models.CharField("公钥指纹", max_length=64, unique=True)
    private_encrypted = models.BinaryField("加密私钥")
    active = models.BooleanField("有效", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = "签章密钥"
        constraints = [
            models.UniqueConstraint(fields=["region_code", "owner", "unit"], condition=Q(active=True, unit__isnull=False),
                                    name="signingkey_unit_active_uniq",
                                    violation_error_code="signing_key_active_exists",
                                    violation_error_message="该单位已有有效的签章密钥"),
            models.UniqueConstraint(fields=["region_code", "owner"], condition=Q(active=True, unit__isnull=True),
                                    name="signingkey_finance_active_uniq",
                                    violation_error_code="signing_key_active_exists",
                                    violation_error_message="该区划财政已有有效的签章密钥"),
        ]

    def __str__(self) -> str:
        return self.label or self.fingerprint[:16]

    def __repr__(self) -> str:
        return f"SigningKey({self.owner}, {self.region_code}, {self.fingerprint[:16]})"


@audited(exclude=("pin_failures", "locked_until"))
class Signer(models.Model):
    """A person registered as a signer (签名人) of a budget unit or of a region's finance: their own SM2 key, which signs
    the payment vouchers they approve. The software keystore (``keystore.py``) keeps the private key SM4-GCM encrypted
    under a key derived from the person's PIN (PBKDF2-HMAC-SM3, salt and iteration count beside it); a UKEY/HSM
    provider keeps only a reference to the key in its token (``provider``, ``key_blob``). The record — public key,
    unit, role, validity, revocation — is what the agent bank is given to check the person's signature."""

    class Kind(models.TextChoices):
        UNIT = "unit", "预算单位签名人"
        FINANCE = "finance", "财政签名人"

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        REVOKED = "revoked", "已注销"

    region_code = models.CharField("财政区划", max_length=9)
    kind = models.CharField("类别", max_length=10, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="签名人", on_delete=models.PROTECT,
                             related_name="signers")
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT)
    unit_code = models.CharField("单位代码", max_length=40, blank=True)
    unit_path = models.CharField("单位路径", max_length=255, blank=True)
    name = models.CharField("姓名", max_length=50)
    role = models.CharField("签名角色", max_length=100, blank=True)
    provider = models.CharField("密钥载体", max_length=20, default="software")
    public_pem = models.TextField("公钥")
    fingerprint = models.CharField("公钥指纹", max_length=64, unique=True)
    key_blob = models.BinaryField("加密私钥", blank=True, default=b"")
    kdf = models.CharField("口令派生算法", max_length=30, blank=True)
    kdf_salt = models.CharField("口令派生盐值", max_length=64, blank=True)
    kdf_iterations = models.PositiveIntegerField("口令派生迭代次数", default=0)
    valid_from = models.DateTimeField("生效时间")
    valid_to = models.DateTimeField("失效时间")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    revoked_at = models.DateTimeField("注销时间", null=True, blank=True)
    revoke_reason = models.CharField("注销原因", max_length=200, blank=True)
    pin_failures = models.PositiveSmallIntegerField("口令连续错误次数", default=0)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path", unit_writable=True)  # a unit head revokes the unit's signers

    class Meta:
        verbose_name = "签名人"
        ordering = ["region_code", "unit_path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], condition=Q(status="active"), name="signer_active_uniq",
                                    violation_error_code="signer_active_exists",
                                    violation_error_message="该用户已有有效的签名证书，请先注销"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"

    def __repr__(self) -> str:  # never the key material
        return f"Signer({self.kind}, {self.region_code}, {self.unit_code}, {self.fingerprint[:16]})"


# what a person reads for a message kind (banks.protocol.KINDS) and a seal's kind
KIND_NAMES = {"voucher": "支付凭证", "ack": "回执", "receipt": "回单", "return": "退回通知", "refund": "退款通知",
              "clearing": "清算通知", "statement": "对账单", "status": "状态查询", "invalid": "无法解析的报文"}
STAMP_NAMES = {"unit": "单位电子签章", "finance": "财政电子签章", "bank": "银行电子签章", "personal": "个人签名"}


class BankMessage(models.Model):
    """Every message exchanged with a bank, as sent or received (raw XML), with its signature result.

    ``identity`` is what makes an inbound message "the same" (kind + voucher/refund/clearing/statement identity, not
    the feed seq; the identity starts with the region): unique per (direction, kind, identity) across endpoints, so a
    duplicate or replayed message — or the same message read through two endpoints of one bank — is recorded once
    and applied once."""

    class Direction(models.TextChoices):
        OUT = "out", "发送"
        IN = "in", "接收"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        ACCEPTED = "accepted", "银行已签收"
        DUPLICATE = "duplicate", "银行报重复"
        REJECTED = "rejected", "已拒绝"
        UNKNOWN = "unknown", "结果未知"
        APPLIED = "applied", "已处理"
        DEFERRED = "deferred", "待处理"
        QUARANTINE = "quarantine", "已隔离待查"

    endpoint = models.ForeignKey(BankEndpoint, verbose_name="代理银行", on_delete=models.PROTECT,
                                 related_name="messages")
    direction = models.CharField("方向", max_length=3, choices=Direction.choices)
    kind = models.CharField("报文类型", max_length=12)
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, blank=True)
    year = models.PositiveIntegerField("年度")
    vt_code = models.CharField("凭证类型", max_length=4)
    voucher_no = models.CharField("凭证号", max_length=64)
    msg_id = models.CharField("报文标识", max_length=64)
    identity = models.CharField("唯一标识", max_length=200)
    seq = models.BigIntegerField("银行序号", null=True, blank=True)
    raw_xml = models.TextField("报文")
    digest = models.CharField("SM3 摘要", max_length=64)
    amount = models.BigIntegerField("金额（分）", default=0)
    verified = models.BooleanField("验签通过", null=True)
    verify_result = models.JSONField("验签结果", default=dict, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices)
    result_code = models.CharField("结果代码", max_length=40, blank=True)
    error = models.TextField("说明", blank=True)
    related = models.ForeignKey("self", verbose_name="关联报文", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="responses")
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    applied_at = models.DateTimeField("处理时间", null=True, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = "银行报文"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["direction", "kind", "identity"], name="bankmessage_identity_uniq",
                                    violation_error_code="duplicate_message",
                                    violation_error_message="该银行报文已登记，不能重复接收"),
        ]
        indexes = [
            models.Index(fields=["region_code", "year", "voucher_no"]),
            models.Index(fields=["status", "direction"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.kind_display} {self.voucher_no}"

    @property
    def kind_display(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)


class FeedCursor(models.Model):
    """How far the bank's message feed has been read (the highest seq seen)."""

    endpoint = models.OneToOneField(BankEndpoint, on_delete=models.CASCADE, related_name="cursor")
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "报文拉取位置"
