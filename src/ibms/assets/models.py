"""资产卡片 (asset cards by GB/T 14885 class), their changes (增用修废: acquisition, opening stock, transfer, repair,
disposal — the booked ones through `accounting.event_post`) and the monthly depreciation runs per account set."""

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
    STRAIGHT_LINE = "straight_line", "年限平均法"
    NONE = "none", "不计提折旧"


@audited
class AssetCard(Stamped):
    """资产卡片. `original_value` (原值) and `accumulated` (累计折旧) are what the unit's books carry in 1601 / 1602;
    `months_done` counts the months depreciated (the last month takes what is left)."""

    class Status(models.TextChoices):
        IN_USE = "in_use", "在用"
        DISPOSING = "disposing", "处置审批中"
        DISPOSED = "disposed", "已处置"

    class Source(models.TextChoices):
        PURCHASE = "purchase", "购置（支付回单）"
        OPENING = "opening", "存量录入"
        DONATION = "donation", "接受捐赠"
        TRANSFER_IN = "transfer_in", "无偿调入"

    region_code = models.CharField("财政区划", max_length=9)
    number = models.CharField("卡片编号", max_length=40, editable=False)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="使用单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    asset_class = models.CharField("资产分类代码", max_length=20)
    class_name = models.CharField("资产分类", max_length=100)
    name = models.CharField("资产名称", max_length=200)
    quantity = models.PositiveIntegerField("数量", default=1)
    measure = models.CharField("计量单位", max_length=10, default="台")
    location = models.CharField("存放地点", max_length=120, blank=True)
    user_name = models.CharField("使用人", max_length=60, blank=True)
    custodian = models.CharField("保管人", max_length=60, blank=True)
    original_value = MoneyField("原值")
    accumulated = MoneyField("累计折旧", default=0, editable=False)
    useful_life_months = models.PositiveIntegerField("使用年限（月）")
    months_done = models.PositiveIntegerField("已计提月数", default=0, editable=False)
    method = models.CharField("折旧方法", max_length=16, choices=Method.choices, default=Method.STRAIGHT_LINE)
    expense = models.CharField("折旧费用", max_length=10, default="business",
                               choices=[("business", "业务活动费用"), ("admin", "单位管理费用")])
    acquired_date = models.DateField("取得日期")
    source = models.CharField("来源", max_length=12, choices=Source.choices)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.IN_USE, editable=False)
    payment_request = models.ForeignKey("treasury.PaymentRequest", verbose_name="支付申请", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+", editable=False)
    contract = models.ForeignKey("treasury.Contract", verbose_name="合同", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+", editable=False)
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+", editable=False)
    voucher = models.ForeignKey("accounting.Voucher", verbose_name="入账凭证", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="录入人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "资产卡片"
        ordering = ["-id"]
        permissions = [("depreciate_assetcard", "计提折旧")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="assetcard_region_number_uniq",
                                    violation_error_code="card_number_exists", violation_error_message="该卡片编号已存在"),
            models.UniqueConstraint(fields=["contract"], condition=Q(contract__isnull=False),
                                    name="assetcard_contract_uniq", violation_error_code="card_contract_exists",
                                    violation_error_message="该合同已建立资产卡片"),
            models.CheckConstraint(condition=Q(original_value__gte=0, accumulated__gte=0,
                                               accumulated__lte=F("original_value")),
                                   name="assetcard_values_range", violation_error_code="value_out_of_range",
                                   violation_error_message="累计折旧不能为负，也不能超过原值"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="assetcard_quantity_pos",
                                   violation_error_code="quantity_invalid", violation_error_message="数量必须大于零"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def net_value(self) -> int:
        return self.original_value - self.accumulated


@audited
class AssetChange(Stamped):
    """One change of a card (增用修废). Acquisitions and opening entries are approved when written; a disposal or a
    repair goes through its approval chain (data/assets/change_chains.csv) and is booked at the last approval."""

    class Kind(models.TextChoices):
        ACQUIRE = "acquire", "购置入账"
        OPENING = "opening", "存量录入"
        TRANSFER = "transfer", "使用人/地点变更"
        REPAIR = "repair", "维修"
        DISPOSE = "dispose", "处置"
        TRANSFER_IN = "transfer_in", "无偿调入"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "审批中"
        RETURNED = "returned", "已退回"
        APPROVED = "approved", "已完成"

    class Disposal(models.TextChoices):
        SALE = "sale", "出售"
        SCRAP = "scrap", "报废"
        DONATE = "donate", "对外捐赠"
        TRANSFER_OUT = "transfer_out", "无偿调拨"

    TRANSITIONS = {Status.SUBMITTED: {Status.APPROVED, Status.RETURNED}}

    region_code = models.CharField("财政区划", max_length=9)
    number = models.CharField("变动单号", max_length=40, editable=False)
    card = models.ForeignKey(AssetCard, verbose_name="资产卡片", on_delete=models.PROTECT, related_name="changes")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    kind = models.CharField("变动类型", max_length=12, choices=Kind.choices)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.APPROVED, editable=False)
    change_date = models.DateField("变动日期")
    amount = MoneyField("金额", default=0)  # acquisition / repair cost; disposal: the net value written off
    proceeds = MoneyField("处置收入", default=0)
    disposal = models.CharField("处置方式", max_length=12, choices=Disposal.choices, blank=True)
    capitalise = models.BooleanField("资本化", default=False)
    extends_life_months = models.PositiveIntegerField("延长使用年限（月）", default=0)
    to_unit = models.ForeignKey("masterdata.Unit", verbose_name="调入单位", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    to_user_name = models.CharField("新使用人", max_length=60, blank=True)
    to_custodian = models.CharField("新保管人", max_length=60, blank=True)
    to_location = models.CharField("新存放地点", max_length=120, blank=True)
    reason = models.CharField("事由", max_length=300, blank=True)
    payment_request = models.OneToOneField("treasury.PaymentRequest", verbose_name="支付申请", null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+", editable=False)
    vouchers = models.JSONField("会计凭证", default=list, blank=True, editable=False)
    current_step = models.PositiveSmallIntegerField("当前审批步骤", default=0, editable=False)
    review_comment = models.CharField("审批意见", max_length=300, blank=True, editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "资产变动"
        ordering = ["-id"]
        permissions = [("review_assetchange", "审批资产变动")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="assetchange_region_number_uniq",
                                    violation_error_code="change_number_exists",
                                    violation_error_message="该变动单号已存在"),
            models.CheckConstraint(condition=Q(amount__gte=0, proceeds__gte=0), name="assetchange_amounts_nonneg",
                                   violation_error_code="amount_negative", violation_error_message="金额不能为负数"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"


class DepreciationRun(Stamped):
    """One month's depreciation of one account set (unique: a rerun finds it done and posts nothing)."""

    region_code = models.CharField("财政区划", max_length=9)
    account_set = models.ForeignKey("accounting.AccountSet", verbose_name="账套", on_delete=models.PROTECT,
                                    related_name="+")
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False, db_index=True)
    year = models.PositiveSmallIntegerField("年度")
    month = models.PositiveSmallIntegerField("月份")
    cards = models.PositiveIntegerField("计提卡片数", default=0)
    amount = MoneyField("折旧额", default=0)
    voucher = models.ForeignKey("accounting.Voucher", verbose_name="折旧凭证", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="计提人", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "折旧计提"
        ordering = ["-year", "-month", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account_set", "year", "month"], name="deprun_set_month_uniq",
                                    violation_error_code="already_depreciated",
                                    violation_error_message="该账套本月已计提折旧"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="deprun_month_range",
                                   violation_error_code="month_invalid", violation_error_message="月份应为 1–12"),
        ]


class DepreciationLine(models.Model):
    """The depreciation schedule: what one card took in one month."""

    run = models.ForeignKey(DepreciationRun, verbose_name="计提", on_delete=models.PROTECT, related_name="lines")
    card = models.ForeignKey(AssetCard, verbose_name="资产卡片", on_delete=models.PROTECT, related_name="depreciation")
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, blank=True, db_index=True)
    year = models.PositiveSmallIntegerField("年度")
    month = models.PositiveSmallIntegerField("月份")
    amount = MoneyField("折旧额")
    accumulated = MoneyField("累计折旧")

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "折旧明细"
        ordering = ["card_id", "year", "month"]
        constraints = [
            models.UniqueConstraint(fields=["card", "year", "month"], name="depline_card_month_uniq",
                                    violation_error_code="already_depreciated",
                                    violation_error_message="该卡片本月已计提折旧"),
        ]
