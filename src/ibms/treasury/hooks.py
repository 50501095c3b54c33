"""Listeners other apps hang on a payment's receipt (the asset app's 资产卡片): `register_receipt_listener(fn)` with
`fn(voucher, amount, date)`. After a receipt has posted the indicator and the books and marked the request paid,
each listener runs inside the receipt's transaction (a listener that raises rolls the receipt back, and the
banks app quarantines the message)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

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


# a voucher the bank returned (退回): `fn(voucher, reason)` inside the return's transaction, after the request
# has ended returned (e.g. payroll puts the returned pay on its clerks' to-do list)
_return_listeners: list[Callable] = []


def register_return_listener(fn: Callable) -> Callable:
    if fn not in _return_listeners:
        _return_listeners.append(fn)
    return fn


def return_notify(voucher, reason: str) -> None:
    for fn in list(_return_listeners):
        fn(voucher, reason)


# --- request profiles: an upper app (unitfunds) pays some indicators its own way ------------------------------
# `register_request_profile(fn)` with `fn(indicator) -> RequestProfile | None`: the payer account the request pays
# from, the voucher type its voucher carries and the document type of its review chain; the first profile that
# answers wins, none = the treasury's own (zero-balance account, 5201/8202, `treasury.payment`).
# `register_submit_check(fn)` with `fn(request, indicator) -> list[Violation]`: run with the other controls on
# submit, inside the submit's transaction (a check may lock what it reads).


@dataclass(frozen=True)
class RequestProfile:
    payer: object  # masterdata.BankAccount
    vt_code: str
    chain_doc: str


_profiles: list[Callable] = []
_submit_checks: list[Callable] = []


def register_request_profile(fn: Callable) -> Callable:
    if fn not in _profiles:
        _profiles.append(fn)
    return fn


def request_profile(indicator) -> RequestProfile | None:
    for fn in list(_profiles):
        prof = fn(indicator)
        if prof is not None:
            return prof
    return None


def register_submit_check(fn: Callable) -> Callable:
    if fn not in _submit_checks:
        _submit_checks.append(fn)
    return fn


def submit_violations(req, indicator) -> list:
    return [v for fn in list(_submit_checks) for v in fn(req, indicator)]
