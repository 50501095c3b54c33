"""Basic information (基础信息): year-versioned, region-scoped master data that every module references."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopeSpec


@audited
class Region(Stamped):
    """财政区划: 9 characters, the first 6 the GB/T 2260 division code."""

    code = models.CharField("区划代码", max_length=9, unique=True)
    name = models.CharField("区划名称", max_length=100)
    level = models.PositiveSmallIntegerField("预算级次", choices=[(1, "中央"), (2, "省"), (3, "市"), (4, "县"), (5, "乡")])
    parent = models.ForeignKey("self", verbose_name="上级区划", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    path = models.CharField("路径", max_length=120, db_index=True, editable=False)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(region_field="code", reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "财政区划"
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="region_level_range",
                                              violation_error_code="region_level",
                                              violation_error_message="预算级次必须是 1（中央）至 5（乡）")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def region_code(self) -> str:
        return self.code

    @property
    def chain_codes(self) -> list[str]:
        """This region and every region above it, top first."""
        return [c for c in self.path.strip("/").split("/") if c]

    @property
    def write_region_code(self) -> str:
        """A region is maintained by the finance bureau one level up."""
        return self.parent.code if self.parent_id else self.code


@audited
class FiscalYear(Stamped):
    class Status(models.TextChoices):
        PREPARING = "preparing", "编制中"
        EXECUTING = "executing", "执行中"
        CLOSING = "closing", "年终结账中"
        CLOSED = "closed", "已结账"

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    # changed only by the year's life cycle (ibms.closing.services.lifecycle), never by a form
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PREPARING,
                              editable=False)
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "预算年度"
        ordering = ["region_code", "-year"]
        constraints = [models.UniqueConstraint(fields=["region_code", "year"], name="fiscalyear_region_year_uniq",
                                               violation_error_message="该区划的预算年度已存在",
                                               violation_error_code="fiscal_year_exists")]

    def __str__(self) -> str:
        return f"{self.year}年度"


@audited
class Holiday(Stamped):
    """Business calendar: a holiday, or a 调休 working day on a weekend."""

    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")
    date = models.DateField("日期")
    name = models.CharField("名称", max_length=50)
    is_workday = models.BooleanField("调休上班", default=False)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "节假日"
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["region_code", "date"], name="holiday_region_date_uniq",
                                               violation_error_message="该日期已登记",
                                               violation_error_code="holiday_exists")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ValueSet(models.Model):
    """A data element's value set (要素): classifications and code lists."""

    code = models.CharField("要素代码", max_length=40, unique=True)
    name = models.CharField("要素名称", max_length=100)
    hierarchical = models.BooleanField("分级", default=True)
    source = models.CharField("来源", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "要素值集"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


@audited
class ValueSetItem(Stamped):
    """One code of a value set in one fiscal year; region '' is national, others are local children."""

    value_set = models.ForeignKey(ValueSet, verbose_name="要素", on_delete=models.PROTECT, related_name="items")
    fiscal_year = models.PositiveSmallIntegerField("年度")
    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")
    code = models.CharField("代码", max_length=20)
    name = models.CharField("名称", max_length=120)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    level = models.PositiveSmallIntegerField("级次", default=1)
    is_leaf = models.BooleanField("末级", default=True)
    is_active = models.BooleanField("启用", default=True)
    provenance = models.CharField("出处", max_length=60, blank=True)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "要素值"
        ordering = ["value_set", "fiscal_year", "code"]
        constraints = [models.UniqueConstraint(fields=["region_code", "value_set", "fiscal_year", "code"],
                                               name="valuesetitem_uniq", violation_error_message="该代码已存在",
                                               violation_error_code="value_set_item_exists")]
        indexes = [models.Index(fields=["value_set", "fiscal_year", "code"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@audited
class EcoMapping(Stamped):
    """部门经济分类 → 政府经济分类 by unit type, year-versioned."""

    fiscal_year = models.PositiveSmallIntegerField("年度")
    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")
    dep_eco_code = models.CharField("部门经济分类", max_length=20)
    unit_type = models.CharField("单位类型", max_length=12)
    gov_eco_code = models.CharField("政府经济分类", max_length=11)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "经济分类对照"
        ordering = ["fiscal_year", "dep_eco_code", "unit_type"]
        constraints = [models.UniqueConstraint(fields=["region_code", "fiscal_year", "dep_eco_code", "unit_type"],
                                               name="ecomapping_uniq", violation_error_message="该对照已存在",
                                               violation_error_code="eco_mapping_exists")]


class UnitType(models.TextChoices):
    ORGAN = "organ", "行政单位"
    INSTITUTION = "institution", "事业单位"
    OTHER = "other", "其他"


@audited
class Unit(Stamped):
    """预算单位 (department = first-level unit, no parent)."""

    class Support(models.TextChoices):
        FULL = "full", "全额供养"
        PARTIAL = "partial", "差额供养"
        SELF = "self", "自收自支"

    region_code = models.CharField("财政区划", max_length=9)
    code = models.CharField("单位代码", max_length=21)
    name = models.CharField("单位名称", max_length=120)
    parent = models.ForeignKey("self", verbose_name="上级单位", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    department = models.ForeignKey("self", verbose_name="主管部门", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="members", editable=False)
    path = models.CharField("路径", max_length=255, db_index=True, editable=False)
    uscc = models.CharField("统一社会信用代码", max_length=18, blank=True)
    unit_type = models.CharField("单位类型", max_length=12, choices=UnitType.choices)
    support_level = models.CharField("财政供养方式", max_length=10, choices=Support.choices, default=Support.FULL)
    division_code = models.CharField("归口处室", max_length=6, blank=True)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(unit_path_field="path")

    class Meta:
        verbose_name = verbose_name_plural = "预算单位"
        ordering = ["region_code", "code"]
        constraints = [models.UniqueConstraint(fields=["region_code", "code"], name="unit_region_code_uniq",
                                               violation_error_message="该区划下单位代码已存在",
                                               violation_error_code="unit_code_exists")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_department(self) -> bool:
        return self.parent_id is None


@audited
class Person(Stamped):
    class Status(models.TextChoices):
        IN_SERVICE = "in_service", "在职"
        RETIRED = "retired", "离退休"

    class Staffing(models.TextChoices):
        ADMIN = "admin", "行政编制"
        INSTITUTION = "institution", "事业编制"
        WORKER = "worker", "工勤编制"
        NONE = "none", "编外"

    region_code = models.CharField("财政区划", max_length=9, editable=False)
    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT, related_name="people")
    name = models.CharField("姓名", max_length=50)
    id_number = models.CharField("身份证号", max_length=18)
    status = models.CharField("人员状态", max_length=12, choices=Status.choices, default=Status.IN_SERVICE)
    staffing = models.CharField("编制类型", max_length=12, choices=Staffing.choices, default=Staffing.ADMIN)
    post = models.CharField("职务", max_length=50, blank=True)
    grade = models.CharField("级别", max_length=20, blank=True)
    basic_salary = MoneyField("基本工资（月）", default=0)  # 30101
    allowance = MoneyField("津贴补贴（月）", default=0)  # 30102
    bonus = MoneyField("奖金（月）", default=0)  # 30103
    performance_pay = MoneyField("绩效工资（月）", default=0)  # 30107
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(unit_path_field="unit__path", unit_writable=True)

    class Meta:
        verbose_name = verbose_name_plural = "人员信息"
        ordering = ["unit", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "id_number"], name="person_region_id_uniq",
                                    violation_error_message="该身份证号已登记",
                                    violation_error_code="person_id_number_exists"),
            models.CheckConstraint(condition=Q(basic_salary__gte=0, allowance__gte=0, bonus__gte=0,
                                               performance_pay__gte=0),
                                   name="person_salary_nonneg", violation_error_code="salary_negative",
                                   violation_error_message="基本工资、津贴补贴、奖金和绩效工资不能为负数"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def monthly_total(self) -> int:
        return self.basic_salary + self.allowance + self.bonus + self.performance_pay


@audited
class ExpenditureStandard(Stamped):
    class Category(models.TextChoices):
        OPERATING_PER_HEAD = "operating_per_head", "公用经费定额"
        MEETING = "meeting", "会议费标准"
        TRAINING = "training", "培训费标准"
        TRAVEL = "travel", "差旅费标准"
        ASSET = "asset", "资产配置标准"
        OTHER = "other", "其他标准"

    region_code = models.CharField("财政区划", max_length=9)
    fiscal_year = models.PositiveSmallIntegerField("年度")
    code = models.CharField("标准代码", max_length=20)
    name = models.CharField("标准名称", max_length=100)
    category = models.CharField("类别", max_length=20, choices=Category.choices)
    measure = models.CharField("计量单位", max_length=20)
    amount = MoneyField("标准金额")
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    unit_type = models.CharField("适用单位类型", max_length=12, choices=UnitType.choices, blank=True)
    remark = models.CharField("说明", max_length=200, blank=True)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "支出标准"
        ordering = ["region_code", "fiscal_year", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "fiscal_year", "code"], name="standard_uniq",
                                    violation_error_message="该年度标准代码已存在",
                                    violation_error_code="standard_code_exists"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="standard_amount_nonneg",
                                   violation_error_code="amount_negative",
                                   violation_error_message="支出标准金额不能为负数"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@audited
class AgentBank(Stamped):
    region_code = models.CharField("财政区划", max_length=9)
    code = models.CharField("联行号", max_length=12)
    name = models.CharField("银行名称", max_length=100)
    short_name = models.CharField("简称", max_length=30, blank=True)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "代理银行"
        ordering = ["region_code", "code"]
        constraints = [models.UniqueConstraint(fields=["region_code", "code"], name="agentbank_uniq",
                                               violation_error_message="该联行号已登记",
                                               violation_error_code="agent_bank_exists")]

    def __str__(self) -> str:
        return self.short_name or self.name


@audited
class BankAccount(Stamped):
    """Accounts by type (misc_code_lists.csv account_type); unit empty = the finance bureau's own."""

    region_code = models.CharField("财政区划", max_length=9)
    unit = models.ForeignKey(Unit, verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="accounts")
    account_type = models.CharField("账户类型", max_length=4)
    account_no = models.CharField("账号", max_length=32)
    account_name = models.CharField("户名", max_length=120)
    bank = models.ForeignKey(AgentBank, verbose_name="开户银行", null=True, blank=True, on_delete=models.PROTECT)
    bank_name = models.CharField("开户行名称", max_length=100)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(unit_path_field="unit__path")

    class Meta:
        verbose_name = verbose_name_plural = "银行账户"
        ordering = ["region_code", "account_type", "account_no"]
        constraints = [models.UniqueConstraint(fields=["region_code", "account_no"], name="bankaccount_uniq",
                                               violation_error_message="该账号已登记",
                                               violation_error_code="bank_account_exists")]

    def __str__(self) -> str:
        return f"{self.account_name} {self.account_no}"


@audited
class Payee(Stamped):
    class Kind(models.TextChoices):
        CORPORATE = "corporate", "单位/企业"
        INDIVIDUAL = "individual", "个人"
        GOVERNMENT = "government", "政府/财政"

    region_code = models.CharField("财政区划", max_length=9)
    unit = models.ForeignKey(Unit, verbose_name="所属单位", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="payees", help_text="为空表示本级共享收款人")
    name = models.CharField("收款人名称", max_length=120)
    kind = models.CharField("收款人类型", max_length=12, choices=Kind.choices)
    account_no = models.CharField("收款账号", max_length=32)
    account_name = models.CharField("收款户名", max_length=120)
    bank_name = models.CharField("开户银行", max_length=100)
    bank_code = models.CharField("联行号", max_length=12, blank=True)
    id_code = models.CharField("证件号/信用代码", max_length=18, blank=True)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(unit_path_field="unit__path", unit_writable=True, reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "收款人"
        ordering = ["region_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "unit", "account_no"], condition=Q(unit__isnull=False),
                                    name="payee_unit_account_uniq", violation_error_message="本单位已有该收款账号",
                                    violation_error_code="payee_account_exists"),
            models.UniqueConstraint(fields=["region_code", "account_no"], condition=Q(unit__isnull=True),
                                    name="payee_shared_account_uniq", violation_error_message="本级已有该收款账号",
                                    violation_error_code="payee_account_exists"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.account_no}）"


@audited
class BlacklistEntry(Stamped):
    """收款人黑名单: approved by the treasury division before it takes effect; applies to lower regions too."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "待审核"
        ACTIVE = "active", "已生效"
        REJECTED = "rejected", "已退回"
        REVOKED = "revoked", "已撤销"

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.ACTIVE, Status.REJECTED},
        Status.REJECTED: {Status.SUBMITTED},
        Status.ACTIVE: {Status.REVOKED},
    }

    region_code = models.CharField("财政区划", max_length=9)
    number = models.CharField("编号", max_length=40, editable=False)
    name = models.CharField("名称", max_length=120)
    account_no = models.CharField("账号", max_length=32, blank=True)
    id_code = models.CharField("证件号/信用代码", max_length=18, blank=True)
    reason = models.CharField("列入原因", max_length=300)
    legal_basis = models.CharField("依据", max_length=200)
    valid_from = models.DateField("生效日期")
    valid_to = models.DateField("截止日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)
    review_comment = models.CharField("审核意见", max_length=300, blank=True, editable=False)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "收款人黑名单"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="blacklist_number_uniq",
                                    violation_error_code="blacklist_number_exists",
                                    violation_error_message="同一区划的黑名单编号不能重复"),
            models.CheckConstraint(condition=~Q(account_no="") | ~Q(id_code=""), name="blacklist_has_key",
                                   violation_error_message="账号与证件号至少填写一项",
                                   violation_error_code="blacklist_key_required"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"
