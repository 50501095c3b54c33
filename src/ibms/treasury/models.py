"""国库集中支付: payment requests (PAY_VOUCHER), contracts (合同备案), payment vouchers (PAY_VOUCHER_BILL) with
their details (PAY_DETAIL), refunds, direct allocations (实拨, PAY_ALLOCATION_CERT), bank statements and the
daily reconciliation with its differences.

Money is integer fen. Every business row carries `region_code` and its unique keys start with it. Status fields
change only through `core.workflow.transition()` against the transition tables below.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ibms.core.audit import audited
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec
from ibms.core.models import Stamped

UNIT_SCOPE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)


class PayMethod(models.TextChoices):
    DIRECT = "direct", "财政直接支付"
    CENTRALIZED = "centralized", "国库集中支付（一体化）"
    AUTHORIZED = "authorized", "财政授权支付"


class SetMode(models.TextChoices):
    TRANSFER = "1", "转账"
    CARD = "2", "公务卡还款"
    CASH = "3", "现金"
    CHEQUE = "4", "支票"
    COLLECTION = "5", "托收"


@audited
class RegionPolicy(Stamped):
    """Per-region payment policy (data/treasury/region_policy.csv; '' = every region without its own row)."""

    region_code = models.CharField("财政区划", max_length=9, unique=True, blank=True)
    default_pay_method = models.CharField("默认支付方式", max_length=12, choices=PayMethod.choices,
                                          default=PayMethod.CENTRALIZED)
    finance_sign_direct = models.BooleanField("直接支付加盖财政签章", default=True)
    agent_bank_code = models.CharField("默认代理银行", max_length=12, blank=True)
    stuck_minutes = models.PositiveIntegerField("查询未决凭证间隔（分钟）", default=10)

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付政策"
        ordering = ["region_code"]


@audited
class Contract(Stamped):
    """合同备案: 无合同不支付; cumulative committed (open + paid requests) never exceeds the amount."""

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        CLOSED = "closed", "已终止"

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("年度")
    number = models.CharField("合同编号", max_length=60)
    name = models.CharField("合同名称", max_length=200)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    payee = models.ForeignKey("masterdata.Payee", verbose_name="收款人", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    payee_name = models.CharField("供应商名称", max_length=120)
    payee_account_no = models.CharField("供应商账号", max_length=32, blank=True)
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    amount = MoneyField("合同金额")
    committed = MoneyField("已申请（含在途）", default=0, editable=False)
    paid = MoneyField("已支付", default=0, editable=False)
    sign_date = models.DateField("签订日期")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "合同备案"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="contract_region_number_uniq",
                                    violation_error_message="该合同编号已登记"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="contract_amount_pos",
                                   violation_error_code="amount_not_positive"),
            models.CheckConstraint(condition=Q(committed__gte=0, committed__lte=F("amount")),
                                   name="contract_committed_range", violation_error_code="contract_exhausted"),
            models.CheckConstraint(condition=Q(paid__gte=0, paid__lte=F("committed")),
                                   name="contract_paid_range", violation_error_code="contract_exhausted"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def balance(self) -> int:
        return self.amount - self.committed


@audited
class PaymentRequest(Stamped):
    """支付申请 PAY_VOUCHER: one indicator, one payee (or many batch lines), reserved on submit."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "审核中"
        REJECTED = "rejected", "已退回"
        WITHDRAWN = "withdrawn", "已撤回"
        APPROVED = "approved", "已生成凭证"
        PAID = "paid", "已支付"
        RETURNED = "returned", "银行退回"
        FAILED = "failed", "银行拒收"

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.REJECTED: {Status.SUBMITTED},
        Status.WITHDRAWN: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.REJECTED, Status.WITHDRAWN, Status.APPROVED},
        Status.APPROVED: {Status.PAID, Status.RETURNED, Status.FAILED},
    }
    EDITABLE = {Status.DRAFT, Status.REJECTED, Status.WITHDRAWN}
    OPEN = {Status.SUBMITTED, Status.APPROVED}  # holding a reservation

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("申请单号", max_length=40, editable=False)
    attempt = models.PositiveSmallIntegerField("提交次数", default=0, editable=False)
    consumer = models.CharField("预占单据号", max_length=60, blank=True, editable=False)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    department_code = models.CharField("主管部门", max_length=21, blank=True)
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="+")
    amount = MoneyField("申请金额")
    fund_nature_code = models.CharField("资金性质", max_length=20)
    exp_func_code = models.CharField("支出功能分类", max_length=20)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    gov_eco_code = models.CharField("政府经济分类", max_length=20, blank=True)
    project_code = models.CharField("项目代码", max_length=40, blank=True)
    pay_type_code = models.CharField("支付方式代码", max_length=4, blank=True)
    pay_method = models.CharField("支付方式", max_length=12, choices=PayMethod.choices)
    set_mode_code = models.CharField("结算方式", max_length=2, choices=SetMode.choices, default=SetMode.TRANSFER)
    pay_bus_type_code = models.CharField("业务类型", max_length=2, default="1")
    expense = models.CharField("费用类型", max_length=10, default="business",
                               choices=[("business", "业务活动费用"), ("admin", "单位管理费用")])
    business_type = models.CharField("支付业务类型", max_length=30, default="goods_services",
                                     help_text="accounting.BusinessType：决定回单、退款记入的会计科目")
    installation = models.BooleanField("需要安装（记在建工程）", default=False)
    purpose = models.CharField("用途", max_length=200)
    pay_acct_no = models.CharField("付款账号", max_length=32, blank=True)
    pay_acct_name = models.CharField("付款户名", max_length=120, blank=True)
    pay_acct_bank_name = models.CharField("付款银行", max_length=100, blank=True)
    agent_bank_code = models.CharField("代理银行", max_length=12, blank=True)
    payee = models.ForeignKey("masterdata.Payee", verbose_name="收款人（目录）", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    payee_name = models.CharField("收款人", max_length=120, blank=True)
    payee_kind = models.CharField("收款人类型", max_length=12, blank=True)
    payee_account_no = models.CharField("收款账号", max_length=32, blank=True)
    payee_bank_name = models.CharField("收款银行", max_length=100, blank=True)
    payee_bank_code = models.CharField("收款行号", max_length=12, blank=True)
    contract = models.ForeignKey(Contract, verbose_name="合同", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="requests")
    is_batch = models.BooleanField("批量支付", default=False)
    is_payroll = models.BooleanField("工资统发", default=False)
    line_count = models.PositiveIntegerField("明细笔数", default=1)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False)
    current_step = models.PositiveSmallIntegerField("当前审核步骤", default=0, editable=False)
    explanation = models.CharField("预警说明", max_length=500, blank=True, editable=False)
    monitoring = models.JSONField("监控结果", default=list, blank=True, editable=False)
    review_comment = models.CharField("审核意见", max_length=300, blank=True, editable=False)
    xpay_amt = MoneyField("实际支付金额", default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="经办人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True, editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "支付申请"
        ordering = ["-id"]
        permissions = [("submit_paymentrequest", "提交支付申请"), ("review_paymentrequest", "审核支付申请")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="payreq_region_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payreq_amount_pos",
                                   violation_error_code="amount_not_positive"),
        ]
        indexes = [models.Index(fields=["region_code", "status"]), models.Index(fields=["indicator", "status"]),
                   models.Index(fields=["payee_account_no", "submitted_at"])]  # monitoring's payee history

    def __str__(self) -> str:
        return self.number


class PaymentRequestLine(models.Model):
    """批量支付明细 (payroll-style): one payee per line; the request amount is their sum."""

    request = models.ForeignKey(PaymentRequest, verbose_name="支付申请", on_delete=models.CASCADE,
                                related_name="lines")
    region_code = models.CharField("财政区划", max_length=9)
    seq = models.PositiveIntegerField("行号")
    payee_name = models.CharField("收款人", max_length=120)
    payee_account_no = models.CharField("收款账号", max_length=32)
    payee_bank_name = models.CharField("收款银行", max_length=100)
    id_no = models.CharField("证件号", max_length=18, blank=True)
    amount = MoneyField("金额")
    remark = models.CharField("附言", max_length=100, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="request__unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "批量支付明细"
        ordering = ["request_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["request", "seq"], name="payreqline_seq_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payreqline_amount_pos",
                                   violation_error_code="amount_not_positive"),
        ]


class SubmitKey(models.Model):
    """A client's idempotency key for submit: same key + same request → same answer; else idempotency_conflict."""

    region_code = models.CharField("财政区划", max_length=9)
    key = models.CharField("幂等键", max_length=100)
    request_hash = models.CharField("请求摘要", max_length=64)
    request = models.ForeignKey(PaymentRequest, verbose_name="支付申请", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "提交幂等键"
        constraints = [models.UniqueConstraint(fields=["region_code", "key"], name="submitkey_uniq")]


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
            models.UniqueConstraint(fields=["region_code", "year", "number"], name="payvoucher_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payvoucher_amount_pos",
                                   violation_error_code="amount_not_positive"),
            models.CheckConstraint(condition=Q(refunded_amt__gte=0, refunded_amt__lte=F("xpay_amt")),
                                   name="payvoucher_refund_range", violation_error_code="refund_exceeds"),
            models.CheckConstraint(condition=Q(request__isnull=False) | Q(allocation__isnull=False),
                                   name="payvoucher_has_origin", violation_error_code="origin_required"),
        ]
        indexes = [models.Index(fields=["region_code", "state"]), models.Index(fields=["region_code", "vou_date"])]

    def __str__(self) -> str:
        return self.number


class VoucherDetail(models.Model):
    """PAY_DETAIL: one payee line of a voucher."""

    voucher = models.ForeignKey(PaymentVoucher, verbose_name="凭证", on_delete=models.CASCADE,
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
        constraints = [models.UniqueConstraint(fields=["voucher", "seq"], name="voucherdetail_seq_uniq")]


class VoucherEvent(models.Model):
    """The voucher's timeline: every state change and bank message applied, with the message id."""

    voucher = models.ForeignKey(PaymentVoucher, verbose_name="凭证", on_delete=models.CASCADE,
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
            models.UniqueConstraint(fields=["region_code", "refund_no"], name="refund_no_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_pos",
                                   violation_error_code="amount_not_positive"),
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
            models.UniqueConstraint(fields=["region_code", "number"], name="allocation_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_pos",
                                   violation_error_code="amount_not_positive"),
        ]

    def __str__(self) -> str:
        return self.number


class BankStatement(models.Model):
    """对账单 received from an agent bank (one per bank message), kept for the reconciliation."""

    region_code = models.CharField("财政区划", max_length=9)
    agent_bank_code = models.CharField("代理银行", max_length=12, blank=True)
    statement_date = models.DateField("对账日期")
    message_id = models.CharField("银行报文", max_length=60)
    lines = models.JSONField("明细", default=list)
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "银行对账单"
        ordering = ["-statement_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["region_code", "message_id"], name="statement_msg_uniq")]


@audited
class ReconciliationRun(Stamped):
    region_code = models.CharField("财政区划", max_length=9)
    run_date = models.DateField("对账日期")
    agent_bank_code = models.CharField("代理银行", max_length=12, blank=True)
    voucher_count = models.PositiveIntegerField("凭证笔数", default=0)
    voucher_amount = MoneyField("凭证金额", default=0)
    bank_count = models.PositiveIntegerField("银行笔数", default=0)
    bank_amount = MoneyField("银行金额", default=0)
    has_statement = models.BooleanField("有银行对账单", default=False)
    difference_count = models.PositiveIntegerField("差异笔数", default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="对账人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "对账批次"
        ordering = ["-run_date", "-id"]


@audited
class ReconDifference(Stamped):
    """One difference found by a reconciliation: a work item, never an automatic correction."""

    class Kind(models.TextChoices):
        MISSING_AT_BANK = "missing_at_bank", "银行无记录"
        MISSING_RECEIPT = "missing_receipt", "缺少回单"
        AMOUNT_MISMATCH = "amount_mismatch", "金额不符"
        PAID_TWICE = "paid_twice", "重复支付"
        UNKNOWN_OUTCOME = "unknown_outcome", "结果未知"
        UNKNOWN_VOUCHER = "unknown_voucher", "非我方签发凭证的银行报文"
        NOT_APPLICABLE = "not_applicable", "银行报文无法入账"

    class Status(models.TextChoices):
        OPEN = "open", "待处理"
        RESOLVED = "resolved", "已处理"

    run = models.ForeignKey(ReconciliationRun, verbose_name="对账批次", null=True, blank=True,
                            on_delete=models.CASCADE, related_name="differences",
                            help_text="空：银行报文隔离（未知凭证或无法入账），不属于某次对账")
    region_code = models.CharField("财政区划", max_length=9)
    kind = models.CharField("差异类型", max_length=20, choices=Kind.choices)
    voucher = models.ForeignKey(PaymentVoucher, verbose_name="凭证", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    voucher_no = models.CharField("凭证号", max_length=40)
    our_amount = MoneyField("我方金额", default=0)
    bank_amount = MoneyField("银行金额", default=0)
    note = models.CharField("说明", max_length=300, blank=True)
    reason_code = models.CharField("原因代码", max_length=40, blank=True)
    assignee_role = models.CharField("处理岗位", max_length=30, blank=True, default="treasury_division")
    bank_message = models.ForeignKey("banks.BankMessage", verbose_name="银行报文", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField("处理说明", max_length=300, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")  # a unit sees its own vouchers' differences only

    class Meta:
        verbose_name = verbose_name_plural = "对账差异"
        ordering = ["run_id", "kind", "voucher_no"]
