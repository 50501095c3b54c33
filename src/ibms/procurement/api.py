"""/api/v1/procurement/: 采购计划 (list, detail with its freeze entries, create, update, submit, review, cancel) and
the 采购目录. Thin: parse, call one service or selector, serialize. Money as yuan strings; errors are
{"code","message","detail"} with stable codes (indicator_not_procurement, overdraw, method_above_threshold,
split_purchase, not_editable, not_submitted, comment_required, workflow_role, segregation_of_duties …). Contracts
are filed against a plan at /api/v1/treasury/contracts (`plan_id`)."""

from __future__ import annotations

from ninja import Router, Schema, Status

from ibms.core.money import fen_to_str
from ibms.core.paging import Limit, Offset, window
from ibms.core.schemas import schema_from, to_service
from ibms.core.scoping import get_in_scope

from . import rules, selectors, services
from .domain import PlanIn
from .models import ProcurementPlan

router = Router(tags=["政府采购"])
PlanInSchema = schema_from(PlanIn, name="ProcurementPlanIn")


class ProcurementPlanOut(Schema):
    id: int
    number: str
    name: str
    region_code: str
    year: int
    unit_id: int
    indicator_id: int
    catalogue_code: str
    catalogue_name: str
    asset_class: str
    method: str
    quantity: int
    amount: str
    frozen: str
    contract_amount: str
    drawn: str
    released: str
    status: str
    status_display: str
    current_step: int
    warnings: list[dict]
    review_comment: str


class ProcurementPlanPage(Schema):
    count: int
    items: list[ProcurementPlanOut]


class ProcurementEntryOut(Schema):
    kind: str
    d_frozen: str
    d_available: str
    memo: str
    doc_no: str


class PlanDetail(ProcurementPlanOut):
    entries: list[ProcurementEntryOut]


class ProcurementReviewIn(Schema):
    approve: bool
    comment: str = ""


class ProcurementCancelIn(Schema):
    reason: str = ""


class ProcurementCatalogueOut(Schema):
    code: str
    name: str
    kind: str
    asset_class: str


def plan_out(p: ProcurementPlan) -> dict:
    return {"id": p.pk, "number": p.number, "name": p.name, "region_code": p.region_code, "year": p.year,
            "unit_id": p.unit_id, "indicator_id": p.indicator_id, "catalogue_code": p.catalogue_code,
            "catalogue_name": p.catalogue_name, "asset_class": p.asset_class, "method": p.method,
            "quantity": p.quantity, "amount": fen_to_str(p.amount), "frozen": fen_to_str(p.frozen),
            "contract_amount": fen_to_str(p.contract_amount), "drawn": fen_to_str(p.drawn),
            "released": fen_to_str(p.released), "status": p.status, "status_display": p.get_status_display(),
            "current_step": p.current_step, "warnings": p.warnings or [], "review_comment": p.review_comment}


@router.get("/catalogue", response=list[ProcurementCatalogueOut], summary="采购目录", operation_id="procurement_catalogue")
def catalogue(request):
    return [vars(i) for i in rules.catalogue().values()]


@router.get("/plans", response=ProcurementPlanPage, summary="采购计划列表", operation_id="procurement_plan_list")
def plan_list(request, status: str = "", q: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.plan_list(actor=request.auth, status=status, q=q)
    return {"count": qs.count(), "items": [plan_out(p) for p in window(qs, limit, offset)]}


@router.get("/plans/{pk}", response=PlanDetail, summary="采购计划详情（含指标冻结分录）",
            operation_id="procurement_plan_get")
def plan_get(request, pk: int):
    p = get_in_scope(ProcurementPlan.objects.all(), request.auth, what="采购计划", pk=pk)
    entries = [{"kind": e.kind, "d_frozen": fen_to_str(e.d_frozen), "d_available": fen_to_str(e.d_available),
                "memo": e.memo, "doc_no": e.doc_no} for e in selectors.plan_entries(p)]
    return {**plan_out(p), "entries": entries}


@router.post("/plans", response={201: ProcurementPlanOut}, summary="录入采购计划", operation_id="procurement_plan_create")
def plan_create(request, payload: PlanInSchema):
    return Status(201, plan_out(services.plan_create(actor=request.auth, data=to_service(payload, PlanIn))))


@router.put("/plans/{pk}", response=ProcurementPlanOut, summary="修改采购计划", operation_id="procurement_plan_update")
def plan_update(request, pk: int, payload: PlanInSchema):
    return plan_out(services.plan_update(actor=request.auth, pk=pk, data=to_service(payload, PlanIn)))


@router.post("/plans/{pk}/submit", response=ProcurementPlanOut, summary="提交采购计划", operation_id="procurement_plan_submit")
def plan_submit(request, pk: int):
    return plan_out(services.plan_submit(actor=request.auth, pk=pk))


@router.post("/plans/{pk}/review", response=ProcurementPlanOut, summary="审核采购计划（批准即冻结指标）",
             operation_id="procurement_plan_review")
def plan_review(request, pk: int, payload: ProcurementReviewIn):
    return plan_out(services.plan_review(actor=request.auth, pk=pk, approve=payload.approve,
                                         comment=payload.comment))


@router.post("/plans/{pk}/cancel", response=ProcurementPlanOut, summary="作废采购计划（已批准的解冻）",
             operation_id="procurement_plan_cancel")
def plan_cancel(request, pk: int, payload: ProcurementCancelIn):
    return plan_out(services.plan_cancel(actor=request.auth, pk=pk, reason=payload.reason))
