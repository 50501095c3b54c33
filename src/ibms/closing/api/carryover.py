"""/api/v1/closing/carry-runs, /carry-lines: the carry-over proposal (结转结余清单) — list, a run with its lines
(filtered by unit, decision, fund nature), propose, change a line, execute. Thin: parse, call one service or
selector, serialize; money as yuan strings; errors {"code","message","detail"} (reservations_open lists the open
reservations in detail.items, proposal_stale the indicators whose balance moved)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema, Status

from ibms.core.money import api_fen, fen_to_str
from ibms.core.paging import Limit, Offset, window

from .. import selectors
from ..models import CarryLine, CarryRun
from ..services import carryover

router = Router(tags=["结转结余"])


class CarryRunOut(Schema):
    id: int
    number: str
    region_code: str
    year: int
    status: str
    status_name: str
    zero_carry: bool
    total_unspent: str
    total_carry: str
    total_recall: str
    line_count: int
    done_count: int
    carry_doc_no: str
    recall_doc_no: str
    executed_at: dt.datetime | None


class CarryRunPage(Schema):
    count: int
    items: list[CarryRunOut]


class CarryLineOut(Schema):
    id: int
    indicator_id: int
    indicator_code: str
    unit_code: str
    fund_nature_code: str
    unspent: str
    decision: str
    proposed: str
    carry_amount: str
    recall_amount: str
    rule_code: str
    reason: str
    changed: bool
    new_indicator_id: int | None
    new_indicator_code: str
    executed_at: dt.datetime | None


class NatureOut(Schema):
    fund_nature_code: str
    lines: int
    unspent: str
    carry: str
    recall: str


class CarryRunDetail(CarryRunOut):
    natures: list[NatureOut]
    line_total: int
    lines: list[CarryLineOut]


class ProposeIn(Schema):
    region_code: str
    year: int


class ChangeIn(Schema):
    decision: str
    carry_amount: str = ""
    reason: str = ""


def run_out(r: CarryRun) -> dict[str, Any]:
    return {**{f: getattr(r, f) for f in ("id", "number", "region_code", "year", "status", "zero_carry",
                                          "line_count", "done_count", "executed_at")},
            "status_name": r.get_status_display(),
            **{f: fen_to_str(getattr(r, f)) for f in ("total_unspent", "total_carry", "total_recall")},
            "carry_doc_no": r.carry_source.doc_no if r.carry_source_id else "",
            "recall_doc_no": r.recall_source.doc_no if r.recall_source_id else ""}


def line_out(ln: CarryLine) -> dict[str, Any]:
    i = ln.indicator
    return {"id": ln.pk, "indicator_id": i.pk, "indicator_code": i.code, "unit_code": i.unit.code if i.unit_id else "",
            "fund_nature_code": i.fund_nature_code, "unspent": fen_to_str(ln.unspent), "decision": ln.decision,
            "proposed": ln.proposed, "carry_amount": fen_to_str(ln.carry_amount),
            "recall_amount": fen_to_str(ln.recall_amount), "rule_code": ln.rule_code, "reason": ln.reason,
            "changed": ln.changed_by_id is not None, "new_indicator_id": ln.new_indicator_id,
            "new_indicator_code": ln.new_indicator.code if ln.new_indicator_id else "", "executed_at": ln.executed_at}


def detail_out(request, pk: int, *, unit_code: str = "", decision: str = "", fund_nature_code: str = "",
               limit: int = 200, offset: int = 0) -> dict[str, Any]:
    run = selectors.run_get(actor=request.auth, pk=pk)
    lines = selectors.line_list(actor=request.auth, run=run, unit_code=unit_code, decision=decision,
                                fund_nature_code=fund_nature_code)
    natures = [{"fund_nature_code": n.fund_nature_code, "lines": n.lines, "unspent": fen_to_str(n.unspent),
                "carry": fen_to_str(n.carry), "recall": fen_to_str(n.recall)}
               for n in selectors.nature_totals(selectors.line_list(actor=request.auth, run=run))]
    return {**run_out(run), "natures": natures, "line_total": lines.count(),
            "lines": [line_out(ln) for ln in window(lines, limit, offset)]}


@router.get("/carry-runs", response=CarryRunPage, summary="结转结余清单列表", operation_id="closing_carry_run_list")
def run_list(request, region_code: str = "", year: int | None = None, status: str = "", limit: Limit = 50,
             offset: Offset = 0):
    qs = selectors.run_list(actor=request.auth, region_code=region_code, year=year, status=status)
    return {"count": qs.count(), "items": [run_out(r) for r in window(qs.select_related("carry_source",
                                                                                       "recall_source"),
                                                                      limit, offset)]}


@router.get("/carry-runs/{int:pk}", response=CarryRunDetail, summary="结转结余清单及明细（按单位、处理方式、资金性质筛选）",
            operation_id="closing_carry_run_get")
def run_get(request, pk: int, unit_code: str = "", decision: str = "", fund_nature_code: str = "",
            limit: Limit = 200, offset: Offset = 0):
    return detail_out(request, pk, unit_code=unit_code, decision=decision, fund_nature_code=fund_nature_code,
                      limit=limit, offset=offset)


@router.post("/carry-runs", response={201: CarryRunOut}, summary="生成或刷新结转结余清单（409 reservations_open 列出未结预占）",
             operation_id="closing_carry_run_propose")
def propose(request, payload: ProposeIn):
    run = carryover.carry_run_propose(actor=request.auth, region_code=payload.region_code, year=payload.year)
    return Status(201, run_out(selectors.run_get(actor=request.auth, pk=run.pk)))


@router.post("/carry-lines/{int:pk}", response=CarryLineOut, summary="逐条调整结转或结余（部分结转填写结转金额）",
             operation_id="closing_carry_line_change")
def change(request, pk: int, payload: ChangeIn):
    carry = api_fen(payload.carry_amount, "carry_amount") if payload.carry_amount.strip() else None
    carryover.carry_line_change(actor=request.auth, line_id=pk, decision=payload.decision, carry_amount=carry,
                                reason=payload.reason)
    return line_out(CarryLine.objects.select_related("indicator", "indicator__unit", "new_indicator").get(pk=pk))


@router.post("/carry-runs/{int:pk}/execute", response=CarryRunOut, summary="执行结转结余（分批提交，可中断后续做）",
             operation_id="closing_carry_run_execute")
def execute(request, pk: int):
    run = carryover.carry_run_execute(actor=request.auth, run_id=pk)
    return run_out(selectors.run_get(actor=request.auth, pk=run.pk))
