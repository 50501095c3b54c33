"""/api/v1/projects/: the project library. Thin: parse, call one service or selector, serialize. Money travels
as decimal yuan strings; errors are {"code","message","detail"} (shared handler)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import partial

from ninja import Router, Schema, Status

from ibms.core.errors import ValidationFailed, Violation
from ibms.core.money import api_fen, fen_to_str
from ibms.core.paging import MAX_LIMIT, Limit, Offset, window

from . import selectors, services
from .domain import CostLineData, NeedData, ProjectData, TargetData
from .models import Project

router = Router(tags=["项目库"])


class PlanIn(Schema):
    year: int
    amount: str | None = None  # yuan; null = take the year's cost estimate


class CostLineIn(Schema):
    year: int
    item: str
    standard_id: int | None = None
    unit_price: str = "0"  # yuan; ignored when a standard is chosen
    quantity: str = "1"
    frequency: str = "1"
    measure: str = ""
    dep_eco_code: str = ""


class TargetIn(Schema):
    kind: str
    name: str
    value: str
    measure: str = ""
    sub_kind: str = ""
    operator: str = "≥"


class NeedIn(Schema):
    kind: str
    item: str
    quantity: str = "1"
    unit_price: str = "0"
    catalogue_code: str = ""
    standard_id: int | None = None
    existing_quantity: str = "0"
    remark: str = ""


class ProjectIn(Schema):
    unit_id: int
    name: str
    category: str
    start_year: int
    end_year: int
    level: int = 2
    parent_id: int | None = None
    is_transfer: bool = False
    transfer_region_code: str = ""
    fund_nature_code: str = ""
    exp_func_code: str = ""
    dep_eco_code: str = ""
    is_gov_pur: bool = False
    description: str = ""
    basis: str = ""
    year_plans: list[PlanIn] = []
    cost_lines: list[CostLineIn] = []
    targets: list[TargetIn] = []
    needs: list[NeedIn] = []


class PlanOut(Schema):
    year: int
    amount: str


class CostLineOut(Schema):
    year: int
    item: str
    standard_code: str
    unit_price: str
    quantity: str
    frequency: str
    amount: str
    dep_eco_code: str
    formula: str


class TargetOut(Schema):
    kind: str
    name: str
    operator: str
    value: str
    measure: str


class NeedOut(Schema):
    kind: str
    item: str
    quantity: str
    unit_price: str
    amount: str


class ReviewOut(Schema):
    step: str
    action: str
    actor: str
    from_status: str
    to_status: str
    reason: str
    score: str | None
    at: dt.datetime


class ProjectOut(Schema):
    id: int
    code: str
    region_code: str
    year: int
    name: str
    unit_id: int
    unit_code: str
    department_id: int
    category: str
    category_display: str
    level: int
    parent_id: int | None
    is_transfer: bool
    transfer_region_code: str
    start_year: int
    end_year: int
    fund_nature_code: str
    exp_func_code: str
    dep_eco_code: str
    is_gov_pur: bool
    status: str
    status_display: str
    priority: int
    total_amount: str
    origin: str
    year_plans: list[PlanOut]


class ProjectDetailOut(ProjectOut):
    review_step: int
    expert_score: str | None
    cost_lines: list[CostLineOut]
    targets: list[TargetOut]
    needs: list[NeedOut]
    reviews: list[ReviewOut]


class ProjectPage(Schema):
    count: int
    items: list[ProjectOut]


class ProjectReviewIn(Schema):
    decision: str  # approve | return
    reason: str = ""
    score: str | None = None


class RankIn(Schema):
    department_id: int
    ordered_ids: list[int]


class RankOut(Schema):
    changed: int


class GenerateIn(Schema):
    unit_id: int
    year: int


_fen = partial(api_fen, blank=None, code="amount_invalid")

def _dec(text: str, field: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValidationFailed([Violation("number_invalid", f"不是有效的数字：{text}", field)])
    if not value.is_finite():
        raise ValidationFailed([Violation("number_invalid", f"不是有效的数字：{text}", field)])
    return value


def _data(p: ProjectIn) -> ProjectData:
    return ProjectData(
        unit_id=p.unit_id, name=p.name, category=p.category, start_year=p.start_year, end_year=p.end_year,
        level=p.level, parent_id=p.parent_id, is_transfer=p.is_transfer, transfer_region_code=p.transfer_region_code,
        fund_nature_code=p.fund_nature_code, exp_func_code=p.exp_func_code, dep_eco_code=p.dep_eco_code,
        is_gov_pur=p.is_gov_pur, description=p.description, basis=p.basis,
        year_plans={y.year: _fen(y.amount, "year_plans") for y in p.year_plans},
        cost_lines=[CostLineData(year=c.year, item=c.item, standard_id=c.standard_id,
                                 unit_price=_fen(c.unit_price, "cost_lines") or 0,
                                 quantity=_dec(c.quantity, "cost_lines"), frequency=_dec(c.frequency, "cost_lines"),
                                 measure=c.measure, dep_eco_code=c.dep_eco_code) for c in p.cost_lines],
        targets=[TargetData(kind=t.kind, name=t.name, value=t.value, measure=t.measure, sub_kind=t.sub_kind,
                            operator=t.operator) for t in p.targets],
        needs=[NeedData(kind=n.kind, item=n.item, quantity=_dec(n.quantity, "needs"),
                        unit_price=_fen(n.unit_price, "needs") or 0, catalogue_code=n.catalogue_code,
                        standard_id=n.standard_id, existing_quantity=_dec(n.existing_quantity, "needs"),
                        remark=n.remark) for n in p.needs])


def _out(p: Project) -> dict:
    return {"id": p.pk, "code": p.code, "region_code": p.region_code, "year": p.year, "name": p.name,
            "unit_id": p.unit_id, "unit_code": p.unit.code, "department_id": p.department_id,
            "category": p.category, "category_display": p.get_category_display(), "level": p.level,
            "parent_id": p.parent_id, "is_transfer": p.is_transfer, "transfer_region_code": p.transfer_region_code,
            "start_year": p.start_year, "end_year": p.end_year, "fund_nature_code": p.fund_nature_code,
            "exp_func_code": p.exp_func_code, "dep_eco_code": p.dep_eco_code, "is_gov_pur": p.is_gov_pur,
            "status": p.status, "status_display": p.get_status_display(), "priority": p.priority,
            "total_amount": fen_to_str(p.total_amount), "origin": p.origin,
            "year_plans": [{"year": y.year, "amount": fen_to_str(y.amount)} for y in p.year_plans.all()]}


def _detail(p: Project) -> dict:
    return {**_out(p), "review_step": p.review_step,
            "expert_score": str(p.expert_score) if p.expert_score is not None else None,
            "cost_lines": [{"year": c.year, "item": c.item, "standard_code": c.standard.code if c.standard else "",
                            "unit_price": fen_to_str(c.unit_price), "quantity": str(c.quantity),
                            "frequency": str(c.frequency), "amount": fen_to_str(c.amount),
                            "dep_eco_code": c.dep_eco_code, "formula": c.formula} for c in p.cost_lines.all()],
            "targets": [{"kind": t.kind, "name": t.name, "operator": t.operator, "value": t.value,
                         "measure": t.measure} for t in p.performance_targets.all()],
            "needs": [{"kind": n.kind, "item": n.item, "quantity": str(n.quantity),
                       "unit_price": fen_to_str(n.unit_price), "amount": fen_to_str(n.amount)}
                      for n in p.procurement_needs.all()],
            "reviews": [{"step": r.step_name, "action": r.action, "actor": r.actor_name, "from_status": r.from_status,
                         "to_status": r.to_status, "reason": r.reason,
                         "score": str(r.score) if r.score is not None else None, "at": r.created_at}
                        for r in p.reviews.all()]}


@router.get("/", response=ProjectPage, summary="项目列表（数据权限范围内）", operation_id="projects_list")
def list_projects(request, status: str = "", category: str = "", department_id: int | None = None,
                  year: int | None = None, q: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.project_list(request.auth, status=status, category=category, department_id=department_id,
                                year=year, q=q).prefetch_related("year_plans")
    return {"count": qs.count(), "items": [_out(p) for p in window(qs, limit, offset)]}


@router.get("/budgetable", response=list[ProjectOut], summary="可编入预算的项目（已入库且周期覆盖该年度）",
            operation_id="projects_budgetable")
def budgetable(request, year: int):
    return [_out(p) for p in selectors.budgetable_projects(request.auth, year, strict=True)[:MAX_LIMIT]]


@router.get("/{int:pk}", response=ProjectDetailOut, summary="项目详情", operation_id="projects_get")
def get_project(request, pk: int):
    return _detail(selectors.project_get(request.auth, pk))


@router.post("/", response={201: ProjectDetailOut}, summary="录入项目（分配 21 位项目代码）",
             operation_id="projects_create")
def create_project(request, payload: ProjectIn):
    p = services.project_create(actor=request.auth, data=_data(payload))
    return Status(201, _detail(selectors.project_get(request.auth, p.pk)))


@router.put("/{int:pk}", response=ProjectDetailOut, summary="修改项目（仅草稿或被退回；代码不变）",
            operation_id="projects_update")
def update_project(request, pk: int, payload: ProjectIn):
    services.project_update(actor=request.auth, pk=pk, data=_data(payload))
    return _detail(selectors.project_get(request.auth, pk))


@router.post("/{int:pk}/submit", response=ProjectDetailOut, summary="申报", operation_id="projects_submit")
def submit_project(request, pk: int):
    services.project_submit(actor=request.auth, pk=pk)
    return _detail(selectors.project_get(request.auth, pk))


@router.post("/{int:pk}/review", response=ProjectDetailOut, summary="审核：通过或退回（退回须填写原因）",
             operation_id="projects_review")
def review_project(request, pk: int, payload: ProjectReviewIn):
    if payload.decision not in ("approve", "return"):
        raise ValidationFailed([Violation("decision_invalid", "审核结论只能是 approve（通过）或 return（退回）",
                                          "decision")])
    score = _dec(payload.score, "score") if payload.score not in (None, "") else None
    services.project_review(actor=request.auth, pk=pk, approve=payload.decision == "approve", reason=payload.reason,
                            score=score)
    return _detail(selectors.project_get(request.auth, pk))


@router.post("/rank", response=RankOut, summary="主管部门内项目排序", operation_id="projects_rank")
def rank_projects(request, payload: RankIn):
    changed = services.project_rank(actor=request.auth, department_id=payload.department_id,
                                    ordered_ids=payload.ordered_ids)
    return {"changed": changed}


@router.post("/generate-basic", response={201: list[ProjectOut]}, summary="测算人员类和公用经费项目（直接入库）",
             operation_id="projects_generate_basic")
def generate_basic(request, payload: GenerateIn):
    projects = services.project_generate_basic(actor=request.auth, unit_id=payload.unit_id, year=payload.year)
    return Status(201, [_out(selectors.project_get(request.auth, p.pk)) for p in projects])
