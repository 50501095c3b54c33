"""工资统发: salary items (year-versioned per region, loaded from data/payroll/items.csv), each person's payroll
profile (post, grade, items, bank card, status) and the monthly run with its lines per person and item."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec

UNIT_SCOPE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)


@audited
class SalaryItem(models.Model):
    class Kind(models.TextChoices):
        EARNING = "earning", "应发项目"
        DEDUCTION = "deduction", "扣款项目"

    class Method(models.TextChoices):
        FIXED = "fixed", "按标准或录入金额"
        RATE = "rate", "按比例计算"
        TAX = "tax", "累计预扣法计税"

    region_code = models.CharField("财政区划", max_length=9, blank=True)  # '' = every region
    year = models.PositiveSmallIntegerField("起始年度")
    code = models.CharField("项目编码", max_length=10)
    name = models.CharField("项目名称", max_length=30)
    kind = models.CharField("类别", max_length=10, choices=Kind.choices)
    dep_eco_code = models.CharField("部门经济分类", max_length=10)
    method = models.CharField("计算方法", max_length=10, choices=Method.choices)
    rate_ppm = models.PositiveIntegerField("比例（百万分之）", default=0)
    base = models.CharField("计算基数（项目编码）", max_length=100, blank=True)
    standard = MoneyField("标准（月）", default=0)
    collector = models.CharField("代扣缴收款方", max_length=10, blank=True)
    sort = models.PositiveSmallIntegerField("排序", default=0)
    provenance = models.CharField("来源", max_length=200, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "工资项目"
        ordering = ["region_code", "year", "sort"]
        constraints = [models.UniqueConstraint(fields=["region_code", "year", "code"], name="salaryitem_uniq",
                                               violation_error_code="salary_item_exists",
                                               violation_error_message="该年度已有同编码的工资项目")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PersonStatus(models.TextChoices):
    IN_SERVICE = "in_service", "在职"
    RETIRED = "retired", "离退休"
    SURVIVOR = "survivor", "遗属"


@audited
class PayProfile(Stamped):
    """一个人的工资档案: the items paid each month and the card they go to. Its history is the change log."""

    region_code = models.CharField("财政区划", max_length=9, editable=False)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, editable=False, db_index=True)
    person = models.OneToOneField("masterdata.Person", verbose_name="人员", on_delete=models.PROTECT,
                                  related_name="pay_profile")
    post = models.CharField("岗位", max_length=50, blank=True)
    grade = models.CharField("职级/薪级", max_length=20, blank=True)
    status = models.CharField("人员状态", max_length=12, choices=PersonStatus.choices, default=PersonStatus.IN_SERVICE)
    card_no = models.CharField("工资卡号", max_length=32, blank=True)
    card_bank = models.CharField("开户银行", max_length=100, blank=True)
    items = models.JSONField("工资项目（编码 → 分）", default=dict)
    is_active = models.BooleanField("发放中", default=True)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "工资档案"
        ordering = ["unit_id", "id"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.grade}"


@audited
class PayrollRun(Stamped):
    class Status(models.TextChoices):
        DRAFT = "draft", "已生成"
        SUBMITTED = "submitted", "审核中"
        RETURNED = "returned", "已退回"
        APPROVED = "approved", "已审批"
        PAYING = "paying", "生成支付申请中"
        PAID = "paid", "已提交支付"

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.RETURNED: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.RETURNED, Status.APPROVED},
        Status.APPROVED: {Status.PAYING},
        Status.PAYING: {Status.PAID, Status.APPROVED},
    }

    region_code = models.CharField("财政区划", max_length=9, editable=False)
    year = models.PositiveSmallIntegerField("年度")
    month = models.PositiveSmallIntegerField("月份")
    number = models.CharField("工资表编号", max_length=40, editable=False)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, editable=False, db_index=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False)
    current_step = models.PositiveSmallIntegerField("当前审核步骤", default=0, editable=False)
    headcount = models.PositiveIntegerField("人数", default=0)
    gross = MoneyField("应发合计", default=0)
    social = MoneyField("个人社保公积金", default=0)
    tax = MoneyField("个人所得税", default=0)
    other = MoneyField("其他扣款", default=0)
    net = MoneyField("实发合计", default=0)
    changes = models.JSONField("本月变动", default=list, blank=True)
    review_comment = models.CharField("审核意见", max_length=300, blank=True, editable=False)
    payment_request = models.ForeignKey("treasury.PaymentRequest", verbose_name="支付申请", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="生成人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "工资表"
        ordering = ["-year", "-month", "unit_id"]
        permissions = [("submit_payrollrun", "提交工资表"), ("review_payrollrun", "审核工资表"),
                       ("pay_payrollrun", "发放工资（生成支付申请）")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "unit", "year", "month"], name="payrollrun_month_uniq",
                                    violation_error_code="run_exists", violation_error_message="该单位本月工资表已生成"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="payrollrun_month_range",
                                   violation_error_code="month_invalid", violation_error_message="月份必须为1至12"),
            models.CheckConstraint(condition=Q(net=models.F("gross") - models.F("social") - models.F("tax")
                                               - models.F("other")),
                                   name="payrollrun_net_sum", violation_error_code="net_mismatch",
                                   violation_error_message="实发合计必须等于应发合计减各项扣款"),
        ]

    def __str__(self) -> str:
        return self.number


class PayrollSlip(models.Model):
    """One person's month in a run (工资条), with this year's cumulative figures the tax was computed on."""

    run = models.ForeignKey(PayrollRun, verbose_name="工资表", on_delete=models.CASCADE, related_name="slips")
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, db_index=True)
    person = models.ForeignKey("masterdata.Person", verbose_name="人员", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("姓名", max_length=50)
    id_number = models.CharField("身份证号", max_length=18)
    post = models.CharField("岗位", max_length=50, blank=True)
    grade = models.CharField("职级/薪级", max_length=20, blank=True)
    status = models.CharField("人员状态", max_length=12, choices=PersonStatus.choices)
    card_no = models.CharField("工资卡号", max_length=32, blank=True)
    card_bank = models.CharField("开户银行", max_length=100, blank=True)
    amounts = models.JSONField("各项目金额（编码 → 分）", default=dict)
    gross = MoneyField("应发")
    social = MoneyField("个人社保公积金")
    tax = MoneyField("个人所得税")
    other = MoneyField("其他扣款")
    net = MoneyField("实发")
    cum_income = MoneyField("累计收入")
    cum_deductions = MoneyField("累计专项扣除")
    cum_tax = MoneyField("累计已预扣税额")
    months = models.PositiveSmallIntegerField("累计月数")

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "工资条"
        ordering = ["run_id", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "person"], name="payrollslip_person_uniq",
                                               violation_error_code="slip_exists",
                                               violation_error_message="同一工资表中人员不能重复")]


class PayrollPayment(models.Model):
    """One treasury request paying part of a run: the net pay to the cards (business type `salary`, Dr 2201), the
    income tax to the tax bureau (`remit_tax`, Dr 2102) or the other withholdings to their collectors
    (`remit_withheld`, Dr 2307). A payment the bank returned is paid again as the next attempt of its kind, for
    exactly its lines (`slip_ids`, in line order; collector codes for the withholdings)."""

    class Kind(models.TextChoices):
        NET = "net", "实发工资"
        TAX = "tax", "代缴个人所得税"
        WITHHELD = "withheld", "代缴社保公积金及其他代扣款"

    run = models.ForeignKey(PayrollRun, verbose_name="工资表", on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField("类别", max_length=10, choices=Kind.choices)
    attempt = models.PositiveSmallIntegerField("发放次数", default=1)
    request = models.OneToOneField("treasury.PaymentRequest", verbose_name="支付申请", on_delete=models.PROTECT,
                                   related_name="+")
    amount = MoneyField("金额")
    slip_ids = models.JSONField("工资条（按行序）", default=list, blank=True)
    collectors = models.JSONField("代扣缴收款方", default=list, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "工资发放支付"
        ordering = ["run_id", "kind", "attempt"]
        constraints = [models.UniqueConstraint(fields=["run", "kind", "attempt"], name="payrollpayment_attempt_uniq",
                                               violation_error_code="payment_exists",
                                               violation_error_message="该工资表本次发放已生成支付申请")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.kind} #{self.attempt}"
