"""Shared by the benchmarks: a scratch database with the system set up, and a median timer."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def scratch_django(name: str, db: str | None) -> str:
    """Point Django at `db` (must be a scratch database) or at a new SQLite file in a temporary directory,
    then migrate and load reference data, roles and chains (`setup_system`). Returns the temporary directory."""
    tmp = tempfile.mkdtemp(prefix=f"ibms-bench-{name}-")
    os.environ["IBMS_DATABASE_URL"] = db or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("IBMS_VAR_DIR", tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ibms.config.settings")
    import django

    django.setup()
    from ibms.demo.setup import setup_system

    setup_system(verbosity=0)
    return tmp


def median_ms(fn: Callable[[], object], n: int) -> float:
    """Median wall milliseconds of `n` calls after one warm-up call."""
    fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)
