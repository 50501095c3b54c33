"""/api/v1/accounting/: account sets, accounts, periods, vouchers (entry → review → post, reversal), business
events (the posting engine, for integration) and posting rules. Money travels as decimal yuan strings.
Thin: parse, call one service or selector, serialize."""

from __future__ import annotations

import datetime as dt
from functools import partial

from ninja import Router, Schema, Status

from ibms.core.money import api_fen, fen_to_str
from ibms.core.paging import Limit, Offset, window

from . import closing, selectors, services
from .models import DIMENSIONS, AccountSet, PostingRule, Voucher
from .posting import LineSpec

router = Router(tags=["会计核算"])


class PeriodOut(Schema):
    id: int
    number: int
    start_date: dt.date
    end_date: dt.date
    status: str


class SetOut(Schema):
    id: int
    code: str
    name: str
    region_code: str
    year: int
    kind: str
    unit_id: int | None
    unit_type: str
    status: str


class SetDetail(SetOut):
    periods: list[PeriodOut]


class SetPage(Schema):
    count: int
    items: list[SetOut]


class SetIn(Schema):
    year: int
    unit_id: int | None = None
    region_code: str = ""


class AccountOut(Schema):
    id: int
    code: str
    export_code: str
    name: str
    parent_id: int | None
    level: int
    is_leaf: bool
    category: str
    basis: str
    balance_side: str
    aux_dims: list[str]
    is_active: bool
    debit: str
    credit: str
    balance: str


class SubAccountIn(Schema):
    suffix: str
    name: str
    aux_dims: list[str] | None = None


class AccountPatch(Schema):
    name: str | None = None
    aux_dims: list[str] | None = None
    is_active: bool | None = None


class VoucherLineIn(Schema):
    account_code: str
    debit: str = "0"
    credit: str = "0"
    summary: str = ""
    dims: dict[str, str] = {}


class VoucherLineOut(Schema):
    line_no: int
    basis: str
    account_code: str
    account_name: str
    summary: str
    debit: str
    credit: str
    dims: dict[str, str]


class VoucherIn(Schema):
    account_set_id: int
    date: dt.date
    summary: str
    attachments: int = 0
    lines: list[VoucherLineIn]


class VoucherEdit(Schema):
    date: dt.date
    summary: str
    attachments: int = 0
    lines: list[VoucherLineIn]


class VoucherOut(Schema):
    id: int
    account_set_id: int
    year: int
    period_no: int
    number: int | None
    display_number: str
    date: dt.date
    summary: str
    source: str
    status: str
    event_id: str
    event_type: str
    rule_code: str
    reversal_of_id: int | None
    financial_total: str
    budget_total: str


class VoucherDetail(VoucherOut):
    lines: list[VoucherLineOut]


class VoucherPage(Schema):
    count: int
    items: list[VoucherOut]


class ReverseIn(Schema):
    date: dt.date | None = None
    reason: str = ""


class EventIn(Schema):
    event_id: str
    event_type: str
    date: dt.date
    amounts: dict[str, str]
    dimensions: dict[str, str] = {}
    attrs: dict[str, str | bool] = {}
    account_set_id: int | None = None
    unit_id: int | None = None
    region_code: str = ""
    year: int | None = None
    summary: str = ""


class EventOut(Schema):
    posted: bool
    voucher: VoucherDetail | None


class RuleLineOut(Schema):
    seq: int
    basis: str
    side: str
    account: str
    amount_field: str
    copy_dims: list[str]
    condition: str


class PostingRuleOut(Schema):
    id: int
    year: int
    code: str
    event_type: str
    chart_kind: str
    condition: str
    priority: int
    required_dims: list[str]
    summary: str
    provenance: str
    lines: list[RuleLineOut]


def _set_out(s: AccountSet) -> dict:
    return {"id": s.pk, "code": s.code, "name": s.name, "region_code": s.region_code, "year": s.year, "kind": s.kind,
            "unit_id": s.unit_id, "unit_type": s.unit_type, "status": s.status}


def _voucher_out(v: Voucher, lines: bool = False) -> dict:
    out = {"id": v.pk, "account_set_id": v.account_set_id, "year": v.year, "period_no": v.period_no,
           "number": v.number, "display_number": v.display_number, "date": v.date, "summary": v.summary,
           "source": v.source, "status": v.status, "event_id": v.event_id, "event_type": v.event_type,
           "rule_code": v.rule_code, "reversal_of_id": v.reversal_of_id,
           "financial_total": fen_to_str(v.financial_total), "budget_total": fen_to_str(v.budget_total)}
    if lines:
        out["lines"] = [{"line_no": ln.line_no, "basis": ln.basis, "account_code": ln.account_code,
                         "account_name": ln.account.name, "summary": ln.summary, "debit": fen_to_str(ln.debit),
                         "credit": fen_to_str(ln.credit),
                         "dims": {d: getattr(ln, f) for d, f in DIMENSIONS.items() if getattr(ln, f)}}
                        for ln in selectors.voucher_line_list(v)]
    return out


_fen = partial(api_fen, blank=0, code="amount_invalid")

def _lines(lines: list[VoucherLineIn]) -> list[LineSpec]:
    return [LineSpec(basis="", account_code=ln.account_code.strip(), debit=_fen(ln.debit, f"lines.{i}.debit"),
                     credit=_fen(ln.credit, f"lines.{i}.credit"), summary=ln.summary, dims=dict(ln.dims))
            for i, ln in enumerate(lines, 1)]


# --- account sets and accounts ---------------------------------------------------------------------

@router.get("/sets", response=SetPage, summary="账套列表", operation_id="accounting_set_list")
def list_sets(request, year: int | None = None, kind: str = "", q: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.account_set_list(actor=request.auth, year=year, kind=kind, q=q)
    return {"count": qs.count(), "items": [_set_out(s) for s in window(qs, limit, offset)]}


@router.post("/sets", response={201: SetOut}, summary="建账（单位账套或本级总预算会计账套）",
             operation_id="accounting_set_create")
def create_set(request, payload: SetIn):
    s = services.account_set_create(actor=request.auth, year=payload.year, unit_id=payload.unit_id,
                                    region_code=payload.region_code)
    return Status(201, _set_out(s))


@router.get("/sets/{int:pk}", response=SetDetail, summary="账套详情（含会计期间）", operation_id="accounting_set_get")
def get_set(request, pk: int):
    s = selectors.account_set_get(actor=request.auth, pk=pk)
    return {**_set_out(s), "periods": list(s.periods.order_by("number"))}


@router.get("/sets/{int:pk}/accounts", response=list[AccountOut], summary="科目表（按编码排序，含已记账发生额与余额）",
            operation_id="accounting_account_tree")
def account_tree(request, pk: int, period_to: int | None = None):
    _, rows = selectors.account_tree(actor=request.auth, pk=pk, period_to=period_to, account_permitted=True)
    return [{"id": r.account.pk, "code": r.account.code, "export_code": r.account.export_code, "name": r.account.name,
             "parent_id": r.account.parent_id, "level": r.account.level, "is_leaf": r.account.is_leaf,
             "category": r.account.category, "basis": r.account.basis, "balance_side": r.account.balance_side,
             "aux_dims": r.account.aux_dims, "is_active": r.account.is_active, "debit": fen_to_str(r.debit),
             "credit": fen_to_str(r.credit), "balance": fen_to_str(r.balance)} for r in rows]


@router.post("/accounts/{int:pk}/children", response={201: dict}, summary="增加明细科目",
             operation_id="accounting_account_add_child")
def add_sub_account(request, pk: int, payload: SubAccountIn):
    acc = services.account_create(actor=request.auth, parent_id=pk, suffix=payload.suffix, name=payload.name,
                                  aux_dims=payload.aux_dims)
    return Status(201, {"id": acc.pk, "code": acc.code, "name": acc.name})


@router.patch("/accounts/{int:pk}", response=dict, summary="修改科目（名称、辅助核算、停用/启用）",
              operation_id="accounting_account_update")
def update_account(request, pk: int, payload: AccountPatch):
    acc = services.account_update(actor=request.auth, pk=pk, name=payload.name, aux_dims=payload.aux_dims,
                                  is_active=payload.is_active)
    return {"id": acc.pk, "code": acc.code, "name": acc.name, "aux_dims": acc.aux_dims, "is_active": acc.is_active}


@router.post("/periods/{int:pk}/close", response=PeriodOut, summary="期末结账（按顺序）",
             operation_id="accounting_period_close")
def close_period(request, pk: int):
    return services.period_close(actor=request.auth, pk=pk)


@router.post("/periods/{int:pk}/reopen", response=PeriodOut, summary="反结账（仅最后一个已结账期间）",
             operation_id="accounting_period_reopen")
def reopen_period(request, pk: int):
    return services.period_reopen(actor=request.auth, pk=pk)


class YearEndCloseOut(Schema):
    vouchers: int
    voucher_ids: list[int]


@router.post("/sets/{int:pk}/year-end-close", response=YearEndCloseOut,
             summary="年终结账（按余额自动生成结转凭证，可重复执行）", operation_id="accounting_set_year_end_close")
def year_end_close(request, pk: int):
    vouchers = closing.year_end_close(actor=request.auth, account_set_id=pk)
    return {"vouchers": len(vouchers), "voucher_ids": [v.pk for v in vouchers]}


# --- vouchers ------------------------------------------------------------------------------------------

@router.get("/vouchers", response=VoucherPage, summary="凭证列表", operation_id="accounting_voucher_list")
def list_vouchers(request, account_set_id: int | None = None, year: int | None = None, period_no: int | None = None,
                  status: str = "", source: str = "", q: str = "", account_code: str = "", limit: Limit = 50,
                  offset: Offset = 0):
    qs = selectors.voucher_list(actor=request.auth, account_set_id=account_set_id, year=year, period_no=period_no,
                            status=status, source=source, q=q, account_code=account_code)
    return {"count": qs.count(), "items": [_voucher_out(v) for v in window(qs, limit, offset)]}


@router.get("/vouchers/{int:pk}", response=VoucherDetail, summary="凭证详情（含分录）", operation_id="accounting_voucher_get")
def get_voucher(request, pk: int):
    return _voucher_out(selectors.voucher_get(actor=request.auth, pk=pk), lines=True)


@router.post("/vouchers", response={201: VoucherDetail}, summary="录入手工凭证（待审核）",
             operation_id="accounting_voucher_create")
def create_voucher(request, payload: VoucherIn):
    v = services.voucher_create(actor=request.auth, account_set_id=payload.account_set_id, date=payload.date,
                                summary=payload.summary, lines=_lines(payload.lines), attachments=payload.attachments)
    return Status(201, _voucher_out(v, lines=True))


@router.put("/vouchers/{int:pk}", response=VoucherDetail, summary="修改待审核凭证", operation_id="accounting_voucher_update")
def update_voucher(request, pk: int, payload: VoucherEdit):
    v = services.voucher_update(actor=request.auth, pk=pk, date=payload.date, summary=payload.summary,
                                lines=_lines(payload.lines), attachments=payload.attachments)
    return _voucher_out(v, lines=True)


@router.delete("/vouchers/{int:pk}", response={204: None}, summary="删除待审核凭证", operation_id="accounting_voucher_delete")
def delete_voucher(request, pk: int):
    services.voucher_delete(actor=request.auth, pk=pk)
    return Status(204, None)


@router.post("/vouchers/{int:pk}/review", response=VoucherOut, summary="审核凭证", operation_id="accounting_voucher_review")
def review_voucher(request, pk: int):
    return _voucher_out(services.voucher_review(actor=request.auth, pk=pk, approve=True))


@router.post("/vouchers/{int:pk}/unreview", response=VoucherOut, summary="取消审核",
             operation_id="accounting_voucher_unreview")
def unreview_voucher(request, pk: int):
    return _voucher_out(services.voucher_review(actor=request.auth, pk=pk, approve=False))


@router.post("/vouchers/{int:pk}/post", response=VoucherOut, summary="记账", operation_id="accounting_voucher_post")
def post_voucher(request, pk: int):
    return _voucher_out(services.voucher_post(actor=request.auth, pk=pk))


@router.post("/vouchers/{int:pk}/reverse", response={201: VoucherDetail}, summary="红字冲销（生成已记账的冲销凭证）",
             operation_id="accounting_voucher_reverse")
def reverse_voucher(request, pk: int, payload: ReverseIn):
    r = services.voucher_reverse(actor=request.auth, pk=pk, date=payload.date, reason=payload.reason)
    return Status(201, _voucher_out(r, lines=True))


# --- business events (posting engine) -----------------------------------------------------------------

@router.post("/events", response={200: EventOut, 201: EventOut},
             summary="业务事件记账（按记账规则生成凭证；同一事件号幂等）", operation_id="accounting_event_post")
def submit_event(request, payload: EventIn):
    """201 with the voucher when posted now; 200 when the event was already posted (the same voucher) or its
    rule records no entry (voucher null)."""
    amounts = {k: _fen(v, f"amounts.{k}") for k, v in payload.amounts.items()}
    v, created = services.event_submit(
        actor=request.auth, event_id=payload.event_id, event_type=payload.event_type, date=payload.date,
        amounts=amounts, dimensions=payload.dimensions, attrs=payload.attrs, account_set_id=payload.account_set_id,
        unit_id=payload.unit_id, region_code=payload.region_code, year=payload.year, summary=payload.summary)
    body = {"posted": v is not None, "voucher": _voucher_out(v, lines=True) if v is not None else None}
    return Status(201 if created else 200, body)


@router.get("/rules", response=list[PostingRuleOut], summary="记账规则（按年度）", operation_id="accounting_rule_list")
def list_rules(request, year: int, event_type: str = ""):
    qs = PostingRule.objects.permitted(request.auth).filter(year=year).prefetch_related("lines")
    if event_type:
        qs = qs.filter(event_type=event_type)
    return [{"id": r.pk, "year": r.year, "code": r.code, "event_type": r.event_type, "chart_kind": r.chart_kind,
             "condition": r.condition, "priority": r.priority, "required_dims": r.required_dims, "summary": r.summary,
             "provenance": r.provenance,
             "lines": [{"seq": ln.seq, "basis": ln.basis, "side": ln.side, "account": ln.account,
                        "amount_field": ln.amount_field, "copy_dims": ln.copy_dims, "condition": ln.condition}
                       for ln in r.lines.all()]} for r in qs.order_by("event_type", "priority", "code")]
