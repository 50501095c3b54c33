"""Business date per fiscal region. Production reads the wall clock in Asia/Shanghai; tests, the
demo and day-end operations can move a region's date (or every region's) without touching the OS."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

from django.utils import timezone

_overrides: dict[str, dt.date] = {}
_ALL = "*"
_frozen: list[dt.datetime] = []


def today(region_code: str | None = None) -> dt.date:
    if region_code and region_code in _overrides:
        return _overrides[region_code]
    if _ALL in _overrides:
        return _overrides[_ALL]
    env = os.environ.get("IBMS_BUSINESS_DATE")
    if env:
        return dt.date.fromisoformat(env)
    return timezone.localdate()


def now() -> dt.datetime:
    return _frozen[-1] if _frozen else timezone.now()


def fiscal_year(region_code: str | None = None) -> int:
    return today(region_code).year


@contextlib.contextmanager
def travel(date: dt.date, region_code: str | None = None) -> Iterator[None]:
    key = region_code or _ALL
    previous = _overrides.get(key)
    _overrides[key] = date
    try:
        yield
    finally:
        if previous is None:
            _overrides.pop(key, None)
        else:
            _overrides[key] = previous


@contextlib.contextmanager
def freeze(moment: dt.datetime) -> Iterator[None]:
    """Stop business time at `moment` (aware) for every region: `now()` returns it and `today()` its local date.
    For tests of time-dependent rules (after-hours, holidays) and for replaying a day."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    _frozen.append(moment)
    try:
        with travel(timezone.localtime(moment).date()):
            yield
    finally:
        _frozen.pop()
