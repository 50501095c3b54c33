"""调剂: a request with out/in lines, submitted by one budget officer and approved by another (to-do), paired
entries netting to zero, and the rules — no crossing fund nature, 三公 only down, 人员类 not to other uses,
no overdraw, tracking flags kept on the receiving side — refused with nothing saved."""

from __future__ import annotations

import pytest

from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import TodoItem
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, IndicatorEntry, Reallocation, SourceDocument
from tests.constants import PROVINCE

from .builders import OTHER_FUND, PERSONNEL_ECO, buckets, codes, fresh, journal, one, unit

pytestmark = pytest.mark.django_db


def submit(actor, outs, ins, reason="年中调剂"):
    return s.reallocation_submit(actor=actor, reason=reason, outs=[(i.pk, a) for i, a in outs], ins=ins)


def state():
    return (Reallocation.objects.count(), IndicatorEntry.objects.count(), Indicator.objects.count(),
            SourceDocument.objects.count())


def test_submit_todo_approve_pairs_net_to_zero(budget, deputy, client_as):
    a, b = one(budget, 10_000), one(budget, 5_000, unit_code="002001")
    r = submit(budget, [(a, 3_000)], [s.ReallocIn(1_000, indicator_id=b.pk),
                                      s.ReallocIn(2_000, unit_id=unit("001002").pk, dep_eco_code="30202")])
    assert r.status == "submitted" and r.number.startswith(f"TJ{PROVINCE}") and r.amount == 3_000
    assert buckets(a)["available"] == 10_000  # nothing moves before approval
    [todo] = TodoItem.objects.filter(doc_type=s.DOC_REALLOCATION, object_id=str(r.pk), status="open")
    assert (todo.role_code, todo.region_code) == ("budget_division", PROVINCE)
    assert r.number in client_as("fin_budget_deputy").get("/").content.decode()

    with pytest.raises(PermissionDenied) as e:
        s.reallocation_review(actor=budget, pk=r.pk, approve=True)
    assert e.value.code == "segregation_of_duties"
    r = s.reallocation_review(actor=deputy, pk=r.pk, approve=True, comment="同意")
    assert r.status == "approved" and r.reviewed_by == deputy and r.source.kind == "transfer_in"
    todo.refresh_from_db()
    assert todo.status == "done"

    new = r.lines.get(direction="in", indicator__isnull=True).result
    assert new.parent_id == a.pk and new.unit == unit("001002") and new.dep_eco_code == "30202"
    assert new.fund_nature_code == a.fund_nature_code and new.source == r.source
    assert buckets(a) == {**buckets(a), "amount": 7_000, "available": 7_000} == journal(a)
    assert buckets(b) == {**buckets(b), "amount": 6_000, "available": 6_000} == journal(b)
    assert buckets(new) == {**buckets(new), "amount": 2_000, "available": 2_000} == journal(new)
    entries = IndicatorEntry.objects.filter(source=r.source)
    assert sum(e.d_amount for e in entries) == 0 and entries.count() == 4
    assert all(e.counterpart_id for e in entries)
    assert {(e.indicator_id, e.counterpart_id) for e in entries.filter(kind="reallocate_out")} == {
        (a.pk, b.pk), (a.pk, new.pk)}


def test_reject_needs_a_reason_and_moves_nothing(budget, deputy):
    a, b = one(budget, 1_000), one(budget, 1_000)
    r = submit(budget, [(a, 100)], [s.ReallocIn(100, indicator_id=b.pk)])
    with pytest.raises(ValidationFailed) as e:
        s.reallocation_review(actor=deputy, pk=r.pk, approve=False)
    assert codes(e.value) == ["reason_required"]
    r = s.reallocation_review(actor=deputy, pk=r.pk, approve=False, comment="依据不足")
    assert r.status == "rejected" and buckets(a)["amount"] == 1_000 and buckets(b)["amount"] == 1_000
    with pytest.raises(Conflict) as e:
        s.reallocation_review(actor=deputy, pk=r.pk, approve=True)
    assert e.value.code == "not_submitted"


@pytest.mark.parametrize("case", ["cross_fund_nature", "sangong_increase", "personnel_out", "overdraw",
                                  "track_flag_lost", "unbalanced", "same_indicator"])
def test_rules_refuse_at_submit_with_nothing_saved(budget, case):
    a = one(budget, 1_000, is_track=(case == "track_flag_lost"),
            dep_eco_code=PERSONNEL_ECO if case == "personnel_out" else "30201")
    b = one(budget, 1_000, fund_nature_code=OTHER_FUND if case == "cross_fund_nature" else "111",
            dep_eco_code="30217" if case == "sangong_increase" else "30201")
    amount_out, amount_in, target = 500, 500, b.pk
    if case == "overdraw":
        amount_out = amount_in = 1_001
    if case == "unbalanced":
        amount_in = 400
    if case == "same_indicator":
        target = a.pk
    before = state()
    with pytest.raises(ValidationFailed) as e:
        submit(budget, [(a, amount_out)], [s.ReallocIn(amount_in, indicator_id=target)])
    assert case in codes(e.value)
    assert state() == before


def test_sangong_may_go_down_into_a_new_indicator(budget, deputy):
    sangong = one(budget, 1_000, is_sangong=True, dep_eco_code="30217")  # 公务接待费
    r = submit(budget, [(sangong, 300)], [s.ReallocIn(300, unit_id=unit("001001").pk, dep_eco_code="30201")])
    r = s.reallocation_review(actor=deputy, pk=r.pk, approve=True)
    new = r.lines.get(direction="in").result
    assert not new.is_sangong and buckets(sangong)["amount"] == 700


def test_flags_travel_to_new_receiving_indicators(budget, deputy):
    a = one(budget, 1_000, is_track=True, is_gov_pur=True, is_sanbao=True)
    r = submit(budget, [(a, 400)], [s.ReallocIn(400, unit_id=unit("002001").pk)])
    new = s.reallocation_review(actor=deputy, pk=r.pk, approve=True).lines.get(direction="in").result
    assert new.is_track and new.is_gov_pur and new.is_sanbao


def test_personnel_may_move_to_personnel(budget, deputy):
    a = one(budget, 1_000, dep_eco_code=PERSONNEL_ECO)
    r = submit(budget, [(a, 100)], [s.ReallocIn(100, unit_id=unit("001002").pk, dep_eco_code="30102")])
    assert s.reallocation_review(actor=deputy, pk=r.pk, approve=True).status == "approved"
    with pytest.raises(ValidationFailed) as e:
        submit(budget, [(a, 100)], [s.ReallocIn(100, unit_id=unit("001002").pk, dep_eco_code="30201")])
    assert codes(e.value) == ["personnel_out"]


def test_balance_checked_again_at_approval(budget, deputy):
    """Money spent between submission and approval makes the approval refuse; nothing moves."""
    a, b = one(budget, 1_000), one(budget, 1_000)
    r = submit(budget, [(a, 800)], [s.ReallocIn(800, indicator_id=b.pk)])
    s.indicator_reserve(actor=budget, indicator_id=a.pk, amount=300, consumer="pay:between")
    before = (buckets(a), buckets(b), IndicatorEntry.objects.count())
    with pytest.raises(ValidationFailed) as e:
        s.reallocation_review(actor=deputy, pk=r.pk, approve=True)
    assert codes(e.value) == ["overdraw"]
    assert (buckets(a), buckets(b), IndicatorEntry.objects.count()) == before
    assert fresh(a).amount == 1_000 and Reallocation.objects.get(pk=r.pk).status == "submitted"


def test_all_violations_named_at_once(budget):
    a = one(budget, 100, dep_eco_code=PERSONNEL_ECO)
    b = one(budget, 100, fund_nature_code=OTHER_FUND, dep_eco_code="30217")
    with pytest.raises(ValidationFailed) as e:
        submit(budget, [(a, 200)], [s.ReallocIn(200, indicator_id=b.pk)])
    assert set(codes(e.value)) == {"cross_fund_nature", "sangong_increase", "personnel_out", "overdraw"}


def test_out_of_scope(user, budget):
    a, b = one(budget, 1_000), one(budget, 1_000)
    with pytest.raises(NotFound):
        submit(user("county_budget"), [(a, 1)], [s.ReallocIn(1, indicator_id=b.pk)])
    with pytest.raises(PermissionDenied):
        submit(user("school_clerk"), [(a, 1)], [s.ReallocIn(1, indicator_id=b.pk)])
    r = submit(budget, [(a, 1)], [s.ReallocIn(1, indicator_id=b.pk)])
    with pytest.raises(NotFound):
        s.reallocation_review(actor=user("county_budget"), pk=r.pk, approve=True)
