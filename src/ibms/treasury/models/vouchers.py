"""支付凭证 (PAY_VOUCHER_BILL) with details (PAY_DETAIL) and timeline, refunds, and 实拨 allocations
(PAY_ALLOCATION_CERT), the other origin of a voucher."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec

from .policy import PayMethod
from .requests import PaymentRequest

# what a person reads for the codes a voucher carries
VT_NAMES = {"5201": "财政直接支付凭证", "8202": "财政授权支付凭证", "8207": "财政批量业务支付明细", "5207": "实拨拨款凭证",
            "8209": "单位资金支付凭证"}
SEAL_NAMES = {"unit": "单位电子签章", "finance": "财政电子签章"}
EVENT_KINDS = {"ack": "银行回执", "query": "状态查询", "receipt": "回单", "refund": "退款", "return": "退回",
               "clearing": "清算", "status": "状态答复", "statement": "对账单", "resend": "同号重发"}


@audited
class PaymentVoucher(Stamped):
    """支付凭证 PAY_VOUCHER_BILL (5201 direct / 8202 authorized / 8207 batch) — or a 5207 实拨 certificate."""

    class State(models.TextChoices):
        GENERATED = "generated", "已生成"
        SIGNED = "signed", "已签章"
        SENT = "sent", "已发送"
        ACCEPTED = "accepted", "银行已签收"
        UNKNOWN = "unknown", "结果未知"
        FAILED = "failed", "银行拒收"
        PAID = "paid", "已支付（回单）"
        RETURNED = "returned", "银行退回"
        CLEARED = "cleared", "已清算"
        RECONCILED = "reconciled", "已对账"
        PARTLY_REFUNDED = "partly_refunded", "部分退款"
        REFUNDED = "refunded", "全额退款"

    S = State
    TRANSITIONS = {
        S.GENERATED: {S.SIGNED},
        S.SIGNED: {S.SENT},
        S.SENT: {S.ACCEPTED, S.UNKNOWN, S.FAILED, S.PAID, S.RETURNED},
        S.UNKNOWN: {S.ACCEPTED, S.FAILED, S.PAID, S.RETURNED, S.SENT},
        S.ACCEPTED: {S.PAID, S.RETURNED, S.UNKNOWN},
        S.PAID: {S.CLEARED, S.RECONCILED, S.PARTLY_REFUNDED, S.REFUNDED},
        S.CLEARED: {S.RECONCILED, S.PARTLY_REFUNDED, S.REFUNDED},
        S.RECONCILED: {S.PARTLY_REFUNDED, S.REFUNDED},
        S.PARTLY_REFUNDED: {S.PARTLY_REFUNDED, S.REFUNDED},
    }
    IN_FLIGHT = {S.GENERATED, S.SIGNED, S.SENT, S.ACCEPTED, S.UNKNOWN}
    PAID_STATES = {S.PAID, S.CLEARED, S.RECONCILED, S.PARTLY_REFUNDED, S.REFUNDED}

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("年度")
    vt_code = models.CharField("凭证类型", max_length=4)
    number = models.CharField("凭证号", max_length=40, editable=False)
    request = models.OneToOneField(PaymentRequest, verbose_name="支付申请", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="voucher")
    allocation = models.OneToOneField("Allocation", verbose_name="实拨", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="voucher")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    consumer = models.CharField("预占单据号", max_length=60, editable=False)
    pay_method = models.CharField("支付方式", max_length=12, choices=PayMethod.choices)
    vou_date = models.DateField("凭证日期")
    amount = MoneyField("支付金额")
    agent_bank_code = models.CharField("代理银行", max_length=12)
    pay_acct_no = models.CharField("付款账号", max_length=32, blank=True)
    pay_acct_name = models.CharField("付款户名", max_length=120, blank=True)
    payee_name = models.CharField("收款人", max_length=120, blank=True)
    payee_account_no = models.CharField("收款账号", max_length=32, blank=True)
    payee_bank_name = models.CharField("收款银行", max_length=100, blank=True)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.GENERATED,
                             editable=False)
    external_status = models.CharField("对方状态码", max_length=10, blank=True, editable=False)
    external_note = models.CharField("对方说明", max_length=300, blank=True, editable=False)
    bank_message_id = models.BigIntegerField("发送报文", null=True, blank=True, editable=False)
    signers = models.CharField("签章", max_length=100, blank=True, editable=False)
    xpay_amt = MoneyField("实际支付金额", default=0, editable=False)
    xpay_date = models.DateField("实际支付日期", null=True, blank=True, editable=False)
    agent_business_no = models.CharField("银行交易流水号", max_length=60, blank=True, editable=False)
    receipt_count = models.PositiveSmallIntegerField("回单次数", default=0, editable=False)
    return_reason = models.CharField("退回原因", max_length=300, blank=True, editable=False)
    refunded_amt = MoneyField("已退款", default=0, editable=False)
    act_lqd_date = models.DateField("清算日期", null=True, blank=True, editable=False)
    reconciled_date = models.DateField("对账日期", null=True, blank=True, editable=False)
    last_query_at = models.DateTimeField("最近查询", null=True, blank=True, editable=False)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "支付凭证"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "year", "number"], name="payvoucher_number_uniq",
                                    violation_error_code="payment_voucher_number_exists",
                                    violation_error_message="同一区划同一年度的支付凭证号不能重复"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payvoucher_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="支付金额必须大于零"),
            models.CheckConstraint(condition=Q(refunded_amt__gte=0, refunded_amt__lte=F("xpay_amt")),
                                   name="payvoucher_refund_range", violation_error_code="refund_exceeds",
                                   violation_error_message="累计退款不能超过实际支付金额"),
            models.CheckConstraint(condition=Q(request__isnull=False) | Q(allocation__isnull=False),
                                   name="payvoucher_has_origin", violation_error_code="origin_required",
                                   violation_error_message="支付凭证必须来自支付申请或实拨拨款"),
        ]
        indexes = [models.Index(fields=["region_code", "state"]), models.Index(fields=["region_code", "vou_date"])]

    def __str__(self) -> str:
        return self.number

    @property
    def vt_name(self) -> str:
        return VT_NAMES.get(self.vt_code, "支付凭证")

    @property
    def seals_display(self) -> str:
        return "、".join(SEAL_NAMES.get(s, s) for s in self.signers.split("+") if s) or "（未签章）"


class VoucherDetail(models.Model):
    """PAY_DETAIL: one payee line of a voucher."""

    voucher = models.ForeignKey(PaymentVoucher, verbose_name="凭证", on_delete=models.PROTECT,
                                related_name="details")
    seq = models.PositiveIntegerField("行号")
    payee_name = models.CharField("收款人", max_length=120)
    payee_account_no = models.CharField("收款账号", max_length=32)
    payee_bank_name = models.CharField("收款银行", max_length=100, blank=True)
    id_no = models.CharField("证件号", max_length=18, blank=True)
    amount = MoneyField("金额")
    xpay_amt = MoneyField("实际支付", default=0)
    add_word = models.CharField("附言", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付明细"
        ordering = ["voucher_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["voucher", "seq"], name="voucherdetail_seq_uniq",
                                               violation_error_code="voucher_detail_seq_exists",
                                               violation_error_message="同一支付凭证的明细行号不能重复")]


class VoucherEvent(models.Model):
    """The voucher's timeline: every state change and bank message applied, with the message id."""

    voucher = models.ForeignKey(PaymentVoucher, verbose_name="凭证", on_delete=models.PROTECT,
                                related_name="events")
    region_code = models.CharField("财政区划", max_length=9)
    at = models.DateTimeField("时间", auto_now_add=True)
    kind = models.CharField("事件", max_length=20)
    state = models.CharField("状态", max_length=16)
    message_id = models.CharField("银行报文", max_length=60, blank=True)
    note = models.CharField("说明", max_length=300, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="voucher__unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "凭证时间线"
        ordering = ["voucher_id", "id"]

    @property
    def kind_display(self) -> str:
        return EVENT_KINDS.get(self.kind) or dict(PaymentVoucher.State.choices).get(self.kind, self.kind)

    @property
    def state_display(self) -> str:
        return dict(PaymentVoucher.State.choices).get(self.state, self.state)


@audited
class Refund(Stamped):
    """收款银行退款 (2252): a posted payment partly or wholly comes back; the indicator is restored once."""

    region_code = models.CharField("财政区划", max_length=9)
    refund_no = models.CharField("退款通知号", max_length=60)
    voucher = models.ForeignKey(PaymentVoucher, verbose_name="原支付凭证", on_delete=models.PROTECT,
                                related_name="refunds")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False)
    amount = MoneyField("退款金额")
    reason = models.CharField("退款原因", max_length=300, blank=True)
    refund_date = models.DateField("退款日期")
    message_id = models.CharField("银行报文", max_length=60, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "退款"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "refund_no"], name="refund_no_uniq",
                                    violation_error_code="refund_exists",
                                    violation_error_message="该退款通知已登记"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="退款金额必须大于零"),
        ]


@audited
class Allocation(Stamped):
    """实拨 (5207, PAY_ALLOCATION_CERT): finance allocates from an indicator to a lower-level finance or a unit."""

    class Kind(models.TextChoices):
        LOWER_FINANCE = "1", "拨付下级财政"
        UNIT = "2", "拨付预算单位"

    class Status(models.TextChoices):
        SENT = "sent", "已发送"
        PAID = "paid", "已拨付"
        RETURNED = "returned", "已退回"
        FAILED = "failed", "被拒收"

    TRANSITIONS = {Status.SENT: {Status.PAID, Status.RETURNED, Status.FAILED}}

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("年度")
    number = models.CharField("拨款凭证号", max_length=40, editable=False)
    alloc_type = models.CharField("拨款类型", max_length=2, choices=Kind.choices)
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False)
    payee_region_code = models.CharField("收款区划", max_length=9, blank=True)
    payee_unit = models.ForeignKey("masterdata.Unit", verbose_name="收款单位", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    payee_name = models.CharField("收款户名", max_length=120)
    payee_account_no = models.CharField("收款账号", max_length=32)
    payee_bank_name = models.CharField("收款银行", max_length=100)
    amount = MoneyField("拨款金额")
    purpose = models.CharField("用途", max_length=200)
    acc_date = models.DateField("拨付日期", null=True, blank=True, editable=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.SENT, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="经办人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "实拨拨款"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="allocation_number_uniq",
                                    violation_error_code="allocation_number_exists",
                                    violation_error_message="同一区划的拨款凭证号不能重复"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="拨款金额必须大于零"),
        ]

    def __str__(self) -> str:
        return self.number
