"""One row per (region, year, checklist step) of the year-end checklist (data/closing/steps.csv)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.scoping import ScopeSpec


@audited(exclude=("done", "total", "updated_at"))  # progress ticks while a batch runs: not audited
class YearStep(Stamped):
    class Status(models.TextChoices):
        PENDING = "pending", "未开始"
        RUNNING = "running", "进行中"
        BLOCKED = "blocked", "未通过"
        DONE = "done", "已完成"

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveSmallIntegerField("预算年度")
    step = models.CharField("步骤", max_length=30)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    done = models.PositiveIntegerField("已处理", default=0)
    total = models.PositiveIntegerField("总数", default=0)
    result = models.JSONField("结果", default=dict, blank=True)
    blockers = models.JSONField("未通过原因", default=list, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="执行人", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")

    scope_spec = ScopeSpec()

    class Meta:
        verbose_name = verbose_name_plural = "年终结账步骤"
        ordering = ["region_code", "year", "id"]
        permissions = [("run_yearstep", "执行年终结账步骤")]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "year", "step"], name="yearstep_uniq",
                                    violation_error_code="step_exists", violation_error_message="该年度的结账步骤已存在"),
            models.CheckConstraint(condition=models.Q(done__lte=models.F("total")), name="yearstep_progress",
                                   violation_error_code="progress_invalid",
                                   violation_error_message="已处理数不能超过总数"),
        ]

    def __str__(self) -> str:
        return f"{self.year}年度 {self.step}（{self.get_status_display()}）"

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else (self.done * 100 // self.total if self.total else 0)
