"""Gap-free numbering under real concurrency (PostgreSQL): threads, each in its own connection and
transaction, take numbers from the same key while some of them roll back. The committed numbers are exactly
1..k — no gaps, no duplicates."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibms.core.models import Sequence
from ibms.core.numbering import next_value

pytestmark = pytest.mark.postgres

THREADS = 16


class Rollback(Exception):
    pass


def run_threads(key: str, *, per_thread: int, rollback_every: int, create_first: bool) -> list[int]:
    if create_first:
        with transaction.atomic():
            Sequence.objects.create(key=key, last_value=0)
    plan = [[(i + r) % rollback_every == 0 for r in range(per_thread)] for i in range(THREADS)]
    return _run_pattern(key, plan, hold_lock=True)


@pytest.mark.parametrize("create_first", [True, False], ids=["existing-key", "new-key-race"])
def test_gap_free_under_concurrency(committed_db, create_first):
    assert connection.vendor == "postgresql"
    key = f"concurrency-{create_first}"
    committed = run_threads(key, per_thread=5, rollback_every=3, create_first=create_first)
    rolled_back = THREADS * 5 - len(committed)
    assert rolled_back > 0 and committed  # both paths really happened
    assert sorted(committed) == list(range(1, len(committed) + 1))
    assert Sequence.objects.get(key=key).last_value == len(committed)


def _run_pattern(key: str, plan: list[list[bool]], *, hold_lock: bool = False) -> list[int]:
    """Thread i runs len(plan[i]) transactions; plan[i][j] says whether transaction j rolls back."""
    barrier = threading.Barrier(len(plan))
    committed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(rounds: list[bool]) -> None:
        try:
            barrier.wait(timeout=30)
            for rollback in rounds:
                try:
                    with transaction.atomic():
                        n = next_value(key)
                        if hold_lock:  # keep the row lock while doing other work, then maybe give it back
                            connection.cursor().execute("SELECT pg_sleep(0.002)")
                        if rollback:
                            raise Rollback
                except Rollback:
                    continue
                with lock:
                    committed.append(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(rounds,)) for rounds in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors
    return committed


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.lists(st.booleans(), min_size=1, max_size=6), min_size=2, max_size=8))
def test_gap_free_for_any_interleaving_of_commits_and_rollbacks(committed_db, plan):
    key = f"prop-{uuid.uuid4().hex}"
    committed = _run_pattern(key, plan)
    expected = sum(not rb for rounds in plan for rb in rounds)
    assert len(committed) == expected
    assert sorted(committed) == list(range(1, expected + 1))
    last = Sequence.objects.filter(key=key).values_list("last_value", flat=True).first() or 0
    assert last == expected
