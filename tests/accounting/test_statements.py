"""Statements beyond the year test: their invariants under random events, the JSON API, and refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ninja.testing import TestClient

from ibms.accounting import books, statements
from ibms.accounting import services as acc
from ibms.accounting.books import PeriodRange
from ibms.accounting.models import AccountSet
from ibms.accounting.report_api import router
from ibms.core import clock
from ibms.core.errors import NotFound, ValidationFailed
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

FUND = {"fund_nature": "111", "exp_func": "2130101"}


def unit_set(code: str = "004") -> AccountSet:
    """Next year's books of a provincial unit (004 农业农村厅, an organ); created empty, then reused."""
    unit = Unit.objects.get(region_code=PROVINCE, code=code)
    year = clock.fiscal_year() + 1
    with transaction.atomic():
        acc.books_ensure(year=year, units=[unit])
    return AccountSet.objects.get(unit=unit, year=year)


# (event type, attrs, dims, amounts builder) — every unit event of the rule catalogue with fiscal money
EVENTS = [
    ("quota.received", {"pay_method": "authorized"}, {}, lambda a: {"amount": a}),
    ("payment.receipted", {"pay_method": "direct"}, {"dep_eco": "30201"}, lambda a: {"amount": a}),
    ("payment.receipted", {"pay_method": "authorized", "expense": "admin"}, {"dep_eco": "30201"},
     lambda a: {"amount": a}),
    ("payment.refunded", {"pay_method": "direct"}, {"dep_eco": "30201"}, lambda a: {"amount": a}),
    ("payment.refunded", {"pay_method": "authorized"}, {"dep_eco": "30201"}, lambda a: {"amount": a}),
    ("payroll.accrued", {}, {"dep_eco": "30101"}, lambda a: {"amount": a}),
    ("payroll.withheld", {}, {}, lambda a: {"tax": a // 10 + 1, "social": a // 5 + 1}),
    ("payroll.paid", {"pay_method": "direct"}, {"dep_eco": "30101"}, lambda a: {"amount": a}),
    ("payroll.remitted", {"pay_method": "authorized"}, {"dep_eco": "30108"},
     lambda a: {"tax": a // 10 + 1, "social": a // 5 + 1, "employer": a // 4 + 1}),
    ("asset.purchased", {"pay_method": "direct"}, {"dep_eco": "31002", "project": "P-X"}, lambda a: {"amount": a}),
    ("asset.depreciated", {}, {}, lambda a: {"amount": a}),
    ("year_end.direct_unspent", {}, {}, lambda a: {"amount": a}),
    ("year_end.quota_unissued", {}, {}, lambda a: {"amount": a}),
]

event_st = st.tuples(st.integers(0, len(EVENTS) - 1), st.integers(1, 12), st.integers(1, 10**9))


class _Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event_st, min_size=1, max_size=12), start=st.integers(1, 12), length=st.integers(0, 11))
def test_statement_checks_hold_for_any_events_and_period(user, events, start, length):
    """Whatever the unit books, for any period: the balance sheet balances, the statements' own checks hold,
    and the reconciliation explains the whole difference with nothing left over (其他事项差异 = 0)."""
    actor = user("fin_accounting")
    aset = unit_set("004")
    period = PeriodRange(start, min(12, start + length))
    try:
        with transaction.atomic():
            for i, (k, month, amount) in enumerate(events):
                etype, attrs, dims, amounts = EVENTS[k]
                acc.event_post(event_id=f"h{i}", event_type=etype, date=dt.date(aset.year, month, 1),
                               amounts=amounts(amount), dimensions={**FUND, **dims}, attrs=attrs, account_set=aset)
            assert books.trial_balance(actor=actor, account_set=aset, period=period).balanced
            for s in statements.statement_compute_all(actor=actor, account_set=aset, period=period):
                assert s.problems == [], s.problems
            rec = statements.statement_compute(actor=actor, account_set=aset, code="surplus_reconciliation", period=period)
            assert rec.value(21, 0) == 0 and rec.value(21, 1) == 0
            bs = statements.statement_compute(actor=actor, account_set=aset, code="balance_sheet", period=period)
            assert bs.value(38, 0) == bs.value(67, 0)
            raise _Rollback
    except _Rollback:
        pass


def test_a_reversal_leaves_statements_as_before(db, user):
    actor = user("fin_accounting")
    aset = unit_set("004")
    acc.event_post(event_id="a", event_type="quota.received", date=dt.date(aset.year, 2, 1),
                   amounts={"amount": 900_000}, dimensions=FUND, attrs={"pay_method": "authorized"}, account_set=aset)
    before = [s.rows for s in statements.statement_compute_all(actor=actor, account_set=aset, period=PeriodRange(1, 12))]
    v = acc.event_post(event_id="b", event_type="asset.purchased", date=dt.date(aset.year, 3, 1),
                       amounts={"amount": 500_000}, dimensions={**FUND, "dep_eco": "31002"},
                       attrs={"pay_method": "authorized"}, account_set=aset)
    mid = statements.statement_compute(actor=actor, account_set=aset, code="surplus_reconciliation", period=PeriodRange(1, 12))
    assert mid.value(10) == 500_000  # capital expenditure while the purchase stands
    acc.voucher_reverse(actor=actor, pk=v.pk)
    after = [s.rows for s in statements.statement_compute_all(actor=actor, account_set=aset, period=PeriodRange(1, 12))]
    assert after == before


def test_api_returns_trial_balance_and_statements_in_yuan(db, user):
    actor = user("fin_accounting")
    aset = unit_set("004")
    acc.event_post(event_id="q", event_type="quota.received", date=dt.date(aset.year, 1, 5),
                   amounts={"amount": 12_345_678}, dimensions=FUND, attrs={"pay_method": "authorized"},
                   account_set=aset)
    client = TestClient(router)
    tb = client.get(f"/sets/{aset.pk}/trial-balance?start=1&end=12&level=1", user=actor)
    assert tb.status_code == 200
    data = tb.json()
    assert data["balanced"] is True and data["account_set"]["code"] == aset.code
    fin = next(b for b in data["bases"] if b["basis"] == "financial")
    row = next(r for r in fin["rows"] if r["code"] == "1011")
    assert (row["debit"], row["closing_debit"], row["closing_credit"]) == ("123456.78", "123456.78", "0.00")
    assert fin["totals"]["debit"] == fin["totals"]["credit"] == "123456.78"
    assert all(r["level"] == 1 for r in fin["rows"])
    bs = client.get(f"/sets/{aset.pk}/statements/balance_sheet?end=3", user=actor).json()
    lines = {ln["line_no"]: ln["values"] for ln in bs["lines"]}
    assert lines["2"] == ["123456.78", "0.00"] and lines["1"] == [None, None] and lines["65"][0] == "123456.78"
    assert bs["columns"] == ["期末余额", "年初余额"] and bs["problems"] == []
    every = client.get(f"/sets/{aset.pk}/statements", user=actor).json()
    assert [s["code"] for s in every] == list(statements.definitions())


def test_api_hides_other_units_books(db, user):
    with pytest.raises(NotFound):
        TestClient(router).get(f"/sets/{unit_set('004').pk}/trial-balance", user=user("school_clerk"))


def test_finance_bureau_books_balance_but_unit_statements_do_not_apply(db, user):
    actor = user("fin_accounting")
    fiscal = AccountSet.objects.filter(region_code=PROVINCE, kind=AccountSet.Kind.FISCAL).order_by("-year").first()
    def rows():
        tb = books.trial_balance(actor=actor, account_set=fiscal, period=PeriodRange(1, 12))
        assert tb.balanced and list(tb.totals) == ["financial"]
        return {r.code: (r.debit, r.credit) for r in tb.rows["financial"]}

    before = rows()
    acc.event_post(event_id="t-pay", event_type="treasury.paid", date=dt.date(fiscal.year, 2, 3),
                   amounts={"amount": 777_700}, dimensions={"exp_func": "2130101", "fund_nature": "111"},
                   account_set=fiscal)
    after = rows()
    d5001, d1001 = before.get("5001", (0, 0)), before.get("1001", (0, 0))
    assert after["5001"] == (d5001[0] + 777_700, d5001[1]) and after["1001"] == (d1001[0], d1001[1] + 777_700)
    assert statements.statement_compute_all(actor=actor, account_set=fiscal, period=PeriodRange(1, 12)) == []
    with pytest.raises(ValidationFailed) as exc:
        statements.statement_compute(actor=actor, account_set=fiscal, code="balance_sheet", period=PeriodRange(1, 12))
    assert exc.value.violations[0].code == "statement_chart"


def test_unknown_statement_is_refused(db, user, client_as):
    aset = unit_set("004")
    r = client_as("fin_accounting").get(f"/accounting/reports/statements/nope/?set={aset.pk}")
    assert r.status_code == 422 and "没有该报表" in r.content.decode()


def test_formula_parser():
    assert statements.formula_parse("+1001 -1602 +L3 +1601:D") == (
        statements.Term(1, "1001"), statements.Term(-1, "1602"), statements.Term(1, "L3"),
        statements.Term(1, "1601", "D"))
    assert statements.formula_parse("L1+L4-L7") == (statements.Term(1, "L1"), statements.Term(1, "L4"),
                                                    statements.Term(-1, "L7"))
    with pytest.raises(ValueError):
        statements.formula_parse("+10x1")
