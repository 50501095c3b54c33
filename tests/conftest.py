"""Test harness. The schema, reference data, roles and the demo province are built once per run and cloned
into every worker (tests/dbtemplate.py); each `db` test runs in a transaction that is rolled back. Tests that
need real commits (threads, concurrency on PostgreSQL) use `committed_db`: pytest-django runs them after all
the others and flushes the database after each, so the fixture puts the base back before each of them."""

from __future__ import annotations

import pytest
from django.test import Client

from ibms.demo.province import DEMO_PASSWORD, load_demo_province
from ibms.demo.setup import setup_system


def load_base() -> None:
    setup_system(verbosity=0)
    load_demo_province()


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """Replaces pytest-django's: the base database is built once per run and cloned (tests/dbtemplate.py)."""
    from django.test.utils import setup_databases

    from .dbtemplate import BaseDatabase, cleanup_stale, run_id

    cleanup_stale()
    base = BaseDatabase(run_id(request.config), load_base)
    with django_db_blocker.unblock():
        base.setup(lambda: setup_databases(verbosity=0, interactive=False, aliases={"default"}))
    request.config.stash[BASE_KEY] = base
    yield
    with django_db_blocker.unblock():
        base.teardown()


BASE_KEY = pytest.StashKey()


@pytest.fixture
def committed_db(request, transactional_db):
    request.config.stash[BASE_KEY].restore()


@pytest.fixture
def user(db):
    from ibms.iam.models import User

    def get(username: str):
        return User.objects.select_related("organization", "organization__unit").get(username=username)

    return get


@pytest.fixture
def client_as(db, user):
    def make(username: str) -> Client:
        c = Client()
        c.force_login(user(username))
        return c

    return make


@pytest.fixture
def password() -> str:
    return DEMO_PASSWORD


def pytest_collection_modifyitems(config, items):
    """On SQLite, tests marked `postgres` are deselected (reported as such), not skipped."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def wsgi_keeps_test_connection():
    """Calls straight into the WSGI application (schemathesis `from_wsgi`) run Django's request signals, whose
    `close_old_connections` would close the test's database connection inside its transaction (on PostgreSQL:
    "the connection is closed" on the next query). Django's own test Client disconnects it the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# the demo's people most tests act as: the province's budget division and the school's clerk, reviewer and head
@pytest.fixture
def budget(user):
    return user("fin_budget")


@pytest.fixture
def clerk(user):
    return user("school_clerk")


@pytest.fixture
def reviewer(user):
    return user("school_reviewer")


@pytest.fixture
def head(user):
    return user("school_head")
