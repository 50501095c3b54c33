"""The reservation building blocks refuse to run outside the caller's transaction. No database: the check comes
first, before anything is read (and a test without the `db` mark runs outside any transaction)."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.indicators import services as s

CALLS = {
    "indicator_reserve": lambda: s.indicator_reserve(actor=None, indicator_id=1, amount=100, consumer="pay:x"),
    "reservation_post": lambda: s.reservation_post(actor=None, consumer="pay:x"),
    "reservation_void": lambda: s.reservation_void(actor=None, consumer="pay:x"),
    "indicator_restore": lambda: s.indicator_restore(actor=None, consumer="pay:x", amount=100),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_refused_outside_a_transaction(name):
    assert not transaction.get_connection().in_atomic_block
    with pytest.raises(RuntimeError, match=rf"{name} is a building block .* inside the caller's transaction"):
        CALLS[name]()
