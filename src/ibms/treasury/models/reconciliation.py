"""Bank statements and the daily reconciliation with its differences."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec

from .vouchers import PaymentVoucher


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
        constraints = [models.UniqueConstraint(fields=["region_code", "message_id"], name="statement_msg_uniq",
                                               violation_error_code="bank_statement_exists",
                                               violation_error_message="该银行对账单已接收")]


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
                            on_delete=models.PROTECT, related_name="differences",
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
