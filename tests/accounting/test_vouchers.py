"""Manual vouchers: entry → review → post by different people, refusals that change nothing, immutability,
reversal, gap-free numbers per set and period, periods closed in order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group

from ibms.accounting import selectors, services
from ibms.accounting.models import Account, Period, Voucher, VoucherLine
from ibms.accounting.posting import LineSpec
from ibms.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import TodoItem

from .builders import post

BUD = {"exp_func": "2050203", "dep_eco": "30211", "fund_nature": "111"}


def travel_lines(amount: int = 86_000, *, budget: int | None = None) -> list[LineSpec]:
    """差旅费 paid from the zero-balance account, both bases."""
    return [LineSpec(basis="financial", account_code="5001", debit=amount),
            LineSpec(basis="financial", account_code="1011", credit=amount),
            LineSpec(basis="budget", account_code="7201.01", debit=amount if budget is None else budget, dims=BUD),
            LineSpec(basis="budget", account_code="8001.02", credit=amount)]


@pytest.fixture
def school(books):
    return books["institution"]


def enter(user, aset, lines=None, date=None, summary="报销差旅费"):
    return services.voucher_create(actor=user("school_clerk"), account_set_id=aset.pk,
                                   date=date or dt.date(aset.year, 2, 10), summary=summary,
                                   lines=travel_lines() if lines is None else lines)


def review_and_post(user, v):
    services.voucher_review(actor=user("school_reviewer"), pk=v.pk)
    return services.voucher_post(actor=user("school_reviewer"), pk=v.pk)


def test_entry_review_post(user, school):
    v = enter(user, school)
    assert (v.status, v.number, v.entered_by.username) == ("draft", None, "school_clerk")
    assert (v.financial_total, v.budget_total) == (86_000, 86_000)
    todo = TodoItem.objects.get(doc_type="accounting_voucher", object_id=str(v.pk), status="open")
    assert (todo.role_code, todo.unit_path) == ("unit_reviewer", school.unit_path)

    v = services.voucher_review(actor=user("school_reviewer"), pk=v.pk)
    assert (v.status, v.reviewed_by.username) == ("reviewed", "school_reviewer")
    v = services.voucher_post(actor=user("school_reviewer"), pk=v.pk)
    assert (v.status, v.number, v.posted_by.username, v.display_number) == ("posted", 1, "school_reviewer", "记-0001")
    assert not TodoItem.objects.filter(doc_type="accounting_voucher", object_id=str(v.pk), status="open").exists()
    assert selectors.leaf_balances(school.pk)["7201.01"] == (86_000, 0)


def test_review_can_be_withdrawn_before_posting(user, school):
    v = enter(user, school)
    services.voucher_review(actor=user("school_reviewer"), pk=v.pk)
    v = services.voucher_review(actor=user("school_reviewer"), pk=v.pk, approve=False)
    assert (v.status, v.reviewed_by) == ("draft", None)
    with pytest.raises(Conflict):
        services.voucher_post(actor=user("school_reviewer"), pk=v.pk)


def test_the_clerk_cannot_review_or_post_their_own_voucher(user, school):
    v = enter(user, school)
    with pytest.raises(PermissionDenied):  # no review permission at all
        services.voucher_review(actor=user("school_clerk"), pk=v.pk)
    Group.objects.get(name="role:unit_reviewer").user_set.add(user("school_clerk"))
    both = user("school_clerk")  # fresh object: roles and permissions re-read
    with pytest.raises(PermissionDenied) as info:
        services.voucher_review(actor=both, pk=v.pk)
    assert info.value.code == "segregation_of_duties"
    services.voucher_review(actor=user("school_reviewer"), pk=v.pk)
    with pytest.raises(PermissionDenied) as info:
        services.voucher_post(actor=both, pk=v.pk)
    assert info.value.code == "segregation_of_duties"
    assert Voucher.objects.get(pk=v.pk).status == "reviewed"


def _counts():
    return Voucher.objects.count(), VoucherLine.objects.count(), TodoItem.objects.count()


@pytest.mark.parametrize(("lines", "code"), [
    (travel_lines()[:3], "unbalanced"),  # budget side has no credit
    (travel_lines(budget=90_000), "unbalanced"),  # budget debit ≠ credit
    ([LineSpec(basis="financial", account_code="5001", debit=100),
      LineSpec(basis="financial", account_code="4001", credit=100)], "non_leaf_account"),
    ([LineSpec(basis="financial", account_code="5001", debit=100),
      LineSpec(basis="financial", account_code="9999", credit=100)], "unknown_account"),
    ([LineSpec(basis="financial", account_code="5001", debit=100, credit=100)], "line_one_side"),
    ([LineSpec(basis="financial", account_code="5001", debit=-100),
      LineSpec(basis="financial", account_code="1011", credit=-100)], "amount_negative"),
    ([LineSpec(basis="budget", account_code="7201.01", debit=100),
      LineSpec(basis="budget", account_code="8001.02", credit=100)], "missing_dimension"),
    ([LineSpec(basis="budget", account_code="5001", debit=100),
      LineSpec(basis="financial", account_code="1011", credit=100)], "basis_mismatch"),
    ([], "empty_voucher"),
])
def test_bad_manual_vouchers_are_refused_and_change_nothing(user, school, lines, code):
    before = _counts()
    with pytest.raises(ValidationFailed) as info:
        enter(user, school, lines=lines)
    assert code in [v.code for v in info.value.violations]
    assert _counts() == before


def test_closed_account_and_closed_period_are_refused(user, school):
    Account.objects.filter(account_set=school, code="5001").update(is_active=False)
    before = _counts()
    with pytest.raises(ValidationFailed) as info:
        enter(user, school)
    assert [v.code for v in info.value.violations] == ["account_closed"]
    Account.objects.filter(account_set=school, code="5001").update(is_active=True)
    services.period_close(actor=user("school_reviewer"), pk=school.periods.get(number=1).pk)
    with pytest.raises(ValidationFailed) as info:
        enter(user, school, date=dt.date(school.year, 1, 20))
    assert [v.code for v in info.value.violations] == ["period_closed"]
    assert _counts() == before


def test_all_problems_are_reported_at_once(user, school):
    lines = [LineSpec(basis="financial", account_code="4001", debit=100),
             LineSpec(basis="budget", account_code="7201.01", debit=100)]
    with pytest.raises(ValidationFailed) as info:
        enter(user, school, lines=lines)
    codes = {v.code for v in info.value.violations}
    assert {"non_leaf_account", "missing_dimension", "unbalanced"} <= codes


def test_drafts_can_be_edited_and_deleted_but_posted_vouchers_are_immutable(user, school):
    v = enter(user, school)
    v = services.voucher_update(actor=user("school_clerk"), pk=v.pk, date=v.date, summary="修改后",
                                lines=travel_lines(50_000))
    assert sorted(VoucherLine.objects.filter(voucher=v).values_list("debit", flat=True)) == [0, 0, 50_000, 50_000]
    d = enter(user, school, summary="录错了")
    services.voucher_delete(actor=user("school_clerk"), pk=d.pk)
    assert not Voucher.objects.filter(pk=d.pk).exists()
    assert not TodoItem.objects.filter(object_id=str(d.pk), doc_type="accounting_voucher", status="open").exists()
    posted = review_and_post(user, v)
    with pytest.raises(Conflict):
        services.voucher_update(actor=user("school_clerk"), pk=posted.pk, date=v.date, summary="x",
                                lines=travel_lines())
    with pytest.raises(Conflict):
        services.voucher_delete(actor=user("school_clerk"), pk=posted.pk)
    with pytest.raises(Conflict):
        services.voucher_review(actor=user("school_reviewer"), pk=posted.pk, approve=False)
    assert Voucher.objects.get(pk=posted.pk).summary == "修改后"


def test_event_vouchers_cannot_be_edited(user, school):
    v = post(school, "payroll.accrued", amounts={"amount": 100})
    with pytest.raises(Conflict):
        services.voucher_delete(actor=user("school_clerk"), pk=v.pk)


def test_reversal_restores_every_balance(user, school):
    base = review_and_post(user, enter(user, school, lines=travel_lines(30_000)))
    before = selectors.leaf_balances(school.pk)
    v = review_and_post(user, enter(user, school))
    assert selectors.leaf_balances(school.pk) != before
    r = services.voucher_reverse(actor=user("school_reviewer"), pk=v.pk, reason="重复报销")
    assert (r.status, r.source, r.reversal_of_id, r.number) == ("posted", "reversal", v.pk, 3)
    assert [(ln.account_code, ln.debit, ln.credit) for ln in r.lines.order_by("line_no")] == [
        ("5001", -86_000, 0), ("1011", 0, -86_000), ("7201.01", -86_000, 0), ("8001.02", 0, -86_000)]
    net = {k: d - c for k, (d, c) in selectors.leaf_balances(school.pk).items()}
    assert net == {k: d - c for k, (d, c) in before.items()}
    assert Voucher.objects.get(pk=v.pk).status == "posted"  # the original is untouched
    with pytest.raises(Conflict):
        services.voucher_reverse(actor=user("school_reviewer"), pk=v.pk)
    with pytest.raises(Conflict):
        services.voucher_reverse(actor=user("school_reviewer"), pk=r.pk)
    assert base.pk != v.pk


def test_reversal_of_a_voucher_in_a_closed_period_needs_an_open_date(user, school):
    v = review_and_post(user, enter(user, school, date=dt.date(school.year, 1, 10)))
    services.period_close(actor=user("school_reviewer"), pk=school.periods.get(number=1).pk)
    with pytest.raises(ValidationFailed):
        services.voucher_reverse(actor=user("school_reviewer"), pk=v.pk)
    r = services.voucher_reverse(actor=user("school_reviewer"), pk=v.pk, date=dt.date(school.year, 2, 1))
    assert (r.period_no, r.number) == (2, 1)


def test_numbers_are_gap_free_per_set_and_period(user, school, books):
    drafts = [enter(user, school, summary=f"第{i}张") for i in range(4)]
    services.voucher_delete(actor=user("school_clerk"), pk=drafts[1].pk)  # a deleted draft uses no number
    march = enter(user, school, date=dt.date(school.year, 3, 5))
    for v in (drafts[3], drafts[0], march, drafts[2]):  # posted out of entry order
        review_and_post(user, v)
    other = post(books["organ"], "payroll.accrued", amounts={"amount": 100}, date=dt.date(school.year, 2, 1))
    feb = list(Voucher.objects.filter(account_set=school, period_no=2).order_by("number")
               .values_list("number", "summary"))
    assert feb == [(1, "第3张"), (2, "第0张"), (3, "第2张")]
    assert Voucher.objects.get(pk=march.pk).number == 1
    assert other.number == 1  # another set numbers on its own
    assert selectors.number_gaps() == []


def test_periods_close_in_order(user, school):
    reviewer = user("school_reviewer")
    periods = {p.number: p for p in school.periods.all()}
    with pytest.raises(ValidationFailed) as info:
        services.period_close(actor=reviewer, pk=periods[3].pk)
    assert info.value.violations[0].code == "close_out_of_order"
    v = enter(user, school, date=dt.date(school.year, 1, 15))
    with pytest.raises(ValidationFailed) as info:
        services.period_close(actor=reviewer, pk=periods[1].pk)
    assert info.value.violations[0].code == "unposted_vouchers"
    review_and_post(user, v)
    services.period_close(actor=reviewer, pk=periods[1].pk)
    services.period_close(actor=reviewer, pk=periods[2].pk)
    with pytest.raises(Conflict):
        services.period_close(actor=reviewer, pk=periods[2].pk)
    with pytest.raises(ValidationFailed) as info:
        services.period_reopen(actor=reviewer, pk=periods[1].pk)
    assert info.value.violations[0].code == "reopen_out_of_order"
    services.period_reopen(actor=reviewer, pk=periods[2].pk)
    assert Period.objects.get(pk=periods[2].pk).status == "open"
    assert Period.objects.get(pk=periods[1].pk).status == "closed"


def test_a_reviewed_voucher_cannot_be_posted_into_a_period_closed_meanwhile(user, school):
    """Closing refuses unposted vouchers, so close a period reopened after the voucher was reviewed there."""
    v = enter(user, school, date=dt.date(school.year, 1, 15))
    services.voucher_review(actor=user("school_reviewer"), pk=v.pk)
    Period.objects.filter(account_set=school, number=1).update(status="closed")
    before = _counts()
    with pytest.raises(ValidationFailed) as info:
        services.voucher_post(actor=user("school_reviewer"), pk=v.pk)
    assert info.value.violations[0].code == "period_closed"
    assert _counts() == before and Voucher.objects.get(pk=v.pk).number is None


def test_other_units_and_regions_cannot_see_or_write(user, school):
    with pytest.raises(NotFound):
        services.voucher_create(actor=user("county_school_clerk"), account_set_id=school.pk,
                                date=dt.date(school.year, 2, 1), summary="x", lines=travel_lines())
    v = enter(user, school)
    with pytest.raises(NotFound):
        services.voucher_delete(actor=user("county_school_clerk"), pk=v.pk)
    with pytest.raises(DomainError):
        services.voucher_create(actor=user("hospital_clerk"), account_set_id=school.pk,
                                date=dt.date(school.year, 2, 1), summary="x", lines=travel_lines())
    assert not selectors.voucher_list(actor=user("hospital_clerk")).filter(pk=v.pk).exists()
    assert selectors.voucher_list(actor=user("auditor")).filter(pk=v.pk).exists()


def test_sub_accounts(user, school):
    reviewer = user("school_reviewer")
    parent = Account.objects.get(account_set=school, code="5001")
    child = services.account_create(actor=reviewer, parent_id=parent.pk, suffix="01", name="工资福利费用")
    assert (child.code, child.export_code, child.level, child.is_leaf) == ("5001.01", "500101", 2, True)
    assert Account.objects.get(pk=parent.pk).is_leaf is False
    with pytest.raises(ValidationFailed) as info:
        enter(user, school)  # 5001 is no longer a leaf
    assert "non_leaf_account" in [v.code for v in info.value.violations]
    used = Account.objects.get(account_set=school, code="1011")
    review_and_post(user, enter(user, school, lines=[
        LineSpec(basis="financial", account_code="5001.01", debit=10), LineSpec(basis="financial", account_code="1011",
                                                                                credit=10)]))
    with pytest.raises(ValidationFailed) as info:
        services.account_create(actor=reviewer, parent_id=used.pk, suffix="01", name="x")
    assert info.value.violations[0].code == "parent_has_postings"


def test_year_close_needs_every_period_closed_and_then_refuses_posting(user, school):
    reviewer = user("school_reviewer")
    with pytest.raises(ValidationFailed) as info:
        services.account_set_close(actor=reviewer, pk=school.pk)
    assert info.value.violations[0].code == "periods_open"
    for p in school.periods.order_by("number"):
        services.period_close(actor=reviewer, pk=p.pk)
    services.account_set_close(actor=reviewer, pk=school.pk)
    with pytest.raises(ValidationFailed) as info:
        post(school, "payroll.accrued", amounts={"amount": 100})
    assert info.value.violations[0].code == "set_closed"
    with pytest.raises(ValidationFailed) as info:
        services.period_reopen(actor=reviewer, pk=school.periods.get(number=12).pk)
    assert info.value.violations[0].code == "set_closed"
