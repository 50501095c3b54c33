"""采购计划 (procurement plan / 采购意向): what a unit will buy against a procurement-flagged indicator, by 采购目录 item
and method. Its approval freezes the amount on the indicator (无预算不采购); `frozen` is what the plan holds frozen
there now — the plan's amount once approved, the contract's unpaid commitment once a contract is filed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec

UNIT_SCOPE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)


class Method(models.TextChoices):
    OPEN_TENDER = "公开招标", "公开招标"
    INVITED_TENDER = "邀请招标", "邀请招标"
    NEGOTIATION = "竞争性谈判", "竞争性谈判"
    CONSULTATION = "竞争性磋商", "竞争性磋商"
    INQUIRY = "询价", "询价"
    SINGLE_SOURCE = "单一来源", "单一来源"
    FRAMEWORK = "框架协议", "框架协议"
    EMALL = "电子卖场", "电子卖场"


@audited
class ProcurementPlan(Stamped):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "审核中"
        RETURNED = "returned", "已退回"
        APPROVED = "approved", "已批准（已冻结）"
        CONTRACTED = "contracted", "已备案合同"
        CLOSED = "closed", "已完结"
        CANCELLED = "cancelled", "已作废"

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED, Status.CANCELLED},
        Status.RETURNED: {Status.SUBMITTED, Status.CANCELLED},
        Status.SUBMITTED: {Status.RETURNED, Status.APPROVED},
        Status.APPROVED: {Status.CONTRACTED, Status.CANCELLED},
        Status.CONTRACTED: {Status.CLOSED},
    }
    EDITABLE = {Status.DRAFT, Status.RETURNED}
    COUNTED = {Status.SUBMITTED, Status.APPROVED, Status.CONTRACTED, Status.CLOSED}  # for the split-purchase rule

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("计划编号", max_length=40, editable=False)
    name = models.CharField("采购项目名称", max_length=200)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="+")
    catalogue_code = models.CharField("采购目录编码", max_length=20)
    catalogue_name = models.CharField("采购品目", max_length=100)
    asset_class = models.CharField("资产分类", max_length=20, blank=True)
    quantity = models.PositiveIntegerField("数量", default=1)
    method = models.CharField("采购方式", max_length=10, choices=Method.choices)
    amount = MoneyField("计划金额")
    frozen = MoneyField("冻结中", default=0, editable=False)
    contract_amount = MoneyField("合同金额", default=0, editable=False)
    drawn = MoneyField("已支用（含在途）", default=0, editable=False)
    released = MoneyField("已解冻（节约与完结）", default=0, editable=False)
    reason = models.CharField("采购理由", max_length=500, blank=True)
    warnings = models.JSONField("预警", default=list, blank=True, editable=False)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False)
    current_step = models.PositiveSmallIntegerField("当前审核步骤", default=0, editable=False)
    review_comment = models.CharField("审核意见", max_length=300, blank=True, editable=False)
    source = models.ForeignKey("indicators.SourceDocument", verbose_name="冻结依据", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="录入人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "采购计划"
        ordering = ["-id"]
        permissions = [("submit_procurementplan", "提交采购计划"), ("review_procurementplan", "审核采购计划")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="procplan_region_number_uniq",
                                    violation_error_code="plan_number_exists",
                                    violation_error_message="该采购计划编号已存在"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="procplan_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="采购计划金额必须大于零"),
            models.CheckConstraint(condition=Q(frozen__gte=0, frozen__lte=F("amount")), name="procplan_frozen_range",
                                   violation_error_code="frozen_out_of_range",
                                   violation_error_message="采购计划冻结金额不能为负，也不能超过计划金额"),
            models.CheckConstraint(condition=Q(contract_amount__gte=0, contract_amount__lte=F("amount")),
                                   name="procplan_contract_le_plan", violation_error_code="contract_exceeds_plan",
                                   violation_error_message="合同金额不能超过采购计划金额"),
            models.CheckConstraint(condition=Q(drawn__gte=0, drawn__lte=F("contract_amount")),
                                   name="procplan_drawn_le_contract", violation_error_code="contract_exhausted",
                                   violation_error_message="累计支付不能超过合同金额"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


@audited
class ContractChange(Stamped):
    """合同变更 / 合同终止 of a contract filed against a plan: a document (草稿 → 审核中 → 已批准 / 已驳回) the unit
    proposes and the finance reviews (never its maker). Its approval moves the contract and the plan's freeze in one
    transaction (procurement.changes)."""

    class Kind(models.TextChoices):
        AMOUNT = "amount", "合同金额变更"
        SCHEDULE = "schedule", "付款计划变更"
        TERMINATE = "terminate", "合同终止"

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "审核中"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "已驳回"

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.APPROVED, Status.REJECTED},
    }

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("年度")
    number = models.CharField("变更单号", max_length=40, editable=False)
    kind = models.CharField("变更类型", max_length=10, choices=Kind.choices)
    contract = models.ForeignKey("treasury.Contract", verbose_name="合同", on_delete=models.PROTECT,
                                 related_name="changes")
    plan = models.ForeignKey(ProcurementPlan, verbose_name="采购计划", on_delete=models.PROTECT, related_name="changes")
    unit = models.ForeignKey("masterdata.Unit", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    old_amount = MoneyField("原合同金额", default=0, editable=False)
    new_amount = MoneyField("变更后合同金额", default=0, help_text="金额变更时填写；付款计划变更为原金额，终止为 0")
    new_schedule = models.JSONField("新付款计划（未付期次）", default=list, blank=True,
                                    help_text="[{name, amount(分)}]：替换尚未付款的期次，已付款期次保持不变")
    reason = models.CharField("变更理由", max_length=500)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False)
    released = MoneyField("解冻（负数为追加冻结）", default=0, editable=False)
    review_comment = models.CharField("审核意见", max_length=300, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="经办人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", editable=False)
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True, editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "合同变更与终止"
        ordering = ["-id"]
        permissions = [("submit_contractchange", "提交合同变更"), ("review_contractchange", "审核合同变更")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="contractchange_region_number_uniq",
                                    violation_error_code="change_number_exists",
                                    violation_error_message="该合同变更单号已存在"),
            models.CheckConstraint(condition=Q(new_amount__gte=0), name="contractchange_amount_nonneg",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="变更后合同金额不能为负"),
            models.CheckConstraint(condition=~Q(reason=""), name="contractchange_reason_required",
                                   violation_error_code="reason_required",
                                   violation_error_message="必须填写变更理由"),
            models.CheckConstraint(condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("created_by")),
                                   name="contractchange_reviewer_not_maker",
                                   violation_error_code="segregation_of_duties",
                                   violation_error_message="经办人不能审核自己的合同变更"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"
