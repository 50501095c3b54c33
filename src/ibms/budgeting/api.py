"""/api/v1/budgeting/: rounds and their stages, lines of the open version, submissions, ceilings, approval,
reply (批复) and the version comparison. Thin: parse, call one service or selector, serialize. Money travels
as yuan strings; errors are {"code","message","detail"} with stable codes (see services)."""

from __future__ import annotations

from dataclasses import asdict

from django.db.models import Sum
from ninja import Router, Status

from ibms.core.money import fen_to_str
from ibms.core.paging import Limit, Offset, window

from . import selectors, services
from .models import BudgetLine, BudgetRound, Ceiling, Reply, Submission
from .schemas import (
    ApprovalIn,
    CeilingIn,
    CeilingOut,
    CeilingUseOut,
    CompareOut,
    GenerateOut,
    LineIn,
    LineOut,
    LinePage,
    LinePatch,
    ReasonIn,
    ReplyIn,
    ReplyOut,
    RoundIn,
    RoundOut,
    SubmissionOut,
    SubmissionUnitIn,
    UnitReplyIn,
    service_input,
)

router = Router(tags=["预算编制"])


def _round_out(r: BudgetRound) -> dict:
    return {"id": r.pk, "region_code": r.region_code, "year": r.year, "name": r.name, "stage": r.stage,
            "stage_display": r.get_stage_display(), "open_version": r.open_version,
            "approval_doc_no": r.approval_doc_no, "approval_date": r.approval_date, "reply_doc_no": r.reply_doc_no,
            "reply_date": r.reply_date, "dept_reply_days": r.dept_reply_days, "unit_reply_days": r.unit_reply_days}


def _line_out(ln: BudgetLine) -> dict:
    return {"id": ln.pk, "round_id": ln.round_id, "version": ln.version, "region_code": ln.region_code,
            "unit_id": ln.unit_id, "unit_code": ln.unit.code, "department_id": ln.department_id,
            "project_id": ln.project_id, "project_code": ln.project.code if ln.project_id else "",
            "direction": ln.direction, "exp_kind": ln.exp_kind, "revenue_code": ln.revenue_code,
            "fund_nature_code": ln.fund_nature_code, "exp_func_code": ln.exp_func_code,
            "dep_eco_code": ln.dep_eco_code, "gov_eco_code": ln.gov_eco_code, "amount": fen_to_str(ln.amount),
            "is_gov_pur": ln.is_gov_pur, "is_sangong": ln.is_sangong, "is_transfer": ln.is_transfer,
            "sub_region_code": ln.sub_region_code, "transfer_type_code": ln.transfer_type_code,
            "remark": ln.remark, "indicator_id": ln.indicator_id}


def _sub_out(s: Submission) -> dict:
    return {"id": s.pk, "round_id": s.round_id, "version": s.version, "unit_id": s.unit_id,
            "unit_code": s.unit.code, "is_department": s.is_department, "status": s.status,
            "status_display": s.get_status_display(), "expenditure_total": fen_to_str(s.expenditure_total),
            "revenue_total": fen_to_str(s.revenue_total), "submitted_by_id": s.submitted_by_id,
            "review_comment": s.review_comment}


def _ceiling_out(c: Ceiling) -> dict:
    return {"id": c.pk, "round_id": c.round_id, "department_id": c.department_id,
            "department_code": c.department.code, "fund_nature_code": c.fund_nature_code,
            "amount": fen_to_str(c.amount), "remark": c.remark}


def _reply_out(r: Reply) -> dict:
    return {"id": r.pk, "round_id": r.round_id, "level": r.level, "unit_id": r.unit_id, "unit_code": r.unit.code,
            "department_id": r.department_id, "amount": fen_to_str(r.amount), "due_date": r.due_date,
            "reply_date": r.reply_date, "doc_no": r.doc_no, "is_late": r.is_late}


def _round(request, round_id: int, reading: type | None = None) -> BudgetRound:
    return selectors.round_get(actor=request.auth, pk=round_id, reading=reading)


# --- rounds -------------------------------------------------------------------------------------

@router.get("/rounds", response=list[RoundOut], summary="预算编制轮次列表", operation_id="budgeting_round_list")
def list_rounds(request, year: int | None = None, stage: str = ""):
    return [_round_out(r) for r in selectors.round_list(actor=request.auth, year=year, stage=stage)]


@router.post("/rounds", response={201: RoundOut}, summary="新建预算编制（一上开始）",
             operation_id="budgeting_round_create")
def create_round(request, payload: RoundIn):
    return Status(201, _round_out(services.round_create(actor=request.auth, year=payload.year, name=payload.name)))


@router.get("/rounds/{int:round_id}", response=RoundOut, summary="预算编制详情", operation_id="budgeting_round_get")
def get_round(request, round_id: int):
    return _round_out(_round(request, round_id))


@router.post("/rounds/{int:round_id}/close-first-up", response=RoundOut, summary="结束一上，进入一下（下达控制数）",
             operation_id="budgeting_round_close_first_up")
def close_first_up(request, round_id: int):
    return _round_out(services.round_first_up_close(actor=request.auth, round_id=round_id))


@router.post("/rounds/{int:round_id}/start-second-up", response=RoundOut, summary="下达控制数，开始二上",
             operation_id="budgeting_round_start_second_up")
def start_second_up(request, round_id: int):
    return _round_out(services.round_second_up_start(actor=request.auth, round_id=round_id))


@router.post("/rounds/{int:round_id}/consolidate", response=RoundOut, summary="财政汇总",
             operation_id="budgeting_round_consolidate")
def consolidate(request, round_id: int):
    return _round_out(services.round_consolidate(actor=request.auth, round_id=round_id))


@router.post("/rounds/{int:round_id}/approval", response=RoundOut, summary="登记人大批准（文号、日期）",
             operation_id="budgeting_round_approval")
def record_approval(request, round_id: int, payload: ApprovalIn):
    return _round_out(services.round_approval_record(actor=request.auth, round_id=round_id, doc_no=payload.doc_no,
                                                     approval_date=payload.approval_date))


@router.post("/rounds/{int:round_id}/reply", response=RoundOut, summary="批复部门预算（生成指标）",
             operation_id="budgeting_round_reply")
def reply(request, round_id: int, payload: ReplyIn):
    return _round_out(services.round_reply(actor=request.auth, round_id=round_id, doc_no=payload.doc_no,
                                           title=payload.title, doc_date=payload.doc_date))


# --- lines --------------------------------------------------------------------------------------

@router.get("/rounds/{int:round_id}/lines", response=LinePage, summary="预算明细（按版本）",
            operation_id="budgeting_line_list")
def list_lines(request, round_id: int, version: str = "", department_id: int | None = None,
               unit_id: int | None = None, direction: str = "", limit: Limit = 100, offset: Offset = 0):
    rnd = _round(request, round_id, reading=BudgetLine)
    qs = selectors.round_line_list(actor=request.auth, rnd=rnd, version=version or rnd.open_version or "reply",
                                   department_id=department_id, unit_id=unit_id, direction=direction)
    total = qs.aggregate(s=Sum("amount"))["s"] or 0
    return {"count": qs.count(), "total": fen_to_str(total),
            "items": [_line_out(ln) for ln in window(qs, limit, offset)]}


@router.post("/rounds/{int:round_id}/lines", response={201: LineOut}, summary="新增预算明细（当前开放版本）",
             operation_id="budgeting_line_create")
def create_line(request, round_id: int, payload: LineIn):
    data = service_input(payload, services.LineData)
    line = services.line_create(actor=request.auth, round_id=round_id, data=data)
    return Status(201, _line_out(line))


@router.get("/lines/{int:line_id}", response=LineOut, summary="预算明细详情", operation_id="budgeting_line_get")
def get_line(request, line_id: int):
    return _line_out(selectors.line_get(actor=request.auth, pk=line_id))


@router.put("/lines/{int:line_id}", response=LineOut, summary="修改预算明细（未给出的字段保持不变）",
            operation_id="budgeting_line_update")
def update_line(request, line_id: int, payload: LinePatch):
    current = selectors.line_get(actor=request.auth, pk=line_id)
    changes = payload.model_dump(exclude_unset=True)  # the fields given; the others keep the line's values
    kept = {k: v for k, v in asdict(services.LineData.of(current)).items() if k not in changes}
    data = service_input(changes, services.LineData, **kept)
    return _line_out(services.line_update(actor=request.auth, line_id=line_id, data=data))


@router.delete("/lines/{int:line_id}", response={204: None}, summary="删除预算明细", operation_id="budgeting_line_delete")
def delete_line(request, line_id: int):
    services.line_delete(actor=request.auth, line_id=line_id)
    return Status(204, None)


@router.post("/rounds/{int:round_id}/generate", response={201: GenerateOut},
             summary="从项目库生成预算明细（基本支出、项目支出）", operation_id="budgeting_line_generate")
def generate(request, round_id: int, payload: SubmissionUnitIn):
    lines = services.lines_generate(actor=request.auth, round_id=round_id, unit_id=payload.unit_id)
    for ln in lines:
        ln.refresh_from_db()
    return Status(201, {"created": len(lines), "items": [_line_out(ln) for ln in lines]})


# --- submissions --------------------------------------------------------------------------------

@router.get("/rounds/{int:round_id}/submissions", response=list[SubmissionOut], summary="报送情况",
            operation_id="budgeting_submission_list")
def list_submissions(request, round_id: int, version: str = ""):
    rnd = _round(request, round_id, reading=Submission)
    return [_sub_out(s) for s in selectors.submission_list(actor=request.auth, rnd=rnd, version=version)]


@router.post("/rounds/{int:round_id}/submit", response=SubmissionOut,
             summary="报送（单位报主管部门；部门报财政，二上超控制数拒绝）", operation_id="budgeting_submit")
def submit(request, round_id: int, payload: SubmissionUnitIn):
    return _sub_out(services.submission_submit(actor=request.auth, round_id=round_id, unit_id=payload.unit_id))


@router.post("/submissions/{int:submission_id}/return", response=SubmissionOut, summary="退回报送（须填原因）",
             operation_id="budgeting_submission_return")
def return_submission(request, submission_id: int, payload: ReasonIn):
    return _sub_out(services.submission_return(actor=request.auth, submission_id=submission_id,
                                               reason=payload.reason))


@router.post("/submissions/{int:submission_id}/accept", response=SubmissionOut, summary="审核通过报送",
             operation_id="budgeting_submission_accept")
def accept_submission(request, submission_id: int, payload: ReasonIn):
    return _sub_out(services.submission_accept(actor=request.auth, submission_id=submission_id,
                                               comment=payload.reason))


# --- ceilings -----------------------------------------------------------------------------------

@router.get("/rounds/{int:round_id}/ceilings", response=list[CeilingOut], summary="控制数",
            operation_id="budgeting_ceiling_list")
def list_ceilings(request, round_id: int):
    rnd = _round(request, round_id, reading=Ceiling)
    return [_ceiling_out(c) for c in selectors.ceiling_list(actor=request.auth, rnd=rnd)]


@router.put("/rounds/{int:round_id}/ceilings", response=CeilingOut, summary="下达（或修改）控制数",
            operation_id="budgeting_ceiling_set")
def set_ceiling(request, round_id: int, payload: CeilingIn):
    data = service_input(payload, services.CeilingData)
    ceiling = services.ceiling_set(actor=request.auth, round_id=round_id, **asdict(data))
    return _ceiling_out(ceiling)


@router.delete("/ceilings/{int:ceiling_id}", response={204: None}, summary="删除控制数",
               operation_id="budgeting_ceiling_delete")
def delete_ceiling(request, ceiling_id: int):
    services.ceiling_delete(actor=request.auth, ceiling_id=ceiling_id)
    return Status(204, None)


@router.get("/rounds/{int:round_id}/ceilings/usage", response=list[CeilingUseOut],
            summary="控制数使用情况（二上支出对比控制数）", operation_id="budgeting_ceiling_usage")
def ceiling_usage(request, round_id: int, department_id: int | None = None):
    rnd = _round(request, round_id, reading=Ceiling)
    return [{"department_id": d.pk, "fund_nature_code": u.fund_nature_code, "fund_nature_name": u.fund_nature_name,
             "ceiling": fen_to_str(u.ceiling), "used": fen_to_str(u.used), "remaining": fen_to_str(u.remaining),
             "exceeded": u.exceeded}
            for d, uses in selectors.ceiling_usage(actor=request.auth, rnd=rnd, department_id=department_id)
            for u in uses]


# --- comparison and replies ---------------------------------------------------------------------

@router.get("/rounds/{int:round_id}/comparison", response=list[CompareOut],
            summary="版本对比：一上 / 二上 / 批复（部门→单位→项目）", operation_id="budgeting_comparison")
def comparison(request, round_id: int, department_id: int | None = None, unit_id: int | None = None,
               direction: str = "expenditure"):
    rnd = _round(request, round_id, reading=BudgetLine)
    rows = selectors.comparison(actor=request.auth, rnd=rnd, department_id=department_id, unit_id=unit_id,
                                direction=direction)
    return [{"level": r.level, "label": r.label, "department_id": r.department_id, "unit_id": r.unit_id,
             "project_id": r.key.get("project_id"), "fund_nature_code": r.key.get("fund_nature_code", ""),
             "exp_func_code": r.key.get("exp_func_code", ""), "dep_eco_code": r.key.get("dep_eco_code", ""),
             "gov_eco_code": r.key.get("gov_eco_code", ""), "first_up": fen_to_str(r.amounts["first_up"]),
             "second_up": fen_to_str(r.amounts["second_up"]), "reply": fen_to_str(r.amounts["reply"]),
             "diff_second_first": fen_to_str(r.diff_second_first),
             "diff_reply_second": fen_to_str(r.diff_reply_second)} for r in rows]


@router.get("/rounds/{int:round_id}/replies", response=list[ReplyOut], summary="批复情况（含超期标记）",
            operation_id="budgeting_reply_list")
def list_replies(request, round_id: int):
    rnd = _round(request, round_id, reading=Reply)
    return [_reply_out(r) for r in selectors.reply_list(actor=request.auth, rnd=rnd)]


@router.post("/rounds/{int:round_id}/unit-replies", response=list[ReplyOut], summary="部门向所属单位批复",
             operation_id="budgeting_unit_reply")
def unit_replies(request, round_id: int, payload: UnitReplyIn):
    rows = services.unit_replies_record(actor=request.auth, round_id=round_id,
                                        department_id=payload.department_id, reply_date=payload.reply_date,
                                        doc_no=payload.doc_no, unit_ids=payload.unit_ids)
    return [_reply_out(r) for r in rows]
