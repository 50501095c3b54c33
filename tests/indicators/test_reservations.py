"""The two-phase reservation the treasury module uses: reserve → post or void (each at most once), restore
after a return; idempotent by the consumer key; overdraw refused; scoped to the actor; only inside the caller's
transaction (each test runs in one; tests/indicators/test_reservation_transaction.py calls them outside)."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.indicators import services as s
from ibms.indicators.models import IndicatorEntry, Reservation

from .builders import buckets, codes, journal, one

pytestmark = pytest.mark.django_db


def test_reserve_post_restore(budget, user):
    ind = one(budget, 10_000)
    clerk = user("school_clerk")  # a unit spends its own indicator
    r = s.indicator_reserve(actor=clerk, indicator_id=ind.pk, amount=4_000, consumer="pay:2026:1")
    assert r.status == "reserved" and r.unit_path == ind.unit_path
    assert buckets(ind) == {**buckets(ind), "available": 6_000, "reserved": 4_000} == journal(ind)
    s.reservation_post(actor=clerk, consumer="pay:2026:1")
    assert buckets(ind) == {**buckets(ind), "available": 6_000, "reserved": 0, "spent": 4_000} == journal(ind)
    s.indicator_restore(actor=clerk, consumer="pay:2026:1", amount=1_500)
    r = s.indicator_restore(actor=clerk, consumer="pay:2026:1", amount=500)
    assert r.restored == 2_000 and r.status == "posted"
    assert buckets(ind) == {**buckets(ind), "available": 8_000, "spent": 2_000, "amount": 10_000} == journal(ind)
    kinds = list(IndicatorEntry.objects.filter(reservation=r).order_by("id").values_list("kind", "consumer"))
    assert kinds == [("reserve", "pay:2026:1"), ("post", "pay:2026:1"), ("restore", "pay:2026:1"),
                     ("restore", "pay:2026:1")]
    with pytest.raises(Conflict) as e:
        s.indicator_restore(actor=clerk, consumer="pay:2026:1", amount=2_001)
    assert e.value.code == "restore_exceeds"


def test_reserve_void(budget):
    ind = one(budget, 10_000)
    s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=10_000, consumer="pay:v")
    assert buckets(ind)["available"] == 0
    r = s.reservation_void(actor=budget, consumer="pay:v")
    assert r.status == "voided" and r.voided_at is not None
    assert buckets(ind) == {**buckets(ind), "available": 10_000, "reserved": 0} == journal(ind)


def test_reserve_is_idempotent_by_consumer(budget):
    ind, other = one(budget, 10_000), one(budget, 10_000)
    first = s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=3_000, consumer="pay:idem")
    again = s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=3_000, consumer="pay:idem")
    assert again.pk == first.pk and buckets(ind)["reserved"] == 3_000
    assert ind.entries.filter(kind="reserve").count() == 1
    for kw in ({"indicator_id": ind.pk, "amount": 2_000}, {"indicator_id": other.pk, "amount": 3_000}):
        with pytest.raises(Conflict) as e:
            s.indicator_reserve(actor=budget, consumer="pay:idem", **kw)
        assert e.value.code == "consumer_mismatch"
    assert buckets(other)["reserved"] == 0


def test_overdraw_refused_and_nothing_saved(budget):
    ind = one(budget, 1_000)
    s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=600, consumer="pay:a")
    before = (Reservation.objects.count(), IndicatorEntry.objects.count())
    with pytest.raises(Conflict) as e:
        s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=401, consumer="pay:b")
    assert e.value.code == "overdraw" and e.value.http_status == 409
    assert (Reservation.objects.count(), IndicatorEntry.objects.count()) == before
    s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=400, consumer="pay:b")
    assert buckets(ind)["available"] == 0


def test_post_twice_void_after_post_post_after_void(budget):
    ind = one(budget, 1_000)
    s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=100, consumer="pay:p")
    s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=200, consumer="pay:v")
    s.reservation_post(actor=budget, consumer="pay:p")
    s.reservation_void(actor=budget, consumer="pay:v")
    before = buckets(ind)
    for call, consumer, code in ((s.reservation_post, "pay:p", "already_posted"),
                                 (s.reservation_void, "pay:p", "already_posted"),
                                 (s.reservation_void, "pay:v", "already_voided"),
                                 (s.reservation_post, "pay:v", "already_voided")):
        with pytest.raises(Conflict) as e:
            call(actor=budget, consumer=consumer)
        assert e.value.code == code
    with pytest.raises(Conflict) as e:
        s.indicator_restore(actor=budget, consumer="pay:v", amount=1)
    assert e.value.code == "not_posted"
    assert buckets(ind) == before == journal(ind)
    assert ind.entries.filter(kind="post").count() == 1 and ind.entries.filter(kind="void").count() == 1


def test_unallocated_indicator_cannot_pay(budget):
    pool = one(budget, 1_000, unit_code=None)
    with pytest.raises(ValidationFailed) as e:
        s.indicator_reserve(actor=budget, indicator_id=pool.pk, amount=1, consumer="pay:x")
    assert codes(e.value) == ["not_executable"]


def test_scope_another_units_indicator_is_not_found(budget, user):
    school = one(budget, 1_000, unit_code="001001")
    with pytest.raises(NotFound):
        s.indicator_reserve(actor=user("hospital_clerk"), indicator_id=school.pk, amount=1, consumer="pay:h")
    county = one(user("county_budget"), 1_000, region="990102000")
    with pytest.raises(PermissionDenied) as e:  # an upper level reads a county's indicators, never spends them
        s.indicator_reserve(actor=user("fin_treasury"), indicator_id=county.pk, amount=1, consumer="pay:c")
    assert e.value.code == "scope_region"
    s.indicator_reserve(actor=user("school_clerk"), indicator_id=school.pk, amount=1, consumer="pay:s")
    with pytest.raises(NotFound):  # another unit cannot settle it either
        s.reservation_post(actor=user("hospital_clerk"), consumer="pay:s")
    # Which roles may reserve is the calling service's permission (payment submit, review, 实拨), not theirs: no
    # role holds a reservation permission, and no page or endpoint reaches these (tests/indicators/test_attack_replay).


def test_runs_inside_the_callers_transaction(budget):
    """A payment request that fails after reserving takes its reservation with it."""
    ind = one(budget, 1_000)

    class RequestFailed(Exception):
        pass

    with pytest.raises(RequestFailed), transaction.atomic():
        s.indicator_reserve(actor=budget, indicator_id=ind.pk, amount=700, consumer="pay:rolled")
        assert buckets(ind)["reserved"] == 700
        raise RequestFailed
    assert buckets(ind)["available"] == 1_000
    assert not Reservation.objects.filter(consumer="pay:rolled").exists()
