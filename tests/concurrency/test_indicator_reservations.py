"""Indicator reservations under real concurrency (PostgreSQL): 64 threads, each with its own connection and
transaction, reserve against one indicator at once. The row lock serialises them: the total reserved never
exceeds the balance, what was reserved is exactly what the balance lost, and every refusal is an overdraw."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, transaction

from ibms.core import clock
from ibms.core.errors import Conflict
from ibms.iam.models import User
from ibms.indicators import selectors
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, IndicatorEntry, Reservation
from ibms.masterdata.models import Unit
from tests.threads import run_together

pytestmark = pytest.mark.postgres

THREADS = 64
BALANCE = 1_000_000  # fen: 10,000 yuan; the 64 requests together ask for about three times that


def make_indicator() -> Indicator:
    budget = User.objects.get(username="fin_budget")
    year = clock.fiscal_year()
    with transaction.atomic():
        src = s.source_document_create(actor=budget, region_code="990000000", year=year, kind="budget_reply",
                                       doc_no=f"并发测试〔{year}〕1号", title="并发测试", doc_date=clock.today())
        unit = Unit.objects.get(region_code="990000000", code="001001")
        [ind] = s.indicators_create(actor=budget, source=src, specs=[s.IndicatorSpec(
            amount=BALANCE, fund_nature_code="111", exp_func_code="2050202", unit_id=unit.pk)])
    return ind


def test_parallel_reservations_never_overdraw(committed_db):
    assert connection.vendor == "postgresql"
    ind = make_indicator()
    rng = random.Random(64)
    amounts = [rng.randrange(10_000, 90_000) for _ in range(THREADS)]
    lock = threading.Lock()
    reserved: dict[str, int] = {}
    refused: dict[str, str] = {}

    def work(i: int, actor) -> None:
        consumer = f"pay:concurrent:{i}"
        try:
            with transaction.atomic():  # the payment request's own transaction
                s.indicator_reserve(actor=actor, indicator_id=ind.pk, amount=amounts[i], consumer=consumer)
            with lock:
                reserved[consumer] = amounts[i]
        except Conflict as exc:
            with lock:
                refused[consumer] = exc.code

    run_together(THREADS, work,
                 setup=lambda i: User.objects.get(username="school_clerk" if i % 2 else "fin_treasury"))
    assert len(reserved) + len(refused) == THREADS
    assert reserved and refused  # both outcomes really happened
    assert set(refused.values()) == {"overdraw"}

    ind.refresh_from_db()
    total = sum(reserved.values())
    assert total <= BALANCE
    assert ind.reserved == total and ind.available == BALANCE - total and ind.amount == BALANCE
    # every refused request asked for more than was left when its turn came, so the rest is smaller than it
    assert ind.available < min(amounts[int(c.rsplit(":", 1)[1])] for c in refused)
    rows = dict(Reservation.objects.filter(indicator=ind).values_list("consumer", "amount"))
    assert rows == reserved
    assert IndicatorEntry.objects.filter(indicator=ind, kind="reserve").count() == len(reserved)
    assert selectors.balance_problems() == []
