"""Listeners other apps hang on a payment's receipt (the asset app's 资产卡片): `register_receipt_listener(fn)` with
`fn(voucher, amount, date)`. After a receipt has posted the indicator and the books and marked the request paid,
each listener runs inside the receipt's transaction (a listener that raises rolls the receipt back, and the
banks app quarantines the message)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

ReceiptListener = Callable[..., None]
_listeners: list[ReceiptListener] = []


def register_receipt_listener(fn: ReceiptListener) -> ReceiptListener:
    """Register `fn(voucher, amount, date)` (idempotent; usable as a decorator)."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def unregister_receipt_listener(fn: ReceiptListener) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def receipt_notify(voucher, amount: int, date: dt.date) -> None:
    for fn in list(_listeners):
        fn(voucher, amount, date)
