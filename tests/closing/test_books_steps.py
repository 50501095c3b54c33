"""Year-end accounting steps (closing.services.books) on a quiet county of the demo province, 西岭市石门县 (its units
and finance bureau have this year's account sets and no vouchers): months 1–11 closed, 财政应返还额度 and
国库集中支付结余 from an executed carry-over batch, closing and 年结 of every set, next year's sets opened with
opening balances equal to the closing ones; refusals list what blocks and change nothing; reruns post nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ibms.accounting import books
from ibms.accounting import services as acc
from ibms.accounting.books import PeriodRange
from ibms.accounting.models import AccountSet, Period, Voucher, VoucherLine
from ibms.accounting.posting import LineSpec
from ibms.closing.models import CarryLine, CarryRun, YearStep
from ibms.closing.services import Blocked, StepContext, step_run, steps_ensure
from ibms.closing.services import books as steps
from ibms.core import audit
from ibms.core.errors import PermissionDenied
from ibms.iam.models import Organization, Role, User
from ibms.masterdata.models import FiscalYear, Unit
from ibms.treasury.domain import posting_events
from ibms.treasury.models import PaymentRequest
from tests.indicators.builders import YEAR, create

pytestmark = pytest.mark.django_db
REGION = "990222000"  # 西岭市石门县
FUNC = "2050202"
Y = 100


def staff() -> User:
    """The county finance bureau's accountant (会计 and 预算 roles, so the test can also build indicators)."""
    with transaction.atomic():
        org = Organization.objects.create(region_code=REGION, code="fin-会计股-测试", name="石门县财政局会计股",
                                          kind="finance")
        u = User(username="shimen_accounting", real_name="石门县会计股 测试", organization=org)
        u.set_password("Another#Pass2026")
        u.save()
        u.groups.set([Role.objects.get(code=c).group for c in ("accounting_division", "budget_division")])
        audit.record_change(u, "create")
    return User.objects.select_related("organization", "organization__unit").get(pk=u.pk)


@pytest.fixture
def actor(db) -> User:
    return staff()


def ctx(actor, step: str) -> StepContext:
    row = next(r for r in steps_ensure(REGION, YEAR) if r.step == step)
    return StepContext(actor=actor, region_code=REGION, year=YEAR, row=row)


def uset(code: str, year: int = YEAR) -> AccountSet:
    return AccountSet.objects.get(unit=Unit.objects.get(region_code=REGION, code=code), year=year)


def fset(year: int = YEAR) -> AccountSet:
    return AccountSet.objects.get(region_code=REGION, year=year, kind=AccountSet.Kind.FISCAL)


def region_vouchers() -> int:
    return Voucher.objects.filter(region_code=REGION).count()


def balance(aset: AccountSet, prefix: str) -> int:
    return sum(ln.debit - ln.credit for ln in VoucherLine.objects.filter(
        account_set=aset, voucher__status="posted", account_code__startswith=prefix))


def to_closing() -> None:
    FiscalYear.objects.filter(region_code=REGION, year=YEAR).update(status=FiscalYear.Status.CLOSING)


def draft(actor, aset: AccountSet, month: int) -> Voucher:
    return acc.voucher_create(actor=actor, account_set_id=aset.pk, date=dt.date(YEAR, month, 10), summary="待审凭证",
                              lines=[LineSpec(basis="financial", account_code="1002", debit=1_000),
                                     LineSpec(basis="financial", account_code="2307", credit=1_000)])


def carry_run(lines: list[tuple]) -> CarryRun:
    """An executed batch: (indicator, carried fen, recalled fen) per line."""
    with transaction.atomic():
        unspent = sum(c + r for _, c, r in lines)
        run = CarryRun.objects.create(region_code=REGION, year=YEAR, number=f"JZ{REGION}{YEAR}T",
                                      status=CarryRun.Status.EXECUTED, total_unspent=unspent,
                                      total_carry=sum(c for _, c, _ in lines), total_recall=sum(r for *_, r in lines),
                                      line_count=len(lines), done_count=len(lines))
        for ind, c, r in lines:
            decision = "carry" if c else "recall"
            CarryLine.objects.create(run=run, region_code=REGION, unit_path=ind.unit_path, indicator=ind,
                                     unspent=c + r, decision=decision, proposed=decision, carry_amount=c,
                                     recall_amount=r)
    return run


@pytest.fixture
def year_end(actor):
    """Indicators of the county (direct, authorised, centralized, 政府性基金), a quota notice (1011) in the school's
    books, the year in closing and an executed carry-over batch."""
    direct = create(actor, 100_000 * Y, unit_code="001001", region=REGION, pay_type_code="11",
                    exp_func_code=FUNC)[0]
    authorised = create(actor, 50_000 * Y, unit_code="001001", region=REGION, pay_type_code="12",
                        exp_func_code=FUNC)[0]
    central = create(actor, 30_000 * Y, unit_code="001", region=REGION, exp_func_code=FUNC)[0]
    fund = create(actor, 20_000 * Y, unit_code="002001", region=REGION, pay_type_code="11",
                  fund_nature_code="121", exp_func_code=FUNC)[0]
    with transaction.atomic():
        acc.event_post(event_id="t-quota", event_type="quota.received", date=dt.date(YEAR, 2, 1),
                       amounts={"amount": 20_000 * Y}, dimensions={"fund_nature": "111", "exp_func": FUNC},
                       attrs={"pay_method": "authorized"}, account_set=uset("001001"))
    to_closing()
    carry_run([(direct, 60_000 * Y, 40_000 * Y), (authorised, 50_000 * Y, 0), (central, 0, 30_000 * Y),
               (fund, 20_000 * Y, 0)])


def test_periods_closed_lists_unposted_vouchers_then_closes_months_1_to_11(actor):
    to_closing()
    school = uset("001001")
    v = draft(actor, school, 3)
    with pytest.raises(Blocked) as exc:
        steps.periods_closed(ctx(actor, "periods_closed"))
    [item] = exc.value.items
    assert "1 张凭证未记账" in item["label"] and item["url"].endswith(f"?set={school.pk}")
    assert not Period.objects.filter(region_code=REGION, account_set__year=YEAR, status="closed").exists()
    acc.voucher_delete(actor=actor, pk=v.pk)
    n_sets = AccountSet.objects.filter(region_code=REGION, year=YEAR).count()
    result = steps.periods_closed(ctx(actor, "periods_closed"))
    assert result == {"account_sets": n_sets, "periods_closed": 11 * n_sets}
    periods = Period.objects.filter(region_code=REGION, account_set__year=YEAR)
    assert {(p.number, p.status) for p in periods} == {(m, "closed") for m in range(1, 12)} | {(12, "open")}
    assert steps.periods_closed(ctx(actor, "periods_closed"))["periods_closed"] == 0  # a rerun closes nothing


def test_periods_need_the_accountants_permission(actor, user):
    to_closing()
    with pytest.raises(PermissionDenied):
        steps.periods_closed(ctx(user("county_budget"), "periods_closed"))


def test_year_end_entries_need_an_executed_carry_over(actor):
    to_closing()
    with pytest.raises(Blocked) as exc:
        steps.year_end_entries(ctx(actor, "year_end_entries"))
    assert exc.value.items[0]["kind"] == "carry_not_executed" and region_vouchers() == 0


def test_year_end_entries_book_what_carries_once(actor, year_end):
    before = region_vouchers()
    result = steps.year_end_entries(ctx(actor, "year_end_entries"))
    assert result["units"] == 2 and result["vouchers_posted"] == 6  # school 3, hospital 1, finance bureau 2
    assert result["direct_unspent"] == "80000.00" and result["quota_cancelled"] == "20000.00"
    assert result["quota_unissued"] == "30000.00" and result["treasury_unspent"] == "130000.00"
    school, hospital, bureau = uset("001001"), uset("002001"), uset("001")
    assert balance(school, "1201.01") == 60_000 * Y and balance(school, "1201.02") == 50_000 * Y
    assert balance(school, "1011") == 0  # the issued, unused quota is cancelled at the bank
    assert balance(school, "8001.03") == 110_000 * Y and balance(school, "8001.02") == 0
    assert balance(school, "4001.01") == -(60_000 + 30_000 + 20_000) * Y  # the quota notice booked 20,000 earlier
    assert balance(hospital, "4001.02") == -20_000 * Y and balance(hospital, "1201.01") == 20_000 * Y
    assert not Voucher.objects.filter(account_set=bureau).exists()  # recalled money lapses: nothing returnable
    fiscal = fset()
    assert balance(fiscal, "5001") == 110_000 * Y and balance(fiscal, "5002") == 20_000 * Y
    assert balance(fiscal, "2011") == -130_000 * Y
    line = VoucherLine.objects.get(account_set=fiscal, account_code="5001")
    assert (line.exp_func_code, line.fund_nature_code) == (FUNC, "111")
    assert all(v.date == dt.date(YEAR, 12, 31) and v.event_id.startswith("year_end:")
               for v in Voucher.objects.filter(region_code=REGION).exclude(event_id="t-quota"))
    again = steps.year_end_entries(ctx(actor, "year_end_entries"))
    assert again["vouchers_posted"] == 0 and region_vouchers() == before + 6


def test_a_unit_without_books_blocks_the_entries(actor, year_end):
    school = uset("001001")
    AccountSet.objects.filter(pk=school.pk).update(year=YEAR - 1)  # as if the school had no set this year
    with pytest.raises(Blocked) as exc:
        steps.year_end_entries(ctx(actor, "year_end_entries"))
    assert [i["kind"] for i in exc.value.items] == ["unit_set_missing"]
    assert Voucher.objects.filter(region_code=REGION).exclude(event_id="t-quota").count() == 0


def test_accounts_closed_closes_every_set_and_lists_the_refused(actor, year_end):
    steps.periods_closed(ctx(actor, "periods_closed"))
    steps.year_end_entries(ctx(actor, "year_end_entries"))
    hospital = uset("002001")
    v = draft(actor, hospital, 12)
    with pytest.raises(Blocked) as exc:
        steps.accounts_closed(ctx(actor, "accounts_closed"))
    [item] = exc.value.items
    assert item["account_set"] == hospital.pk and "未记账" in item["label"]
    hospital.refresh_from_db()
    assert hospital.status == "active" and not hospital.vouchers.filter(source="closing").exists()
    others = AccountSet.objects.filter(region_code=REGION, year=YEAR).exclude(pk=hospital.pk)
    assert set(others.values_list("status", flat=True)) == {"closed"}
    school = uset("001001")
    assert balance(school, "4") == 0 and balance(school, "6") == 0 and balance(school, "7") == 0
    assert balance(school, "8101.07") == -110_000 * Y and balance(school, "3001") == -110_000 * Y
    assert balance(fset(), "5") == 0 and balance(fset(), "3001") == 130_000 * Y
    acc.voucher_delete(actor=actor, pk=v.pk)
    closing = Voucher.objects.filter(region_code=REGION, source="closing").count()
    result = steps.accounts_closed(ctx(actor, "accounts_closed"))
    assert result["closed"] == 1 and result["already_closed"] == others.count() and result["closing_vouchers"] > 0
    assert Voucher.objects.filter(region_code=REGION, source="closing").count() == closing + result["closing_vouchers"]
    assert steps.accounts_closed(ctx(actor, "accounts_closed"))["closing_vouchers"] == 0


def test_a_negative_balance_blocks_the_close_and_closes_nothing(actor, year_end):
    steps.periods_closed(ctx(actor, "periods_closed"))
    steps.year_end_entries(ctx(actor, "year_end_entries"))
    hospital = uset("002001")
    with transaction.atomic():  # the hospital paid 1,000 yuan out of a bank account it never received into
        acc.voucher_post_system(actor=actor, account_set=hospital, date=dt.date(YEAR, 12, 10), summary="超支",
                                lines=[LineSpec(basis="financial", account_code="5001", debit=1_000 * Y,
                                                dims={"dep_eco": "30201"}),
                                       LineSpec(basis="financial", account_code="1002", credit=1_000 * Y)])
    before = region_vouchers()
    with pytest.raises(Blocked) as exc:
        steps.accounts_closed(ctx(actor, "accounts_closed"))
    [item] = exc.value.items
    assert item["kind"] == "negative_balance" and item["account_set"] == hospital.pk
    assert "1002" in item["label"] and "-1,000.00" in item["label"] and "资产不能为负" in item["label"]
    assert region_vouchers() == before
    assert set(AccountSet.objects.filter(region_code=REGION, year=YEAR).values_list("status", flat=True)) == {"active"}


def _closed_year(actor) -> None:
    steps.periods_closed(ctx(actor, "periods_closed"))
    steps.year_end_entries(ctx(actor, "year_end_entries"))
    steps.accounts_closed(ctx(actor, "accounts_closed"))


def test_next_year_needs_every_set_closed(actor, year_end):
    steps.periods_closed(ctx(actor, "periods_closed"))
    with pytest.raises(Blocked) as exc:
        steps.next_year_opened(ctx(actor, "next_year_opened"))
    assert {i["kind"] for i in exc.value.items} == {"set_not_closed"}
    assert not AccountSet.objects.filter(region_code=REGION, year=YEAR + 1).exists()


def test_next_year_opens_with_the_closing_balances(actor, year_end):
    _closed_year(actor)
    old = AccountSet.objects.filter(region_code=REGION, year=YEAR)
    result = steps.next_year_opened(ctx(actor, "next_year_opened"))
    assert result["sets_created"] == old.count() and result["quota_restored"] == 1
    assert result["opening_vouchers"] == 3  # the school, the hospital, the finance bureau carry balances
    for prev in old:
        nxt = acc.opening.next_set_of(prev)
        assert nxt is not None and nxt.status == "active" and acc.opening_differences(prev, nxt) == []
    school, new_school = uset("001001"), uset("001001", YEAR + 1)
    opening = Voucher.objects.get(account_set=new_school, source="opening")
    assert (opening.event_id, opening.period_no, opening.date) == (f"opening:{school.pk}", 1, dt.date(YEAR + 1, 1, 1))
    # trial balance of the new set at opening = closing of the old, per account
    was = books.trial_balance(actor=actor, account_set=school, period=PeriodRange(1, 12))
    now = books.trial_balance(actor=actor, account_set=new_school, period=PeriodRange(1, 1))
    closing = {r.code: r.closing for rows in was.rows.values() for r in rows
               if r.closing and r.code[0] in ("1", "2", "3", "8")}
    assert closing and {r.code: r.opening for rows in now.rows.values() for r in rows if r.opening} == closing
    assert now.totals["financial"].opening_debit == now.totals["financial"].opening_credit
    # January: the authorised amount comes back as quota (20.3(e)4)
    assert balance(new_school, "1011") == 50_000 * Y and balance(new_school, "1201.02") == 0
    assert balance(new_school, "8001.02") == 50_000 * Y and balance(new_school, "8001.03") == 60_000 * Y
    assert balance(fset(YEAR + 1), "2011") == -130_000 * Y
    count = region_vouchers()
    again = steps.next_year_opened(ctx(actor, "next_year_opened"))
    assert again == {"account_sets": old.count(), "sets_created": 0, "opening_vouchers": 0, "quota_restored": 0}
    assert region_vouchers() == count
    assert acc.opening_problems() == []


def test_next_year_uses_an_existing_set_with_januarys_vouchers(actor, year_end):
    _closed_year(actor)
    school = Unit.objects.get(region_code=REGION, code="001001")
    with transaction.atomic():
        acc.books_ensure(year=YEAR + 1, units=[school])
        acc.event_post(event_id="t-jan", event_type="payment.receipted", date=dt.date(YEAR + 1, 1, 5),
                       amounts={"amount": 1_000 * Y}, dimensions={"fund_nature": "111", "exp_func": FUNC,
                                                                  "dep_eco": "30201"},
                       attrs={"pay_method": "direct"}, account_set=uset("001001", YEAR + 1))
    result = steps.next_year_opened(ctx(actor, "next_year_opened"))
    assert result["sets_created"] == AccountSet.objects.filter(region_code=REGION, year=YEAR).count() - 1
    assert acc.opening_differences(uset("001001"), uset("001001", YEAR + 1)) == []


def test_carried_money_draws_down_what_last_year_booked(actor, year_end):
    _closed_year(actor)
    steps.next_year_opened(ctx(actor, "next_year_opened"))
    school, fiscal = uset("001001", YEAR + 1), fset(YEAR + 1)
    dims = {"fund_nature": "111", "exp_func": FUNC, "dep_eco": "30201", "payee": "石门文具公司"}
    with transaction.atomic():
        unit_v = acc.event_post(event_id="t-carried", event_type="payment.receipted", date=dt.date(YEAR + 1, 1, 9),
                                amounts={"amount": 10_000 * Y}, dimensions=dims, account_set=school,
                                attrs={"pay_method": "direct", "source_kind": "carry_over"})
        fin_v = acc.event_post(event_id="fin-t-carried", event_type="treasury.paid", date=dt.date(YEAR + 1, 1, 9),
                               amounts={"amount": 10_000 * Y}, dimensions={"fund_nature": "111", "exp_func": FUNC},
                               attrs={"source_kind": "carry_over"}, account_set=fiscal)
        plain = acc.event_post(event_id="t-plain", event_type="payment.receipted", date=dt.date(YEAR + 1, 1, 9),
                               amounts={"amount": 1_000 * Y}, dimensions=dims, account_set=school,
                               attrs={"pay_method": "direct"})
    assert unit_v.rule_code == "payment.receipted.carried_direct" and plain.rule_code == "payment.receipted.direct"
    assert {ln.account_code for ln in unit_v.lines.filter(credit__gt=0)} == {"1201.01", "8001.03"}
    assert {ln.account_code for ln in fin_v.lines.filter(debit__gt=0)} == {"2011"}
    assert balance(school, "1201.01") == 50_000 * Y and balance(fiscal, "2011") == -120_000 * Y
    with transaction.atomic():
        refund = acc.event_post(event_id="t-carried-refund", event_type="payment.refunded",
                                date=dt.date(YEAR + 1, 1, 20), amounts={"amount": 500 * Y}, dimensions=dims,
                                account_set=school, attrs={"pay_method": "direct", "source_kind": "carry_over"})
    assert refund.rule_code == "payment.refunded.carried_direct" and balance(school, "1201.01") == 50_500 * Y


def test_the_four_steps_through_the_checklist(actor, year_end):
    YearStep.objects.bulk_create([YearStep(region_code=REGION, year=YEAR, step=s, status="done")
                                  for s in ("begin", "payments_settled", "reconciliation_clean", "carry_over")])
    for step in ("periods_closed", "year_end_entries", "accounts_closed", "next_year_opened"):
        row = step_run(actor=actor, region_code=REGION, year=YEAR, step=step)
        assert row.status == "done" and row.done == row.total and row.total > 0, step
    assert AccountSet.objects.filter(region_code=REGION, year=YEAR + 1, status="active").count() == \
        AccountSet.objects.filter(region_code=REGION, year=YEAR, status="closed").count()


@pytest.mark.postgres
def test_year_end_on_postgres(actor, year_end):
    _closed_year(actor)
    steps.next_year_opened(ctx(actor, "next_year_opened"))
    assert acc.opening_problems() == []


def test_treasury_marks_the_payments_of_carried_indicators(actor):
    """The receipt's two events carry `source_kind` only for a 上年结转 indicator (the carried rules match on it);
    every other payment's events stay as they were (same content, same event hash)."""
    carried = create(actor, 1_000 * Y, unit_code="001001", region=REGION, kind="carry_over", exp_func_code=FUNC)[0]
    plain = create(actor, 1_000 * Y, unit_code="001001", region=REGION, exp_func_code=FUNC)[0]
    for ind, attrs in ((carried, {"source_kind": "carry_over"}), (plain, {})):
        req = PaymentRequest(indicator=ind, region_code=REGION, year=YEAR, unit_id=ind.unit_id, pay_method="direct",
                             payee_name="石门文具公司", fund_nature_code="111", exp_func_code=FUNC)
        unit_event, fin_event = posting_events(req, event_type="payment.receipted", event_id="e", amount=100)
        assert unit_event["attrs"].get("source_kind") == attrs.get("source_kind") and fin_event["attrs"] == attrs
