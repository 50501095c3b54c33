"""Cross-cutting tables: audit (change log + business events, SM3 hash chains), gap-free sequences,
approval chains and to-do items, the outbox, and idempotency keys."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .scoping import ScopedManager


class Stamped(models.Model):
    """Created/updated timestamps and the scoped manager every business row starts from."""

    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    objects = ScopedManager()

    class Meta:
        abstract = True


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("append-only table: rows cannot be updated")

    def delete(self):
        raise TypeError("append-only table: rows cannot be deleted")


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("append-only table: rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("append-only table: rows cannot be deleted")


class AuditChain(models.Model):
    """Head of one hash chain. Chains are per (kind, region) — several shards each on PostgreSQL (IBMS_AUDIT_SHARDS) — so concurrent writers don't queue on one head."""

    key = models.CharField(max_length=40, unique=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = "审计链"


class ChainedEntry(AppendOnly):
    chain = models.CharField("链", max_length=40)
    seq = models.BigIntegerField("序号")
    created_at = models.DateTimeField("时间")
    actor_id = models.BigIntegerField("操作人ID", null=True, blank=True)
    actor_name = models.CharField("操作人", max_length=150)
    actor_ip = models.CharField("IP", max_length=45, blank=True)
    request_id = models.CharField("请求号", max_length=64, blank=True)
    region_code = models.CharField("财政区划", max_length=9, blank=True, db_index=True)
    object_type = models.CharField("对象类型", max_length=100, blank=True)
    object_id = models.CharField("对象ID", max_length=64, blank=True)
    object_repr = models.CharField("对象", max_length=200, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        abstract = True
        ordering = ["-id"]


class ChangeLog(ChainedEntry):
    class Action(models.TextChoices):
        CREATE = "create", "新增"
        UPDATE = "update", "修改"
        DELETE = "delete", "删除"

    action = models.CharField("动作", max_length=10, choices=Action.choices)
    before = models.JSONField("修改前", null=True, blank=True)
    after = models.JSONField("修改后", null=True, blank=True)
    row_hash = models.CharField("行摘要", max_length=64, blank=True)

    class Meta:
        verbose_name = "变更日志"
        verbose_name_plural = "变更日志"
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="changelog_chain_seq_uniq",
                                              violation_error_code="audit_seq_taken",
                                              violation_error_message="变更日志序号重复，请重新操作")]
        indexes = [models.Index(fields=["object_type", "object_id", "id"])]


class BusinessEvent(ChainedEntry):
    code = models.CharField("事件", max_length=80, db_index=True)
    message = models.CharField("说明", max_length=300, blank=True)
    payload = models.JSONField("内容", default=dict, blank=True)

    class Meta:
        verbose_name = "业务事件"
        verbose_name_plural = "业务事件"
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="event_chain_seq_uniq",
                                              violation_error_code="audit_seq_taken",
                                              violation_error_message="业务事件序号重复，请重新操作")]
        indexes = [models.Index(fields=["object_type", "object_id", "id"], name="event_object_idx")]


class Sequence(models.Model):
    """Gap-free counter: incremented inside the caller's transaction, so a rollback returns the number."""

    key = models.CharField(max_length=100, unique=True)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "编号序列"


class ApprovalChain(models.Model):
    """Approval steps for one document type in one region ('' = default for every region)."""

    doc_type = models.CharField("单据类型", max_length=60)
    region_code = models.CharField("财政区划", max_length=9, blank=True, default="")
    name = models.CharField("名称", max_length=100)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "审批流程"
        verbose_name_plural = "审批流程"
        constraints = [
            models.UniqueConstraint(fields=["region_code", "doc_type"], name="approvalchain_region_doctype_uniq",
                                    violation_error_code="approval_chain_exists",
                                    violation_error_message="该区划已有此单据类型的审批流程")
        ]

    def __str__(self) -> str:
        return self.name


class ApprovalStep(models.Model):
    class Holder(models.TextChoices):
        UNIT = "unit", "本单位"
        DEPARTMENT = "department", "主管部门"
        FINANCE = "finance", "财政部门"

    chain = models.ForeignKey(ApprovalChain, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField("顺序")
    name = models.CharField("步骤", max_length=60)
    role_code = models.CharField("角色", max_length=40)
    holder = models.CharField("办理机构", max_length=12, choices=Holder.choices)

    class Meta:
        ordering = ["chain", "order"]
        constraints = [models.UniqueConstraint(fields=["chain", "order"], name="approvalstep_order_uniq",
                                              violation_error_code="approval_step_order_taken",
                                              violation_error_message="同一审批流程中步骤顺序不能重复")]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class TodoItem(models.Model):
    """One pending action for whoever holds `role_code` within the given region/unit."""

    class Status(models.TextChoices):
        OPEN = "open", "待办"
        DONE = "done", "已办"

    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, blank=True)
    role_code = models.CharField("角色", max_length=40)
    doc_type = models.CharField("单据类型", max_length=60)
    object_id = models.CharField(max_length=64)
    title = models.CharField("事项", max_length=200)
    url = models.CharField(max_length=300, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")

    class Meta:
        verbose_name = "待办"
        verbose_name_plural = "待办"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "region_code", "role_code"]),
                   models.Index(fields=["doc_type", "object_id"])]


class OutboxMessage(models.Model):
    """Written in the business transaction; the worker delivers it after commit, at least once."""

    topic = models.CharField(max_length=80, db_index=True)
    key = models.CharField(max_length=120, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "发件箱"
        ordering = ["id"]


class IdempotencyKey(models.Model):
    """Same key + same request → the stored answer; same key + different request → error."""

    scope = models.CharField(max_length=60)
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_uniq",
                                              violation_error_code="idempotency_key_taken",
                                              violation_error_message="该幂等键已被另一笔请求使用")]


class ImportJob(models.Model):
    """A large Excel import run by the worker (`core.imports`): the parsed rows, a validation pass over all of them,
    then an apply pass in chunks, each committed with the cursor `done` so a crash resumes where it stopped."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        VALIDATING = "validating", "校验中"
        APPLYING = "applying", "导入中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name="导入人")
    resource = models.CharField("资源", max_length=60)
    filename = models.CharField("文件名", max_length=200, blank=True)
    rows = models.JSONField("数据行", default=list, encoder=DjangoJSONEncoder)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField("总行数", default=0)
    checked = models.PositiveIntegerField("已校验行数", default=0)
    done = models.PositiveIntegerField("已导入行数", default=0)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    problems = models.JSONField("问题", default=list)
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导入任务"
        ordering = ["-id"]

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def progress(self) -> int:
        """Work done of the two passes (validation, then apply), as a value of `2 * total`."""
        return self.checked + self.done
