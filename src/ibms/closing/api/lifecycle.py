"""/api/v1/closing/years: the fiscal years and their year-end checklist; running a step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema

from ..models import YearStep
from ..services import fiscal_year_start, lifecycle

router = Router(tags=["年终结账"])


class YearOut(Schema):
    region_code: str
    year: int
    status: str
    status_name: str


class StepOut(Schema):
    step: str
    order: int
    name: str
    description: str
    status: str
    status_name: str
    done: int
    total: int
    percent: int
    blockers: list[dict[str, Any]]
    result: dict[str, Any]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    run_by: str


class ChecklistOut(Schema):
    region_code: str
    year: int
    status: str
    status_name: str
    steps: list[StepOut]


def step_out(d: lifecycle.StepDef, r: YearStep) -> dict:
    who = r.run_by if r.run_by_id else None
    return {"step": d.code, "order": d.order, "name": d.name, "description": d.description, "status": r.status,
            "status_name": r.get_status_display(), "done": r.done, "total": r.total, "percent": r.percent,
            "blockers": r.blockers or [], "result": r.result or {}, "started_at": r.started_at,
            "finished_at": r.finished_at, "run_by": (who.get_full_name() or who.username) if who else ""}


def checklist_out(actor, region_code: str, year: int) -> dict:
    fy, steps = lifecycle.checklist(actor, region_code, year)
    return {"region_code": region_code, "year": year, "status": fy.status, "status_name": fy.get_status_display(),
            "steps": [step_out(d, r) for d, r in steps]}


@router.get("/years", response=list[YearOut], summary="预算年度及其状态", operation_id="closing_year_list")
def year_list(request):
    return [{"region_code": fy.region_code, "year": fy.year, "status": fy.status,
             "status_name": fy.get_status_display()} for fy in lifecycle.years_visible(request.auth)[:500]]


@router.get("/years/{region_code}/{int:year}", response=ChecklistOut, summary="年终结账清单",
            operation_id="closing_checklist")
def checklist(request, region_code: str, year: int):
    return checklist_out(request.auth, region_code, year)


@router.post("/years/{region_code}/{int:year}/steps/{step}", response=ChecklistOut,
             summary="执行年终结账步骤（未通过时 409 step_blocked，detail.items 列出每个待处理事项）",
             operation_id="closing_step_run")
def step_run(request, region_code: str, year: int, step: str):
    lifecycle.step_run(actor=request.auth, region_code=region_code, year=year, step=step)
    return checklist_out(request.auth, region_code, year)


@router.post("/years/{region_code}/{int:year}/start", response=YearOut,
             summary="年度开始执行（上一年度已进入年终结账后）", operation_id="closing_year_start")
def year_start(request, region_code: str, year: int):
    fy = fiscal_year_start(actor=request.auth, region_code=region_code, year=year)
    return {"region_code": fy.region_code, "year": fy.year, "status": fy.status, "status_name": fy.get_status_display()}
