"""Transactional outbox: `enqueue` inside the business transaction; `drain` (run by `ibms worker`)
delivers each message to its topic's handler at least once, with retry and back-off. A handler runs inside a
transaction with its message locked — unless it talks to another party (`outside_transaction=True`): then the
message is claimed for a lease (`IBMS_OUTBOX_LEASE_SECONDS`) in one short transaction, the handler runs in none
(opening its own short ones around the call), and the outcome is recorded in another; a worker that dies
mid-call leaves the message to be retried when the lease runs out. `periodic` registers jobs
the worker runs every N seconds (bank feed polling, unknown-outcome queries, T+1 batches)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage
from .transactions import in_callers_transaction

log = logging.getLogger("ibms.outbox")
_handlers: dict[str, Callable[[OutboxMessage], None]] = {}
_outside: set[str] = set()  # topics whose handler runs outside any transaction
_periodic: dict[str, tuple[float, Callable[[], int]]] = {}
_last_run: dict[str, float] = {}


def handler(topic: str, *, outside_transaction: bool = False):
    def register(fn: Callable[[OutboxMessage], None]):
        _handlers[topic] = fn
        if outside_transaction:
            _outside.add(topic)
        return fn
    return register


def lease_seconds() -> float:
    return float(os.environ.get("IBMS_OUTBOX_LEASE_SECONDS", "120"))


def _due(mid: int, max_attempts: int):
    return (OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=mid, processed_at__isnull=True, available_at__lte=timezone.now(), attempts__lt=max_attempts)
            .first())


def _failed(msg: OutboxMessage, exc: Exception) -> None:
    log.warning("outbox message %s (%s) failed: %s", msg.pk, msg.topic, exc)
    msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    msg.available_at = timezone.now() + dt.timedelta(seconds=min(2 ** msg.attempts, 3600))


def _deliver_outside(mid: int, fn: Callable[[OutboxMessage], None], max_attempts: int) -> bool:
    with transaction.atomic():
        msg = _due(mid, max_attempts)
        if msg is None:
            return False
        msg.attempts += 1
        msg.available_at = timezone.now() + dt.timedelta(seconds=lease_seconds())  # claimed
        msg.save(update_fields=["attempts", "available_at"])
    try:
        fn(msg)
        msg.processed_at, msg.last_error = timezone.now(), ""
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        _failed(msg, exc)
    with transaction.atomic():
        msg.save(update_fields=["processed_at", "last_error", "available_at"])
    return msg.processed_at is not None


def pending(topic: str, key: str) -> bool:
    """A message of this topic and key not yet handled (queued, claimed or being retried)."""
    return OutboxMessage.objects.filter(topic=topic, key=key, processed_at__isnull=True).exists()


@in_callers_transaction
def enqueue(topic: str, payload: dict, *, key: str = "", delay_seconds: int = 0) -> OutboxMessage:
    return OutboxMessage.objects.create(topic=topic, key=key, payload=payload,
                                        available_at=timezone.now() + dt.timedelta(seconds=delay_seconds))


def drain(limit: int = 100, *, max_attempts: int = 10) -> int:
    """Deliver up to `limit` due messages; returns how many were handled successfully."""
    done = 0
    due = list(OutboxMessage.objects.filter(processed_at__isnull=True, available_at__lte=timezone.now(),
                                            attempts__lt=max_attempts).values_list("id", "topic")[:limit])
    for mid, topic in due:
        fn = _handlers.get(topic)
        if fn is not None and topic in _outside:
            done += _deliver_outside(mid, fn, max_attempts)
            continue
        with transaction.atomic():
            # re-checked under the lock: another worker may have delivered it or pushed it back meanwhile
            msg = _due(mid, max_attempts)
            if msg is None:
                continue
            msg.attempts += 1
            try:
                if fn is None:
                    raise LookupError(f"no handler for topic {msg.topic}")
                with transaction.atomic():
                    fn(msg)
                msg.processed_at = timezone.now()
                msg.last_error = ""
                done += 1
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
                _failed(msg, exc)
            msg.save(update_fields=["attempts", "processed_at", "last_error", "available_at"])
    return done


def periodic(name: str, every_seconds: float):
    """Register `fn() -> int` (how much it did) to run in the worker every `every_seconds`."""
    def register(fn: Callable[[], int]):
        _periodic[name] = (every_seconds, fn)
        return fn
    return register


def run_periodic(*, force: bool = False) -> int:
    """Run the periodic jobs that are due (all of them with `force`); a failing job is logged, not fatal."""
    done = 0
    now = time.monotonic()
    for name, (every, fn) in list(_periodic.items()):
        if not force and now - _last_run.get(name, -1e18) < every:
            continue
        _last_run[name] = now
        try:
            done += fn() or 0
        except Exception as exc:  # noqa: BLE001 - the next run retries; the worker must keep going
            log.warning("periodic job %s failed: %s", name, exc)
    return done
