"""/api/v1/indicators/ ledger endpoints: list, get, entries, lineage, source documents, creation and every
movement."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema, Status

from ibms.core import clock
from ibms.core.money import fen_to_str
from ibms.core.paging import Limit, Offset, window
from ibms.core.schemas import schema_from, to_service
from ibms.core.scoping import VIEW, get_in_scope

from .. import selectors, services
from ..domain import Doc, IndicatorSpec, Split
from ..models import BUCKETS, IndicatorEntry, Reservation, SourceDocument, TransferNotice
from .common import (
    DocIn,
    IndicatorOut,
    IndicatorPage,
    NoticeOut,
    SourceOut,
    _fen,
    _ind,
    _moved,
    _notice,
    _src,
    router,
)


class EntryOut(Schema):
    id: int
    kind: str
    kind_display: str
    d_amount: str
    d_available: str
    d_reserved: str
    d_spent: str
    d_frozen: str
    d_allotted: str
    source_id: int | None
    doc_no: str
    counterpart_id: int | None
    counterpart_code: str
    consumer: str
    reservation_id: int | None
    adj_batch_no: str
    memo: str
    actor: str
    created_at: dt.datetime


class NodeOut(Schema):
    id: int | None
    code: str
    region_code: str
    year: int
    amount: str
    visible: bool
    relation: str


class ReservationOut(Schema):
    id: int
    indicator_id: int
    consumer: str
    amount: str
    status: str
    restored: str


class LineageOut(Schema):
    indicator: IndicatorOut
    source: SourceOut
    ancestors: list[NodeOut]
    children: list[NodeOut]
    counterparts: list[NodeOut]
    reservations: list[ReservationOut]
    notices: list[NoticeOut]


def _entry(e: IndicatorEntry) -> dict[str, Any]:
    return {"id": e.pk, "kind": e.kind, "kind_display": e.get_kind_display(),
            **{f"d_{b}": fen_to_str(getattr(e, f"d_{b}")) for b in ("amount", *BUCKETS)},
            "source_id": e.source_id, "doc_no": e.doc_no, "counterpart_id": e.counterpart_id,
            "counterpart_code": e.counterpart.code if e.counterpart_id else "", "consumer": e.consumer,
            "reservation_id": e.reservation_id, "adj_batch_no": e.adj_batch_no, "memo": e.memo,
            "actor": e.actor.get_username() if e.actor_id else "", "created_at": e.created_at}


def _node(n: selectors.Node) -> dict[str, Any]:
    return {"id": n.pk, "code": n.code, "region_code": n.region_code, "year": n.year, "amount": fen_to_str(n.amount),
            "visible": n.visible, "relation": n.relation}


def _res(r: Reservation) -> dict[str, Any]:
    return {"id": r.pk, "indicator_id": r.indicator_id, "consumer": r.consumer, "amount": fen_to_str(r.amount),
            "status": r.status, "restored": fen_to_str(r.restored)}


# --- the ledger -------------------------------------------------------------------------------------------------

@router.get("/", response=IndicatorPage, summary="指标列表（数据权限范围内）", operation_id="indicator_list")
def list_indicators(request, year: int | None = None, region_code: str = "", unit_code: str = "",
                    department_code: str = "", source_kind: str = "", fund_nature_code: str = "",
                    exp_func_code: str = "", flag: str = "", executable: bool | None = None, q: str = "",
                    limit: Limit = 50, offset: Offset = 0):
    qs = selectors.indicator_list(actor=request.auth, year=year, region_code=region_code, unit_code=unit_code,
                                  department_code=department_code, source_kind=source_kind,
                                  fund_nature_code=fund_nature_code, exp_func_code=exp_func_code,
                                  flags=[x for x in flag.split(",") if x], executable=executable, q=q)
    return {"count": qs.count(), "items": [_ind(i) for i in window(qs, limit, offset)]}


@router.get("/{int:pk}", response=IndicatorOut, summary="指标详情", operation_id="indicator_get")
def get_indicator(request, pk: int):
    return _ind(selectors.indicator_get(actor=request.auth, pk=pk))


@router.get("/{int:pk}/entries", response=list[EntryOut], summary="指标变动明细", operation_id="indicator_entries")
def get_entries(request, pk: int, limit: Limit = 200, offset: Offset = 0):
    qs = selectors.indicator_entries(actor=request.auth, pk=pk)
    return [_entry(e) for e in window(qs, limit, offset)]


@router.get("/{int:pk}/lineage", response=LineageOut, summary="指标来源与去向", operation_id="indicator_lineage")
def get_lineage(request, pk: int):
    lin = selectors.indicator_lineage(actor=request.auth, pk=pk)
    return {"indicator": _ind(lin.indicator), "source": _src(lin.source),
            "ancestors": [_node(n) for n in lin.ancestors], "children": [_node(n) for n in lin.children],
            "counterparts": [_node(n) for n in lin.counterparts],
            "reservations": [_res(r) for r in lin.reservations], "notices": [_notice(n) for n in lin.notices]}


# --- creation -------------------------------------------------------------------------------------------------------

class SourceIn(DocIn):
    region_code: str
    year: int
    kind: str


# One indicator to create is the service's IndicatorSpec (the source and budget-type codes follow the document's
# kind: not offered here).
SpecIn = schema_from(IndicatorSpec, name="SpecIn", exclude=("source_type_code", "bgt_type_code"))


class CreateIn(Schema):
    source_id: int
    specs: list[SpecIn]


@router.get("/source-documents", response=list[SourceOut], summary="指标来源文件", operation_id="indicator_sources")
def list_sources(request, year: int | None = None, kind: str = "", q: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.source_document_list(actor=request.auth, year=year, kind=kind, q=q)
    return [_src(s) for s in window(qs, limit, offset)]


@router.post("/source-documents", response={201: SourceOut}, summary="登记来源文件",
             operation_id="indicator_source_create")
def create_source(request, payload: SourceIn):
    src = services.source_document_create(
        actor=request.auth, region_code=payload.region_code, year=payload.year, kind=payload.kind,
        doc_no=payload.doc_no, title=payload.title, doc_date=payload.doc_date or clock.today(payload.region_code),
        upper_doc_no=payload.upper_doc_no, adj_batch_no=payload.adj_batch_no)
    return Status(201, _src(src))


@router.post("/", response={201: list[IndicatorOut]}, summary="依据来源文件生成指标", operation_id="indicator_create")
def create_indicators(request, payload: CreateIn):
    source = get_in_scope(SourceDocument.objects, request.auth, VIEW, what="来源文件", pk=payload.source_id)
    specs = [to_service(s, IndicatorSpec, path=f"specs[{n}]") for n, s in enumerate(payload.specs)]
    rows = services.indicators_create(actor=request.auth, source=source, specs=specs)
    return Status(201, [_ind(i) for i in selectors.indicators_written(rows)])


# --- movements ----------------------------------------------------------------------------------------------------

class AmountIn(Schema):
    amount: str
    doc: DocIn
    memo: str = ""


class IncreaseIn(AmountIn):
    kind: str = SourceDocument.Kind.SUPPLEMENT


class AdjustIn(Schema):
    delta: str
    doc: DocIn
    memo: str = ""


SplitIn = schema_from(Split, name="SplitIn")


class DistributeIn(Schema):
    doc: DocIn
    splits: list[SplitIn]


class TransferIn(Schema):
    rec_region_code: str
    amount: str
    doc: DocIn
    kind: str = TransferNotice.Kind.FORMAL
    transfer_type: str = TransferNotice.TransferType.SPECIAL
    notice_date: dt.date | None = None


class CarryIn(Schema):
    indicator_ids: list[int]
    doc: DocIn


@router.post("/{int:pk}/distribute", response={201: list[IndicatorOut]}, summary="待分指标分配",
             operation_id="indicator_distribute")
def distribute(request, pk: int, payload: DistributeIn):
    splits = [to_service(s, Split, path=f"splits[{n}]") for n, s in enumerate(payload.splits)]
    kids = services.indicator_distribute(actor=request.auth, indicator_id=pk, splits=splits,
                                         doc=to_service(payload.doc, Doc))
    return Status(201, [_ind(i) for i in selectors.indicators_written(kids)])


@router.post("/{int:pk}/increase", response=IndicatorOut, summary="追加", operation_id="indicator_increase")
def increase(request, pk: int, payload: IncreaseIn):
    services.indicator_increase(actor=request.auth, indicator_id=pk, amount=_fen(payload.amount),
                                doc=to_service(payload.doc, Doc), kind=payload.kind, memo=payload.memo)
    return _moved(pk, request)


@router.post("/{int:pk}/decrease", response=IndicatorOut, summary="追减", operation_id="indicator_decrease")
def decrease(request, pk: int, payload: AmountIn):
    services.indicator_decrease(actor=request.auth, indicator_id=pk, amount=_fen(payload.amount),
                                doc=to_service(payload.doc, Doc), memo=payload.memo)
    return _moved(pk, request)


@router.post("/{int:pk}/adjust", response=IndicatorOut, summary="预算调整（人大批准，带调整批次号）",
             operation_id="indicator_adjust")
def adjust(request, pk: int, payload: AdjustIn):
    services.indicator_adjust(actor=request.auth, indicator_id=pk, delta=_fen(payload.delta, "delta"),
                              doc=to_service(payload.doc, Doc), memo=payload.memo)
    return _moved(pk, request)


@router.post("/{int:pk}/freeze", response=IndicatorOut, summary="冻结", operation_id="indicator_freeze")
def freeze(request, pk: int, payload: AmountIn):
    services.indicator_freeze(actor=request.auth, indicator_id=pk, amount=_fen(payload.amount),
                              doc=to_service(payload.doc, Doc), reason=payload.memo)
    return _moved(pk, request)


@router.post("/{int:pk}/unfreeze", response=IndicatorOut, summary="解冻", operation_id="indicator_unfreeze")
def unfreeze(request, pk: int, payload: AmountIn):
    services.indicator_unfreeze(actor=request.auth, indicator_id=pk, amount=_fen(payload.amount),
                                doc=to_service(payload.doc, Doc), reason=payload.memo)
    return _moved(pk, request)


@router.post("/{int:pk}/recall", response=IndicatorOut, summary="收回", operation_id="indicator_recall")
def recall(request, pk: int, payload: AmountIn):
    services.indicator_recall(actor=request.auth, indicator_id=pk, amount=_fen(payload.amount),
                              doc=to_service(payload.doc, Doc), memo=payload.memo)
    return _moved(pk, request)


@router.post("/{int:pk}/transfer", response={201: NoticeOut}, summary="转移支付下达（对下级区划）",
             operation_id="indicator_transfer_allot")
def transfer(request, pk: int, payload: TransferIn):
    notice = services.transfer_allot(actor=request.auth, indicator_id=pk, rec_region_code=payload.rec_region_code,
                                     amount=_fen(payload.amount), doc=to_service(payload.doc, Doc),
                                     kind=payload.kind, transfer_type=payload.transfer_type,
                                     notice_date=payload.notice_date)
    return Status(201, _notice(notice))


@router.post("/carry-over", response={201: list[IndicatorOut]}, summary="年末结转", operation_id="indicator_carry_over")
def carry_over(request, payload: CarryIn):
    news = services.indicator_carry_over(actor=request.auth, indicator_ids=payload.indicator_ids,
                                         doc=to_service(payload.doc, Doc))
    return Status(201, [_ind(i) for i in selectors.indicators_written(news)])
