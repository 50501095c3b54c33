"""Property tests: random business events and random balanced vouchers always give balanced vouchers and a
balanced trial balance; reversing any voucher returns every balance (per account and dimensions) to where
it was."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibms.accounting import services
from ibms.accounting.models import Account, Voucher, VoucherLine
from ibms.accounting.posting import LineSpec

_ids = itertools.count()
FIN = st.integers(min_value=1, max_value=10**10)
DIMS = {"exp_func": "2050203", "dep_eco": "30201", "gov_eco": "50201", "project": "P-001", "payee": "某公司",
        "department": "001"}
FISCAL_FUNDS = st.sampled_from(["111", "121", "131"])
ANY_FUND = st.sampled_from(["111", "121", "131", "21", "3"])
METHOD = st.sampled_from(["direct", "authorized", "centralized"])


@st.composite
def unit_event(draw):
    kind = draw(st.sampled_from(["organ", "institution"]))
    choice = draw(st.sampled_from(["payment.receipted", "payment.refunded", "quota.received", "payroll.accrued",
                                   "payroll.withheld", "payroll.paid", "payroll.remitted", "asset.purchased",
                                   "asset.depreciated", "year_end.direct_unspent", "year_end.quota_cancelled",
                                   "year_end.quota_unissued", "year_end.quota_restored"]))
    fund = draw(ANY_FUND if choice.startswith("payment.") else FISCAL_FUNDS)
    attrs = {"pay_method": draw(METHOD) if fund.startswith("1") else "", "expense": draw(
        st.sampled_from(["business", "admin"])), "installation": draw(st.booleans())}
    if choice == "quota.received":
        attrs["pay_method"] = "authorized"
    if choice == "payroll.withheld":
        amounts = {"tax": draw(FIN), "social": draw(FIN)}
    elif choice == "payroll.remitted":
        amounts = {"tax": draw(FIN), "social": draw(FIN), "employer": draw(FIN)}
    else:
        amounts = {"amount": draw(FIN)}
    return kind, choice, amounts, {**DIMS, "fund_nature": fund}, attrs


@st.composite
def fiscal_event(draw):
    choice = draw(st.sampled_from(["treasury.paid", "treasury.revenue", "treasury.transfer_to_lower",
                                   "treasury.advance", "treasury.year_end_unspent"]))
    return ("fiscal", choice, {"amount": draw(FIN)}, {**DIMS, "fund_nature": draw(FISCAL_FUNDS)},
            {"via": draw(st.sampled_from(["treasury", "current"]))})


EVENTS = st.lists(st.one_of(unit_event(), fiscal_event()), min_size=1, max_size=8)


def voucher_balances(v: Voucher) -> dict[str, int]:
    rows = VoucherLine.objects.filter(voucher=v).values("basis").annotate(d=Sum("debit"), c=Sum("credit"))
    return {r["basis"]: r["d"] - r["c"] for r in rows}


def trial_balance(set_ids) -> dict[tuple[int, str], tuple[int, int]]:
    """Σ debit and Σ credit of posted lines per (set, basis): one grouped query."""
    rows = (VoucherLine.objects.filter(account_set_id__in=set_ids, voucher__status="posted")
            .values("account_set_id", "basis").annotate(d=Sum("debit"), c=Sum("credit")))
    return {(r["account_set_id"], r["basis"]): (r["d"], r["c"]) for r in rows}


def balances(set_ids) -> dict[tuple, int]:
    """Net (debit − credit) per set, account and every dimension column."""
    keys = ["account_set_id", "account_code", "exp_func_code", "dep_eco_code", "gov_eco_code", "project_code",
            "fund_nature_code", "payee_name", "department_code"]
    rows = (VoucherLine.objects.filter(account_set_id__in=set_ids, voucher__status="posted").values(*keys)
            .annotate(d=Sum("debit"), c=Sum("credit")))
    return {tuple(r[k] for k in keys): r["d"] - r["c"] for r in rows if r["d"] - r["c"]}


def _post(books, event, date):
    kind, etype, amounts, dims, attrs = event
    return services.event_post(event_id=f"prop-{next(_ids)}", event_type=etype, date=date, amounts=amounts,
                               dimensions=dims, attrs=attrs, account_set=books[kind])


SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


@SETTINGS
@given(events=EVENTS, month=st.integers(1, 12))
def test_random_events_give_balanced_vouchers_and_trial_balance(books, events, month):
    ids = [s.pk for s in books.values()]
    with transaction.atomic():
        for event in events:
            v = _post(books, event, dt.date(books["organ"].year, month, 10))
            if v is None:
                continue
            assert all(d == 0 for d in voucher_balances(v).values())
            assert v.financial_total == sum(v.lines.filter(basis="financial").values_list("debit", flat=True))
        assert all(d == c for d, c in trial_balance(ids).values())
        transaction.set_rollback(True)


@st.composite
def balanced_lines(draw, codes):
    """2–6 lines per basis on random leaf accounts, the last line of each basis balancing the others."""
    out = []
    for basis in ("financial", "budget"):
        pool = codes[basis]
        n = draw(st.integers(1, 5))
        picks = [draw(st.sampled_from(pool)) for _ in range(n + 1)]
        net = 0
        for code in picks[:-1]:
            amount = draw(FIN)
            debit = draw(st.booleans())
            out.append(LineSpec(basis=basis, account_code=code, debit=amount if debit else 0,
                                credit=0 if debit else amount, dims={"project": draw(st.sampled_from(["", "P1", "P2"]))}))
            net += amount if debit else -amount
        if net:
            out.append(LineSpec(basis=basis, account_code=picks[-1], debit=-net if net < 0 else 0,
                                credit=net if net > 0 else 0))
    return out


@SETTINGS
@given(data=st.data())
def test_reversing_any_voucher_returns_every_balance(books, data):
    aset = books["institution"]
    leaves = Account.objects.filter(account_set=aset, is_leaf=True).values_list("basis", "code")
    codes = {"financial": sorted(c for b, c in leaves if b == "financial"),
             "budget": sorted(c for b, c in leaves if b == "budget")}
    # no enclosing atomic block here: the reversal is a durable service; examples accumulate in the test's
    # transaction, and each compares against the balances at its own start
    for _ in range(data.draw(st.integers(0, 3))):
        _post(books, data.draw(unit_event()), dt.date(aset.year, 5, 1))
    before = balances([s.pk for s in books.values()])
    if data.draw(st.booleans()):
        lines = data.draw(balanced_lines(codes))
        v = services.voucher_post_system(account_set=aset, date=dt.date(aset.year, 6, 1), summary="随机凭证",
                                         lines=lines, source=Voucher.Source.MANUAL)
    else:
        v = _post(books, data.draw(unit_event()), dt.date(aset.year, 6, 1))
    if v is not None:
        services.voucher_reverse(actor=_reviewer(), pk=v.pk, reason="测试冲销")
        assert balances([s.pk for s in books.values()]) == before
        assert all(d == c for d, c in trial_balance([s.pk for s in books.values()]).values())


def _reviewer():
    from ibms.iam.models import User

    return User.objects.get(username="fin_accounting")  # finance accounting division: reverse in its region
