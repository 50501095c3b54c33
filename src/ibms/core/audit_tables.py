"""The audit log's tables (django-tables2), newest first (not sortable: the log's order is its chain's), and the
same rows as Excel columns. Event names and outcomes in Chinese; hashes of passwords and tokens never shown."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

from . import excel
from .audit_names import OUTCOMES, actor_label, describe, event_name, outcome_of
from .models import BusinessEvent, ChangeLog

PER_PAGE = 50
REDACTED = frozenset({"password", "digest", "token_hash", "key_hash", "secret"})


def changed_fields(entry: ChangeLog) -> list[str]:
    before, after = entry.before or {}, entry.after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and k != "id")


def redact(data: dict | None) -> dict | None:
    return None if data is None else {k: ("***" if k in REDACTED else v) for k, v in data.items()}


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


class EventTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="时间", format="Y-m-d H:i:s")
    code = tables.Column("事件")
    outcome = tables.Column("结果", accessor="code", empty_values=())
    actor_name = tables.Column("操作人")
    actor_ip = tables.Column("IP")
    region_code = tables.Column("区划")
    object_type = tables.Column("对象类型", attrs={"td": {"class": "mono"}})
    object_id = tables.Column("对象ID", attrs={"td": {"class": "mono"}})
    object_repr = tables.Column("对象")
    message = tables.Column("说明", empty_values=())

    class Meta:
        model = BusinessEvent
        fields: list[str] = []
        orderable = False
        empty_text = "无记录"
        attrs = {"class": "table dense", "id": "events"}
        row_attrs = {"class": lambda record: "denied" if outcome_of(record.code) == "denied" else ""}

    def render_actor_name(self, value):
        return actor_label(value)

    def render_code(self, value):
        return format_html('{} <span class="mono muted">{}</span>', event_name(value), value)

    def render_outcome(self, value):
        return OUTCOMES[outcome_of(value)]

    def render_message(self, record):
        return describe(record) or "—"


class ChangeTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="时间", format="Y-m-d H:i:s")
    actor_name = tables.Column("操作人")
    actor_ip = tables.Column("IP")
    action = tables.Column("动作")
    object_type = tables.Column("对象类型", attrs={"td": {"class": "mono"}})
    object_id = tables.Column("对象ID", attrs={"td": {"class": "mono"}})
    object_repr = tables.Column("对象")
    fields = tables.Column("变更字段", accessor="pk", empty_values=())
    region_code = tables.Column("区划")

    class Meta:
        model = ChangeLog
        fields: list[str] = []
        orderable = False
        empty_text = "无记录"
        attrs = {"class": "table dense", "id": "changes"}

    def render_actor_name(self, value):
        return actor_label(value)

    def render_fields(self, record):
        return "、".join(changed_fields(record)) or "—"


EVENT_COLUMNS = [excel.Column("time", "时间", width=20), excel.Column("name", "事件", width=24),
                 excel.Column("code", "事件代码", width=28), excel.Column("outcome", "结果", width=8),
                 excel.Column("actor", "操作人"), excel.Column("ip", "IP"), excel.Column("region", "财政区划"),
                 excel.Column("object_type", "对象类型"), excel.Column("object_id", "对象ID"),
                 excel.Column("object", "对象", width=30), excel.Column("message", "说明", width=40),
                 excel.Column("request_id", "请求号", width=34)]
CHANGE_COLUMNS = [excel.Column("time", "时间", width=20), excel.Column("actor", "操作人"), excel.Column("ip", "IP"),
                  excel.Column("action", "动作", width=8), excel.Column("object_type", "对象类型"),
                  excel.Column("object_id", "对象ID"), excel.Column("object", "对象", width=30),
                  excel.Column("fields", "变更字段", width=40), excel.Column("region", "财政区划"),
                  excel.Column("request_id", "请求号", width=34)]


def event_row(e: BusinessEvent) -> dict:
    return {"time": _local(e.created_at), "name": event_name(e.code), "code": e.code,
            "outcome": OUTCOMES[outcome_of(e.code)], "actor": actor_label(e.actor_name), "ip": e.actor_ip,
            "region": e.region_code, "object_type": e.object_type, "object_id": e.object_id,
            "object": e.object_repr, "message": describe(e), "request_id": e.request_id}


def change_row(c: ChangeLog) -> dict:
    return {"time": _local(c.created_at), "actor": actor_label(c.actor_name), "ip": c.actor_ip,
            "action": c.get_action_display(), "object_type": c.object_type, "object_id": c.object_id,
            "object": c.object_repr, "fields": "、".join(changed_fields(c)), "region": c.region_code, "request_id": c.request_id}
