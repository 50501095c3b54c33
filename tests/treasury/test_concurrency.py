"""64 parallel submits against one indicator (PostgreSQL, real transactions): never overspent, every refusal is an
overdraw with nothing reserved, and the reservations equal the submitted requests."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection

from ibms.core.errors import ValidationFailed
from ibms.iam.models import User
from ibms.indicators import selectors as ind_selectors
from ibms.indicators.models import Reservation
from ibms.treasury import selectors
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest
from tests.threads import run_together

from .builders import create, fresh, indicator

pytestmark = pytest.mark.postgres

THREADS = 64
BALANCE = 1_000_000


def test_parallel_submits_never_overspend(committed_db):
    assert connection.vendor == "postgresql"
    clerk = User.objects.get(username="school_clerk")
    ind = indicator(User.objects.get(username="fin_budget"), BALANCE)
    rng = random.Random(64)
    amounts = [rng.randrange(10_000, 90_000) for _ in range(THREADS)]
    reqs = [create(clerk, ind, a) for a in amounts]
    lock = threading.Lock()
    ok: dict[int, int] = {}
    refused: dict[int, list[str]] = {}

    def work(i: int, actor) -> None:
        try:
            s.payment_request_submit(actor=actor, pk=reqs[i].pk, idempotency_key=f"par-{i}")
            with lock:
                ok[i] = amounts[i]
        except ValidationFailed as exc:
            with lock:
                refused[i] = [v.code for v in exc.violations]

    run_together(THREADS, work, setup=lambda i: User.objects.get(username="school_clerk"))
    assert len(ok) + len(refused) == THREADS
    assert ok and refused
    assert all("overdraw" in c for c in refused.values())
    ind = fresh(ind)
    total = sum(ok.values())
    assert total <= BALANCE and ind.reserved == total and ind.available == BALANCE - total
    assert ind.available < min(amounts[i] for i in refused)
    rows = dict(Reservation.objects.filter(indicator=ind).values_list("consumer", "amount"))
    assert rows == {reqs[i].number: a for i, a in ok.items()}
    assert PaymentRequest.objects.filter(indicator=ind, status="submitted").count() == len(ok)
    assert PaymentRequest.objects.filter(indicator=ind, status="draft").count() == len(refused)
    assert selectors.reservation_problems() == []
    assert ind_selectors.balance_problems() == []
