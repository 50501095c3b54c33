"""Replay of the issue-10 attack through the documented API, as the unit clerk and as the unit reviewer.

The attack: void the reservation of an approved, sent payment request; submit a second request against the freed
balance; restore the first; and make spending out of nothing with a made-up consumer (reserve + post). Now
reserving and settling are building blocks of the treasury services only: every call is refused (404 — there is
no such route — or 403/405), the balances and reservations are exactly what the real payment left, a request
against the balance the attack wanted to free is refused by the controls, and `ibms verify` is clean."""

from __future__ import annotations

import json
import re

import pytest

from ibms.core import verify
from ibms.core.models import ChangeLog
from ibms.indicators.models import BUCKETS, Indicator, IndicatorEntry, Reservation
from ibms.treasury.models import PaymentRequest
from tests.treasury import feed
from tests.treasury.builders import create, indicator

pytestmark = pytest.mark.django_db
API = "/api/v1/indicators"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def ledger(ind: Indicator) -> tuple:
    ind = Indicator.objects.get(pk=ind.pk)
    reservations = list(Reservation.objects.order_by("id").values_list("id", "consumer", "amount", "status",
                                                                       "restored"))
    return ({b: getattr(ind, b) for b in ("amount", *BUCKETS)}, reservations, IndicatorEntry.objects.count())


@pytest.mark.parametrize("attacker", ["school_clerk", "school_reviewer"])
def test_the_reservation_attack_is_refused(attacker, user, client_as):
    budget, clerk, reviewer = user("fin_budget"), user("school_clerk"), user("school_reviewer")
    ind = indicator(budget, 100_000)
    paid = create(clerk, ind, 60_000)
    voucher = feed.approve(clerk, reviewer, paid, key=f"attack-{attacker}")  # signed, waiting in the outbox
    paid = PaymentRequest.objects.get(pk=paid.pk)
    assert paid.status == "approved" and voucher.consumer == paid.consumer
    consumer = paid.consumer
    before, changes = ledger(ind), ChangeLog.objects.count()
    assert before[0]["available"] == 40_000 and before[0]["reserved"] == 60_000

    c = client_as(attacker)
    attempts = [
        ("POST", f"{API}/reservations/void", {"consumer": consumer}),  # free the approved request's reservation
        ("POST", f"{API}/reservations/restore", {"consumer": consumer, "amount": "600.00"}),
        ("POST", f"{API}/reservations", {"indicator_id": ind.pk, "amount": "400.00", "consumer": "fake:1"}),
        ("POST", f"{API}/reservations/post", {"consumer": "fake:1"}),
        ("PUT", f"{API}/reservations", {"indicator_id": ind.pk, "amount": "400.00", "consumer": "fake:2"}),
        ("DELETE", f"{API}/reservations/void", {"consumer": consumer}),
        ("POST", f"{API}/{ind.pk}/increase", {"amount": "600.00", "doc": {"doc_no": "伪造〔1〕号"}}),
    ]
    for method, url, body in attempts:
        r = c.generic(method, url, json.dumps(body), content_type="application/json")
        assert r.status_code in (403, 404, 405), (method, url, r.status_code, r.content)
        if r.status_code != 405:
            got = r.json()
            assert got["code"] in ("not_found", "permission_denied") and CHINESE.search(got["message"]), got
    assert ledger(ind) == before and ChangeLog.objects.count() == changes

    # the second request the attack wanted to pay from the freed balance: the balance was never freed
    second = create(clerk, ind, 60_000)
    r = client_as("school_clerk").post(f"/api/v1/treasury/requests/{second.pk}/submit",
                                       json.dumps({"idempotency_key": f"attack-2-{attacker}"}),
                                       content_type="application/json")
    assert r.status_code == 422 and "overdraw" in {v["code"] for v in r.json()["detail"]}, r.content
    assert ledger(ind) == before

    assert {name: p for name, p in verify.run_all().items() if p} == {}

    # the real payment still settles: the bank's receipt posts the reservation (the handler's transaction, the
    # system user), with no reservation permission anywhere
    feed.receipt(voucher)
    after = ledger(ind)
    assert (after[0]["available"], after[0]["reserved"], after[0]["spent"]) == (40_000, 0, 60_000)
    assert [r[3] for r in after[1] if r[1] == consumer] == ["posted"]
    assert {name: p for name, p in verify.run_all().items() if p} == {}
