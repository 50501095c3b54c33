"""Charts of accounts (科目表) per kind and year, and the value lists the books share."""

from __future__ import annotations

from django.db import models

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.scoping import ScopeSpec


class Basis(models.TextChoices):
    FINANCIAL = "financial", "财务会计"
    BUDGET = "budget", "预算会计"


class Side(models.TextChoices):
    DEBIT = "debit", "借"
    CREDIT = "credit", "贷"


class ChartKind(models.TextChoices):
    UNIT = "unit", "政府会计制度（单位）"
    FISCAL = "fiscal", "财政总预算会计"


@audited
class ChartTemplate(Stamped):
    """A chart of accounts for one year (national reference data, shared by every account set)."""

    kind = models.CharField("科目体系", max_length=10, choices=ChartKind.choices)
    year = models.PositiveSmallIntegerField("年度")
    name = models.CharField("名称", max_length=100)
    source = models.CharField("来源", max_length=200, blank=True)
    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "科目表模板"
        ordering = ["kind", "-year"]
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="acct_charttemplate_uniq",
                                               violation_error_message="该年度科目表已存在",
                                               violation_error_code="chart_template_exists")]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"


@audited
class ChartAccount(Stamped):
    """One account of a chart template (top-level from the reference CSV, sub-accounts from configuration)."""

    template = models.ForeignKey(ChartTemplate, verbose_name="科目表", on_delete=models.PROTECT,
                                 related_name="accounts")
    code = models.CharField("科目编码", max_length=40)
    name = models.CharField("科目名称", max_length=100)
    parent_code = models.CharField("上级科目", max_length=40, blank=True)
    level = models.PositiveSmallIntegerField("级次", default=1)
    is_leaf = models.BooleanField("末级", default=True)
    category = models.CharField("科目类别", max_length=10)
    basis = models.CharField("核算体系", max_length=10, choices=Basis.choices)
    balance_side = models.CharField("余额方向", max_length=6, choices=Side.choices)
    aux_dims = models.JSONField("辅助核算", default=list, blank=True)
    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "模板科目"
        ordering = ["template_id", "code"]
        constraints = [models.UniqueConstraint(fields=["template", "code"], name="acct_chartaccount_uniq",
                                               violation_error_message="科目编码已存在",
                                               violation_error_code="chart_account_exists")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
