"""/api/v1/indicators/ 调剂 (reallocations: submit, review, read) and transfer notices (read, receive)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema, Status

from ibms.core.money import fen_to_str
from ibms.core.paging import Limit, Offset, window
from ibms.core.schemas import schema_from, to_service

from .. import selectors, services
from ..domain import ReallocIn
from ..models import Reallocation
from .common import IndicatorOut, NoticeOut, _fen, _moved, _notice, router

# --- 调剂 -------------------------------------------------------------------------------------------------------------

class OutLineIn(Schema):
    indicator_id: int
    amount: str


InLineIn = schema_from(ReallocIn, name="InLineIn")


class ReallocationIn(Schema):
    reason: str
    outs: list[OutLineIn]
    ins: list[InLineIn]


class ReallocLineOut(Schema):
    direction: str
    indicator_id: int | None
    amount: str
    unit_id: int | None
    result_id: int | None


class ReallocationOut(Schema):
    id: int
    number: str
    region_code: str
    year: int
    reason: str
    amount: str
    status: str
    submitted_by: str
    reviewed_by: str
    review_comment: str
    source_doc_no: str
    lines: list[ReallocLineOut]


class ReviewIn(Schema):
    approve: bool
    comment: str = ""


def _realloc(r: Reallocation) -> dict[str, Any]:
    return {"id": r.pk, "number": r.number, "region_code": r.region_code, "year": r.year, "reason": r.reason,
            "amount": fen_to_str(r.amount), "status": r.status,
            "submitted_by": r.submitted_by.get_username() if r.submitted_by_id else "",
            "reviewed_by": r.reviewed_by.get_username() if r.reviewed_by_id else "",
            "review_comment": r.review_comment, "source_doc_no": r.source.doc_no if r.source_id else "",
            "lines": [{"direction": ln.direction, "indicator_id": ln.indicator_id, "amount": fen_to_str(ln.amount),
                       "unit_id": ln.unit_id, "result_id": ln.result_id} for ln in r.lines.order_by("id")]}


@router.get("/reallocations", response=list[ReallocationOut], summary="指标调剂单", operation_id="reallocation_list")
def list_reallocations(request, status: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.reallocation_list(actor=request.auth, status=status)
    return [_realloc(r) for r in window(qs, limit, offset)]


@router.get("/reallocations/{int:pk}", response=ReallocationOut, summary="调剂单详情", operation_id="reallocation_get")
def get_reallocation(request, pk: int):
    return _realloc(selectors.reallocation_get(actor=request.auth, pk=pk))


@router.post("/reallocations", response={201: ReallocationOut}, summary="提交指标调剂",
             operation_id="reallocation_submit")
def submit_reallocation(request, payload: ReallocationIn):
    r = services.reallocation_submit(
        actor=request.auth, reason=payload.reason,
        outs=[(o.indicator_id, _fen(o.amount, f"outs[{n}].amount")) for n, o in enumerate(payload.outs)],
        ins=[to_service(i, ReallocIn, path=f"ins[{n}]") for n, i in enumerate(payload.ins)])
    return Status(201, _realloc(r))


@router.post("/reallocations/{int:pk}/review", response=ReallocationOut, summary="审核指标调剂",
             operation_id="reallocation_review")
def review_reallocation(request, pk: int, payload: ReviewIn):
    r = services.reallocation_review(actor=request.auth, pk=pk, approve=payload.approve, comment=payload.comment)
    return _realloc(r)


# --- transfer notices -----------------------------------------------------------------------------------------------

class ReceiveIn(Schema):
    doc_no: str
    doc_title: str = ""
    doc_date: dt.date | None = None


@router.get("/transfer-notices", response=list[NoticeOut], summary="转移支付通知（下达与待接收）",
            operation_id="transfer_notice_list")
def list_notices(request, status: str = "", incoming: bool = False, limit: Limit = 50, offset: Offset = 0):
    qs = selectors.transfer_notice_list(actor=request.auth, status=status, incoming_only=incoming)
    return [_notice(n) for n in window(qs, limit, offset)]


@router.get("/transfer-notices/{int:pk}", response=NoticeOut, summary="转移支付通知详情",
            operation_id="transfer_notice_get")
def get_notice(request, pk: int):
    return _notice(selectors.transfer_notice_get(actor=request.auth, pk=pk))


@router.post("/transfer-notices/{int:pk}/receive", response={201: IndicatorOut}, summary="接收上级转移支付",
             operation_id="transfer_notice_receive")
def receive_notice(request, pk: int, payload: ReceiveIn):
    ind = services.transfer_receive(actor=request.auth, notice_id=pk, doc_no=payload.doc_no,
                                    doc_title=payload.doc_title, doc_date=payload.doc_date)
    return Status(201, _moved(ind.pk, request))
