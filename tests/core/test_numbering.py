"""Gap-free numbering within one connection: a rolled-back transaction gives its numbers back.
(Concurrent callers on PostgreSQL: tests/concurrency/test_numbering.py.)"""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibms.core.models import Sequence
from ibms.core.numbering import next_number, next_value


class Rollback(Exception):
    pass


# each transaction: how many numbers it takes, and whether it commits
TXNS = st.lists(st.tuples(st.integers(min_value=1, max_value=4), st.booleans()), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(txns=TXNS, nested_rollback=st.booleans())
def test_committed_numbers_are_exactly_1_to_k(db, txns, nested_rollback):
    key = f"test-{uuid.uuid4().hex}"
    committed: list[int] = []
    for count, commit in txns:
        taken: list[int] = []
        try:
            with transaction.atomic():
                for _ in range(count):
                    taken.append(next_value(key))
                if nested_rollback:  # an inner savepoint that fails returns its number too
                    try:
                        with transaction.atomic():
                            next_value(key)
                            raise Rollback
                    except Rollback:
                        pass
                if not commit:
                    raise Rollback
        except Rollback:
            continue
        committed.extend(taken)
    assert committed == list(range(1, len(committed) + 1))
    last = Sequence.objects.filter(key=key).values_list("last_value", flat=True).first()
    assert (last or 0) == len(committed)


def test_keys_are_independent_and_numbers_are_formatted(db):
    with transaction.atomic():
        assert next_number("HMD-T-2026-", width=5) == "HMD-T-2026-00001"
        assert next_number("HMD-T-2026-", width=5) == "HMD-T-2026-00002"
        assert next_number("HMD-T-2027-", width=5) == "HMD-T-2027-00001"
        assert next_number("X-", key="shared", width=3) == "X-001"
        assert next_number("Y-", key="shared", width=3) == "Y-002"


def test_refused_outside_a_transaction(db):
    from django.db import connection

    in_block = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError):
            next_value("outside")
    finally:
        connection.in_atomic_block = in_block
