"""Accounting writers: account sets and accounts (:mod:`.account_sets`), periods and closing the year
(:mod:`.periods`), business events and system postings (:mod:`.events`), manual vouchers
(:mod:`.vouchers`); the line checks and voucher writing they share (:mod:`.writing`).

Durable services (`transaction.atomic(durable=True)`) serve people (pages, API). Building blocks decorated
`@in_callers_transaction` run inside the caller's transaction so that another module's business write and its
vouchers commit together: `event_post` (business event → posted voucher, idempotent by event id),
`voucher_post_system` (pre-built lines), `books_create` / `books_ensure` (set-up) and `period_lock`.
"""

from .account_sets import (
    account_create,
    account_set_build,
    account_set_code,
    account_set_create,
    account_update,
    books_create,
    books_ensure,
)
from .events import event_check, event_post, event_submit, voucher_post_system
from .opening import opening_balances_carry, opening_differences, opening_problems
from .periods import account_set_close, period_close, period_lock, period_reopen
from .vouchers import (
    voucher_create,
    voucher_delete,
    voucher_post,
    voucher_reverse,
    voucher_review,
    voucher_update,
)
from .writing import DIM_MAX, voucher_lines_resolve

__all__ = [
    "DIM_MAX",
    "account_create",
    "account_set_build",
    "account_set_close",
    "account_set_code",
    "account_set_create",
    "account_update",
    "books_create",
    "books_ensure",
    "event_check",
    "event_post",
    "event_submit",
    "opening_balances_carry",
    "opening_differences",
    "opening_problems",
    "period_close",
    "period_lock",
    "period_reopen",
    "voucher_create",
    "voucher_delete",
    "voucher_lines_resolve",
    "voucher_post",
    "voucher_post_system",
    "voucher_reverse",
    "voucher_review",
    "voucher_update",
]
