"""Transactional outbox: `enqueue` inside the business transaction; `drain` (run by `ibms worker`)
delivers each message to its topic's handler at least once, with retry and back-off. `periodic` registers jobs
the worker runs every N seconds (bank feed polling, unknown-outcome queries, T+1 batches)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

log = logging.getLogger("ibms.outbox")
_handlers: dict[str, Callable[[OutboxMessage], None]] = {}
_periodic: dict[str, tuple[float, Callable[[], int]]] = {}
_last_run: dict[str, float] = {}


def handler(topic: str):
    def register(fn: Callable[[OutboxMessage], None]):
        _handlers[topic] = fn
        return fn
    return register


def enqueue(topic: str, payload: dict, *, key: str = "", delay_seconds: int = 0) -> OutboxMessage:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue must run inside the business transaction")
    return OutboxMessage.objects.create(topic=topic, key=key, payload=payload,
                                        available_at=timezone.now() + dt.timedelta(seconds=delay_seconds))


def drain(limit: int = 100, *, max_attempts: int = 10) -> int:
    """Deliver up to `limit` due messages; returns how many were handled successfully."""
    done = 0
    ids = list(OutboxMessage.objects.filter(processed_at__isnull=True, available_at__lte=timezone.now(),
                                            attempts__lt=max_attempts).values_list("id", flat=True)[:limit])
    for mid in ids:
        with transaction.atomic():
            # re-checked under the lock: another worker may have delivered it or pushed it back meanwhile
            msg = (OutboxMessage.objects.select_for_update(skip_locked=True)
                   .filter(pk=mid, processed_at__isnull=True, available_at__lte=timezone.now(),
                           attempts__lt=max_attempts).first())
            if msg is None:
                continue
            fn = _handlers.get(msg.topic)
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
                log.warning("outbox message %s (%s) failed: %s", msg.pk, msg.topic, exc)
                msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                msg.available_at = timezone.now() + dt.timedelta(seconds=min(2 ** msg.attempts, 3600))
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
