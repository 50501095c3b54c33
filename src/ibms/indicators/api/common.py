"""What the indicator endpoints share: the one router, the document and indicator schemas, serializers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema

from ibms.core.money import api_fen, fen_to_str
from ibms.core.schemas import schema_from

from .. import selectors
from ..domain import Doc
from ..models import BUCKETS, Indicator, SourceDocument, TransferNotice

router = Router(tags=["指标管理"])

_fen = api_fen


# The document of a movement is the service's own input type (indicators.domain.Doc); `to_service(payload.doc,
# Doc)` turns it back.
DocIn = schema_from(Doc, name="DocIn")


class IndicatorOut(Schema):
    id: int
    code: str
    region_code: str
    year: int
    source_id: int
    source_doc_no: str
    source_kind: str
    parent_id: int | None
    unit_id: int | None
    unit_code: str
    department_id: int | None
    project_id: int | None
    summary: str
    fund_nature_code: str
    exp_func_code: str
    gov_eco_code: str
    dep_eco_code: str
    pay_type_code: str
    source_type_code: str
    bgt_type_code: str
    is_executable: bool
    is_gov_pur: bool
    is_track: bool
    is_sanbao: bool
    is_sangong: bool
    rec_region_code: str
    adj_batch_no: str
    amount: str
    available: str
    reserved: str
    spent: str
    frozen: str
    allotted: str


class IndicatorPage(Schema):
    count: int
    items: list[IndicatorOut]


class NoticeOut(Schema):
    id: int
    number: str
    region_code: str
    from_region_code: str
    year: int
    kind: str
    transfer_type: str
    upper_indicator_code: str
    upper_doc_no: str
    upper_doc_title: str
    amount: str
    fund_nature_code: str
    exp_func_code: str
    gov_eco_code: str
    dep_eco_code: str
    is_gov_pur: bool
    is_track: bool
    is_sanbao: bool
    notice_date: dt.date
    approval_date: dt.date | None
    due_date: dt.date | None
    is_late: bool
    status: str
    received_indicator_id: int | None


class SourceOut(Schema):
    id: int
    region_code: str
    year: int
    kind: str
    doc_no: str
    title: str
    doc_date: dt.date
    upper_doc_no: str
    adj_batch_no: str


def _ind(i: Indicator) -> dict[str, Any]:
    return {**{f: getattr(i, f) for f in (
        "id", "code", "region_code", "year", "source_id", "parent_id", "unit_id", "department_id", "project_id",
        "summary", "fund_nature_code", "exp_func_code", "gov_eco_code", "dep_eco_code", "pay_type_code",
        "source_type_code", "bgt_type_code", "is_executable", "is_gov_pur", "is_track", "is_sanbao", "is_sangong",
        "rec_region_code", "adj_batch_no")},
            "source_doc_no": i.source.doc_no, "source_kind": i.source.kind, "unit_code": i.unit.code if i.unit else "",
            **{b: fen_to_str(getattr(i, b)) for b in ("amount", *BUCKETS)}}


def _notice(n: TransferNotice) -> dict[str, Any]:
    return {**{f: getattr(n, f) for f in (
        "id", "number", "region_code", "from_region_code", "year", "kind", "transfer_type", "upper_indicator_code",
        "upper_doc_no", "upper_doc_title", "fund_nature_code", "exp_func_code", "gov_eco_code", "dep_eco_code",
        "is_gov_pur", "is_track", "is_sanbao", "notice_date", "approval_date", "due_date", "is_late", "status",
        "received_indicator_id")}, "amount": fen_to_str(n.amount)}


def _src(s: SourceDocument) -> dict[str, Any]:
    return {f: getattr(s, f) for f in ("id", "region_code", "year", "kind", "doc_no", "title", "doc_date",
                                       "upper_doc_no", "adj_batch_no")}


def _moved(pk: int, request) -> dict[str, Any]:
    return _ind(selectors.indicator_get(actor=request.auth, pk=pk))
