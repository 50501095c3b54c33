"""Run `work(i)` in n threads at once, each on its own database connection (PostgreSQL concurrency tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_together(n: int, work: Callable[[int, object], None], *, setup: Callable[[int], object] = lambda i: None,
                 timeout: float = 600) -> None:
    """`setup(i)` runs first in each thread (e.g. loading its user); then all threads pass one barrier and run
    `work(i, setup_result)` together. Any exception in a thread fails the caller; a hung thread too."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            ready = setup(i)
            barrier.wait(timeout=60)
            work(i, ready)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
