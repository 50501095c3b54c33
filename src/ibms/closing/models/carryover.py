"""Carry-over batches (结转结余): a region-year's proposal, one line per indicator with an unspent balance,
each split into a carried part (结转, next year's indicator) and a recalled part (结余, 收回 to the pool)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec


@audited
class CarryRun(Stamped):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "待审核"
        EXECUTING = "executing", "执行中"
        EXECUTED = "executed", "已执行"

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("批次号", max_length=40, unique=True, editable=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PROPOSED,
                              editable=False)
    zero_carry = models.BooleanField("零结转", default=False, editable=False)
    total_unspent = MoneyField("未使用合计", default=0, editable=False)
    total_carry = MoneyField("结转合计", default=0, editable=False)
    total_recall = MoneyField("结余收回合计", default=0, editable=False)
    line_count = models.PositiveIntegerField("指标数", default=0, editable=False)
    done_count = models.PositiveIntegerField("已执行", default=0, editable=False)
    carry_source = models.ForeignKey("indicators.SourceDocument", verbose_name="结转来源文件", null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+", editable=False)
    recall_source = models.ForeignKey("indicators.SourceDocument", verbose_name="收回文件", null=True,
                                      blank=True, on_delete=models.PROTECT, related_name="+", editable=False)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="生成人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", editable=False)
    executed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="执行人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", editable=False)
    executed_at = models.DateTimeField("执行时间", null=True, blank=True, editable=False)

    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "结转结余批次"
        ordering = ["-year", "region_code"]
        permissions = [("execute_carryrun", "执行结转结余")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "year"], name="carryrun_region_year_uniq",
                                    violation_error_code="carry_run_exists",
                                    violation_error_message="该区划本年度已有结转结余批次"),
            models.CheckConstraint(condition=Q(total_unspent=F("total_carry") + F("total_recall")),
                                   name="carryrun_conserved", violation_error_code="carry_not_conserved",
                                   violation_error_message="结转与结余之和必须等于未使用金额"),
            models.CheckConstraint(condition=Q(done_count__lte=F("line_count")), name="carryrun_progress",
                                   violation_error_code="progress_invalid",
                                   violation_error_message="已执行数不能超过指标数"),
        ]

    def __str__(self) -> str:
        return f"{self.number}（{self.get_status_display()}）"


@audited
class CarryLine(models.Model):
    class Decision(models.TextChoices):
        CARRY = "carry", "结转"
        RECALL = "recall", "结余收回"

    run = models.ForeignKey(CarryRun, verbose_name="批次", on_delete=models.PROTECT, related_name="lines")
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False)
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="+")
    unspent = MoneyField("未使用金额")
    decision = models.CharField("处理", max_length=10, choices=Decision.choices)
    proposed = models.CharField("建议处理", max_length=10, choices=Decision.choices, editable=False)
    carry_amount = MoneyField("结转金额", default=0)
    recall_amount = MoneyField("结余收回金额", default=0)
    rule_code = models.CharField("依据规则", max_length=40, blank=True, editable=False)
    reason = models.CharField("原因", max_length=200, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="调整人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)
    new_indicator = models.ForeignKey("indicators.Indicator", verbose_name="结转后指标", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+", editable=False)
    executed_at = models.DateTimeField("执行时间", null=True, blank=True, editable=False)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "结转结余明细"
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "indicator"], name="carryline_run_indicator_uniq",
                                    violation_error_code="carry_line_exists",
                                    violation_error_message="该指标已在本批次中"),
            models.CheckConstraint(condition=Q(unspent=F("carry_amount") + F("recall_amount")),
                                   name="carryline_conserved", violation_error_code="carry_exceeds_unspent",
                                   violation_error_message="结转金额与结余收回金额之和必须等于未使用金额"),
            models.CheckConstraint(condition=Q(carry_amount__gte=0, recall_amount__gte=0, unspent__gt=0),
                                   name="carryline_amounts_nonneg", violation_error_code="amount_invalid",
                                   violation_error_message="结转和结余金额不能为负数"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id}: {self.get_decision_display()}"
