"""Project library (项目库): every expenditure is a project first. A project's 21-character code is
assigned once, when it is entered, and never changes; its children (year plans, cost lines,
performance targets, procurement/asset needs, attachments) are written only with the project."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopeSpec

PROJECT_SCOPE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)
CHILD_SCOPE = ScopeSpec(unit_path_field="project__unit_path", unit_writable=True)


@audited
class Project(Stamped):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "已申报"
        DEPT_REVIEWED = "dept_reviewed", "主管部门已审"
        FINANCE_REVIEWED = "finance_reviewed", "财政已审"
        IN_LIBRARY = "in_library", "已入库"
        IN_BUDGET = "in_budget", "已纳入预算"
        EXECUTING = "executing", "执行中"
        CLOSED = "closed", "已结项"
        TERMINATED = "terminated", "已终止"

    class Category(models.TextChoices):
        # codes of value set pro_kind (leaves); labels for display only, validation reads the value set
        PERSONNEL = "1", "人员类"
        PUBLIC = "21", "公用经费"
        OTHER_OPERATING = "22", "其他运转类"
        SPECIFIC = "3", "特定目标类"

    class Level(models.IntegerChoices):
        FIRST = 1, "一级项目"
        SECOND = 2, "二级项目"

    class Origin(models.TextChoices):
        MANUAL = "manual", "单位申报"
        IMPORTED = "imported", "导入"
        GENERATED = "generated", "系统测算"

    TRANSITIONS: dict[str, set[str]] = {}  # below the class

    region_code = models.CharField("财政区划", max_length=9)
    code = models.CharField("项目代码", max_length=21, unique=True, editable=False)
    year = models.PositiveSmallIntegerField("申报年度")
    name = models.CharField("项目名称", max_length=200)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="项目单位", on_delete=models.PROTECT,
                             related_name="projects")
    department = models.ForeignKey("masterdata.Unit", verbose_name="主管部门", on_delete=models.PROTECT,
                                   related_name="department_projects")
    unit_path = models.CharField("单位路径", max_length=255, db_index=True, editable=False)
    category = models.CharField("项目类别", max_length=4, choices=Category.choices)
    level = models.PositiveSmallIntegerField("项目级次", choices=Level.choices, default=Level.SECOND)
    parent = models.ForeignKey("self", verbose_name="一级项目", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    is_transfer = models.BooleanField("转移支付项目", default=False)
    transfer_region_code = models.CharField("转移支付接收区划", max_length=9, blank=True)
    start_year = models.PositiveSmallIntegerField("开始年度")
    end_year = models.PositiveSmallIntegerField("结束年度")
    fund_nature_code = models.CharField("资金性质", max_length=20, blank=True)
    exp_func_code = models.CharField("支出功能分类", max_length=20, blank=True)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    is_gov_pur = models.BooleanField("政府采购", default=False)
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False)
    priority = models.PositiveIntegerField("优先级排序", default=0)
    total_amount = MoneyField("项目总额", default=0, editable=False)
    description = models.TextField("项目概况", blank=True)
    basis = models.TextField("立项依据", blank=True)
    origin = models.CharField("来源", max_length=10, choices=Origin.choices, default=Origin.MANUAL, editable=False)
    review_step = models.PositiveSmallIntegerField("当前审核步骤", default=0, editable=False)
    expert_score = models.DecimalField("专家评审得分", max_digits=5, decimal_places=2, null=True, blank=True,
                                       editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申报人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)
    submitted_at = models.DateTimeField("申报时间", null=True, blank=True, editable=False)
    admitted_at = models.DateTimeField("入库时间", null=True, blank=True, editable=False)

    scope_spec = PROJECT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "项目"
        ordering = ["region_code", "department", "priority", "code"]
        permissions = [("review_project", "审核项目"), ("rank_project", "项目排序"),
                       ("generate_project", "测算基本支出项目"), ("close_project", "结项与终止项目")]
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="project_total_nonneg",
                                   violation_error_code="amount_negative",
                                   violation_error_message="项目总金额不能为负数"),
            models.CheckConstraint(condition=Q(end_year__gte=F("start_year")), name="project_years_order",
                                   violation_error_code="years_order",
                                   violation_error_message="项目结束年度不能早于开始年度"),
            models.CheckConstraint(condition=Q(level=1, parent__isnull=True) | Q(level=2, parent__isnull=False),
                                   name="project_level_parent", violation_error_code="level_parent",
                                   violation_error_message="一级项目不能有上级项目，二级项目必须有上级项目"),
            models.CheckConstraint(condition=Q(is_transfer=False) | ~Q(transfer_region_code=""),
                                   name="project_transfer_region", violation_error_code="transfer_region",
                                   violation_error_message="转移支付项目必须填写接收区划"),
        ]
        indexes = [
            models.Index(fields=["region_code", "status", "start_year", "end_year"]),
            models.Index(fields=["department", "priority"]),
            models.Index(fields=["unit", "year", "category"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def plan_amount(self, year: int) -> int:
        """The year plan in fen (0 when the project plans nothing for that year)."""
        cached = getattr(self, "_prefetched_objects_cache", {}).get("year_plans")
        if cached is not None:
            return sum(p.amount for p in cached if p.year == year)
        return self.year_plans.filter(year=year).values_list("amount", flat=True).first() or 0

    @property
    def years(self) -> range:
        return range(self.start_year, self.end_year + 1)


_REVIEW = {Project.Status.SUBMITTED, Project.Status.DEPT_REVIEWED, Project.Status.FINANCE_REVIEWED}
# a review status may move to any review status (a chain may repeat a holder; 退回 goes one step back)
Project.TRANSITIONS = {
    Project.Status.DRAFT: {Project.Status.SUBMITTED},
    **{s: _REVIEW | {Project.Status.IN_LIBRARY, Project.Status.DRAFT} for s in _REVIEW},
    Project.Status.IN_LIBRARY: {Project.Status.IN_BUDGET, Project.Status.TERMINATED},
    Project.Status.IN_BUDGET: {Project.Status.EXECUTING, Project.Status.IN_LIBRARY, Project.Status.TERMINATED},
    Project.Status.EXECUTING: {Project.Status.CLOSED, Project.Status.TERMINATED},
}


@audited
class ProjectYearPlan(Stamped):
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT, related_name="year_plans")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    year = models.PositiveSmallIntegerField("年度")
    amount = MoneyField("计划金额", default=0)

    scope_spec = CHILD_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "分年度支出计划"
        ordering = ["project", "year"]
        constraints = [
            models.UniqueConstraint(fields=["project", "year"], name="project_year_plan_uniq",
                                    violation_error_message="该年度计划已存在",
                                    violation_error_code="year_plan_exists"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="project_year_plan_nonneg",
                                   violation_error_code="amount_negative",
                                   violation_error_message="年度计划金额不能为负数"),
        ]

    def __str__(self) -> str:
        return f"{self.year}年度支出计划"


@audited
class CostLine(Stamped):
    """支出测算: amount = standard (or typed unit price when no standard) × quantity × frequency."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT, related_name="cost_lines")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    year = models.PositiveSmallIntegerField("测算年度")
    seq = models.PositiveSmallIntegerField("序号", default=1)
    item = models.CharField("测算内容", max_length=120)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    standard = models.ForeignKey("masterdata.ExpenditureStandard", verbose_name="支出标准", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    unit_price = MoneyField("单价/标准", default=0)
    measure = models.CharField("计量单位", max_length=20, blank=True)
    quantity = models.DecimalField("数量", max_digits=16, decimal_places=4, default=1)
    frequency = models.DecimalField("频次", max_digits=12, decimal_places=4, default=1)
    amount = MoneyField("测算金额", default=0)
    formula = models.CharField("测算依据", max_length=300, blank=True)

    scope_spec = CHILD_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "支出测算"
        ordering = ["project", "year", "seq"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0, amount__gte=0, quantity__gte=0, frequency__gte=0),
                                   name="costline_nonneg", violation_error_code="amount_negative",
                                   violation_error_message="单价、数量、频次和金额不能为负数"),
        ]

    def __str__(self) -> str:
        return f"支出测算：{self.item}"


@audited
class PerformanceTarget(Stamped):
    class Kind(models.TextChoices):
        OUTPUT = "output", "产出指标"
        BENEFIT = "benefit", "效益指标"
        SATISFACTION = "satisfaction", "满意度指标"

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT,
                                related_name="performance_targets")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    kind = models.CharField("一级指标", max_length=12, choices=Kind.choices)
    sub_kind = models.CharField("二级指标", max_length=40, blank=True)
    name = models.CharField("三级指标", max_length=120)
    operator = models.CharField("符号", max_length=4, blank=True, default="≥")
    value = models.CharField("指标值", max_length=40)
    measure = models.CharField("计量单位", max_length=20, blank=True)

    scope_spec = CHILD_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "绩效目标"
        ordering = ["project", "kind", "id"]

    def __str__(self) -> str:
        return f"绩效目标：{self.name}"


@audited
class ProcurementNeed(Stamped):
    """政府采购 and 资产配置 needs of a project."""

    class Kind(models.TextChoices):
        PROCUREMENT = "procurement", "政府采购"
        ASSET = "asset", "资产配置"

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT,
                                related_name="procurement_needs")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    item = models.CharField("品目/资产名称", max_length=120)
    catalogue_code = models.CharField("采购目录/资产分类代码", max_length=30, blank=True)
    standard = models.ForeignKey("masterdata.ExpenditureStandard", verbose_name="资产配置标准", null=True,
                                 blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField("数量", max_digits=12, decimal_places=2, default=1)
    unit_price = MoneyField("单价", default=0)
    amount = MoneyField("金额", default=0)
    existing_quantity = models.DecimalField("现有数量", max_digits=12, decimal_places=2, default=0)
    remark = models.CharField("说明", max_length=200, blank=True)

    scope_spec = CHILD_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "采购与资产配置需求"
        ordering = ["project", "kind", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0, amount__gte=0, quantity__gte=0),
                                   name="procurement_nonneg", violation_error_code="amount_negative",
                                   violation_error_message="单价、数量和金额不能为负数"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.item}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"projects/{instance.project.region_code}/{instance.project.code}/{filename}"


@audited
class Attachment(Stamped):
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT, related_name="attachments")
    region_code = models.CharField("财政区划", max_length=9, editable=False)
    file = models.FileField("文件", upload_to=attachment_path, max_length=255)
    name = models.CharField("文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）", default=0)
    content_type = models.CharField("类型", max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")

    scope_spec = CHILD_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "附件"
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return f"附件：{self.name}"


@audited
class ReviewRecord(Stamped):
    """Review history: every submission, approval and 退回 with its reason (append-only by service)."""

    class Action(models.TextChoices):
        SUBMIT = "submit", "申报"
        APPROVE = "approve", "审核通过"
        RETURN = "return", "退回"
        ADMIT = "admit", "入库"
        ENTER_BUDGET = "enter_budget", "纳入预算"
        EXECUTE = "execute", "执行"
        CLOSE = "close", "结项"
        TERMINATE = "terminate", "终止"

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT, related_name="reviews")
    region_code = models.CharField("财政区划", max_length=9)
    step = models.PositiveSmallIntegerField("步骤", default=0)
    step_name = models.CharField("环节", max_length=60, blank=True)
    action = models.CharField("动作", max_length=14, choices=Action.choices)
    from_status = models.CharField("原状态", max_length=20, choices=Project.Status.choices)
    to_status = models.CharField("新状态", max_length=20, choices=Project.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="办理人", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField("办理人", max_length=150, blank=True)
    reason = models.CharField("意见/退回原因", max_length=500, blank=True)
    score = models.DecimalField("评审得分", max_digits=5, decimal_places=2, null=True, blank=True)

    scope_spec = CHILD_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "项目审核记录"
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(action="return") | ~Q(reason=""), name="review_return_reason",
                                   violation_error_code="reason_required",
                                   violation_error_message="退回时必须填写退回原因"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}：{self.step_name}"


@audited
class BasicRule(Stamped):
    """How the computed basic projects are built (data, loaded from data/projects/basic_rules.csv at set-up):
    salary items and retiree pay from personnel (monthly × months), employer contributions as a rate of the
    in-service salary base, and the per-head 公用经费 standard by unit type. Rates are unverified: edit them."""

    class Kind(models.TextChoices):
        SALARY = "salary", "工资项目"
        CONTRIBUTION = "contribution", "单位缴费"
        RETIREE = "retiree", "离退休费"
        OPERATING = "operating", "公用经费定额"

    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")
    fiscal_year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    code = models.CharField("规则代码", max_length=20)
    name = models.CharField("名称", max_length=60)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    person_fields = models.CharField("人员工资字段", max_length=120, blank=True,
                                     help_text="salary/retiree：Person 的月工资字段，多个用 + 连接")
    months = models.PositiveSmallIntegerField("月数", default=12)
    rate = models.DecimalField("缴费比例（%）", max_digits=6, decimal_places=3, default=0)
    unit_type = models.CharField("适用单位类型", max_length=12, blank=True)
    standard_code = models.CharField("支出标准代码", max_length=20, blank=True)
    seq = models.PositiveSmallIntegerField("顺序", default=0)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "基本支出测算规则"
        ordering = ["fiscal_year", "seq", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "fiscal_year", "code"], name="basicrule_uniq",
                                    violation_error_message="该年度规则代码已存在",
                                    violation_error_code="basic_rule_exists"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=100), name="basicrule_rate_range",
                                   violation_error_code="rate_range",
                                   violation_error_message="比例必须在 0 至 100 之间"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@audited
class FunctionDefault(Stamped):
    """Default 支出功能分类 (项) of a unit's basic projects, by a keyword of its department's name
    (data/projects/function_defaults.csv). The first matching keyword wins; '' is the fallback."""

    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")
    keyword = models.CharField("部门名称关键字", max_length=20)
    organ_func_code = models.CharField("行政单位功能分类", max_length=20)
    institution_func_code = models.CharField("事业单位功能分类", max_length=20)
    seq = models.PositiveSmallIntegerField("顺序", default=0)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "基本支出功能分类默认值"
        ordering = ["seq", "keyword"]
        constraints = [models.UniqueConstraint(fields=["region_code", "keyword"], name="funcdefault_uniq",
                                               violation_error_code="function_default_exists",
                                               violation_error_message="该区划已有此部门名称关键字的默认功能分类")]

    def __str__(self) -> str:
        return self.keyword or "（默认）"
