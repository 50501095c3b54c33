"""Request and response schemas of /api/v1/budgeting/ (money as yuan strings). The line and ceiling schemas are
the services' own input types (`LineData`, `CeilingData`, built by `core.schemas.schema_from`); the others mirror
services that take keyword arguments, not a dataclass, and are written here."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from ninja import Schema
from pydantic import create_model

from ibms.core.errors import ValidationFailed
from ibms.core.schemas import schema_from, to_service

from .services import CeilingData, LineData


def service_input(payload, dc: type, **overrides):
    """`core.schemas.to_service`, with this API's documented code for an amount that is not a yuan amount:
    `amount_invalid` (core's is `money_invalid`)."""
    try:
        return to_service(payload, dc, **overrides)
    except ValidationFailed as exc:
        raise ValidationFailed([replace(v, code="amount_invalid") if v.code == "money_invalid" else v
                                for v in exc.violations]) from exc


class RoundIn(Schema):
    year: int
    name: str = ""


class RoundOut(Schema):
    id: int
    region_code: str
    year: int
    name: str
    stage: str
    stage_display: str
    open_version: str | None
    approval_doc_no: str
    approval_date: dt.date | None
    reply_doc_no: str
    reply_date: dt.date | None
    dept_reply_days: int
    unit_reply_days: int


class ApprovalIn(Schema):
    doc_no: str
    approval_date: dt.date


class ReplyIn(Schema):
    doc_no: str
    title: str = ""
    doc_date: dt.date


LineIn = schema_from(LineData, name="LineIn")

# A partial update: LineIn with every field optional; the fields given replace the line's (`exclude_unset`).
# schema_from has no partial form (its fields keep the dataclass's defaults), so the schema is derived from LineIn.
LinePatch = create_model("LinePatch", __base__=Schema,
                         **{name: (f.annotation | None, None) for name, f in LineIn.model_fields.items()})


class LineOut(Schema):
    id: int
    round_id: int
    version: str
    region_code: str
    unit_id: int
    unit_code: str
    department_id: int
    project_id: int | None
    project_code: str
    direction: str
    exp_kind: str
    revenue_code: str
    fund_nature_code: str
    exp_func_code: str
    dep_eco_code: str
    gov_eco_code: str
    amount: str
    is_gov_pur: bool
    is_sangong: bool
    is_transfer: bool
    sub_region_code: str
    transfer_type_code: str
    remark: str
    indicator_id: int | None


class LinePage(Schema):
    count: int
    total: str
    items: list[LineOut]


class SubmissionUnitIn(Schema):
    unit_id: int


class GenerateOut(Schema):
    created: int
    items: list[LineOut]


class SubmissionOut(Schema):
    id: int
    round_id: int
    version: str
    unit_id: int
    unit_code: str
    is_department: bool
    status: str
    status_display: str
    expenditure_total: str
    revenue_total: str
    submitted_by_id: int | None
    review_comment: str


class ReasonIn(Schema):
    reason: str = ""


CeilingIn = schema_from(CeilingData, name="CeilingIn")


class CeilingOut(Schema):
    id: int
    round_id: int
    department_id: int
    department_code: str
    fund_nature_code: str
    amount: str
    remark: str


class CeilingUseOut(Schema):
    department_id: int
    fund_nature_code: str
    fund_nature_name: str
    ceiling: str
    used: str
    remaining: str
    exceeded: bool


class CompareOut(Schema):
    level: str
    label: str
    department_id: int | None
    unit_id: int | None
    project_id: int | None
    fund_nature_code: str
    exp_func_code: str
    dep_eco_code: str
    gov_eco_code: str
    first_up: str
    second_up: str
    reply: str
    diff_second_first: str
    diff_reply_second: str


class UnitReplyIn(Schema):
    department_id: int
    reply_date: dt.date
    doc_no: str = ""
    unit_ids: list[int] | None = None


class ReplyOut(Schema):
    id: int
    round_id: int
    level: str
    unit_id: int
    unit_code: str
    department_id: int
    amount: str
    due_date: dt.date | None
    reply_date: dt.date | None
    doc_no: str
    is_late: bool
