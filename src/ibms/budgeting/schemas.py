"""Request and response schemas of /api/v1/budgeting/ (money as yuan strings)."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


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


class LineIn(Schema):
    direction: str = "expenditure"
    unit_id: int | None = None
    project_id: int | None = None
    revenue_code: str = ""
    fund_nature_code: str = ""
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""
    amount: str
    is_gov_pur: bool | None = None
    sub_region_code: str = ""
    transfer_type_code: str = ""
    remark: str = ""


class LinePatch(Schema):
    direction: str | None = None
    unit_id: int | None = None
    project_id: int | None = None
    revenue_code: str | None = None
    fund_nature_code: str | None = None
    exp_func_code: str | None = None
    dep_eco_code: str | None = None
    gov_eco_code: str | None = None
    amount: str | None = None
    is_gov_pur: bool | None = None
    sub_region_code: str | None = None
    transfer_type_code: str | None = None
    remark: str | None = None


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


class UnitIn(Schema):
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


class CeilingIn(Schema):
    department_id: int
    fund_nature_code: str = ""
    amount: str
    remark: str = ""


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
