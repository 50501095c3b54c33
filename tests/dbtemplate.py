"""The base database (schema, reference data, roles, the demo province) is built once per test run and cloned.

- The first worker to take the run's lock builds it: migrate + `load_base()`. On PostgreSQL it is a database of
  its own, `<test name>_base_<run>`, and every worker's database is `CREATE DATABASE … TEMPLATE` it; on SQLite
  it is a file that every worker copies into its in-memory database with SQLite's backup API.
- A test that commits (`committed_db`) gets the same base back the same way (a fresh clone; a backup into the
  in-memory database) instead of reloading it, which took longer than most tests.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

_TMP = Path(tempfile.gettempdir())


class BaseDatabase:
    def __init__(self, run_id: str | None, load_base: Callable[[], None]):
        self.run = (run_id or uuid.uuid4().hex)[:12]
        self.load_base = load_base
        self.vendor = connection.vendor
        self.lock_path = _TMP / f"ibms-test-{self.run}.lock"
        self.sqlite_file = _TMP / f"ibms-test-{self.run}.sqlite3"
        self.pg_ready = _TMP / f"ibms-test-{self.run}.pg-ready"
        self.old_name = connection.settings_dict["NAME"]
        self.test_name = connection.creation._get_test_db_name()
        # one base for all workers: named from the configured database, not the worker's suffixed test name
        self.base_name = f"test_{self.old_name}_base_{self.run}"[:63]

    # --- set-up / tear-down of this worker's database ------------------------------------------------
    def setup(self, build: Callable[[], object]) -> None:
        """`build()` creates and migrates this worker's test database (pytest-django's set-up)."""
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.vendor == "postgresql":
                    self._pg_setup(build)
                else:
                    self._sqlite_setup(build)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def teardown(self) -> None:
        if self.vendor == "postgresql":
            connections.close_all()
            with connection._nodb_cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.test_name}" WITH (FORCE)')
        self._use(self.old_name)

    def restore(self) -> None:
        """Put the base back into this worker's database (after a test that committed)."""
        if self.vendor == "postgresql":
            self._pg_clone()
        else:
            self._sqlite_restore()

    # --- PostgreSQL -----------------------------------------------------------------------------------
    def _pg_setup(self, build: Callable[[], object]) -> None:
        if not self.pg_ready.exists():
            self._pg_drop_stale_bases()
            self._use_test_name(self.base_name)
            build()
            self.load_base()
            connections.close_all()
            self.pg_ready.write_text(self.base_name)
        self._use_test_name(self.test_name)
        self._pg_clone()

    def _pg_drop_stale_bases(self) -> None:
        """Earlier runs' bases (each run leaves its own: workers may clone it until the very end)."""
        prefix = f"test_{self.old_name}_base_"
        with connection._nodb_cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix])
            for (name,) in cur.fetchall():
                try:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                except Exception:  # noqa: BLE001 - in use by a run still going: leave it
                    pass

    def _pg_clone(self) -> None:
        connections.close_all()
        with connection._nodb_cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.test_name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.test_name}" TEMPLATE "{self.base_name}"')
        self._use(self.test_name)

    # --- SQLite ---------------------------------------------------------------------------------------
    def _sqlite_setup(self, build: Callable[[], object]) -> None:
        if not self.sqlite_file.exists():
            build()
            self.load_base()
            partial = self.sqlite_file.with_suffix(".partial")
            target = sqlite3.connect(partial)
            connection.ensure_connection()
            connection.connection.backup(target)
            target.close()
            partial.replace(self.sqlite_file)
            return
        self._use(self.test_name)
        self._sqlite_restore()

    def _sqlite_restore(self) -> None:
        connection.ensure_connection()
        source = sqlite3.connect(f"file:{self.sqlite_file}?mode=ro", uri=True)
        try:
            source.backup(connection.connection)
        finally:
            source.close()

    # --- settings -------------------------------------------------------------------------------------
    def _use_test_name(self, name: str) -> None:
        connection.settings_dict.setdefault("TEST", {})["NAME"] = name
        settings.DATABASES[connection.alias].setdefault("TEST", {})["NAME"] = name

    def _use(self, name: str) -> None:
        connection.close()
        connection.settings_dict["NAME"] = name
        settings.DATABASES[connection.alias]["NAME"] = name


def cleanup_stale(max_age_seconds: int = 86_400) -> None:
    import time

    now = time.time()
    for p in _TMP.glob("ibms-test-*"):
        try:
            if now - p.stat().st_mtime > max_age_seconds:
                p.unlink()
        except OSError:
            pass


def run_id(config) -> str | None:
    return getattr(config, "workerinput", {}).get("testrunuid") or os.environ.get("IBMS_TEST_RUN")
