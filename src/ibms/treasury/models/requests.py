"""合同备案 and 支付申请 (PAY_VOUCHER) with its batch lines and submit idempotency keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec

from .policy import UNIT_SCOPE, PayMethod, SetMode


@audited
class Contract(Stamped):
    """合同备案: 无合同不支付; cumulative committed (open + paid requests) never exceeds the amount."""

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        CLOSED = "closed", "已终止"
        COMPLETED = "completed", "已完结"
        PENDING = "pending", "备案审核中"  # filed against a 采购计划, waiting for the finance's review
        REJECTED = "rejected", "备案被退回"

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
    # 合同备案 against an approved 采购计划: the plan's freeze becomes this contract's commitment (procurement.ledger)
    plan = models.ForeignKey("procurement.ProcurementPlan", verbose_name="采购计划", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="contracts")
    schedule = models.JSONField("付款计划", default=list, blank=True,
                                help_text="[{seq, name, amount(分)}]，合计等于合同金额")
    amount = MoneyField("合同金额")
    committed = MoneyField("已申请（含在途）", default=0, editable=False)
    paid = MoneyField("已支付", default=0, editable=False)
    sign_date = models.DateField("签订日期")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    review_comment = models.CharField("备案审核意见", max_length=300, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "合同备案"
        ordering = ["-id"]
        permissions = [("review_contract", "审核合同备案")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="contract_region_number_uniq",
                                    violation_error_message="该合同编号已登记",
                                    violation_error_code="contract_number_exists"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="contract_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="合同金额必须大于零"),
            models.CheckConstraint(condition=Q(committed__gte=0, committed__lte=F("amount")),
                                   name="contract_committed_range", violation_error_code="contract_exhausted",
                                   violation_error_message="合同余额不足：累计申请金额不能超过合同金额"),
            models.CheckConstraint(condition=Q(paid__gte=0, paid__lte=F("committed")),
                                   name="contract_paid_range", violation_error_code="contract_exhausted",
                                   violation_error_message="合同已支付金额不能超过累计申请金额"),
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
    milestone = models.PositiveSmallIntegerField("合同付款期次", null=True, blank=True)
    is_batch = models.BooleanField("批量支付", default=False)
    is_payroll = models.BooleanField("工资统发", default=False)
    line_count = models.PositiveIntegerField("明细笔数", default=1)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False)
    current_step = models.PositiveSmallIntegerField("当前审核步骤", default=0, editable=False)
    explanation = models.CharField("预警说明", max_length=500, blank=True, editable=False)
    monitoring = models.JSONField("监控结果", default=list, blank=True, editable=False)
    review_comment = models.CharField("审核意见", max_length=300, blank=True, editable=False)
    xpay_amt = MoneyField("实际支付金额", default=0, editable=False)
    # the unit signer's signature of the payment content (banks.protocol.unit_content) at the unit's review step,
    # when the finance reviews last; cleared when the request is returned or withdrawn
    unit_signer = models.ForeignKey("banks.Signer", verbose_name="单位签名人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", editable=False)
    unit_signer_fingerprint = models.CharField("单位签名人公钥指纹", max_length=64, blank=True, editable=False)
    unit_signature = models.TextField("单位签名", blank=True, editable=False)
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
            models.UniqueConstraint(fields=["region_code", "number"], name="payreq_region_number_uniq",
                                    violation_error_code="payment_request_number_exists",
                                    violation_error_message="同一区划的支付申请单号不能重复"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payreq_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="申请金额必须大于零"),
        ]
        indexes = [models.Index(fields=["region_code", "status"]), models.Index(fields=["indicator", "status"]),
                   models.Index(fields=["payee_account_no", "submitted_at"])]  # monitoring's payee history

    def __str__(self) -> str:
        return self.number


class PaymentRequestLine(models.Model):
    """批量支付明细 (payroll-style): one payee per line; the request amount is their sum."""

    request = models.ForeignKey(PaymentRequest, verbose_name="支付申请", on_delete=models.PROTECT,
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
            models.UniqueConstraint(fields=["request", "seq"], name="payreqline_seq_uniq",
                                    violation_error_code="payment_request_line_seq_exists",
                                    violation_error_message="同一支付申请的明细行号不能重复"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payreqline_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="批量支付明细金额必须大于零"),
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
        constraints = [models.UniqueConstraint(fields=["region_code", "key"], name="submitkey_uniq",
                                               violation_error_code="idempotency_conflict",
                                               violation_error_message="该幂等键正被另一笔提交使用")]
