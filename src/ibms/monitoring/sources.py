"""Where executed payments come from for the T+1 batch and back-tests, without monitoring importing treasury.

An upper app registers a source in its `AppConfig.ready()`:

    from ibms.monitoring.sources import register_payment_source
    register_payment_source(fn)

`fn(region_codes: set[str] | None, date_from: date, date_to: date) -> Iterable[tuple[Subject, dict]]` yields the
payments executed (paid) in the regions (None = every region) between the dates inclusive, each with its subject
(`services.Subject`) and its monitoring context (`context.py`; for the batch the `history` keys of
`engine.history_needed(region, "batch")`, for a back-test any a rule may use — computing all of HISTORY_KEYS is
simplest). Sources are read-only and are called inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator

PaymentSource = Callable[[set[str] | None, dt.date, dt.date], Iterable[tuple[object, dict]]]
_sources: list[PaymentSource] = []


def register_payment_source(fn: PaymentSource) -> PaymentSource:
    """Register a payment source (idempotent: the same function is registered once). Usable as a decorator."""
    if fn not in _sources:
        _sources.append(fn)
    return fn


_subject_names: dict[str, str] = {}


def register_subject_kind(kind: str, name: str) -> None:
    """The Chinese name of an alert subject's kind (`Subject.kind`) — what the alert page shows for it."""
    _subject_names[kind] = name


def subject_kind_name(kind: str) -> str:
    return _subject_names.get(kind, "业务")


def unregister_payment_source(fn: PaymentSource) -> None:
    if fn in _sources:
        _sources.remove(fn)


def payment_sources() -> list[PaymentSource]:
    return list(_sources)


def payments(region_codes: set[str] | None, date_from: dt.date, date_to: dt.date) -> Iterator[tuple[object, dict]]:
    """Every registered source's payments, source by source."""
    for fn in list(_sources):
        yield from fn(region_codes, date_from, date_to)
