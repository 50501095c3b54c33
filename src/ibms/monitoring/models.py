"""Dynamic monitoring (动态监控): rules as data, their whitelist, the alerts (疑点) they raise, back-test and T+1 runs.

- `Rule`: a CEL condition over the payment context (`context.py`) with its level, stage, action, effective dates,
  `params` (exposed to CEL as `params`) and a message template. `version` counts content changes (condition,
  params, action, scope, dates, message); the engine caches one compiled program per (rule id, version), and a rule
  may be enabled only after a back-test of its current version (`BacktestRun`). National rules (`region_code` ''
  from `data/monitoring/rules.csv`) apply everywhere; a region may add its own rules, and an enabled rule of a
  region with the same code as an inherited one replaces it in that region's subtree (thresholds per region).
- `WhitelistEntry`: exempts payments of a region subtree (and optionally one unit / payee account / indicator) from
  one rule code, on a legal basis, between two dates.
- `Alert`: one hit of one rule on one subject (a payment request, …), at most one per (rule code, subject);
  life cycle raised → unit_explained → normal | violation (= finance verified) → rectifying → rectified → closed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec


class Action(models.TextChoices):
    BLOCK = "block", "阻断"
    WARN_RED = "warn_red", "红色预警"
    WARN_YELLOW = "warn_yellow", "黄色预警"
    NOTICE = "notice", "提示"


ACTION_ORDER = {Action.BLOCK: 0, Action.WARN_RED: 1, Action.WARN_YELLOW: 2, Action.NOTICE: 3}


class Stage(models.TextChoices):
    INLINE = "inline", "事中（提交时）"
    BATCH = "batch", "事后（T+1）"
    BOTH = "both", "事中和事后"


class Level(models.TextChoices):
    REGION = "region", "区划级"
    DEPARTMENT = "department", "部门级"


@audited
class Rule(Stamped):
    region_code = models.CharField("财政区划", max_length=9, blank=True, default="",
                                   help_text="空 = 全国；区划规则适用于本区划及所有下级区划")
    code = models.CharField("规则编码", max_length=30)
    name = models.CharField("规则名称", max_length=100)
    catalogue_no = models.CharField("目录编号", max_length=20, blank=True)
    level = models.CharField("规则级次", max_length=12, choices=Level.choices, default=Level.REGION)
    department_code = models.CharField("主管部门代码", max_length=21, blank=True,
                                       help_text="部门级规则：只适用于该主管部门所属单位")
    stage = models.CharField("监控环节", max_length=8, choices=Stage.choices, default=Stage.INLINE)
    action = models.CharField("处理方式", max_length=12, choices=Action.choices)
    condition = models.TextField("触发条件（CEL）")
    params = models.JSONField("参数", default=dict, blank=True)
    message = models.CharField("提示信息", max_length=300)
    valid_from = models.DateField("生效日期", null=True, blank=True)
    valid_to = models.DateField("失效日期", null=True, blank=True)
    enabled = models.BooleanField("启用", default=False)
    version = models.PositiveIntegerField("版本", default=1)
    legal_basis = models.CharField("依据", max_length=300, blank=True)
    provenance = models.CharField("来源说明", max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)  # lower levels read the rules above them; change only their own

    class Meta:
        verbose_name = verbose_name_plural = "监控规则"
        ordering = ["region_code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "code"], name="monrule_region_code_uniq",
                                    violation_error_message="该区划已有相同编码的规则",
                                    violation_error_code="rule_code_exists"),
            models.CheckConstraint(condition=Q(level="region") | ~Q(department_code=""),
                                   name="monrule_department_code", violation_error_code="department_required",
                                   violation_error_message="部门级规则必须填写主管部门"),
            models.CheckConstraint(condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True)
                                   | Q(valid_to__gte=models.F("valid_from")),
                                   name="monrule_dates", violation_error_code="dates_invalid",
                                   violation_error_message="失效日期不能早于生效日期"),
        ]
        indexes = [models.Index(fields=["enabled", "region_code"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@audited
class WhitelistEntry(Stamped):
    rule = models.ForeignKey(Rule, verbose_name="规则", on_delete=models.PROTECT, related_name="whitelist")
    rule_code = models.CharField("规则编码", max_length=30, editable=False)
    region_code = models.CharField("财政区划", max_length=9, help_text="本区划及下级区划")
    unit_code = models.CharField("单位代码", max_length=21, blank=True)
    payee_account = models.CharField("收款账号", max_length=40, blank=True)
    indicator_code = models.CharField("指标编码", max_length=24, blank=True)
    legal_basis = models.CharField("豁免依据", max_length=300)
    valid_from = models.DateField("生效日期")
    valid_to = models.DateField("失效日期", null=True, blank=True)
    is_active = models.BooleanField("有效", default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "监控白名单"
        ordering = ["region_code", "rule_code", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(legal_basis=""), name="monwl_basis_required",
                                   violation_error_code="legal_basis_required",
                                   violation_error_message="白名单必须填写依据"),
        ]

    def __str__(self) -> str:
        target = self.unit_code or self.payee_account or self.indicator_code or "全区划"
        return f"{self.rule_code} 白名单 {target}"


class AlertStatus(models.TextChoices):
    RAISED = "raised", "待单位说明"
    UNIT_EXPLAINED = "unit_explained", "待财政核实"
    NORMAL = "normal", "核实正常"
    VIOLATION = "violation", "核实违规"
    RECTIFYING = "rectifying", "整改中"
    RECTIFIED = "rectified", "已整改"
    CLOSED = "closed", "已办结"


S = AlertStatus
ALERT_TRANSITIONS: dict[str, set[str]] = {
    S.RAISED: {S.UNIT_EXPLAINED, S.CLOSED},  # closing straight from raised: notices only (services)
    S.UNIT_EXPLAINED: {S.NORMAL, S.VIOLATION},
    S.NORMAL: {S.CLOSED},
    S.VIOLATION: {S.RECTIFYING},
    S.RECTIFYING: {S.RECTIFIED},
    S.RECTIFIED: {S.CLOSED},
    S.CLOSED: set(),
}


@audited
class Alert(Stamped):
    number = models.CharField("疑点编号", max_length=40, unique=True, editable=False)
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, blank=True, db_index=True)
    unit_name = models.CharField("单位", max_length=120, blank=True)
    subject_kind = models.CharField("业务类型", max_length=40)
    subject_id = models.CharField("业务ID", max_length=40)
    subject_number = models.CharField("业务单号", max_length=60, blank=True)
    subject_amount = MoneyField("金额", default=0)
    subject_date = models.DateField("业务日期")
    rule = models.ForeignKey(Rule, verbose_name="规则", on_delete=models.PROTECT, related_name="alerts")
    rule_code = models.CharField("规则编码", max_length=30)
    rule_version = models.PositiveIntegerField("规则版本")
    rule_name = models.CharField("规则名称", max_length=100)
    action = models.CharField("处理方式", max_length=12, choices=Action.choices)
    stage = models.CharField("监控环节", max_length=8, choices=Stage.choices)
    message = models.CharField("疑点描述", max_length=500)
    status = models.CharField("状态", max_length=16, choices=AlertStatus.choices, default=AlertStatus.RAISED)
    explanation = models.TextField("单位说明", blank=True)
    explained_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="说明人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    explained_at = models.DateTimeField("说明时间", null=True, blank=True)
    verify_comment = models.TextField("核实意见", blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="核实人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField("核实时间", null=True, blank=True)
    rectify_ask = models.TextField("整改要求", blank=True)
    rectify_detail = models.TextField("整改情况", blank=True)
    return_amt = MoneyField("退回金额", default=0)
    transfer_amt = MoneyField("调账金额", default=0)
    rectified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="整改人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    rectified_at = models.DateTimeField("整改时间", null=True, blank=True)
    close_comment = models.CharField("办结意见", max_length=300, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="办结人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path", unit_writable=True)  # units explain their own

    class Meta:
        verbose_name = verbose_name_plural = "监控疑点"
        ordering = ["-id"]
        permissions = [("explain_alert", "说明疑点（单位）"), ("verify_alert", "核实疑点（财政）")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "subject_kind", "subject_id", "rule_code"],
                                    name="monalert_once_per_rule_subject",
                                    violation_error_message="该业务已有此规则的疑点",
                                    violation_error_code="alert_exists"),
            models.CheckConstraint(condition=Q(return_amt__gte=0) & Q(transfer_amt__gte=0),
                                   name="monalert_amounts_nonneg", violation_error_code="amount_negative",
                                   violation_error_message="退回金额和调账金额不能为负数"),
        ]
        indexes = [models.Index(fields=["region_code", "status"]),
                   models.Index(fields=["subject_kind", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.number} {self.rule_name}"


class BacktestRun(models.Model):
    """A back-test of one version of a rule over the payments of its region in a date range, with its hits."""

    rule = models.ForeignKey(Rule, verbose_name="规则", on_delete=models.PROTECT, related_name="backtests")
    region_code = models.CharField("财政区划", max_length=9, blank=True)
    rule_version = models.PositiveIntegerField("规则版本")
    condition = models.TextField("条件")
    params = models.JSONField("参数", default=dict)
    date_from = models.DateField("开始日期")
    date_to = models.DateField("结束日期")
    scanned = models.PositiveIntegerField("检查笔数", default=0)
    hit_count = models.PositiveIntegerField("命中笔数", default=0)
    hit_amount = MoneyField("命中金额", default=0)
    hits = models.JSONField("命中清单", default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="执行人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("执行时间", auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "规则回测"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"回测 {self.rule_id} v{self.rule_version} {self.date_from}~{self.date_to}"


class BatchRun(models.Model):
    """One run of the T+1 batch over one day's executed payments (region '' = every region: the periodic job).
    Re-running is harmless (alerts are unique per rule and subject); the periodic job skips a finished date."""

    date = models.DateField("业务日期")
    region_code = models.CharField("财政区划", max_length=9, blank=True)
    scanned = models.PositiveIntegerField("检查笔数", default=0)
    raised = models.PositiveIntegerField("新增疑点", default=0)
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="执行人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "事后监控批次"
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["date", "region_code"])]

    def __str__(self) -> str:
        return f"T+1 {self.date}"
