"""/api/v1/accounting/reports/: trial balance and statements of an account set as JSON (money = yuan strings).

Thin: parse, call the books/statements selectors, serialize. Out-of-scope sets are 404 like missing ones.
Mounted by `ibms.web.api` (`api.add_router("/accounting/reports", "ibms.accounting.report_api.router")`).
"""

from __future__ import annotations

from ninja import Router, Schema

from ibms.core.money import fen_to_str

from . import books, selectors, statements
from .books import BASIS_LABELS, PeriodRange

router = Router(tags=["会计账簿与报表"])


class ReportSetOut(Schema):
    id: int
    code: str
    name: str
    year: int
    kind: str
    unit_code: str | None


class TrialBalanceRowOut(Schema):
    code: str
    name: str
    level: int
    balance_side: str
    opening_debit: str
    opening_credit: str
    debit: str
    credit: str
    closing_debit: str
    closing_credit: str


class BasisOut(Schema):
    basis: str
    label: str
    balanced: bool
    problems: list[str]
    totals: dict[str, str]
    rows: list[TrialBalanceRowOut]


class TrialBalanceOut(Schema):
    account_set: ReportSetOut
    period_start: int
    period_end: int
    balanced: bool
    bases: list[BasisOut]


class StatementLineOut(Schema):
    line_no: str
    name: str
    values: list[str | None]


class StatementOut(Schema):
    code: str
    title: str
    report_no: str
    account_set: ReportSetOut
    period_start: int
    period_end: int
    columns: list[str]
    lines: list[StatementLineOut]
    problems: list[str]


def _actor(request):
    return request.auth or request.user  # the API authenticates (token or session); request.user for tests


def _account_set(request, set_id: int):
    return selectors.account_set_get(actor=_actor(request), pk=set_id)


def _set_out(aset) -> dict:
    return {"id": aset.pk, "code": aset.code, "name": aset.name, "year": aset.year, "kind": aset.kind,
            "unit_code": aset.unit.code if aset.unit_id else None}


def _statement_out(st: statements.Statement) -> dict:
    return {"code": st.definition.code, "title": st.title, "report_no": st.definition.report_no,
            "account_set": _set_out(st.account_set), "period_start": st.period.start, "period_end": st.period.end,
            "columns": st.columns, "problems": st.problems,
            "lines": [{"line_no": str(r.number), "name": r.name,
                       "values": [None if v is None else fen_to_str(v) for v in r.values]} for r in st.rows]}


@router.get("/sets/{int:set_id}/trial-balance", response=TrialBalanceOut, summary="科目余额表（试算平衡）",
            operation_id="accounting_trial_balance")
def trial_balance(request, set_id: int, start: int = 1, end: int = 12, level: int = 0):
    aset = _account_set(request, set_id)
    period = PeriodRange.of(start, end)
    tb = books.trial_balance(actor=_actor(request), account_set=aset, period=period, max_level=level)
    bases = []
    for basis, rows in tb.rows.items():
        t = tb.totals[basis]
        out_rows = []
        for r in rows:
            od, oc = r.split(r.opening)
            cd, cc = r.split(r.closing)
            out_rows.append({"code": r.code, "name": r.account.name, "level": r.account.level,
                             "balance_side": r.account.balance_side, "opening_debit": fen_to_str(od),
                             "opening_credit": fen_to_str(oc), "debit": fen_to_str(r.debit),
                             "credit": fen_to_str(r.credit), "closing_debit": fen_to_str(cd),
                             "closing_credit": fen_to_str(cc)})
        totals = {k: fen_to_str(getattr(t, k)) for k in ("opening_debit", "opening_credit", "debit", "credit",
                                                          "closing_debit", "closing_credit")}
        bases.append({"basis": basis, "label": BASIS_LABELS[basis], "balanced": t.balanced, "problems": t.problems,
                      "totals": totals, "rows": out_rows})
    return {"account_set": _set_out(aset), "period_start": period.start, "period_end": period.end,
            "balanced": tb.balanced, "bases": bases}


@router.get("/sets/{int:set_id}/statements", response=list[StatementOut], summary="全部会计报表",
            operation_id="accounting_statements")
def all_statements(request, set_id: int, start: int = 1, end: int = 12):
    aset = _account_set(request, set_id)
    return [_statement_out(st) for st in statements.statement_compute_all(
        actor=_actor(request), account_set=aset, period=PeriodRange.of(start, end))]


@router.get("/sets/{int:set_id}/statements/{code}", response=StatementOut, summary="会计报表（按报表代码）",
            operation_id="accounting_statement")
def one_statement(request, set_id: int, code: str, start: int = 1, end: int = 12):
    aset = _account_set(request, set_id)
    return _statement_out(statements.statement_compute(actor=_actor(request), account_set=aset, code=code,
                                                       period=PeriodRange.of(start, end)))
