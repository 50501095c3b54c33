"""Posting rules (记账规则) as data, and the business types (支付业务类型) receipts are booked by."""

from __future__ import annotations

from django.db import models

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.scoping import ScopeSpec

from .charts import Basis, ChartKind, Side


@audited
class PostingRule(Stamped):
    """记账规则: for one event type and year, a condition (CEL over the event) and a template of lines.

    Loaded from `data/accounting/posting_rules.csv`. Among the active rules of the event type and year the
    lowest `priority` whose `condition` holds is used. A rule with no lines records no entry (e.g. a quota
    notice under direct payment)."""

    year = models.PositiveSmallIntegerField("年度")
    code = models.CharField("规则编码", max_length=80)
    event_type = models.CharField("业务事件类型", max_length=60, db_index=True)
    name = models.CharField("名称", max_length=120)
    chart_kind = models.CharField("科目体系", max_length=10, choices=ChartKind.choices, default=ChartKind.UNIT)
    condition = models.CharField("适用条件（CEL）", max_length=500, blank=True)
    priority = models.PositiveSmallIntegerField("优先级", default=100)
    required_dims = models.JSONField("必填维度", default=list, blank=True)
    summary = models.CharField("摘要模板", max_length=200, blank=True)
    provenance = models.CharField("出处", max_length=60, blank=True)
    is_active = models.BooleanField("启用", default=True)
    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "记账规则"
        ordering = ["year", "event_type", "priority", "code"]
        constraints = [models.UniqueConstraint(fields=["year", "code"], name="acct_rule_uniq",
                                               violation_error_message="该年度已有此规则编码",
                                               violation_error_code="posting_rule_exists")]

    def __str__(self) -> str:
        return f"{self.year} {self.code}"

    @property
    def required_dims_display(self) -> str:
        from .books import DIMENSION_LABELS

        return "、".join(DIMENSION_LABELS.get(d, d) for d in self.required_dims or [])


@audited
class PostingRuleLine(models.Model):
    """One line of a rule's template. `account` is a code (`4001.01`) or a CEL expression after `=`
    (e.g. `=unit_type == "organ" ? "7101.01" : "7201.01"`); `amount_field` names an event amount; a line
    whose amount is 0 is left out; `copy_dims` names the event dimensions copied onto the line."""

    rule = models.ForeignKey(PostingRule, verbose_name="规则", on_delete=models.CASCADE, related_name="lines")
    seq = models.PositiveSmallIntegerField("顺序")
    basis = models.CharField("核算体系", max_length=10, choices=Basis.choices)
    side = models.CharField("方向", max_length=6, choices=Side.choices)
    account = models.CharField("科目", max_length=300)
    amount_field = models.CharField("金额字段", max_length=40)
    copy_dims = models.JSONField("复制维度", default=list, blank=True)
    condition = models.CharField("行条件（CEL）", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "记账规则分录"
        ordering = ["rule_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["rule", "seq"], name="acct_ruleline_uniq",
                                               violation_error_code="posting_rule_line_exists",
                                               violation_error_message="同一记账规则的分录序号不能重复")]

    def __str__(self) -> str:
        return f"{self.rule.code}#{self.seq} {self.side} {self.account}"


@audited
class BusinessType(Stamped):
    """支付业务类型: what a payment buys, and so what its financial-accounting entry debits (a code or a CEL
    expression over the event, e.g. `installation ? "1613" : "1601"`) — the posting rules use it as
    `debit_account`. `derive_eco` are the department economic classes it is the default for (longest prefix
    wins); `allowed_eco` those a request of this type may carry (empty: any). Loaded per year from
    `data/accounting/business_types.csv`."""

    year = models.PositiveSmallIntegerField("年度")
    code = models.CharField("业务类型编码", max_length=30)
    name = models.CharField("名称", max_length=60)
    debit_account = models.CharField("借方科目（编码或CEL）", max_length=200)
    derive_eco = models.JSONField("默认适用经济分类", default=list, blank=True)
    allowed_eco = models.JSONField("允许的经济分类", default=list, blank=True)
    sort = models.PositiveSmallIntegerField("顺序", default=100)
    provenance = models.CharField("出处", max_length=60, blank=True)
    is_active = models.BooleanField("启用", default=True)

    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付业务类型"
        ordering = ["year", "sort", "code"]
        constraints = [models.UniqueConstraint(fields=["year", "code"], name="acct_bustype_uniq",
                                               violation_error_code="business_type_exists",
                                               violation_error_message="该年度已有此业务类型")]

    def __str__(self) -> str:
        return self.name
