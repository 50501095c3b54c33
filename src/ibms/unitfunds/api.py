"""/api/v1/unitfunds/: 实有资金账户 (register, list with balances), 单位资金收入 (record, list), the accounts' daily
statements (read T+1: matched / unmatched lines, alerts raised) and the alerts on them. Payments out of a unit
account are treasury requests (/api/v1/treasury/requests) against an indicator of fund nature 3. Thin: parse, call
one service or selector, serialize. Money as yuan strings; errors {"code","message","detail"} with stable codes
(income_kind_unknown, amount_not_positive, account_type_not_allowed, unit_account_exists, unit_account_inactive,
statement_line_exists, serial_duplicate …)."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema, Status

from ibms.core import clock
from ibms.core.money import api_fen, fen_to_str

from . import selectors, services
from .domain import IncomeIn, StatementLineIn
from .feed import feed_run
from .models import Income, StatementLine, UnitAccount

router = Router(tags=["单位资金"])


class UnitAccountOut(Schema):
    id: int
    unit_id: int
    unit_name: str
    account_no: str
    account_name: str
    bank_name: str
    account_type: str
    balance: str
    held: str
    available: str


class UnitAccountRegisterIn(Schema):
    bank_account_id: int


class UnitIncomeIn(Schema):
    account_id: int
    kind_code: str
    amount: str
    income_date: dt.date | None = None
    payer_name: str = ""
    summary: str = ""


class UnitIncomeOut(Schema):
    id: int
    number: str
    account_id: int
    kind_code: str
    kind_name: str
    amount: str
    income_date: str
    payer_name: str
    summary: str
    voucher_id: int | None


class UnitStatementLineIn(Schema):
    serial: str
    direction: str
    amount: str
    counterparty_account: str = ""
    counterparty_name: str = ""
    voucher_no: str = ""
    summary: str = ""


class UnitStatementIn(Schema):
    statement_date: dt.date
    lines: list[UnitStatementLineIn]


class UnitStatementLineOut(Schema):
    id: int
    account_id: int
    statement_date: str
    serial: str
    direction: str
    amount: str
    counterparty_name: str
    voucher_no: str
    match: str
    request_id: int | None


class UnitFeedIn(Schema):
    statement_date: dt.date | None = None  # default: yesterday


class UnitFeedOut(Schema):
    date: str
    read: int
    skipped: int
    lines: int
    unmatched: int
    alerts: int
    failed: list[str]


class UnitFundsAlertOut(Schema):
    id: int
    number: str
    rule_code: str
    action: str
    status: str
    subject_number: str
    amount: str
    message: str


def _account(row: dict) -> dict:
    ua: UnitAccount = row["account"]
    ba = ua.bank_account
    return {"id": ua.pk, "unit_id": ua.unit_id, "unit_name": ua.unit.name, "account_no": ba.account_no,
            "account_name": ba.account_name, "bank_name": ba.bank_name, "account_type": ba.account_type,
            "balance": fen_to_str(row["balance"]), "held": fen_to_str(row["held"]),
            "available": fen_to_str(row["available"])}


def _income(i: Income) -> dict:
    return {"id": i.pk, "number": i.number, "account_id": i.account_id, "kind_code": i.kind.code,
            "kind_name": i.kind.name, "amount": fen_to_str(i.amount), "income_date": i.income_date.isoformat(),
            "payer_name": i.payer_name, "summary": i.summary, "voucher_id": i.voucher_id}


def _line(sl: StatementLine) -> dict:
    return {"id": sl.pk, "account_id": sl.account_id, "statement_date": sl.statement_date.isoformat(),
            "serial": sl.serial, "direction": sl.direction, "amount": fen_to_str(sl.amount),
            "counterparty_name": sl.counterparty_name, "voucher_no": sl.voucher_no, "match": sl.match,
            "request_id": sl.request_id}


def _one(actor, pk: int) -> dict:
    from ibms.core.errors import NotFound

    for row in selectors.balances(actor=actor):
        if row["account"].pk == pk:
            return _account(row)
    raise NotFound("实有资金账户")


@router.get("/accounts", response=list[UnitAccountOut], operation_id="unitfunds_account_list")
def account_list(request):
    return [_account(r) for r in selectors.balances(actor=request.user)]


@router.get("/accounts/{pk}", response=UnitAccountOut, operation_id="unitfunds_account_get")
def account_get(request, pk: int):
    from ibms.core.scoping import get_in_scope

    get_in_scope(UnitAccount.objects.all(), request.user, what="实有资金账户", pk=pk)
    return _one(request.user, pk)


@router.post("/accounts", response={201: UnitAccountOut}, operation_id="unitfunds_account_register")
def account_register(request, body: UnitAccountRegisterIn):
    ua = services.unit_account_register(actor=request.user, bank_account_id=body.bank_account_id)
    return Status(201, _one(request.user, ua.pk))


@router.get("/incomes", response=list[UnitIncomeOut], operation_id="unitfunds_income_list")
def income_list(request, account_id: int | None = None):
    return [_income(i) for i in selectors.income_list(actor=request.user, account_id=account_id)[:500]]


@router.post("/incomes", response={201: UnitIncomeOut}, operation_id="unitfunds_income_record")
def income_record(request, body: UnitIncomeIn):
    inc = services.income_record(actor=request.user, data=IncomeIn(
        account_id=body.account_id, kind_code=body.kind_code, amount=api_fen(body.amount),
        income_date=body.income_date, payer_name=body.payer_name, summary=body.summary))
    return Status(201, _income(inc))


@router.get("/accounts/{pk}/statement", response=list[UnitStatementLineOut], operation_id="unitfunds_statement_list")
def statement_list(request, pk: int, match: str = ""):
    from ibms.core.scoping import get_in_scope

    get_in_scope(UnitAccount.objects.all(), request.user, what="实有资金账户", pk=pk)
    return [_line(sl) for sl in selectors.statement_lines(actor=request.user, account_id=pk, match=match)[:500]]


@router.post("/accounts/{pk}/statement", response={201: list[UnitStatementLineOut]},
             operation_id="unitfunds_statement_read")
def statement_read(request, pk: int, body: UnitStatementIn):
    lines = [StatementLineIn(serial=ln.serial, direction=ln.direction, amount=api_fen(ln.amount, f"lines[{n}].amount"),
                             counterparty_account=ln.counterparty_account, counterparty_name=ln.counterparty_name,
                             voucher_no=ln.voucher_no, summary=ln.summary) for n, ln in enumerate(body.lines, 1)]
    out = services.statement_read(actor=request.user, account_id=pk, statement_date=body.statement_date, lines=lines)
    return Status(201, [_line(sl) for sl in out])


@router.post("/statement-feed", response=UnitFeedOut, operation_id="unitfunds_statement_feed")
def statement_feed(request, body: UnitFeedIn):
    """The T+1 feed by hand (the worker runs it daily): every unit account's statement of the day from its bank."""
    day = body.statement_date or clock.today() - dt.timedelta(days=1)
    res = feed_run(actor=request.user, date=day)
    return {"date": day.isoformat(), "read": res.read, "skipped": res.skipped, "lines": res.lines,
            "unmatched": res.unmatched, "alerts": res.alerts, "failed": res.failed}


@router.get("/alerts", response=list[UnitFundsAlertOut], operation_id="unitfunds_alert_list")
def alert_list(request):
    return [{"id": a.pk, "number": a.number, "rule_code": a.rule_code, "action": a.action, "status": a.status,
             "subject_number": a.subject_number, "amount": fen_to_str(a.subject_amount), "message": a.message}
            for a in selectors.alert_list(actor=request.user)[:500]]

