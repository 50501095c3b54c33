"""The books: account sets (账套), their accounts, periods, vouchers (凭证) and voucher lines."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec

from .charts import Basis, ChartTemplate, Side

# Auxiliary dimensions (辅助核算): name → VoucherLine field. Event dimensions use the same names.
DIMENSIONS: dict[str, str] = {
    "exp_func": "exp_func_code",  # 支出功能分类
    "dep_eco": "dep_eco_code",  # 部门预算支出经济分类
    "gov_eco": "gov_eco_code",  # 政府预算支出经济分类
    "project": "project_code",  # 项目代码 (a plain code; accounting is independent of the projects app)
    "fund_nature": "fund_nature_code",  # 资金性质
    "payee": "payee_name",  # 往来单位/收款人
    "department": "department_code",  # 部门（内设机构或主管部门代码）
}
DIMENSION_LABELS: dict[str, str] = {
    "exp_func": "功能分类", "dep_eco": "部门经济分类", "gov_eco": "政府经济分类", "project": "项目",
    "fund_nature": "资金性质", "payee": "往来单位", "department": "部门",
}


@audited
class AccountSet(Stamped):
    """账套: a unit's books for one year, or a finance bureau's 总预算会计 books for one year."""

    class Kind(models.TextChoices):
        UNIT = "unit", "单位会计"
        FISCAL = "fiscal", "总预算会计"

    class Status(models.TextChoices):
        ACTIVE = "active", "使用中"
        CLOSED = "closed", "已年结"

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("会计年度")
    kind = models.CharField("账套类型", max_length=10, choices=Kind.choices)
    code = models.CharField("账套编号", max_length=40)
    name = models.CharField("账套名称", max_length=150)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="account_sets")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, db_index=True, editable=False)
    unit_type = models.CharField("单位类型", max_length=12, blank=True,
                                 help_text="organ 行政单位（7101）/ institution 事业单位（7201）；总预算会计为空")
    chart = models.ForeignKey(ChartTemplate, verbose_name="科目表", on_delete=models.PROTECT,
                              related_name="account_sets")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)

    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "账套"
        ordering = ["region_code", "-year", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "code"], name="acct_set_code_uniq",
                                    violation_error_message="账套编号已存在",
                                    violation_error_code="account_set_code_exists"),
            models.UniqueConstraint(fields=["unit", "year"], condition=Q(unit__isnull=False),
                                    name="acct_set_unit_year_uniq", violation_error_message="该单位该年度已有账套",
                                    violation_error_code="account_set_exists"),
            models.UniqueConstraint(fields=["region_code", "year"], condition=Q(kind="fiscal"),
                                    name="acct_set_fiscal_uniq", violation_error_message="该区划该年度已有总预算会计账套",
                                    violation_error_code="account_set_exists"),
            models.CheckConstraint(condition=Q(kind="unit", unit__isnull=False) | Q(kind="fiscal", unit__isnull=True),
                                   name="acct_set_kind_unit", violation_error_code="set_kind_unit",
                                   violation_error_message="单位账套必须对应预算单位，总预算会计账套不能对应单位"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"

    @property
    def expense_budget_code(self) -> str:
        """行政支出 7101 for organs, 事业支出 7201 otherwise."""
        return "7101" if self.unit_type == "organ" else "7201"


@audited
class Account(Stamped):
    """A set's account (科目). Dotted codes: 4001 → 4001.01 → 4001.01.01; `export_code` is concatenated."""

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.PROTECT,
                                    related_name="accounts")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    code = models.CharField("科目编码", max_length=40)
    name = models.CharField("科目名称", max_length=100)
    parent = models.ForeignKey("self", verbose_name="上级科目", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    level = models.PositiveSmallIntegerField("级次", default=1)
    is_leaf = models.BooleanField("末级", default=True)
    category = models.CharField("科目类别", max_length=10)
    basis = models.CharField("核算体系", max_length=10, choices=Basis.choices)
    balance_side = models.CharField("余额方向", max_length=6, choices=Side.choices)
    aux_dims = models.JSONField("辅助核算", default=list, blank=True)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(region_field="account_set__region_code", unit_path_field="account_set__unit_path",
                           unit_writable=True)

    class Meta:
        verbose_name = verbose_name_plural = "会计科目"
        ordering = ["account_set_id", "code"]
        constraints = [models.UniqueConstraint(fields=["account_set", "code"], name="acct_account_uniq",
                                               violation_error_message="该账套已有此科目编码",
                                               violation_error_code="account_code_exists")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def export_code(self) -> str:
        return self.code.replace(".", "")


@audited
class Period(Stamped):
    """会计期间: month 1–12 of the set's year."""

    class Status(models.TextChoices):
        OPEN = "open", "未结账"
        CLOSED = "closed", "已结账"

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.PROTECT,
                                    related_name="periods")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    number = models.PositiveSmallIntegerField("期间")
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField("结账时间", null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="结账人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")

    scope_spec = ScopeSpec(region_field="account_set__region_code", unit_path_field="account_set__unit_path",
                           unit_writable=True)

    class Meta:
        verbose_name = verbose_name_plural = "会计期间"
        ordering = ["account_set_id", "number"]
        permissions = [("close_period", "期末结账与反结账")]
        constraints = [
            models.UniqueConstraint(fields=["account_set", "number"], name="acct_period_uniq",
                                    violation_error_message="该期间已存在",
                                    violation_error_code="period_exists"),
            models.CheckConstraint(condition=Q(number__gte=1, number__lte=12), name="acct_period_range",
                                   violation_error_code="period_range",
                                   violation_error_message="会计期间必须在 1 至 12 月之间"),
        ]

    def __str__(self) -> str:
        return f"{self.start_date.year}年{self.number:02d}期"


@audited
class Voucher(Stamped):
    """记账凭证. Draft → reviewed → posted; posted is immutable (reversal for corrections)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "待审核"
        REVIEWED = "reviewed", "已审核"
        POSTED = "posted", "已记账"

    class Source(models.TextChoices):
        MANUAL = "manual", "手工录入"
        EVENT = "event", "业务生成"
        REVERSAL = "reversal", "冲销"
        CLOSING = "closing", "结账"
        OPENING = "opening", "期初余额"

    TRANSITIONS = {
        Status.DRAFT: {Status.REVIEWED},
        Status.REVIEWED: {Status.DRAFT, Status.POSTED},
    }

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.PROTECT,
                                    related_name="vouchers")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False)
    year = models.PositiveSmallIntegerField("会计年度", editable=False)
    period = models.ForeignKey(Period, verbose_name="会计期间", on_delete=models.PROTECT, related_name="vouchers")
    period_no = models.PositiveSmallIntegerField("期间", editable=False)
    number = models.PositiveIntegerField("凭证号", null=True, blank=True, editable=False)
    date = models.DateField("凭证日期")
    summary = models.CharField("摘要", max_length=200)
    attachments = models.PositiveSmallIntegerField("附件数", default=0)
    source = models.CharField("来源", max_length=10, choices=Source.choices, default=Source.MANUAL, editable=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False)
    event_id = models.CharField("业务事件号", max_length=100, blank=True, editable=False)
    event_type = models.CharField("业务事件类型", max_length=60, blank=True, editable=False)
    event_hash = models.CharField("事件摘要", max_length=64, blank=True, editable=False)
    rule_code = models.CharField("记账规则", max_length=80, blank=True, editable=False)
    reversal_of = models.OneToOneField("self", verbose_name="冲销原凭证", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="reversed_by", editable=False)
    financial_total = MoneyField("财务会计借方合计", default=0, editable=False)
    budget_total = MoneyField("预算会计借方合计", default=0, editable=False)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="制单人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", editable=False)
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True, editable=False)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="记账人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+", editable=False)
    posted_at = models.DateTimeField("记账时间", null=True, blank=True, editable=False)

    scope_spec = ScopeSpec(unit_path_field="unit_path", unit_writable=True)

    class Meta:
        verbose_name = verbose_name_plural = "记账凭证"
        ordering = ["account_set_id", "period_no", "number", "id"]
        permissions = [("review_voucher", "审核凭证"), ("post_voucher", "凭证记账与冲销"),
                       ("post_event", "业务事件生成凭证（接口）")]
        constraints = [
            models.UniqueConstraint(fields=["account_set", "event_id"], condition=~Q(event_id=""),
                                    name="acct_voucher_event_uniq", violation_error_message="该业务事件已生成凭证",
                                    violation_error_code="voucher_event_exists"),
            models.UniqueConstraint(fields=["account_set", "period_no", "number"], condition=Q(number__isnull=False),
                                    name="acct_voucher_number_uniq", violation_error_message="凭证号重复",
                                    violation_error_code="voucher_number_exists"),
            models.CheckConstraint(condition=~Q(status="posted") | Q(number__isnull=False, posted_at__isnull=False),
                                   name="acct_voucher_posted_numbered", violation_error_code="posted_unnumbered",
                                   violation_error_message="已记账的凭证必须有凭证号和记账时间"),
            models.CheckConstraint(condition=Q(period_no__gte=1, period_no__lte=12), name="acct_voucher_period",
                                   violation_error_code="period_range",
                                   violation_error_message="凭证所属期间必须在 1 至 12 月之间"),
        ]
        indexes = [models.Index(fields=["account_set", "status", "period_no"]),
                   models.Index(fields=["region_code", "status"])]

    def __str__(self) -> str:
        return f"{self.year}年{self.period_no:02d}期 {self.display_number}"

    @property
    def display_number(self) -> str:
        return f"记-{self.number:04d}" if self.number else f"草稿#{self.pk}"


@audited
class VoucherLine(models.Model):
    """分录: one line of a voucher in one basis. Exactly one of debit/credit is non-zero."""

    voucher = models.ForeignKey(Voucher, verbose_name="凭证", on_delete=models.PROTECT, related_name="lines")
    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.PROTECT, related_name="+",
                                    editable=False)
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    line_no = models.PositiveSmallIntegerField("行号")
    basis = models.CharField("核算体系", max_length=10, choices=Basis.choices, editable=False)
    account = models.ForeignKey(Account, verbose_name="科目", on_delete=models.PROTECT, related_name="lines")
    account_code = models.CharField("科目编码", max_length=40, editable=False)
    summary = models.CharField("摘要", max_length=200, blank=True)
    debit = MoneyField("借方金额", default=0)
    credit = MoneyField("贷方金额", default=0)
    exp_func_code = models.CharField("功能分类", max_length=20, blank=True)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    gov_eco_code = models.CharField("政府经济分类", max_length=20, blank=True)
    project_code = models.CharField("项目代码", max_length=40, blank=True)
    fund_nature_code = models.CharField("资金性质", max_length=20, blank=True)
    payee_name = models.CharField("往来单位", max_length=120, blank=True)
    department_code = models.CharField("部门", max_length=40, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="voucher__unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "凭证分录"
        ordering = ["voucher_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["voucher", "line_no"], name="acct_line_no_uniq",
                                    violation_error_code="voucher_line_no_exists",
                                    violation_error_message="同一凭证的分录行号不能重复"),
            models.CheckConstraint(condition=(Q(debit=0) & ~Q(credit=0)) | (~Q(debit=0) & Q(credit=0)),
                                   name="acct_line_one_side", violation_error_code="line_one_side",
                                   violation_error_message="每行分录只能填写借方或贷方其中一方，且金额不能为零"),
        ]
        indexes = [models.Index(fields=["account_set", "account_code"]),
                   models.Index(fields=["account_set", "project_code"])]

    def __str__(self) -> str:
        return f"{self.account_code} {self.debit or -self.credit}"

    @property
    def side(self) -> str:
        return Side.DEBIT if self.debit else Side.CREDIT

    @property
    def amount(self) -> int:
        return self.debit or self.credit
