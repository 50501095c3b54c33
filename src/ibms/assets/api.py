"""/api/v1/assets/: 资产卡片 (list, detail with changes and schedule, 存量录入), changes (增用修废: create, review),
depreciation runs (list, run one set's month or a region's), the register with its totals. Thin: parse, call one
service or selector, serialize. Money as yuan strings; errors are {"code","message","detail"} with stable codes
(asset_class_unknown, card_not_in_use, disposal_invalid, reason_required, not_submitted, comment_required,
workflow_role, segregation_of_duties, already_depreciated, depreciation_out_of_order, month_in_future,
asset_over_standard …)."""

from __future__ import annotations

from ninja import Router, Schema, Status

from ibms.core.money import fen_to_str
from ibms.core.paging import Limit, Offset, window
from ibms.core.schemas import schema_from, to_service
from ibms.core.scoping import get_in_scope

from . import selectors, services
from .models import AssetCard, AssetChange, DepreciationRun
from .services import ChangeIn, OpeningIn

router = Router(tags=["资产管理"])
OpeningInSchema = schema_from(OpeningIn, name="AssetOpeningIn")
ChangeInSchema = schema_from(ChangeIn, name="AssetChangeIn")


class CardOut(Schema):
    id: int
    number: str
    unit_id: int
    asset_class: str
    class_name: str
    name: str
    quantity: int
    location: str
    user_name: str
    custodian: str
    original_value: str
    accumulated: str
    net_value: str
    useful_life_months: int
    months_done: int
    method: str
    acquired_date: str
    source: str
    status: str
    status_display: str
    payment_request_id: int | None
    contract_id: int | None
    indicator_id: int | None
    voucher_id: int | None


class CardPage(Schema):
    count: int
    items: list[CardOut]


class ChangeOut(Schema):
    id: int
    number: str
    card_id: int
    kind: str
    kind_display: str
    status: str
    status_display: str
    change_date: str
    amount: str
    proceeds: str
    disposal: str
    capitalise: bool
    to_unit_id: int | None
    reason: str
    vouchers: list[int]
    current_step: int
    review_comment: str


class ChangePage(Schema):
    count: int
    items: list[ChangeOut]


class AssetLineOut(Schema):
    year: int
    month: int
    amount: str
    accumulated: str


class CardDetail(CardOut):
    changes: list[ChangeOut]
    schedule: list[AssetLineOut]


class AssetReviewIn(Schema):
    approve: bool
    comment: str = ""


class RunIn(Schema):
    account_set_id: int
    year: int
    month: int


class RegionRunIn(Schema):
    region_code: str
    year: int
    month: int


class DepreciationRunOut(Schema):
    id: int
    account_set_id: int
    unit_id: int
    year: int
    month: int
    cards: int
    amount: str
    voucher_id: int | None


class DepreciationRunPage(Schema):
    count: int
    items: list[DepreciationRunOut]


class RegionRunOut(Schema):
    run: int
    skipped: int
    failed: int


class RegisterOut(Schema):
    count: int
    original: str
    accumulated: str
    net: str
    items: list[CardOut]


def card_out(c: AssetCard) -> dict:
    return {"id": c.pk, "number": c.number, "unit_id": c.unit_id, "asset_class": c.asset_class,
            "class_name": c.class_name, "name": c.name, "quantity": c.quantity, "location": c.location,
            "user_name": c.user_name, "custodian": c.custodian, "original_value": fen_to_str(c.original_value),
            "accumulated": fen_to_str(c.accumulated), "net_value": fen_to_str(c.net_value),
            "useful_life_months": c.useful_life_months, "months_done": c.months_done, "method": c.method,
            "acquired_date": c.acquired_date.isoformat(), "source": c.source, "status": c.status,
            "status_display": c.get_status_display(), "payment_request_id": c.payment_request_id,
            "contract_id": c.contract_id, "indicator_id": c.indicator_id, "voucher_id": c.voucher_id}


def change_out(ch: AssetChange) -> dict:
    return {"id": ch.pk, "number": ch.number, "card_id": ch.card_id, "kind": ch.kind,
            "kind_display": ch.get_kind_display(), "status": ch.status, "status_display": ch.get_status_display(),
            "change_date": ch.change_date.isoformat(), "amount": fen_to_str(ch.amount),
            "proceeds": fen_to_str(ch.proceeds), "disposal": ch.disposal, "capitalise": ch.capitalise,
            "to_unit_id": ch.to_unit_id, "reason": ch.reason, "vouchers": list(ch.vouchers or []),
            "current_step": ch.current_step, "review_comment": ch.review_comment}


def run_out(r: DepreciationRun) -> dict:
    return {"id": r.pk, "account_set_id": r.account_set_id, "unit_id": r.unit_id, "year": r.year, "month": r.month,
            "cards": r.cards, "amount": fen_to_str(r.amount), "voucher_id": r.voucher_id}


@router.get("/cards", response=CardPage, summary="资产卡片列表", operation_id="assets_card_list")
def card_list(request, status: str = "", q: str = "", unit_id: int | None = None, limit: Limit = 50,
              offset: Offset = 0):
    qs = selectors.card_list(actor=request.auth, status=status, q=q, unit_id=unit_id)
    return {"count": qs.count(), "items": [card_out(c) for c in window(qs, limit, offset)]}


@router.get("/cards/{pk}", response=CardDetail, summary="资产卡片详情（含变动与折旧明细）", operation_id="assets_card_get")
def card_get(request, pk: int):
    c = get_in_scope(AssetCard.objects.all(), request.auth, what="资产卡片", pk=pk)
    lines = [{"year": ln.year, "month": ln.month, "amount": fen_to_str(ln.amount),
              "accumulated": fen_to_str(ln.accumulated)} for ln in c.depreciation.order_by("year", "month")]
    return {**card_out(c), "changes": [change_out(ch) for ch in c.changes.order_by("id")], "schedule": lines}


@router.post("/cards", response={201: CardOut}, summary="存量资产录入（或接受捐赠）", operation_id="assets_card_open")
def card_open(request, payload: OpeningInSchema):
    return Status(201, card_out(services.card_open(actor=request.auth, data=to_service(payload, OpeningIn))))


@router.get("/changes", response=ChangePage, summary="资产变动列表", operation_id="assets_change_list")
def change_list(request, card_id: int | None = None, status: str = "", kind: str = "", limit: Limit = 50,
                offset: Offset = 0):
    qs = selectors.change_list(actor=request.auth, card_id=card_id, status=status, kind=kind)
    return {"count": qs.count(), "items": [change_out(ch) for ch in window(qs, limit, offset)]}


@router.post("/changes", response={201: ChangeOut}, summary="登记资产变动（使用人变更、维修、处置）",
             operation_id="assets_change_create")
def change_create(request, payload: ChangeInSchema):
    return Status(201, change_out(services.change_create(actor=request.auth, data=to_service(payload, ChangeIn))))


@router.post("/changes/{pk}/review", response=ChangeOut, summary="审批资产变动（末级审批即入账）",
             operation_id="assets_change_review")
def change_review(request, pk: int, payload: AssetReviewIn):
    return change_out(services.change_review(actor=request.auth, pk=pk, approve=payload.approve,
                                             comment=payload.comment))


@router.get("/depreciation", response=DepreciationRunPage, summary="折旧计提记录", operation_id="assets_run_list")
def run_list(request, year: int | None = None, limit: Limit = 50, offset: Offset = 0):
    qs = selectors.run_list(actor=request.auth, year=year)
    return {"count": qs.count(), "items": [run_out(r) for r in window(qs, limit, offset)]}


@router.post("/depreciation", response={201: DepreciationRunOut}, summary="计提一个账套一个月的折旧",
             operation_id="assets_depreciation_run")
def depreciation_run(request, payload: RunIn):
    return Status(201, run_out(services.depreciation_run(actor=request.auth, account_set_id=payload.account_set_id,
                                                         year=payload.year, month=payload.month)))


@router.post("/depreciation/region", response=RegionRunOut, summary="计提本区划各单位账套一个月的折旧（可续跑）",
             operation_id="assets_depreciation_run_region")
def depreciation_run_region(request, payload: RegionRunIn):
    return services.depreciation_run_region(actor=request.auth, region_code=payload.region_code, year=payload.year,
                                            month=payload.month)


@router.get("/register", response=RegisterOut, summary="资产登记簿（在用卡片及合计）", operation_id="assets_register")
def register(request, unit_id: int | None = None, limit: Limit = 200, offset: Offset = 0):
    qs = selectors.register(actor=request.auth, unit_id=unit_id)
    t = selectors.register_totals(qs)
    return {"count": qs.count(), "original": fen_to_str(t["original"]), "accumulated": fen_to_str(t["accumulated"]),
            "net": fen_to_str(t["net"]), "items": [card_out(c) for c in window(qs, limit, offset)]}
