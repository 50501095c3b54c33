"""/api/v1/payroll/: 工资项目, 工资档案 (list, detail with its history, save), 工资表 (list, detail with its slips and
changes, generate, submit, review, pay), adjustments (a run's template; its upload, every row checked, all or
nothing: import_rejected with detail [{row, column, message, code}]) and downloads (a person's pay slip PDF, the
unit's monthly table and the region's summary by unit and item as Excel). Money as yuan strings; errors are
{"code","message","detail"} with stable codes (run_exists, previous_run_open, no_people, not_editable,
not_submitted, comment_required, workflow_role, segregation_of_duties, already_paid, not_approved, card_missing,
indicator_not_personnel, overdraw, import_rejected …)."""

from __future__ import annotations

from django.http import HttpResponse
from ninja import File, Router, Schema, Status, UploadedFile

from ibms.core import clock
from ibms.core.errors import invalid
from ibms.core.money import api_fen, fen_to_str
from ibms.core.paging import Limit, Offset, window

from . import exports, rules, selectors, services
from .models import PayProfile, PayrollRun, PayrollSlip
from .services import adjustments

router = Router(tags=["工资统发"])


class PayrollItemOut(Schema):
    code: str
    name: str
    kind: str
    dep_eco_code: str
    method: str
    rate_ppm: int
    base: list[str]
    standard: str
    collector: str


class PayProfileIn(Schema):
    post: str = ""
    grade: str = ""
    status: str = "in_service"
    card_no: str = ""
    card_bank: str = ""
    items: dict[str, str] = {}
    is_active: bool = True


class PayProfileOut(Schema):
    id: int
    person_id: int
    name: str
    unit_id: int
    post: str
    grade: str
    status: str
    status_display: str
    card_no: str
    card_bank: str
    items: dict[str, str]
    is_active: bool


class PayProfileHistoryOut(Schema):
    at: str
    action: str
    user: str
    before: dict
    after: dict


class PayProfileDetail(PayProfileOut):
    history: list[PayProfileHistoryOut]


class PayProfilePage(Schema):
    count: int
    items: list[PayProfileOut]


class PayrollRunGenerateIn(Schema):
    unit_id: int
    year: int = 0
    month: int


class PayrollRunReviewIn(Schema):
    approve: bool
    comment: str = ""


class PayrollRunPayIn(Schema):
    indicator_id: int


class PayrollRunOut(Schema):
    id: int
    number: str
    unit_id: int
    year: int
    month: int
    status: str
    status_display: str
    current_step: int
    headcount: int
    gross: str
    social: str
    tax: str
    other: str
    net: str
    changes: list[dict]
    review_comment: str
    payment_request_id: int | None


class PayrollSlipOut(Schema):
    person_id: int
    name: str
    grade: str
    status: str
    card_no: str
    amounts: dict[str, str]
    gross: str
    social: str
    tax: str
    other: str
    net: str
    cum_income: str
    cum_tax: str
    months: int


class PayrollRunDetail(PayrollRunOut):
    slips: list[PayrollSlipOut]


class PayrollAdjustOut(Schema):
    rows: int
    changed: int
    run: PayrollRunOut


class PayrollRunPage(Schema):
    count: int
    items: list[PayrollRunOut]


def profile_out(p: PayProfile) -> dict:
    return {"id": p.pk, "person_id": p.person_id, "name": p.person.name, "unit_id": p.unit_id, "post": p.post,
            "grade": p.grade, "status": p.status, "status_display": p.get_status_display(), "card_no": p.card_no,
            "card_bank": p.card_bank, "items": {k: fen_to_str(v) for k, v in p.items.items()},
            "is_active": p.is_active}


def run_out(r: PayrollRun) -> dict:
    return {"id": r.pk, "number": r.number, "unit_id": r.unit_id, "year": r.year, "month": r.month,
            "status": r.status, "status_display": r.get_status_display(), "current_step": r.current_step,
            "headcount": r.headcount, **{f: fen_to_str(getattr(r, f)) for f in ("gross", "social", "tax", "other",
                                                                                 "net")},
            "changes": r.changes or [], "review_comment": r.review_comment,
            "payment_request_id": r.payment_request_id}


def slip_out(s: PayrollSlip) -> dict:
    return {"person_id": s.person_id, "name": s.name, "grade": s.grade, "status": s.status, "card_no": s.card_no,
            "amounts": {k: fen_to_str(v) for k, v in s.amounts.items()},
            **{f: fen_to_str(getattr(s, f)) for f in ("gross", "social", "tax", "other", "net", "cum_income",
                                                      "cum_tax")}, "months": s.months}


@router.get("/items", response=list[PayrollItemOut], summary="工资项目（本区划本年度适用）", operation_id="payroll_items")
def items(request, year: int = 0):
    region = getattr(request.auth, "region_code", "") or ""
    return [{**vars(r), "base": list(r.base), "standard": fen_to_str(r.standard)}
            for r in rules.item_rules(region, year or clock.fiscal_year())]


@router.get("/profiles", response=PayProfilePage, summary="工资档案列表", operation_id="payroll_profile_list")
def profile_list(request, unit_id: int = 0, limit: Limit = 50, offset: Offset = 0):
    qs = selectors.profile_list(actor=request.auth, unit_id=unit_id or None)
    return {"count": qs.count(), "items": [profile_out(p) for p in window(qs, limit, offset)]}


@router.get("/profiles/{pk}", response=PayProfileDetail, summary="工资档案（含变更历史）",
            operation_id="payroll_profile_get")
def profile_get(request, pk: int):
    p = selectors.profile_get(actor=request.auth, pk=pk)
    hist = [{**h, "at": h["at"].isoformat()} for h in selectors.profile_history(p)]
    return {**profile_out(p), "history": hist}


@router.put("/people/{person_id}/profile", response=PayProfileOut, summary="保存人员的工资档案",
            operation_id="payroll_profile_save")
def profile_save(request, person_id: int, payload: PayProfileIn):
    amounts = {k: api_fen(v, f"items.{k}") for k, v in payload.items.items()}
    data = services.ProfileIn(person_id=person_id, post=payload.post, grade=payload.grade, status=payload.status,
                              card_no=payload.card_no, card_bank=payload.card_bank, items=amounts,
                              is_active=payload.is_active)
    return profile_out(services.pay_profile_save(actor=request.auth, data=data))


@router.get("/runs", response=PayrollRunPage, summary="工资表列表", operation_id="payroll_run_list")
def run_list(request, unit_id: int = 0, year: int = 0, limit: Limit = 50, offset: Offset = 0):
    qs = selectors.run_list(actor=request.auth, unit_id=unit_id or None, year=year or None)
    return {"count": qs.count(), "items": [run_out(r) for r in window(qs, limit, offset)]}


@router.get("/runs/{pk}", response=PayrollRunDetail, summary="工资表详情（含工资条与本月变动）",
            operation_id="payroll_run_get")
def run_get(request, pk: int):
    r = selectors.run_get(actor=request.auth, pk=pk)
    return {**run_out(r), "slips": [slip_out(s) for s in r.slips.order_by("id")]}


@router.post("/runs", response={201: PayrollRunOut}, summary="生成月度工资表", operation_id="payroll_run_generate")
def run_generate(request, payload: PayrollRunGenerateIn):
    run = services.payroll_run_generate(actor=request.auth, unit_id=payload.unit_id,
                                        year=payload.year or clock.fiscal_year(), month=payload.month)
    return Status(201, run_out(run))


@router.post("/runs/{pk}/submit", response=PayrollRunOut, summary="提交工资表", operation_id="payroll_run_submit")
def run_submit(request, pk: int):
    return run_out(services.payroll_run_submit(actor=request.auth, pk=pk))


@router.post("/runs/{pk}/review", response=PayrollRunOut, summary="审核工资表", operation_id="payroll_run_review")
def run_review(request, pk: int, payload: PayrollRunReviewIn):
    return run_out(services.payroll_run_review(actor=request.auth, pk=pk, approve=payload.approve,
                                               comment=payload.comment))


@router.post("/runs/{pk}/pay", response=PayrollRunOut, summary="发放工资（生成并提交批量支付申请）",
             operation_id="payroll_run_pay")
def run_pay(request, pk: int, payload: PayrollRunPayIn):
    return run_out(services.payroll_run_pay(actor=request.auth, pk=pk, indicator_id=payload.indicator_id))


@router.get("/runs/{pk}/table.xlsx", summary="单位月度工资表（Excel）", operation_id="payroll_run_table")
def run_table(request, pk: int):
    run = selectors.run_get(actor=request.auth, pk=pk)
    return exports.xlsx_response(exports.run_table(run), f"工资表-{run.number}.xlsx")


@router.get("/runs/{pk}/slips/{person_id}.pdf", summary="个人工资条（PDF）", operation_id="payroll_slip_pdf")
def slip_pdf(request, pk: int, person_id: int) -> HttpResponse:
    slip = selectors.slip_get(actor=request.auth, run_id=pk, person_id=person_id)
    return exports.pdf_response(exports.slip_pdf(slip), f"工资条-{slip.run.number}-{slip.name}.pdf")


@router.get("/runs/{pk}/adjustments.xlsx", summary="本月调整导入模板（含本表人员及当前金额）",
            operation_id="payroll_run_adjust_template")
def adjust_template(request, pk: int):
    run = selectors.run_get(actor=request.auth, pk=pk)
    return exports.xlsx_response(adjustments.adjustment_template(run), f"工资调整-{run.number}.xlsx")


@router.post("/runs/{pk}/adjustments", response=PayrollAdjustOut, summary="导入本月调整（整表校验，有错不保存）",
             operation_id="payroll_run_adjust")
def adjust_upload(request, pk: int, file: File[UploadedFile]):
    res = adjustments.payroll_run_adjust_file(actor=request.auth, pk=pk, file=file)
    return {"rows": res.rows, "changed": res.changed, "run": run_out(res.run)}


@router.get("/summary.xlsx", summary="工资汇总表（按单位和工资项目，Excel）", operation_id="payroll_region_summary")
def region_summary(request, month: int, year: int = 0):
    year = year or clock.fiscal_year()
    if not 1 <= month <= 12:
        raise invalid("month_invalid", "月份必须为1至12", "month")
    return exports.xlsx_response(exports.region_summary_xlsx(actor=request.auth, year=year, month=month),
                                 f"工资汇总表-{year}年{month}月.xlsx")


# --- returned lines (退回重发): services/returns.py -------------------------------------------------------------


class PayrollReturnedLineOut(Schema):
    kind: str
    seq: int
    person_id: int | None
    name: str
    account_no: str
    amount: str
    reason: str
    named: bool
    account_now: str
    fixed: bool


class PayrollRepayIn(Schema):
    indicator_id: int | None = None


@router.get("/runs/{pk}/returned", response=list[PayrollReturnedLineOut], summary="银行退回待处理的人员与款项",
            operation_id="payroll_run_returned")
def run_returned(request, pk: int):
    from .services import returns

    return [{"kind": ln.kind, "seq": ln.seq, "person_id": ln.person_id, "name": ln.name, "account_no": ln.account_no,
             "amount": fen_to_str(ln.amount), "reason": ln.reason, "named": ln.named, "account_now": ln.account_now,
             "fixed": ln.fixed} for ln in returns.returned_lines(actor=request.auth, pk=pk)]


@router.post("/runs/{pk}/repay", response=PayrollRunOut, summary="重新发放银行退回的款项（一笔新的支付申请）",
             operation_id="payroll_run_repay")
def run_repay(request, pk: int, payload: PayrollRepayIn):
    from .services import returns

    returns.payroll_run_repay(actor=request.auth, pk=pk, indicator_id=payload.indicator_id)
    return run_out(selectors.run_get(actor=request.auth, pk=pk))
