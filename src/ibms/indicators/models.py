"""Indicator ledger (指标账, BA_BGT_INFO): the only authority to spend.

Every movement is an immutable `IndicatorEntry` with signed deltas per bucket and the document it rests on.
The buckets cached on `Indicator` are derived from the entries (written in the same transaction, under a row
lock) and kept honest three ways: CHECK constraints (nothing negative, amount = sum of buckets), the
journal itself, and `ibms verify` (check `indicators.balances`), which recomputes every bucket from the
entries. The cached buckets are left out of the row audit for that reason: the journal is their audit.

Buckets: `available` (may be reserved, moved, frozen), `reserved` (held by submitted payment requests),
`spent` (paid), `frozen` (held, e.g. for procurement), `allotted` (passed on to another indicator: distributed
to units, allotted to a lower region as a transfer payment, carried over into next year).
amount = available + reserved + spent + frozen + allotted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopedQuerySet, ScopeSpec

BUCKETS = ("available", "reserved", "spent", "frozen", "allotted")
INDICATOR_SCOPE = ScopeSpec(unit_path_field="unit_path")


@audited
class SourceDocument(Stamped):
    """The document a movement rests on: a reply, an upper-level transfer, a supplement, a transfer form …"""

    class Kind(models.TextChoices):
        BUDGET_REPLY = "budget_reply", "年初批复"
        TRANSFER_ADVANCE = "transfer_advance", "上级提前下达"
        TRANSFER_FORMAL = "transfer_formal", "上级正式下达"
        RESERVE_FUND = "reserve_fund", "预备费"
        SUPPLEMENT = "supplement", "本级追加"
        TRANSFER_IN = "transfer_in", "调剂调入"
        CARRY_OVER = "carry_over", "上年结转"
        ADJUSTMENT = "adjustment", "预算调整"
        ALLOT = "allot", "本级下达"
        REDUCTION = "reduction", "追减"
        HOLD = "hold", "冻结/解冻"
        RECALL = "recall", "收回"

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    kind = models.CharField("文件类型", max_length=20, choices=Kind.choices)
    doc_no = models.CharField("文号", max_length=60)
    title = models.CharField("文件标题", max_length=200)
    doc_date = models.DateField("发文日期")
    upper_doc_no = models.CharField("上级文号", max_length=60, blank=True)
    adj_batch_no = models.CharField("调整批次号", max_length=30, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "指标来源文件"
        ordering = ["region_code", "-doc_date", "doc_no"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "doc_no"], name="sourcedoc_region_docno_uniq",
                                    violation_error_message="该文号已登记",
                                    violation_error_code="source_doc_no_exists"),
            models.CheckConstraint(condition=~Q(doc_no=""), name="sourcedoc_docno_required",
                                   violation_error_code="doc_no_required",
                                   violation_error_message="指标文件必须填写文号"),
        ]
        indexes = [models.Index(fields=["region_code", "year", "kind"])]

    def __str__(self) -> str:
        return f"{self.doc_no} {self.title}"


# The cached buckets are audited by the journal (module docstring), the rest of the row by the change log.
@audited(exclude=("amount", *BUCKETS, "updated_at"))
class Indicator(Stamped):
    code = models.CharField("指标编码", max_length=24, unique=True, editable=False)
    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    source = models.ForeignKey(SourceDocument, verbose_name="来源文件", on_delete=models.PROTECT,
                               related_name="indicators")
    parent = models.ForeignKey("self", verbose_name="来源指标", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    unit = models.ForeignKey("masterdata.Unit", verbose_name="预算单位", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="indicators")
    department = models.ForeignKey("masterdata.Unit", verbose_name="主管部门", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="department_indicators")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, db_index=True, editable=False)
    project = models.ForeignKey("projects.Project", verbose_name="项目", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="indicators")
    summary = models.CharField("指标说明", max_length=200, blank=True)
    fund_nature_code = models.CharField("资金性质", max_length=20)
    exp_func_code = models.CharField("支出功能分类", max_length=20)
    gov_eco_code = models.CharField("政府经济分类", max_length=20, blank=True)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    pay_type_code = models.CharField("支付方式", max_length=4, blank=True)
    source_type_code = models.CharField("指标来源", max_length=4, blank=True)
    bgt_type_code = models.CharField("指标类型", max_length=4, blank=True)
    is_executable = models.BooleanField("可执行", default=True)
    is_gov_pur = models.BooleanField("政府采购", default=False)
    is_track = models.BooleanField("直达资金", default=False)
    is_sanbao = models.BooleanField("三保", default=False)
    is_sangong = models.BooleanField("三公经费", default=False)
    rec_region_code = models.CharField("接收区划", max_length=9, blank=True)
    adj_batch_no = models.CharField("调整批次号", max_length=30, blank=True)
    amount = MoneyField("指标金额", default=0, editable=False)
    available = MoneyField("可用余额", default=0, editable=False)
    reserved = MoneyField("预占", default=0, editable=False)
    spent = MoneyField("已支付", default=0, editable=False)
    frozen = MoneyField("冻结", default=0, editable=False)
    allotted = MoneyField("已下达/转出", default=0, editable=False)

    scope_spec = INDICATOR_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "预算指标"
        ordering = ["code"]  # region + year + serial: the unique index gives this order
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="indicator_amount_nonneg",
                                   violation_error_code="balance_negative",
                                   violation_error_message="指标金额不能为负数"),
            models.CheckConstraint(condition=Q(available__gte=0), name="indicator_available_nonneg",
                                   violation_error_code="balance_negative",
                                   violation_error_message="指标可用余额不足"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="indicator_reserved_nonneg",
                                   violation_error_code="balance_negative",
                                   violation_error_message="指标预占金额不能为负数"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="indicator_spent_nonneg",
                                   violation_error_code="balance_negative",
                                   violation_error_message="指标已支付金额不能为负数"),
            models.CheckConstraint(condition=Q(frozen__gte=0), name="indicator_frozen_nonneg",
                                   violation_error_code="balance_negative",
                                   violation_error_message="指标冻结金额不能为负数"),
            models.CheckConstraint(condition=Q(allotted__gte=0), name="indicator_allotted_nonneg",
                                   violation_error_code="balance_negative",
                                   violation_error_message="指标已分配金额不能为负数"),
            models.CheckConstraint(
                condition=Q(amount=F("available") + F("reserved") + F("spent") + F("frozen") + F("allotted")),
                name="indicator_amount_is_sum", violation_error_code="balance_mismatch",
                                   violation_error_message="指标金额必须等于可用、预占、已支付、冻结与已分配金额之和"),
            models.CheckConstraint(condition=Q(is_executable=False) | Q(unit__isnull=False),
                                   name="indicator_executable_has_unit", violation_error_code="unit_required",
                                   violation_error_message="可执行指标必须落实到预算单位"),
        ]
        indexes = [
            models.Index(fields=["region_code", "year", "is_executable"]),
            models.Index(fields=["region_code", "year", "fund_nature_code"]),
            models.Index(fields=["region_code", "year", "exp_func_code"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.summary}".strip()

    @property
    def buckets(self) -> dict[str, int]:
        return {"amount": self.amount, **{b: getattr(self, b) for b in BUCKETS}}


class EntryQuerySet(ScopedQuerySet):
    def update(self, **kwargs):
        raise TypeError("indicator entries are immutable")

    def delete(self):
        raise TypeError("indicator entries are immutable")


@audited
class IndicatorEntry(models.Model):
    """One movement of one indicator. Never updated or deleted; a correction is another entry."""

    class Kind(models.TextChoices):
        CREATE = "create", "批复下达"
        DISTRIBUTE_OUT = "distribute_out", "分配下达"
        INCREASE = "increase", "追加"
        DECREASE = "decrease", "追减"
        REALLOCATE_OUT = "reallocate_out", "调剂调出"
        REALLOCATE_IN = "reallocate_in", "调剂调入"
        ADJUST = "adjust", "预算调整"
        FREEZE = "freeze", "冻结"
        UNFREEZE = "unfreeze", "解冻"
        RECALL = "recall", "收回"
        RECALL_IN = "recall_in", "收回入账"
        TRANSFER_OUT = "transfer_out", "转移支付下达"
        CARRY_OUT = "carry_out", "结转下年"
        RESERVE = "reserve", "支付预占"
        POST = "post", "支付核销"
        VOID = "void", "预占释放"
        RESTORE = "restore", "退回恢复"

    indicator = models.ForeignKey(Indicator, verbose_name="指标", on_delete=models.PROTECT, related_name="entries")
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, blank=True)
    kind = models.CharField("变动类型", max_length=20, choices=Kind.choices)
    d_amount = MoneyField("指标金额变动", default=0)
    d_available = MoneyField("可用变动", default=0)
    d_reserved = MoneyField("预占变动", default=0)
    d_spent = MoneyField("支付变动", default=0)
    d_frozen = MoneyField("冻结变动", default=0)
    d_allotted = MoneyField("下达/转出变动", default=0)
    source = models.ForeignKey(SourceDocument, verbose_name="依据文件", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="entries")
    doc_no = models.CharField("文号", max_length=60, blank=True)
    counterpart = models.ForeignKey(Indicator, verbose_name="对方指标", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="counter_entries")
    consumer = models.CharField("使用单据", max_length=100, blank=True)
    reservation = models.ForeignKey("Reservation", verbose_name="预占", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="entries")
    adj_batch_no = models.CharField("调整批次号", max_length=30, blank=True)
    memo = models.CharField("摘要", max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("时间", default=timezone.now)

    objects = models.Manager.from_queryset(EntryQuerySet)()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "指标变动明细"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(d_amount=F("d_available") + F("d_reserved") + F("d_spent") + F("d_frozen")
                            + F("d_allotted")),
                name="entry_amount_is_sum", violation_error_code="entry_unbalanced",
                                   violation_error_message="指标台账的金额变动必须等于各项余额变动之和"),
            models.CheckConstraint(condition=Q(source__isnull=False) | ~Q(consumer=""),
                                   name="entry_names_its_basis", violation_error_code="entry_without_source",
                                   violation_error_message="指标台账必须注明依据的指标文件或使用单据"),
        ]
        indexes = [models.Index(fields=["region_code", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.indicator_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("indicator entries are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("indicator entries are immutable")


@audited
class Reservation(Stamped):
    """A payment request's hold on an indicator (two-phase: reserved → posted or voided, each at most once)."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "已预占"
        POSTED = "posted", "已支付"
        VOIDED = "voided", "已释放"

    region_code = models.CharField("财政区划", max_length=9)
    indicator = models.ForeignKey(Indicator, verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="reservations")
    unit_path = models.CharField("单位路径", max_length=255, blank=True, editable=False)
    consumer = models.CharField("使用单据", max_length=100)
    amount = MoneyField("预占金额")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.RESERVED)
    restored = MoneyField("已退回恢复", default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="预占人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField("支付时间", null=True, blank=True)
    voided_at = models.DateTimeField("释放时间", null=True, blank=True)

    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "指标预占"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "consumer"], name="reservation_consumer_uniq",
                                    violation_error_message="该单据已预占指标",
                                    violation_error_code="reservation_exists"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="reservation_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="预占金额必须大于零"),
            models.CheckConstraint(condition=Q(restored__gte=0, restored__lte=F("amount")),
                                   name="reservation_restored_range", violation_error_code="restore_exceeds",
                                   violation_error_message="退回恢复的金额不能超过预占金额"),
            models.CheckConstraint(condition=Q(restored=0) | Q(status="posted"),
                                   name="reservation_restore_after_post", violation_error_code="not_posted",
                                   violation_error_message="预占支付后才能退回恢复指标"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer}（{self.get_status_display()}）"


@audited
class Reallocation(Stamped):
    """调剂单: paired out/in movements within the approved totals, approved by a second budget officer."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "待审核"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "已退回"

    TRANSITIONS = {Status.SUBMITTED: {Status.APPROVED, Status.REJECTED}}

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("调剂单号", max_length=40, unique=True, editable=False)
    reason = models.CharField("调剂事由", max_length=300)
    amount = MoneyField("调剂金额", default=0)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.SUBMITTED,
                              editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+", editable=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", editable=False)
    review_comment = models.CharField("审核意见", max_length=300, blank=True, editable=False)
    source = models.ForeignKey(SourceDocument, verbose_name="调剂文件", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", editable=False)

    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "指标调剂"
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="reallocation_amount_pos",
                                              violation_error_code="amount_not_positive",
                                              violation_error_message="调剂金额必须大于零")]

    def __str__(self) -> str:
        return self.number


@audited
class ReallocationLine(models.Model):
    class Direction(models.TextChoices):
        OUT = "out", "调出"
        IN = "in", "调入"

    reallocation = models.ForeignKey(Reallocation, verbose_name="调剂单", on_delete=models.PROTECT,
                                     related_name="lines")
    region_code = models.CharField("财政区划", max_length=9)
    direction = models.CharField("方向", max_length=3, choices=Direction.choices)
    indicator = models.ForeignKey(Indicator, verbose_name="指标", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", help_text="调入到新指标时为空")
    amount = MoneyField("金额")
    # a new receiving indicator (in-lines without an indicator): its owner and classification
    unit = models.ForeignKey("masterdata.Unit", verbose_name="调入单位", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey("projects.Project", verbose_name="调入项目", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    exp_func_code = models.CharField("支出功能分类", max_length=20, blank=True)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    gov_eco_code = models.CharField("政府经济分类", max_length=20, blank=True)
    result = models.ForeignKey(Indicator, verbose_name="调入后指标", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()
    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "指标调剂明细"
        ordering = ["reallocation", "direction", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="reallocline_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="调剂明细金额必须大于零"),
            models.CheckConstraint(condition=Q(direction="in") | Q(indicator__isnull=False),
                                   name="reallocline_out_has_indicator", violation_error_code="indicator_required",
                                   violation_error_message="调出明细必须指定调出指标"),
        ]


@audited
class TransferNotice(Stamped):
    """转移支付下达通知: an upper region's indicator allotted to a lower region, waiting there to be received.
    The row lives in the receiving region (its inbox); the sending region reads it as an upper level."""

    class Status(models.TextChoices):
        SENT = "sent", "待接收"
        RECEIVED = "received", "已接收"

    class Kind(models.TextChoices):
        ADVANCE = "transfer_advance", "提前下达"
        FORMAL = "transfer_formal", "正式下达"

    class TransferType(models.TextChoices):
        GENERAL = "general", "一般性转移支付"
        SPECIAL = "special", "专项转移支付"

    region_code = models.CharField("接收区划", max_length=9)
    from_region_code = models.CharField("下达区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("通知编号", max_length=40, unique=True, editable=False)
    kind = models.CharField("下达方式", max_length=20, choices=Kind.choices)
    transfer_type = models.CharField("转移支付类型", max_length=10, choices=TransferType.choices)
    upper_indicator = models.ForeignKey(Indicator, verbose_name="上级指标", on_delete=models.PROTECT,
                                        related_name="transfer_notices")
    upper_indicator_code = models.CharField("上级指标编码", max_length=24)
    upper_source = models.ForeignKey(SourceDocument, verbose_name="上级下达文件", on_delete=models.PROTECT,
                                     related_name="+")
    upper_doc_no = models.CharField("上级文号", max_length=60)
    upper_doc_title = models.CharField("上级文件标题", max_length=200)
    amount = MoneyField("金额")
    fund_nature_code = models.CharField("资金性质", max_length=20)
    exp_func_code = models.CharField("支出功能分类", max_length=20)
    gov_eco_code = models.CharField("政府经济分类", max_length=20, blank=True)
    dep_eco_code = models.CharField("部门经济分类", max_length=20, blank=True)
    is_gov_pur = models.BooleanField("政府采购", default=False)
    is_track = models.BooleanField("直达资金", default=False)
    is_sanbao = models.BooleanField("三保", default=False)
    notice_date = models.DateField("下达日期")
    approval_date = models.DateField("本级预算批准日期", null=True, blank=True)
    due_date = models.DateField("应下达日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.SENT, editable=False)
    received_doc = models.ForeignKey(SourceDocument, verbose_name="接收登记文件", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    received_indicator = models.ForeignKey(Indicator, verbose_name="接收后指标", null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="接收人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField("接收时间", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="下达人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    TRANSITIONS = {Status.SENT: {Status.RECEIVED}}
    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "转移支付下达通知"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfernotice_amount_pos",
                                   violation_error_code="amount_not_positive",
                                   violation_error_message="转移支付金额必须大于零"),
            models.CheckConstraint(condition=~Q(region_code=F("from_region_code")), name="transfernotice_other_region",
                                   violation_error_code="same_region",
                                   violation_error_message="转移支付的下达区划与接收区划不能相同"),
        ]
        indexes = [models.Index(fields=["region_code", "status"]), models.Index(fields=["from_region_code", "year"])]

    def __str__(self) -> str:
        return f"{self.number} {self.upper_doc_no}"

    @property
    def is_late(self) -> bool:
        """Issued after the deadline counted from the upper level's budget approval (DOMAIN §9.5)."""
        return self.due_date is not None and self.notice_date > self.due_date


