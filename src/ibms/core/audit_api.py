"""/api/v1/audit/: the audit log for the audit administrator — business events and row changes, filtered as on
the page (the same FilterSets: who, what, object type and id, date range, outcome, category), newest first, paged
by limit/offset. Hashes of passwords and tokens are masked in the before/after states."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Query, Router, Schema

from .audit_filtersets import ChangeFilter, EventFilter
from .audit_names import event_name, outcome_of
from .audit_tables import changed_fields, redact
from .errors import ValidationFailed, Violation
from .paging import Limit, Offset, window
from .selectors import audit_changes, audit_events

router = Router(tags=["审计日志"])

Actor = Annotated[str, Query(max_length=150, description="操作人用户名")]
ObjectType = Annotated[str, Query(max_length=100, description="对象类型，如 iam.user")]
ObjectId = Annotated[str, Query(max_length=64, description="对象ID")]
DateFrom = Annotated[dt.date | None, Query(description="起始日期（含）")]
DateTo = Annotated[dt.date | None, Query(description="截止日期（含）")]
Code = Annotated[str, Query(max_length=80, description="事件代码、代码前缀（如 iam.）或事件名称")]


class AuditEventOut(Schema):
    id: int
    created_at: dt.datetime
    code: str
    name: str  # the event's Chinese name
    outcome: Literal["allowed", "denied"]
    actor_name: str
    actor_ip: str
    request_id: str
    region_code: str
    object_type: str
    object_id: str
    object_repr: str
    message: str
    payload: dict[str, Any]


class AuditEventPage(Schema):
    count: int
    items: list[AuditEventOut]


class AuditChangeOut(Schema):
    id: int
    created_at: dt.datetime
    action: Literal["create", "update", "delete"]
    actor_name: str
    actor_ip: str
    request_id: str
    region_code: str
    object_type: str
    object_id: str
    object_repr: str
    fields: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditChangePage(Schema):
    count: int
    items: list[AuditChangeOut]


def _filtered(filter_class, queryset, params: dict[str, Any]):
    """The FilterSet's rows; an invalid combination (dates the wrong way round) is a 422 naming the field."""
    data = {k: str(v) for k, v in params.items() if v not in ("", None)}
    fs = filter_class(data, queryset=queryset)
    if not fs.is_valid():
        raise ValidationFailed([Violation("invalid_filter", str(e), name) for name, errors in fs.errors.items()
                                for e in errors], message="查询条件不正确")
    return fs.qs


def _common(e) -> dict[str, Any]:
    return {k: getattr(e, k) for k in ("id", "created_at", "actor_name", "actor_ip", "request_id", "region_code",
                                        "object_type", "object_id", "object_repr")}


@router.get("/events", response=AuditEventPage, summary="业务事件（审计）", operation_id="audit_event_list")
def list_events(request, actor: Actor = "", code: Code = "",
                object_type: ObjectType = "", object_id: ObjectId = "", date_from: DateFrom = None,
                date_to: DateTo = None, outcome: Literal["", "allowed", "denied"] = "",
                category: Literal["", "business", "login", "denied", "all"] = "",
                limit: Limit = 50, offset: Offset = 0):
    qs = _filtered(EventFilter, audit_events(actor=request.auth), {
        "actor": actor, "code": code, "object_type": object_type, "object_id": object_id, "date_from": date_from,
        "date_to": date_to, "outcome": outcome, "category": category})
    items = [{**_common(e), "code": e.code, "name": event_name(e.code), "outcome": outcome_of(e.code),
              "message": e.message, "payload": e.payload or {}} for e in window(qs, limit, offset)]
    return {"count": qs.count(), "items": items}


@router.get("/changes", response=AuditChangePage, summary="数据变更（审计）", operation_id="audit_change_list")
def list_changes(request, actor: Actor = "", action: Literal["", "create", "update", "delete"] = "",
                 object_type: ObjectType = "", object_id: ObjectId = "", date_from: DateFrom = None,
                 date_to: DateTo = None, limit: Limit = 50, offset: Offset = 0):
    qs = _filtered(ChangeFilter, audit_changes(actor=request.auth), {
        "actor": actor, "action": action, "object_type": object_type, "object_id": object_id,
        "date_from": date_from, "date_to": date_to})
    items = [{**_common(c), "action": c.action, "fields": changed_fields(c), "before": redact(c.before),
              "after": redact(c.after)} for c in window(qs, limit, offset)]
    return {"count": qs.count(), "items": items}
