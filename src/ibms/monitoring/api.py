"""/api/v1/monitoring/: alert queues and life-cycle actions, rules (create/update/enable/disable, back-test),
whitelist, the T+1 batch. Thin: parse, call one service or selector, serialize. Money as yuan strings; errors are
{"code","message","detail"} (backtest_required, invalid_transition, condition_syntax, not_found …)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from ninja import Router, Schema, Status

from ibms.core.money import api_fen, fen_to_str
from ibms.core.paging import Limit, Offset, window

from . import selectors, services
from .models import Alert, BacktestRun, BatchRun, Rule, WhitelistEntry

router = Router(tags=["动态监控"])


_fen = partial(api_fen, blank=0)

# --- schemas ----------------------------------------------------------------------------------------------------

class AlertOut(Schema):
    id: int
    number: str
    region_code: str
    unit_name: str
    subject_kind: str
    subject_id: str
    subject_number: str
    subject_amount: str
    subject_date: dt.date
    rule_id: int
    rule_code: str
    rule_version: int
    rule_name: str
    action: str
    stage: str
    message: str
    status: str
    status_display: str
    explanation: str
    verify_comment: str
    rectify_ask: str
    rectify_detail: str
    return_amt: str
    transfer_amt: str
    close_comment: str
    created_at: dt.datetime


class AlertPage(Schema):
    count: int
    items: list[AlertOut]


class ExplainIn(Schema):
    explanation: str


class VerifyIn(Schema):
    outcome: str
    comment: str = ""


class RectifyIn(Schema):
    detail: str = ""
    ask: str = ""
    return_amt: str = "0"
    transfer_amt: str = "0"


class CloseIn(Schema):
    comment: str = ""


class RuleIn(Schema):
    code: str = ""
    region_code: str = ""
    name: str = ""
    catalogue_no: str = ""
    level: str = "region"
    department_code: str = ""
    stage: str = "inline"
    action: str = ""
    condition: str = ""
    params: dict[str, Any] = {}
    message: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    legal_basis: str = ""
    provenance: str = ""


class RulePatch(Schema):
    name: str | None = None
    catalogue_no: str | None = None
    level: str | None = None
    department_code: str | None = None
    stage: str | None = None
    action: str | None = None
    condition: str | None = None
    params: dict[str, Any] | None = None
    message: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    legal_basis: str | None = None
    provenance: str | None = None


class RuleOut(Schema):
    id: int
    region_code: str
    code: str
    name: str
    catalogue_no: str
    level: str
    department_code: str
    stage: str
    action: str
    condition: str
    params: dict[str, Any]
    message: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    enabled: bool
    version: int
    backtested: bool
    legal_basis: str
    provenance: str


class BacktestIn(Schema):
    date_from: dt.date
    date_to: dt.date


class DraftBacktestIn(BacktestIn):
    rule: RuleIn


class HitOut(Schema):
    kind: str
    object_id: str
    number: str
    region_code: str
    unit_name: str
    amount: str
    date: str
    action: str
    message: str


class BacktestOut(Schema):
    id: int | None
    rule_id: int | None
    rule_version: int
    date_from: dt.date
    date_to: dt.date
    scanned: int
    hit_count: int
    hit_amount: str
    hits: list[HitOut]


class WhitelistIn(Schema):
    rule_id: int
    legal_basis: str
    region_code: str = ""
    unit_code: str = ""
    payee_account: str = ""
    indicator_code: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class WhitelistOut(Schema):
    id: int
    rule_id: int
    rule_code: str
    region_code: str
    unit_code: str
    payee_account: str
    indicator_code: str
    legal_basis: str
    valid_from: dt.date
    valid_to: dt.date | None
    is_active: bool


class BatchIn(Schema):
    date: dt.date


class BatchOut(Schema):
    id: int
    date: dt.date
    region_code: str
    scanned: int
    raised: int
    finished: bool


# --- serializers ------------------------------------------------------------------------------------------------

def _alert(a: Alert) -> dict:
    return {**{f: getattr(a, f) for f in ("id", "number", "region_code", "unit_name", "subject_kind", "subject_id",
                                          "subject_number", "subject_date", "rule_id", "rule_code", "rule_version",
                                          "rule_name", "action", "stage", "message", "status", "explanation",
                                          "verify_comment", "rectify_ask", "rectify_detail", "close_comment",
                                          "created_at")},
            "subject_amount": fen_to_str(a.subject_amount), "return_amt": fen_to_str(a.return_amt),
            "transfer_amt": fen_to_str(a.transfer_amt), "status_display": a.get_status_display()}


def _rule(r: Rule) -> dict:
    return {**{f: getattr(r, f) for f in ("id", "region_code", "code", "name", "catalogue_no", "level",
                                          "department_code", "stage", "action", "condition", "params", "message",
                                          "valid_from", "valid_to", "enabled", "version", "legal_basis",
                                          "provenance")},
            "backtested": BacktestRun.objects.filter(rule=r, rule_version=r.version).exists()}


def _run(run: BacktestRun) -> dict:
    return {"id": run.pk, "rule_id": run.rule_id if run.pk else None, "rule_version": run.rule_version,
            "date_from": run.date_from, "date_to": run.date_to, "scanned": run.scanned, "hit_count": run.hit_count,
            "hit_amount": fen_to_str(run.hit_amount),
            "hits": [{**h, "amount": fen_to_str(h["amount"])} for h in run.hits]}


def _white(w: WhitelistEntry) -> dict:
    return {f: getattr(w, f) for f in ("id", "rule_id", "rule_code", "region_code", "unit_code", "payee_account",
                                       "indicator_code", "legal_basis", "valid_from", "valid_to", "is_active")}


def _batch(b: BatchRun) -> dict:
    return {"id": b.pk, "date": b.date, "region_code": b.region_code, "scanned": b.scanned, "raised": b.raised,
            "finished": b.finished_at is not None}


# --- alerts -----------------------------------------------------------------------------------------------------

@router.get("/alerts", response=AlertPage, summary="疑点列表（queue: explain 待说明 / verify 待核实 / rectify 违规整改）",
            operation_id="monitoring_alert_list")
def alert_list(request, queue: str = "all", q: str = "", action: str = "", status: str = "", offset: Offset = 0,
               limit: Limit = 50):
    qs = selectors.alert_queue(actor=request.auth, queue=queue, q=q, action=action, status=status)
    return {"count": qs.count(), "items": [_alert(a) for a in window(qs, limit, offset)]}


@router.get("/alerts/{int:pk}", response=AlertOut, summary="疑点详情", operation_id="monitoring_alert_get")
def alert_get(request, pk: int):
    return _alert(selectors.alert_get(actor=request.auth, pk=pk))


@router.post("/alerts/{int:pk}/explain", response=AlertOut, summary="单位说明", operation_id="monitoring_alert_explain")
def alert_explain(request, pk: int, payload: ExplainIn):
    return _alert(services.alert_explain(actor=request.auth, pk=pk, explanation=payload.explanation))


@router.post("/alerts/{int:pk}/verify", response=AlertOut, summary="财政核实（outcome: normal | violation）",
             operation_id="monitoring_alert_verify")
def alert_verify(request, pk: int, payload: VerifyIn):
    return _alert(services.alert_verify(actor=request.auth, pk=pk, outcome=payload.outcome, comment=payload.comment))


@router.post("/alerts/{int:pk}/rectify", response=AlertOut,
             summary="整改（违规时财政提出要求 ask；整改中单位报送 detail 与退回/调账金额）",
             operation_id="monitoring_alert_rectify")
def alert_rectify(request, pk: int, payload: RectifyIn):
    return _alert(services.alert_rectify(actor=request.auth, pk=pk, detail=payload.detail, ask=payload.ask,
                                         return_amt=_fen(payload.return_amt, "return_amt"),
                                         transfer_amt=_fen(payload.transfer_amt, "transfer_amt")))


@router.post("/alerts/{int:pk}/close", response=AlertOut, summary="办结", operation_id="monitoring_alert_close")
def alert_close(request, pk: int, payload: CloseIn):
    return _alert(services.alert_close(actor=request.auth, pk=pk, comment=payload.comment))


# --- rules ------------------------------------------------------------------------------------------------------

@router.get("/rules", response=list[RuleOut], summary="监控规则列表", operation_id="monitoring_rule_list")
def rule_list(request, q: str = "", enabled: str = "", action: str = "", stage: str = ""):
    return [_rule(r) for r in selectors.rule_list(actor=request.auth, q=q, enabled=enabled, action=action, stage=stage)]


@router.get("/rules/{int:pk}", response=RuleOut, summary="监控规则", operation_id="monitoring_rule_get")
def rule_get(request, pk: int):
    return _rule(selectors.rule_get(actor=request.auth, pk=pk))


@router.post("/rules", response={201: RuleOut}, summary="新建规则（停用状态，回测后方可启用）",
             operation_id="monitoring_rule_create")
def rule_create(request, payload: RuleIn):
    return Status(201, _rule(services.rule_create(actor=request.auth, data=payload.model_dump())))


@router.patch("/rules/{int:pk}", response=RuleOut, summary="修改规则（修改条件/参数等生成新版本并停用）",
              operation_id="monitoring_rule_update")
def rule_update(request, pk: int, payload: RulePatch):
    data = payload.model_dump(exclude_unset=True)
    return _rule(services.rule_update(actor=request.auth, pk=pk, data=data))


@router.post("/rules/{int:pk}/enable", response=RuleOut, summary="启用（须已回测当前版本）",
             operation_id="monitoring_rule_enable")
def rule_enable(request, pk: int):
    return _rule(services.rule_enable(actor=request.auth, pk=pk))


@router.post("/rules/{int:pk}/disable", response=RuleOut, summary="停用", operation_id="monitoring_rule_disable")
def rule_disable(request, pk: int):
    return _rule(services.rule_disable(actor=request.auth, pk=pk))


@router.post("/rules/{int:pk}/backtest", response={201: BacktestOut}, summary="回测规则当前版本",
             operation_id="monitoring_rule_backtest")
def rule_backtest(request, pk: int, payload: BacktestIn):
    run = services.rule_backtest(actor=request.auth, rule_or_draft=pk, date_from=payload.date_from, date_to=payload.date_to)
    return Status(201, _run(run))


@router.post("/rules/backtest-draft", response=BacktestOut, summary="回测规则草稿（不保存）",
             operation_id="monitoring_rule_backtest_draft")
def draft_backtest(request, payload: DraftBacktestIn):
    run = services.rule_backtest(actor=request.auth, rule_or_draft=payload.rule.model_dump(), date_from=payload.date_from,
                            date_to=payload.date_to)
    return _run(run)


@router.get("/rules/{int:pk}/backtests", response=list[BacktestOut], summary="规则的回测记录",
            operation_id="monitoring_rule_backtests")
def rule_backtests(request, pk: int):
    runs = selectors.backtest_list(actor=request.auth, rule_id=pk)  # refuses (403) before the rule is looked up
    selectors.rule_get(actor=request.auth, pk=pk)
    return [_run(r) for r in runs[:20]]


# --- whitelist and batch ----------------------------------------------------------------------------------------

@router.get("/whitelist", response=list[WhitelistOut], summary="白名单", operation_id="monitoring_whitelist_list")
def whitelist_list(request, rule_id: int | None = None):
    return [_white(w) for w in selectors.whitelist_list(actor=request.auth, rule_id=rule_id)]


@router.post("/whitelist", response={201: WhitelistOut}, summary="新增白名单（须有豁免依据）",
             operation_id="monitoring_whitelist_add")
def whitelist_add(request, payload: WhitelistIn):
    entry = services.whitelist_add(actor=request.auth, **payload.model_dump())
    return Status(201, _white(entry))


@router.post("/whitelist/{int:pk}/deactivate", response=WhitelistOut, summary="停用白名单",
             operation_id="monitoring_whitelist_deactivate")
def whitelist_deactivate(request, pk: int):
    return _white(services.whitelist_deactivate(actor=request.auth, pk=pk))


@router.post("/batch-runs", response={201: BatchOut}, summary="执行事后（T+1）监控", operation_id="monitoring_batch_run")
def batch_run(request, payload: BatchIn):
    return Status(201, _batch(services.batch_run(actor=request.auth, date=payload.date)))
