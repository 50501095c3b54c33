"""Budget preparation (预算编制, 两上两下, 批复): rounds, versioned budget lines, ceilings, submissions, replies.

A round runs per region and year through the stages 一上 → 一下 → 二上 → 汇总 → 人大批准 → 批复. Lines are
kept per version (first_up, second_up, reply): a snapshot per stage, compared on the same key across versions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopeSpec


class Version(models.TextChoices):
    FIRST_UP = "first_up", "一上"
    SECOND_UP = "second_up", "二上"
    REPLY = "reply", "批复"


@audited
class BudgetRound(Stamped):
    class Stage(models.TextChoices):
        FIRST_UP = "first_up", "一上"
        CEILINGS = "ceilings", "一下"
        SECOND_UP = "second_up", "二上"
        CONSOLIDATED = "consolidated", "汇总"
        APPROVED = "approved", "人大批准"
        REPLIED = "replied", "批复"

    TRANSITIONS = {
        Stage.FIRST_UP: {Stage.CEILINGS},
        Stage.CEILINGS: {Stage.SECOND_UP},
        Stage.SECOND_UP: {Stage.CONSOLIDATED},
        Stage.CONSOLIDATED: {Stage.APPROVED},
        Stage.APPROVED: {Stage.REPLIED},
    }
    # The version departments (or, for reply, finance) may edit at each stage.
    OPEN_VERSION = {Stage.FIRST_UP: Version.FIRST_UP, Stage.SECOND_UP: Version.SECOND_UP,
                    Stage.CONSOLIDATED: Version.REPLY}

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    name = models.CharField("名称", max_length=100)
    stage = models.CharField("阶段", max_length=12, choices=Stage.choices, default=Stage.FIRST_UP, editable=False)
    approval_doc_no = models.CharField("人大批准文号", max_length=60, blank=True, editable=False)
    approval_date = models.DateField("人大批准日期", null=True, blank=True, editable=False)
    reply_doc_no = models.CharField("批复文号", max_length=60, blank=True, editable=False)
    reply_title = models.CharField("批复标题", max_length=200, blank=True, editable=False)
    reply_date = models.DateField("批复日期", null=True, blank=True, editable=False)
    dept_reply_days = models.PositiveSmallIntegerField("财政批复部门时限（天）", default=20)
    unit_reply_days = models.PositiveSmallIntegerField("部门批复单位时限（天）", default=15)

    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "预算编制轮次"
        ordering = ["region_code", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "year"], name="budgetround_region_year_uniq",
                                    violation_error_message="该区划该年度已有预算编制",
                                    violation_error_code="budget_round_exists"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def open_version(self) -> str | None:
        return self.OPEN_VERSION.get(self.stage)


@audited
class BudgetLine(Stamped):
    """One budget line of one version (BGT_PM_ANNUAL; BGT_TRA when is_transfer)."""

    class Direction(models.TextChoices):
        REVENUE = "revenue", "收入"
        EXPENDITURE = "expenditure", "支出"

    class ExpKind(models.TextChoices):
        BASIC = "basic", "基本支出"
        PROJECT = "project", "项目支出"

    round = models.ForeignKey(BudgetRound, verbose_name="预算编制", on_delete=models.PROTECT, related_name="lines")
    version = models.CharField("版本", max_length=10, choices=Version.choices)
    region_code = models.CharField("财政区划", max_length=9)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("masterdata.Unit", verbose_name="主管部门", on_delete=models.PROTECT,
                                   related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, db_index=True)
    project = models.ForeignKey("projects.Project", verbose_name="项目", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="budget_lines")
    direction = models.CharField("收支", max_length=12, choices=Direction.choices)
    exp_kind = models.CharField("支出类型", max_length=8, choices=ExpKind.choices, blank=True)
    revenue_code = models.CharField("收入来源", max_length=20, blank=True)
    fund_nature_code = models.CharField("资金性质", max_length=10)
    exp_func_code = models.CharField("支出功能分类", max_length=13, blank=True)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    gov_eco_code = models.CharField("政府经济分类", max_length=11, blank=True)
    amount = MoneyField("金额")
    is_gov_pur = models.BooleanField("政府采购", default=False)
    is_sangong = models.BooleanField("三公经费", default=False)
    is_transfer = models.BooleanField("转移支付", default=False)
    sub_region_code = models.CharField("接收区划", max_length=9, blank=True)
    transfer_type_code = models.CharField("转移支付类型", max_length=4, blank=True)
    remark = models.CharField("说明", max_length=200, blank=True)
    origin = models.ForeignKey("self", verbose_name="来源行", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", help_text="上一版本中的对应行")
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")

    scope_spec = ScopeSpec(unit_path_field="unit_path", unit_writable=True)

    class Meta:
        verbose_name = verbose_name_plural = "预算明细"
        ordering = ["round", "version", "unit_path", "direction", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="budgetline_amount_positive",
                                   violation_error_code="amount_invalid", violation_error_message="金额必须大于零"),
            models.CheckConstraint(condition=Q(direction="revenue") | Q(project__isnull=False),
                                   name="budgetline_expenditure_has_project", violation_error_code="project_required",
                                   violation_error_message="支出预算必须对应项目库中的项目"),
            models.CheckConstraint(condition=Q(direction="expenditure") | ~Q(revenue_code=""),
                                   name="budgetline_revenue_has_source", violation_error_code="revenue_required",
                                   violation_error_message="收入预算必须填写收入来源"),
            models.CheckConstraint(condition=Q(is_transfer=False) | ~Q(sub_region_code=""),
                                   name="budgetline_transfer_has_region", violation_error_code="sub_region_required",
                                   violation_error_message="转移支付必须填写接收区划"),
        ]
        indexes = [models.Index(fields=["round", "version", "department"]),
                   models.Index(fields=["round", "version", "unit"])]

    def __str__(self) -> str:
        return f"{self.get_version_display()} {self.unit_id} {self.get_direction_display()} {self.amount}"


@audited
class Ceiling(Stamped):
    """控制数: finance's ceiling for a department's expenditure of a fund nature (a code covers its children;
    the empty code covers every fund nature)."""

    round = models.ForeignKey(BudgetRound, verbose_name="预算编制", on_delete=models.PROTECT, related_name="ceilings")
    region_code = models.CharField("财政区划", max_length=9)
    department = models.ForeignKey("masterdata.Unit", verbose_name="主管部门", on_delete=models.PROTECT,
                                   related_name="+")
    fund_nature_code = models.CharField("资金性质", max_length=10, blank=True)
    amount = MoneyField("控制数")
    remark = models.CharField("说明", max_length=200, blank=True)

    scope_spec = ScopeSpec(unit_path_field="department__path")

    class Meta:
        verbose_name = verbose_name_plural = "控制数"
        ordering = ["round", "department", "fund_nature_code"]
        constraints = [
            models.UniqueConstraint(fields=["round", "department", "fund_nature_code"], name="ceiling_uniq",
                                    violation_error_message="该部门该资金性质已有控制数",
                                    violation_error_code="ceiling_exists"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="ceiling_amount_nonneg",
                                   violation_error_code="amount_negative", violation_error_message="控制数不能为负数"),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.fund_nature_code or '全部'} {self.amount}"


@audited
class Submission(Stamped):
    """A unit's submission to its department, or a department's consolidated submission to finance,
    for one version (一上 / 二上)."""

    class Status(models.TextChoices):
        OPEN = "open", "编制中"
        SUBMITTED = "submitted", "已报送"
        RETURNED = "returned", "已退回"
        ACCEPTED = "accepted", "已审核"

    TRANSITIONS = {
        Status.OPEN: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.RETURNED, Status.ACCEPTED},
        Status.RETURNED: {Status.SUBMITTED},
        Status.ACCEPTED: {Status.RETURNED},
    }
    LOCKED = (Status.SUBMITTED, Status.ACCEPTED)

    round = models.ForeignKey(BudgetRound, verbose_name="预算编制", on_delete=models.PROTECT,
                              related_name="submissions")
    version = models.CharField("版本", max_length=10, choices=Version.choices)
    region_code = models.CharField("财政区划", max_length=9)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位/部门", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255)
    is_department = models.BooleanField("部门汇总", default=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN, editable=False)
    expenditure_total = MoneyField("报送支出合计", default=0)
    revenue_total = MoneyField("报送收入合计", default=0)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="报送人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    review_comment = models.CharField("审核意见/退回原因", max_length=300, blank=True)

    scope_spec = ScopeSpec(unit_path_field="unit_path", unit_writable=True)

    class Meta:
        verbose_name = verbose_name_plural = "预算报送"
        ordering = ["round", "version", "unit_path"]
        permissions = [("submit_submission", "报送预算"), ("review_submission", "审核/退回预算报送")]
        constraints = [models.UniqueConstraint(fields=["round", "version", "unit"], name="submission_uniq",
                                               violation_error_code="submission_exists",
                                               violation_error_message="该单位该版本的预算已报送")]

    def __str__(self) -> str:
        return f"{self.get_version_display()}报送 {self.unit_id}"


@audited
class Reply(Stamped):
    """批复 of one round to a department (by finance) or to a unit (by its department), with its deadline."""

    class Level(models.TextChoices):
        DEPARTMENT = "department", "财政批复部门"
        UNIT = "unit", "部门批复单位"

    round = models.ForeignKey(BudgetRound, verbose_name="预算编制", on_delete=models.PROTECT, related_name="replies")
    region_code = models.CharField("财政区划", max_length=9)
    level = models.CharField("层级", max_length=12, choices=Level.choices)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="批复对象", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("masterdata.Unit", verbose_name="主管部门", on_delete=models.PROTECT,
                                   related_name="+")
    unit_path = models.CharField("单位路径", max_length=255)
    amount = MoneyField("批复支出", default=0)
    due_date = models.DateField("批复期限", null=True, blank=True)
    reply_date = models.DateField("批复日期", null=True, blank=True)
    doc_no = models.CharField("文号", max_length=60, blank=True)
    is_late = models.BooleanField("超期批复", default=False)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="批复人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "预算批复"
        ordering = ["round", "level", "unit_path"]
        constraints = [models.UniqueConstraint(fields=["round", "level", "unit"], name="reply_uniq",
                                               violation_error_code="reply_exists",
                                               violation_error_message="该单位在此层级已有预算批复")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.unit_id}"

    @property
    def late_now(self) -> bool:
        """Replied late, or still pending after its deadline."""
        from ibms.core import clock

        return self.is_late or (self.reply_date is None and self.due_date is not None
                                and clock.today(self.region_code) > self.due_date)


@audited
class ReplyDeadline(Stamped):
    """Configurable reply time limits (budget law, unverified): region '' is the national default."""

    class Level(models.TextChoices):
        DEPARTMENT = "department", "财政批复部门"
        UNIT = "unit", "部门批复单位"

    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")
    level = models.CharField("层级", max_length=12, choices=Level.choices)
    days = models.PositiveSmallIntegerField("时限（天）")
    basis = models.CharField("依据", max_length=200, blank=True)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "批复时限"
        ordering = ["region_code", "level"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "level"], name="replydeadline_uniq",
                                    violation_error_message="该区划该层级已设置时限",
                                    violation_error_code="reply_deadline_exists"),
            models.CheckConstraint(condition=Q(days__gte=1), name="replydeadline_days_positive",
                                   violation_error_code="days_invalid", violation_error_message="时限至少 1 天"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.days}天"
