"""/api/v1/procurement/: 采购计划 (list, detail with its freeze entries, create, update, submit, review, cancel) and
the 采购目录. Thin: parse, call one service or selector, serialize. Money as yuan strings; errors are
{"code","message","detail"} with stable codes (indicator_not_procurement, overdraw, method_above_threshold,
split_purchase, not_editable, not_submitted, comment_required, workflow_role, segregation_of_duties …). Contracts
are filed against a plan at /api/v1/treasury/contracts (`plan_id`); their 合同变更/终止 documents are here
(/contracts/{id}/changes, /changes/{id}: contract_exceeds_plan, contract_below_committed, overdraw,
paid_milestones_exceed, change_not_submitted, change_pending …)."""

from __future__ import annotations

from ninja import Router, Schema, Status

from ibms.core.money import api_fen, fen_to_str
from ibms.core.paging import Limit, Offset, window
from ibms.core.schemas import schema_from, to_service
from ibms.core.scoping import get_in_scope

from . import changes, hooks, rules, selectors, services
from .domain import PlanIn
from .models import ContractChange, ProcurementPlan

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


# --- 合同变更 / 合同终止 ------------------------------------------------------------------------------------------

class ProcurementChangeMilestoneIn(Schema):
    name: str
    amount: str


class ProcurementChangeIn(Schema):
    kind: str  # amount | schedule | terminate
    reason: str
    new_amount: str = ""  # 金额变更: the contract's new amount (元)
    milestones: list[ProcurementChangeMilestoneIn] = []  # the new unpaid periods (paid periods are kept)


class ProcurementChangeMilestoneOut(Schema):
    name: str
    amount: str


class ProcurementChangeOut(Schema):
    id: int
    number: str
    kind: str
    kind_display: str
    contract_id: int
    plan_id: int
    old_amount: str
    new_amount: str
    new_schedule: list[ProcurementChangeMilestoneOut]
    reason: str
    status: str
    status_display: str
    released: str
    review_comment: str
    created_by_id: int | None
    reviewed_by_id: int | None


def change_out(c: ContractChange) -> dict:
    return {"id": c.pk, "number": c.number, "kind": c.kind, "kind_display": c.get_kind_display(),
            "contract_id": c.contract_id, "plan_id": c.plan_id, "old_amount": fen_to_str(c.old_amount),
            "new_amount": fen_to_str(c.new_amount), "reason": c.reason, "status": c.status,
            "new_schedule": [{"name": m["name"], "amount": fen_to_str(int(m["amount"]))} for m in c.new_schedule or []],
            "status_display": c.get_status_display(), "released": fen_to_str(c.released),
            "review_comment": c.review_comment, "created_by_id": c.created_by_id, "reviewed_by_id": c.reviewed_by_id}


@router.get("/contracts/{contract_id}/changes", response=list[ProcurementChangeOut], summary="合同的变更与终止",
            operation_id="procurement_change_list")
def change_list(request, contract_id: int):
    hooks.contract_port().find(request.auth, contract_id, write=False)  # out of scope: 404
    return [change_out(c) for c in selectors.changes_for_contract(actor=request.auth, contract_id=contract_id)]


@router.post("/contracts/{contract_id}/changes", response={201: ProcurementChangeOut}, summary="提出合同变更或终止",
             operation_id="procurement_change_create")
def change_create(request, contract_id: int, payload: ProcurementChangeIn):
    data = changes.ChangeIn(kind=payload.kind, reason=payload.reason,
                            new_amount=api_fen(payload.new_amount, "new_amount", blank=0) or 0,
                            milestones=[(m.name, api_fen(m.amount, f"milestones[{n}].amount"))
                                        for n, m in enumerate(payload.milestones)])
    return Status(201, change_out(changes.change_create(actor=request.auth, contract_id=contract_id, data=data)))


@router.get("/changes/{pk}", response=ProcurementChangeOut, summary="合同变更详情", operation_id="procurement_change_get")
def change_get(request, pk: int):
    return change_out(get_in_scope(ContractChange.objects.all(), request.auth, what="合同变更", pk=pk))


@router.post("/changes/{pk}/submit", response=ProcurementChangeOut, summary="提交合同变更或终止",
             operation_id="procurement_change_submit")
def change_submit(request, pk: int):
    return change_out(changes.change_submit(actor=request.auth, pk=pk))


@router.post("/changes/{pk}/review", response=ProcurementChangeOut, summary="审核合同变更或终止（批准即调整合同与冻结）",
             operation_id="procurement_change_review")
def change_review(request, pk: int, payload: ProcurementReviewIn):
    return change_out(changes.change_review(actor=request.auth, pk=pk, approve=payload.approve,
                                            comment=payload.comment))
