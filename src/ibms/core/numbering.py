"""Gap-free document numbers. The counter row is bumped inside the caller's transaction: concurrent
callers queue on the row lock, and a rolled-back transaction gives its number back."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from .models import Sequence
from .transactions import in_callers_transaction


@in_callers_transaction
def next_value(key: str) -> int:
    table = Sequence._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET last_value = last_value + 1 WHERE key = %s RETURNING last_value", [key])  # noqa: S608
        row = cur.fetchone()
    if row is not None:
        return row[0]
    try:
        with transaction.atomic():
            Sequence.objects.create(key=key, last_value=1)
        return 1
    except IntegrityError:  # another transaction created it first: take the normal path
        return next_value(key)


def next_number(prefix: str, key: str | None = None, width: int = 6) -> str:
    """e.g. next_number('HMD-510000000-2026-') → 'HMD-510000000-2026-000001'."""
    return f"{prefix}{next_value(key or prefix):0{width}d}"
