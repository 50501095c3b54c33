"""Who owns a transaction. The convention, in one place:

- A business service (`<entity>_<verb>(*, actor, …)` in `<app>/services/`) owns its transaction:
  `with transaction.atomic(durable=True):`, so nobody can wrap it in a larger one by mistake.
- A building block that writes as part of somebody else's transaction (the indicator ledger, posting an event,
  recording audit, numbering, enqueueing) is decorated `@in_callers_transaction`: called outside a transaction
  it raises `RuntimeError`, so it can never be an endpoint of its own.
- API and view functions open no transaction; they parse, call one service and render.
- Nothing talks to another party (a bank over HTTP) inside a transaction: it is enqueued in the outbox and the
  worker sends it after the commit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from django.db import transaction

F = TypeVar("F", bound=Callable)


def require_callers_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{name} is a building block of a business service: it must run inside the caller's "
                           "transaction (transaction.atomic)")


def in_callers_transaction(fn: F) -> F:
    """Mark `fn` as a building block that runs only inside its caller's transaction."""
    name = f"{fn.__module__.removeprefix('ibms.')}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        require_callers_transaction(name)
        return fn(*args, **kwargs)

    wrapper.in_callers_transaction = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]

